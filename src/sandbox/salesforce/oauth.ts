/**
 * OAuth 2.0 web-server flow with PKCE, refresh grant, revoke and the identity URL.
 * - authorize: GET /services/oauth2/authorize?response_type=code&client_id&redirect_uri[&state]
 *   [&code_challenge[&code_challenge_method]] → 302 redirect_uri?code=…&state=…
 *   (SF intro_understanding_web_server_oauth_flow; jsforce oauth2.ts getAuthorizationUrl sends
 *   code_challenge without a method → S256).
 * - token: POST form; authorization_code (+code_verifier) and refresh_token grants →
 *   {access_token, refresh_token?, signature, scope, instance_url, id, token_type, issued_at};
 *   no expires_in; errors {error, error_description} with 400 (invalid_grant, invalid_client,
 *   unsupported_grant_type) — API_FACTS §OAuth. jsforce parses `id` on refresh (connection.ts
 *   oauthRefreshFn → parseIdUrl), so the refresh response always carries it.
 * - identity: GET /id/{orgId}/{userId} with Bearer or ?oauth_token (jsforce identity()).
 */
import express from 'express';
import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import { baseUrl } from './context.js';
import type { SandboxContext } from './context.js';
import { randomToken, safeEqual, tokenSignature, verifierMatches } from './sessions.js';

const AuthorizeQuery = z.object({
  response_type: z.string(),
  client_id: z.string(),
  redirect_uri: z.string().url(),
  state: z.string().optional(),
  scope: z.string().optional(),
  code_challenge: z.string().optional(),
  code_challenge_method: z.enum(['S256', 'plain']).optional(),
});

const TokenForm = z.object({
  grant_type: z.string().optional(),
  code: z.string().optional(),
  refresh_token: z.string().optional(),
  client_id: z.string().optional(),
  client_secret: z.string().optional(),
  redirect_uri: z.string().optional(),
  code_verifier: z.string().optional(),
});

function oauthError(res: Response, status: number, error: string, description: string): void {
  res.status(status).json({ error, error_description: description });
}

/** Bearer token from `Authorization: Bearer|OAuth x` or `?oauth_token=` (identity URL). */
export function bearerOf(req: Request): string | undefined {
  const h = req.get('authorization');
  const m = h === undefined ? null : /^(?:Bearer|OAuth)\s+(.+)$/i.exec(h);
  if (m?.[1] !== undefined) return m[1].trim();
  const q = req.query.oauth_token;
  return typeof q === 'string' ? q : undefined;
}

export function oauthRouter(ctx: SandboxContext): Router {
  const { config, sessions, state } = ctx;
  const router = express.Router();
  const idUrl = (req: Request, userId: string): string => `${baseUrl(req)}/id/${config.orgId}/${userId}`;

  const tokenResponse = (
    req: Request,
    userId: string,
    accessToken: string,
    refreshToken: string | undefined,
  ): Record<string, string> => {
    const issuedAt = String(config.now().getTime());
    const id = idUrl(req, userId);
    return {
      access_token: accessToken,
      ...(refreshToken === undefined ? {} : { refresh_token: refreshToken }),
      signature: tokenSignature(config.clientSecret, id, issuedAt),
      scope: 'refresh_token api',
      instance_url: baseUrl(req),
      id,
      token_type: 'Bearer',
      issued_at: issuedAt,
    };
  };

  router.get('/services/oauth2/authorize', (req, res) => {
    const parsed = AuthorizeQuery.safeParse(req.query);
    if (!parsed.success)
      return oauthError(res, 400, 'invalid_request', 'missing or invalid authorize parameters');
    const q = parsed.data;
    if (q.client_id !== config.clientId)
      return oauthError(res, 400, 'invalid_client_id', 'client identifier invalid');
    const redirect = new URL(q.redirect_uri);
    if (q.response_type !== 'code') {
      redirect.searchParams.set('error', 'unsupported_response_type');
      redirect.searchParams.set('error_description', 'response type not supported');
      return res.redirect(302, redirect.toString());
    }
    const code = `aPrx${randomToken(32)}`;
    sessions.codes.set(code, {
      clientId: q.client_id,
      redirectUri: q.redirect_uri,
      userId: state.apiUserId,
      codeChallenge: q.code_challenge,
      codeChallengeMethod: q.code_challenge_method ?? 'S256',
      expiresAt: config.now().getTime() + 15 * 60_000,
      scope: q.scope ?? 'api refresh_token',
    });
    redirect.searchParams.set('code', code);
    if (q.state !== undefined) redirect.searchParams.set('state', q.state);
    res.redirect(302, redirect.toString());
  });

  router.post('/services/oauth2/token', express.urlencoded({ extended: false }), (req, res) => {
    state.counters.oauthToken++;
    const parsed = TokenForm.safeParse(req.body ?? {});
    if (!parsed.success) return oauthError(res, 400, 'invalid_request', 'invalid token request');
    const form = parsed.data;
    const basic = /^Basic\s+(.+)$/i.exec(req.get('authorization') ?? '');
    const [basicId, basicSecret] =
      basic?.[1] === undefined ? [] : Buffer.from(basic[1], 'base64').toString().split(':');
    const clientId = form.client_id ?? basicId;
    const clientSecret = form.client_secret ?? basicSecret;
    if (clientId === undefined || !safeEqual(clientId, config.clientId))
      return oauthError(res, 400, 'invalid_client_id', 'client identifier invalid');
    if (clientSecret !== undefined && !safeEqual(clientSecret, config.clientSecret)) {
      return oauthError(res, 400, 'invalid_client', 'invalid client credentials');
    }
    if (form.grant_type === 'authorization_code') {
      const code = form.code === undefined ? undefined : sessions.codes.get(form.code);
      if (form.code !== undefined) sessions.codes.delete(form.code); // single use, even when it fails
      if (code === undefined || code.expiresAt <= config.now().getTime())
        return oauthError(res, 400, 'invalid_grant', 'invalid authorization code');
      if (form.redirect_uri !== code.redirectUri)
        return oauthError(res, 400, 'redirect_uri_mismatch', 'redirect_uri must match configuration');
      if (code.codeChallenge !== undefined) {
        if (form.code_verifier === undefined)
          return oauthError(res, 400, 'invalid_grant', 'invalid code verifier');
        if (!verifierMatches(code, form.code_verifier))
          return oauthError(res, 400, 'invalid_grant', 'invalid code verifier');
      }
      const refresh = sessions.issueRefresh(code.userId, clientId);
      const access = sessions.issueAccess(code.userId, clientId, refresh);
      return res.json(tokenResponse(req, code.userId, access, refresh));
    }
    if (form.grant_type === 'refresh_token') {
      const rt = form.refresh_token;
      const entry = rt === undefined ? undefined : sessions.refresh.get(rt);
      if (rt === undefined || entry === undefined)
        return oauthError(res, 400, 'invalid_grant', 'expired access/refresh token');
      let refreshOut: string | undefined;
      let bound = rt;
      if (config.rotateRefreshTokens) {
        sessions.refresh.delete(rt);
        refreshOut = sessions.issueRefresh(entry.userId, clientId);
        bound = refreshOut;
      }
      const access = sessions.issueAccess(entry.userId, clientId, bound);
      return res.json(tokenResponse(req, entry.userId, access, refreshOut));
    }
    return oauthError(res, 400, 'unsupported_grant_type', 'grant type not supported');
  });

  router.post('/services/oauth2/revoke', express.urlencoded({ extended: false }), (req, res) => {
    const token =
      typeof req.body?.token === 'string'
        ? (req.body.token as string)
        : (req.query.token as string | undefined);
    if (token === undefined)
      return oauthError(res, 400, 'unsupported_token_type', 'this token type is not supported');
    if (sessions.refresh.has(token)) sessions.revokeRefresh(token);
    else if (sessions.access.has(token)) sessions.expire(token);
    else return oauthError(res, 400, 'invalid_token', 'invalid token');
    res.status(200).end();
  });

  router.get('/id/:orgId/:userId', (req, res) => {
    state.counters.identity++;
    const token = bearerOf(req);
    const session = token === undefined ? undefined : sessions.check(token);
    if (session === undefined) return res.status(403).type('text/plain').send('Bad_OAuth_Token');
    const user = state.table('User')?.records.get(String(req.params.userId));
    if (req.params.orgId !== config.orgId || user === undefined)
      return res.status(404).type('text/plain').send('Bad_Id');
    const base = baseUrl(req);
    res.json({
      id: idUrl(req, user.Id as string),
      asserted_user: true,
      user_id: user.Id,
      organization_id: config.orgId,
      username: user.Username,
      nick_name: String(user.Username).split('@')[0],
      display_name: user.Name,
      email: user.Email,
      email_verified: true,
      first_name: user.FirstName,
      last_name: user.LastName,
      active: user.IsActive,
      user_type: 'STANDARD',
      language: 'en_US',
      locale: 'en_US',
      utcOffset: 0,
      last_modified_date: user.LastModifiedDate,
      urls: {
        enterprise: `${base}/services/Soap/c/{version}/${config.orgId.slice(0, 15)}`,
        metadata: `${base}/services/Soap/m/{version}/${config.orgId.slice(0, 15)}`,
        partner: `${base}/services/Soap/u/{version}/${config.orgId.slice(0, 15)}`,
        rest: `${base}/services/data/v{version}/`,
        sobjects: `${base}/services/data/v{version}/sobjects/`,
        query: `${base}/services/data/v{version}/query/`,
        limits: `${base}/services/data/v{version}/limits/`,
        profile: `${base}/${String(user.Id)}`,
      },
    });
  });

  return router;
}
