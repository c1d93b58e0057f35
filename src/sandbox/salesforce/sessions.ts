/**
 * OAuth sessions of the sandbox org: authorization codes (single use, PKCE), access tokens with a
 * lifetime (the org's session timeout; SF sends no expires_in — API_FACTS §OAuth), refresh tokens
 * (optionally rotated: each use returns a new one and revokes the old, as SF's "refresh token
 * rotation" connected-app policy does).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface AccessSession {
  userId: string;
  clientId: string;
  expiresAt: number;
  refreshToken: string | undefined;
}

export interface AuthCode {
  clientId: string;
  redirectUri: string;
  userId: string;
  codeChallenge: string | undefined;
  codeChallengeMethod: 'S256' | 'plain';
  expiresAt: number;
  scope: string;
}

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function safeEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}

/** PKCE check (RFC 7636 §4.6): S256 = BASE64URL(SHA256(verifier)); jsforce sends no method → S256. */
export function verifierMatches(code: AuthCode, verifier: string): boolean {
  if (code.codeChallenge === undefined) return true;
  const computed =
    code.codeChallengeMethod === 'plain'
      ? verifier
      : createHash('sha256').update(verifier).digest('base64url');
  return safeEqual(computed, code.codeChallenge);
}

/** SF token `signature`: Base64(HMAC-SHA256(client secret, id + issued_at)). */
export function tokenSignature(clientSecret: string, id: string, issuedAt: string): string {
  return createHmac('sha256', clientSecret)
    .update(id + issuedAt)
    .digest('base64');
}

export class Sessions {
  readonly access = new Map<string, AccessSession>();
  readonly refresh = new Map<string, { userId: string; clientId: string }>();
  readonly codes = new Map<string, AuthCode>();

  constructor(
    private readonly orgId: string,
    private readonly now: () => Date,
    private readonly ttlSeconds: number,
  ) {}

  /** SF access tokens look like `<orgId15>!<opaque>`. */
  issueAccess(userId: string, clientId: string, refreshToken: string | undefined): string {
    const token = `${this.orgId.slice(0, 15)}!${randomToken(48)}`;
    this.access.set(token, {
      userId,
      clientId,
      refreshToken,
      expiresAt: this.now().getTime() + this.ttlSeconds * 1000,
    });
    return token;
  }

  issueRefresh(userId: string, clientId: string): string {
    const token = `5Aep861${randomToken(40)}`;
    this.refresh.set(token, { userId, clientId });
    return token;
  }

  /** A live session for the token, or undefined when unknown, revoked or expired. */
  check(token: string): AccessSession | undefined {
    const s = this.access.get(token);
    if (s === undefined) return undefined;
    if (s.expiresAt <= this.now().getTime()) {
      this.access.delete(token);
      return undefined;
    }
    return s;
  }

  expire(token: string): void {
    this.access.delete(token);
  }

  expireAll(): void {
    this.access.clear();
  }

  revokeRefresh(token: string): void {
    this.refresh.delete(token);
    for (const [t, s] of this.access) if (s.refreshToken === token) this.access.delete(t);
  }

  clear(): void {
    this.access.clear();
    this.refresh.clear();
    this.codes.clear();
  }
}
