/**
 * OAuth 2.0 and bearer-token checks of the emulated account (API_FACTS §OAuth):
 * - `GET /oauth/authorize?client_id&redirect_uri&scope&state` → 302 to `redirect_uri?code=&state=`
 *   (the consent screen is skipped: the sandbox account always approves);
 * - `POST /oauth/v1/token` (form-urlencoded) with `authorization_code` (single-use codes that expire
 *   after `codeTtlSeconds`) or `refresh_token`; answers `{token_type:"bearer", access_token,
 *   refresh_token, expires_in, hub_id, scopes}`; a bad/used code or revoked refresh token gets 400
 *   `{error:"invalid_grant", error_description, status, message}`;
 * - `GET /oauth/v1/access-tokens/:token` and `GET|DELETE /oauth/v1/refresh-tokens/:token`;
 * - static private-app tokens (never expire, carry the daily limit).
 * Every API call must carry `Authorization: Bearer`; unknown → 401 INVALID_AUTHENTICATION, expired
 * → 401 EXPIRED_AUTHENTICATION (API_FACTS §CRM v3 error body; the 401 message text follows the
 * publicly quoted HubSpot responses).
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import {
  MiniRouter,
  type Next as NextFunction,
  type SbRequest as Request,
  type SbResponse as Response,
} from './http-kit.js';
import { z } from 'zod';
import type { FaultInjector } from '../common/faults.js';
import type { HubSpotState } from './state.js';
import { sendError } from './wire.js';

export interface TokenRecord {
  token: string;
  kind: 'oauth' | 'private';
  hubId: number;
  scopes: string[];
  expiresMs: number;
  userId: number;
  user: string;
}

interface CodeRecord {
  hubId: number;
  scopes: string[];
  redirectUri: string;
  clientId: string;
  expiresMs: number;
  used: boolean;
}

interface RefreshRecord {
  token: string;
  hubId: number;
  scopes: string[];
  clientId: string;
  revoked: boolean;
  userId: number;
  user: string;
}

export interface OAuthConfig {
  clientId: string;
  clientSecret: string;
  appId: number;
  accessTokenTtlSeconds: number;
  codeTtlSeconds: number;
  now: () => Date;
}

export const DEFAULT_SCOPES = [
  'oauth',
  'crm.objects.contacts.read',
  'crm.objects.contacts.write',
  'crm.objects.companies.read',
  'crm.objects.companies.write',
  'crm.objects.deals.read',
  'crm.objects.deals.write',
  'crm.schemas.contacts.write',
  'crm.objects.owners.read',
  'tickets',
];

const DEMO_USER = { userId: 9_000_001, user: 'admin@sandbox.example' };

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class TokenStore {
  readonly access = new Map<string, TokenRecord>();
  readonly refresh = new Map<string, RefreshRecord>();
  readonly codes = new Map<string, CodeRecord>();

  constructor(
    private readonly config: OAuthConfig,
    private readonly state: HubSpotState,
    private readonly privateTokens: readonly string[],
  ) {
    this.installPrivateTokens();
  }

  private installPrivateTokens(): void {
    for (const token of this.privateTokens)
      this.access.set(token, {
        token,
        kind: 'private',
        hubId: this.state.portalId,
        scopes: DEFAULT_SCOPES,
        expiresMs: Number.MAX_SAFE_INTEGER,
        ...DEMO_USER,
      });
  }

  reset(): void {
    this.access.clear();
    this.refresh.clear();
    this.codes.clear();
    this.installPrivateTokens();
  }

  /** Private-app tokens follow the account the sandbox was seeded as. */
  rehome(hubId: number): void {
    for (const t of this.access.values()) if (t.kind === 'private') t.hubId = hubId;
  }

  issueAuthCode(
    opts: { redirectUri: string; scopes?: string[]; clientId?: string } = { redirectUri: '' },
  ): string {
    const code = randomUUID();
    this.codes.set(code, {
      hubId: this.state.portalId,
      scopes: opts.scopes ?? DEFAULT_SCOPES,
      redirectUri: opts.redirectUri,
      clientId: opts.clientId ?? this.config.clientId,
      expiresMs: this.config.now().getTime() + this.config.codeTtlSeconds * 1000,
      used: false,
    });
    return code;
  }

  issueTokens(
    hubId: number,
    scopes: string[],
    clientId: string,
  ): { access: TokenRecord; refresh: RefreshRecord } {
    const access: TokenRecord = {
      token: `sbx-at-${randomBytes(36).toString('base64url')}`,
      kind: 'oauth',
      hubId,
      scopes,
      expiresMs: this.config.now().getTime() + this.config.accessTokenTtlSeconds * 1000,
      ...DEMO_USER,
    };
    const refresh: RefreshRecord = {
      token: `sbx-rt-${randomUUID()}`,
      hubId,
      scopes,
      clientId,
      revoked: false,
      ...DEMO_USER,
    };
    this.access.set(access.token, access);
    this.refresh.set(refresh.token, refresh);
    return { access, refresh };
  }

  /** Test helper: an access token valid right now, without the OAuth dance. */
  issueAccessToken(opts: { ttlSeconds?: number; scopes?: string[] } = {}): TokenRecord {
    const { access } = this.issueTokens(
      this.state.portalId,
      opts.scopes ?? DEFAULT_SCOPES,
      this.config.clientId,
    );
    if (opts.ttlSeconds !== undefined)
      access.expiresMs = this.config.now().getTime() + opts.ttlSeconds * 1000;
    return access;
  }

  /** Expire every OAuth access token now (mid-run expiry). */
  expireAll(): void {
    const nowMs = this.config.now().getTime();
    for (const t of this.access.values()) if (t.kind === 'oauth') t.expiresMs = Math.min(t.expiresMs, nowMs);
  }

  revokeRefreshToken(token: string): boolean {
    const r = this.refresh.get(token);
    if (r === undefined) return false;
    r.revoked = true;
    return true;
  }
}

const TokenFormSchema = z.object({
  grant_type: z.enum(['authorization_code', 'refresh_token']),
  client_id: z.string().min(1),
  client_secret: z.string().min(1),
  redirect_uri: z.string().optional(),
  code: z.string().optional(),
  refresh_token: z.string().optional(),
});

function invalidGrant(res: Response, status: string, description: string): void {
  res.status(400).json({
    status,
    message: description,
    correlationId: randomUUID(),
    error: 'invalid_grant',
    error_description: description,
  });
}

export function oauthRouter(config: OAuthConfig, tokens: TokenStore, state: HubSpotState): MiniRouter {
  const r = new MiniRouter();

  r.get('/oauth/authorize', (req, res) => {
    state.count('oauth');
    const q = z
      .object({
        client_id: z.string(),
        redirect_uri: z.string().url(),
        scope: z.string().optional(),
        state: z.string().optional(),
      })
      .safeParse(req.query);
    if (!q.success || q.data.client_id !== config.clientId) {
      sendError(res, 400, 'VALIDATION_ERROR', 'Invalid client_id or redirect_uri');
      return;
    }
    const scopes = (q.data.scope ?? '').split(/[ +]/).filter((s) => s !== '');
    const code = tokens.issueAuthCode({
      redirectUri: q.data.redirect_uri,
      scopes: scopes.length > 0 ? scopes : DEFAULT_SCOPES,
    });
    const target = new URL(q.data.redirect_uri);
    target.searchParams.set('code', code);
    if (q.data.state !== undefined) target.searchParams.set('state', q.data.state);
    res.redirect(302, target.toString());
  });

  r.post('/oauth/v1/token', (req, res) => {
    state.count('oauth');
    const parsed = TokenFormSchema.safeParse(req.body ?? {});
    if (!parsed.success) {
      res.status(400).json({
        status: 'BAD_REQUEST',
        message: 'missing or invalid grant_type, client_id or client_secret',
        correlationId: randomUUID(),
        error: 'invalid_request',
        error_description: 'missing or invalid grant_type, client_id or client_secret',
      });
      return;
    }
    const f = parsed.data;
    if (!safeEqual(f.client_id, config.clientId))
      return invalidGrant(res, 'BAD_CLIENT_ID', 'missing or invalid client id');
    if (!safeEqual(f.client_secret, config.clientSecret))
      return invalidGrant(res, 'BAD_CLIENT_SECRET', 'missing or invalid client secret');
    const nowMs = config.now().getTime();
    let hubId: number;
    let scopes: string[];
    if (f.grant_type === 'authorization_code') {
      const code = f.code === undefined ? undefined : tokens.codes.get(f.code);
      if (code === undefined || code.used || code.expiresMs <= nowMs)
        return invalidGrant(res, 'BAD_AUTH_CODE', 'missing or unknown auth code');
      if (f.redirect_uri !== code.redirectUri)
        return invalidGrant(
          res,
          'BAD_REDIRECT_URI',
          'redirect_uri does not match the one used to obtain the code',
        );
      code.used = true;
      hubId = code.hubId;
      scopes = code.scopes;
    } else {
      const rt = f.refresh_token === undefined ? undefined : tokens.refresh.get(f.refresh_token);
      if (rt === undefined || rt.revoked || rt.clientId !== f.client_id)
        return invalidGrant(res, 'BAD_REFRESH_TOKEN', 'refresh token is invalid, expired or revoked');
      hubId = rt.hubId;
      scopes = rt.scopes;
    }
    const issued = tokens.issueTokens(hubId, scopes, f.client_id);
    // A refresh grant returns the same refresh token (HubSpot does not rotate; API_FACTS §OAuth).
    let refreshToken = issued.refresh.token;
    if (f.grant_type === 'refresh_token' && f.refresh_token !== undefined) {
      tokens.refresh.delete(issued.refresh.token);
      refreshToken = f.refresh_token;
    }
    res.status(200).json({
      token_type: 'bearer',
      access_token: issued.access.token,
      refresh_token: refreshToken,
      expires_in: Math.round((issued.access.expiresMs - nowMs) / 1000),
      hub_id: hubId,
      scopes,
      token_use: 'access_token',
    });
  });

  r.get('/oauth/v1/access-tokens/:token', (req, res) => {
    state.count('oauth');
    const t = tokens.access.get(req.params.token);
    const nowMs = config.now().getTime();
    if (t === undefined || t.expiresMs <= nowMs) {
      sendError(res, 404, 'OBJECT_NOT_FOUND', 'access token not found or expired');
      return;
    }
    res.json({
      token: t.token,
      user: t.user,
      hub_domain: `sandbox-${t.hubId}.hubspot.test`,
      scopes: t.scopes,
      hub_id: t.hubId,
      app_id: config.appId,
      expires_in: t.kind === 'private' ? 0 : Math.round((t.expiresMs - nowMs) / 1000),
      user_id: t.userId,
      token_type: 'access',
    });
  });

  r.get('/oauth/v1/refresh-tokens/:token', (req, res) => {
    state.count('oauth');
    const t = tokens.refresh.get(req.params.token);
    if (t === undefined || t.revoked) {
      sendError(res, 404, 'OBJECT_NOT_FOUND', 'refresh token not found');
      return;
    }
    res.json({
      token: t.token,
      user: t.user,
      hub_domain: `sandbox-${t.hubId}.hubspot.test`,
      scopes: t.scopes,
      hub_id: t.hubId,
      client_id: t.clientId,
      user_id: t.userId,
      token_type: 'refresh',
    });
  });

  r.delete('/oauth/v1/refresh-tokens/:token', (req, res) => {
    state.count('oauth');
    if (!tokens.revokeRefreshToken(req.params.token)) {
      sendError(res, 404, 'OBJECT_NOT_FOUND', 'refresh token not found');
      return;
    }
    res.status(204).end();
  });

  return r;
}

/** Bearer check for every API route; also where a mid-run token expiry is injected. */
export function bearerAuth(tokens: TokenStore, faults: FaultInjector, now: () => Date) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const header = req.headers.authorization;
    const token = header !== undefined && /^Bearer /i.test(header) ? header.slice(7).trim() : undefined;
    const rec = token === undefined ? undefined : tokens.access.get(token);
    if (rec === undefined) {
      sendError(
        res,
        401,
        'INVALID_AUTHENTICATION',
        'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview',
      );
      return;
    }
    const nowMs = now().getTime();
    if (rec.kind === 'oauth' && rec.expiresMs > nowMs && faults.shouldExpireToken()) tokens.expireAll();
    if (rec.expiresMs <= nowMs) {
      const ago = Math.max(0, Math.floor((nowMs - rec.expiresMs) / 1000));
      sendError(
        res,
        401,
        'EXPIRED_AUTHENTICATION',
        `The OAuth token used to make this call expired ${ago} second(s) ago.`,
      );
      return;
    }
    res.locals.token = rec;
    next();
  };
}
