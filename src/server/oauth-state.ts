/**
 * OAuth `state`: a jose-signed JWT (HS256, SESSION_SECRET, own audience so it can never pass as a
 * session) naming the CRM and a random nonce, expiring after 10 minutes. The nonce is stored in the
 * store with what the callback needs (the PKCE verifier stays server-side: the state only references
 * it) and is consumed atomically by the callback, so a state works once (RFC 6749 §10.12: CSRF;
 * RFC 7636: PKCE).
 */
import { createHash, randomBytes } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import type { CrmName } from '../../connectors/contract.js';
import type { Store } from '../store/types.js';
import { HttpError } from './http-errors.js';
import { secretKey } from './session.js';

export const ERR_OAUTH_STATE_INVALID = 'ERR_OAUTH_STATE_INVALID';
export const ERR_OAUTH_STATE_EXPIRED = 'ERR_OAUTH_STATE_EXPIRED';
export const ERR_OAUTH_STATE_USED = 'ERR_OAUTH_STATE_USED';

const ISSUER = 'referral-sync';
const STATE_AUDIENCE = 'referral-sync:oauth-state';
export const STATE_TTL_MS = 10 * 60_000;

export interface StartedFlow {
  state: string;
  /** S256 challenge to send to the CRM when PKCE is used. */
  codeChallenge?: string;
}

export interface VerifiedFlow {
  crm: CrmName;
  codeVerifier?: string;
  loginUrl?: string;
}

const nonceSchema = z.strictObject({
  crm: z.enum(['hubspot', 'salesforce']),
  verifier: z.string().optional(),
  loginUrl: z.string().optional(),
});

const claimsSchema = z.object({ jti: z.string().min(16), crm: z.enum(['hubspot', 'salesforce']) });

export class OAuthStates {
  private readonly key: Uint8Array;

  constructor(
    secret: string,
    private readonly store: Store,
    private readonly now: () => Date,
  ) {
    this.key = secretKey(secret);
  }

  async start(crm: CrmName, options: { pkce: boolean; loginUrl?: string }): Promise<StartedFlow> {
    const nonce = randomBytes(18).toString('base64url');
    const now = this.now();
    const payload: Record<string, string> = { crm };
    const flow: StartedFlow = { state: '' };
    if (options.pkce) {
      // RFC 7636 §4.1: 32 random octets, base64url → 43 chars; §4.2: S256 challenge.
      payload.verifier = randomBytes(32).toString('base64url');
      flow.codeChallenge = createHash('sha256').update(payload.verifier).digest('base64url');
    }
    if (options.loginUrl !== undefined) payload.loginUrl = options.loginUrl;
    await this.store.saveNonce(nonce, payload, STATE_TTL_MS);
    flow.state = await new SignJWT({ crm, pkce: options.pkce })
      .setProtectedHeader({ alg: 'HS256' })
      .setJti(nonce)
      .setIssuer(ISSUER)
      .setAudience(STATE_AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(new Date(now.getTime() + STATE_TTL_MS))
      .sign(this.key);
    return flow;
  }

  /** Verifies and consumes a state for `crm`. Throws 400 with a stable code otherwise. */
  async finish(crm: CrmName, state: string | undefined): Promise<VerifiedFlow> {
    if (state === undefined || state === '' || state.length > 4_000) {
      throw new HttpError(400, ERR_OAUTH_STATE_INVALID, 'the install link is missing its state: start again');
    }
    let claims: z.infer<typeof claimsSchema>;
    try {
      const { payload } = await jwtVerify(state, this.key, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: STATE_AUDIENCE,
        currentDate: this.now(),
      });
      claims = claimsSchema.parse(payload);
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) {
        throw new HttpError(
          400,
          ERR_OAUTH_STATE_EXPIRED,
          'the install link expired (10 minutes): start again',
        );
      }
      if (e instanceof joseErrors.JOSEError || e instanceof z.ZodError) {
        throw new HttpError(400, ERR_OAUTH_STATE_INVALID, 'the install link is not valid: start again');
      }
      throw e;
    }
    if (claims.crm !== crm) {
      throw new HttpError(400, ERR_OAUTH_STATE_INVALID, 'the install link was started for another CRM');
    }
    const stored = nonceSchema.safeParse(await this.store.consumeNonce(claims.jti));
    if (!stored.success) {
      throw new HttpError(400, ERR_OAUTH_STATE_USED, 'the install link was already used: start again');
    }
    const flow: VerifiedFlow = { crm };
    if (stored.data.verifier !== undefined) flow.codeVerifier = stored.data.verifier;
    if (stored.data.loginUrl !== undefined) flow.loginUrl = stored.data.loginUrl;
    return flow;
  }
}
