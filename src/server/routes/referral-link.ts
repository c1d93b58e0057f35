/**
 * Referral link click tracking (PRODUCT.md F-ATTR: "link click id"): `GET /r/:tenantId/:code` is
 * the public link advocates share (set the tenant's mapping `referralLinkTemplate` to
 * `https://<publicUrl>/r/<tenantId>/{code}`, README "Referral links"). It records a click
 * `{clickId, code, at}` for the tenant, kept for the tenant's `attribution.clickWindowDays`, and
 * 302-redirects to the tenant's landing page (`settings.landingUrl`) with `rs_click=<clickId>` and
 * `rs_code=<code>` appended, so the landing page's form fills the CRM's click-id and code capture
 * fields; the next sync attributes the lead by click (`EngineRun.addClicks`).
 *
 * Codes (`normalizeCode`/`codeProblem`, src/engine/codes.ts):
 *  - valid → click recorded, `rs_click` + `rs_code` (normalised) appended;
 *  - check character fails (a typo in a hand-typed link) → NOT recorded (a click must name a
 *    code we can credit), but redirected with `rs_code=<the typo>` only: the form captures it and
 *    attribution answers "did they mean …" (a review, never an automatic credit);
 *  - not a code at all (length/alphabet, > 64 chars) → redirected to the bare landing page.
 * The visitor always reaches the company's page; only a valid code is ever recorded.
 *
 * Privacy and abuse: unknown tenant, malformed tenant id and a tenant without a landing page all
 * answer the same 404 (`ERR_REFERRAL_LINK_NOT_FOUND`), so the route tells nothing about which
 * tenants exist. No cookies. Per-IP rate limit (Redis-shared when the store is Redis, else per
 * process) before any lookup. The redirect is never cached (each visit is a new click id) and
 * `Referrer-Policy: no-referrer` keeps the page the link was shared on from reaching the landing
 * page through us.
 */
import { randomBytes } from 'node:crypto';
import { Router } from 'express';
import type { Request, Response } from 'express';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { z } from 'zod';
import { codeProblem, DAY_MS, DEFAULT_RULES, normalizeCode, parseRules } from '../../engine/index.js';
import { AppError, isAppError } from '../../errors.js';
import { ERR_STORE_TENANT_ID_INVALID } from '../../store/keys.js';
import { RedisStore } from '../../store/redis-store.js';
import type { Tenant } from '../../store/types.js';
import type { ServerDeps } from '../deps.js';
import { HttpError, sendError } from '../http-errors.js';

export const ERR_REFERRAL_LINK_NOT_FOUND = 'ERR_REFERRAL_LINK_NOT_FOUND';
export const ERR_HTTP_RATE_LIMITED = 'ERR_HTTP_RATE_LIMITED';

/** The tenant setting holding the landing page the links redirect to. */
export const LANDING_URL_SETTING = 'landingUrl';
export const CLICK_PARAM = 'rs_click';
export const CODE_PARAM = 'rs_code';

/** Longest landing page address accepted (redirect targets beyond that break some browsers). */
export const LANDING_URL_MAX_LENGTH = 2_000;

/**
 * The landing page: an absolute http(s) URL with a host, and nothing a redirect should never carry:
 * no other scheme (`javascript:`, `data:`, `ftp:` …), no user name or password (credentials would
 * be handed to every visitor and `https://brand.test@evil.test` disguises the real host), no
 * whitespace or control character (`new URL` silently drops some, so what is stored would not be
 * what is visited). Surrounding spaces (a pasted address) are trimmed. Each rule has its own
 * message: the admin page shows the server's message next to the field.
 */
export const LandingUrlSchema = z
  .string({ error: 'an address such as https://www.example.com/refer' })
  .trim()
  .min(1, 'enter the address of your landing page, e.g. https://www.example.com/refer')
  .max(LANDING_URL_MAX_LENGTH, `at most ${LANDING_URL_MAX_LENGTH} characters`)
  .regex(/^[^\s\p{Cc}]*$/u, 'must not contain spaces or control characters')
  .pipe(
    z.url({
      protocol: /^https?$/,
      error:
        'must be an absolute address starting with https:// or http://, e.g. https://www.example.com/refer',
    }),
  )
  .refine((value) => {
    // zod runs this even after the URL check failed; that failure is already reported.
    if (!URL.canParse(value)) return true;
    const url = new URL(value);
    return url.username === '' && url.password === '';
  }, 'must not contain a user name or password (user:password@…)');

export interface ReferralLinkOptions {
  /** Link visits per IP per minute (default 60: a shared office NAT, never a crawler's sweep). */
  perIpPerMinute?: number;
}

/** The tenant's landing page, or null when none (or an invalid one) is configured. */
export function landingUrlOf(tenant: Tenant): URL | null {
  const parsed = LandingUrlSchema.safeParse(tenant.config.settings[LANDING_URL_SETTING]);
  return parsed.success ? new URL(parsed.data) : null;
}

/** The tenant's click window in ms (its rules, else the engine default of 90 days). */
function clickWindowMs(tenant: Tenant): number {
  let days = DEFAULT_RULES.attribution.clickWindowDays;
  try {
    days = parseRules(tenant.config.rules ?? {}).attribution.clickWindowDays;
  } catch {
    // Rules are validated when saved; unreadable ones fall back to the default window.
  }
  return days * DAY_MS;
}

/** 128 random bits, base64url: unguessable, so nobody can claim someone else's click. */
export function newClickId(): string {
  return randomBytes(16).toString('base64url');
}

function limiterFor(deps: ServerDeps, points: number): RateLimiterAbstract {
  const options = { points, duration: 60 };
  if (deps.store instanceof RedisStore) {
    return new RateLimiterRedis({
      ...options,
      storeClient: deps.store.redis,
      keyPrefix: `${deps.store.keys.prefix}:rl-ip`,
      // Redis down: a per-process budget instead of failing the visitor.
      insuranceLimiter: new RateLimiterMemory(options),
    });
  }
  return new RateLimiterMemory(options);
}

function notFound(): HttpError {
  return new HttpError(404, ERR_REFERRAL_LINK_NOT_FOUND, 'referral link not found');
}

export function referralLinkRouter(deps: ServerDeps, options: ReferralLinkOptions = {}): Router {
  const router = Router();
  const now = deps.now ?? (() => new Date());
  const limiter = limiterFor(deps, options.perIpPerMinute ?? 60);

  const tenantOf = async (tenantId: string): Promise<Tenant | null> => {
    try {
      return await deps.store.getTenant(tenantId);
    } catch (e) {
      if (isAppError(e, ERR_STORE_TENANT_ID_INVALID)) return null;
      throw e;
    }
  };

  router.get(
    '/r/:tenantId/:code',
    async (req: Request<{ tenantId: string; code: string }>, res: Response) => {
      res.set({
        'Cache-Control': 'no-store',
        'Referrer-Policy': 'no-referrer',
        'X-Robots-Tag': 'noindex, nofollow',
      });
      try {
        await limiter.consume(req.ip ?? 'unknown');
      } catch (e) {
        if (!(e instanceof RateLimiterRes)) throw e;
        res.set('Retry-After', String(Math.max(1, Math.ceil(e.msBeforeNext / 1000))));
        sendError(req, res, 429, new AppError(ERR_HTTP_RATE_LIMITED, 'too many requests, try again shortly'));
        return;
      }

      const tenant = await tenantOf(req.params.tenantId);
      const landing = tenant === null ? null : landingUrlOf(tenant);
      if (tenant === null || landing === null) throw notFound();

      const raw = req.params.code;
      const code = raw.length <= 64 ? normalizeCode(raw) : '';
      const problem = codeProblem(code);
      if (problem === null) {
        const clickId = newClickId();
        await deps.store.recordClick(
          tenant.id,
          { clickId, code, at: now().toISOString() },
          clickWindowMs(tenant),
        );
        landing.searchParams.set(CLICK_PARAM, clickId);
        landing.searchParams.set(CODE_PARAM, code);
      } else if (problem === 'check') {
        landing.searchParams.set(CODE_PARAM, code);
      }
      res.redirect(302, landing.toString());
    },
  );

  return router;
}
