/**
 * Admin sessions: a jose-signed JWT (HS256, SESSION_SECRET) in an HttpOnly, SameSite=Lax cookie,
 * `Secure` unless configured off for localhost. It names the tenants this browser installed (one
 * per CRM account it went through OAuth for) and carries a CSRF token: state-changing requests must
 * echo it in `X-CSRF-Token` (double submit: the page reads it from the non-HttpOnly `rs_csrf`
 * cookie or `GET /api/session`). A cross-site page can neither read the cookie nor set the header.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import type { Store } from '../store/types.js';
import { HttpError } from './http-errors.js';

export const SESSION_COOKIE = 'rs_session';
export const CSRF_COOKIE = 'rs_csrf';
export const CSRF_HEADER = 'x-csrf-token';

export const ERR_SESSION_REQUIRED = 'ERR_SESSION_REQUIRED';
export const ERR_SESSION_FORBIDDEN = 'ERR_SESSION_FORBIDDEN';
export const ERR_CSRF = 'ERR_CSRF';

const ISSUER = 'referral-sync';
const SESSION_AUDIENCE = 'referral-sync:admin-session';
/** A browser's session lists at most this many installations. */
const MAX_TENANTS = 10;

export interface Session {
  id: string;
  tenants: string[];
  csrf: string;
  expiresAt: Date;
}

const claimsSchema = z.object({
  jti: z.string().min(1),
  exp: z.number(),
  tids: z.array(z.string()).max(MAX_TENANTS),
  csrf: z.string().min(16),
});

export function secretKey(secret: string): Uint8Array {
  if (secret.length < 32) throw new RangeError('session secret must be at least 32 characters');
  return new TextEncoder().encode(secret);
}

/** Minimal RFC 6265 cookie header parser (express 5 has none built in). */
export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const raw = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(raw.startsWith('"') ? raw.slice(1, -1) : raw);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class Sessions {
  private readonly key: Uint8Array;
  private readonly ttlSeconds: number;

  constructor(
    secret: string,
    private readonly options: { secure: boolean; ttlSeconds?: number; now: () => Date; store: Store },
  ) {
    this.key = secretKey(secret);
    this.ttlSeconds = options.ttlSeconds ?? 12 * 3600;
  }

  /** Issues a session for `tenants` (newest last, capped) and sets both cookies. */
  async issue(res: Response, tenants: readonly string[]): Promise<Session> {
    const unique = [...new Set(tenants)].slice(-MAX_TENANTS);
    const now = this.options.now();
    const session: Session = {
      id: randomBytes(16).toString('base64url'),
      tenants: unique,
      csrf: randomBytes(24).toString('base64url'),
      expiresAt: new Date(now.getTime() + this.ttlSeconds * 1000),
    };
    const jwt = await new SignJWT({ tids: session.tenants, csrf: session.csrf })
      .setProtectedHeader({ alg: 'HS256' })
      .setJti(session.id)
      .setIssuer(ISSUER)
      .setAudience(SESSION_AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(session.expiresAt)
      .sign(this.key);
    const common = {
      secure: this.options.secure,
      sameSite: 'lax' as const,
      path: '/',
      maxAge: this.ttlSeconds * 1000,
    };
    res.cookie(SESSION_COOKIE, jwt, { ...common, httpOnly: true });
    res.cookie(CSRF_COOKIE, session.csrf, { ...common, httpOnly: false });
    return session;
  }

  clear(res: Response): void {
    const common = { secure: this.options.secure, sameSite: 'lax' as const, path: '/' };
    res.clearCookie(SESSION_COOKIE, { ...common, httpOnly: true });
    res.clearCookie(CSRF_COOKIE, common);
  }

  /** The valid, unrevoked session of the request, or null. */
  async read(req: Request): Promise<Session | null> {
    const token = readCookie(req, SESSION_COOKIE);
    if (token === undefined || token.length > 8_000) return null;
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: SESSION_AUDIENCE,
        currentDate: this.options.now(),
      });
      const claims = claimsSchema.parse(payload);
      if (await this.options.store.isSessionRevoked(claims.jti)) return null;
      return {
        id: claims.jti,
        tenants: claims.tids,
        csrf: claims.csrf,
        expiresAt: new Date(claims.exp * 1000),
      };
    } catch (e) {
      if (e instanceof joseErrors.JOSEError || e instanceof z.ZodError) return null;
      throw e;
    }
  }

  async require(req: Request): Promise<Session> {
    const session = await this.read(req);
    if (session === null)
      throw new HttpError(401, ERR_SESSION_REQUIRED, 'sign in by installing or reconnecting the app');
    return session;
  }

  async revoke(session: Session): Promise<void> {
    await this.options.store.revokeSession(session.id, session.expiresAt);
  }
}

/** Throws 403 `ERR_CSRF` unless the request echoes the session's CSRF token in the header. */
export function checkCsrf(req: Request, session: Session): void {
  const header = req.get(CSRF_HEADER);
  if (header === undefined || !constantTimeEqual(header, session.csrf)) {
    throw new HttpError(403, ERR_CSRF, `missing or wrong ${CSRF_HEADER} header`);
  }
}

/** Throws 403 unless the session covers the tenant (same answer whether the tenant exists or not). */
export function checkTenant(session: Session, tenantId: string): void {
  if (!session.tenants.includes(tenantId)) {
    throw new HttpError(403, ERR_SESSION_FORBIDDEN, 'this session has no access to that tenant');
  }
}
