/**
 * `GET /r/:tenantId/:code`: records a link click for the tenant (Redis, TTL = click window) and
 * redirects to the tenant's landing page with the click id and code; unknown tenants and tenants
 * without a landing page look the same; typo'd and garbage codes still reach the landing page but
 * record nothing; per-IP rate limit.
 */
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { CodeIssuer, seededRandom } from '../../src/engine/index.js';
import type { StoredClick } from '../../src/store/types.js';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';

const harnesses: Harness[] = [];
async function harness(): Promise<Harness> {
  const h = await startHarness();
  harnesses.push(h);
  return h;
}
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
});

const LANDING = 'https://www.acme.test/refer?utm_source=referral';
const DAY_MS = 86_400_000;
const CODE = new CodeIssuer(seededRandom(7)).draw();
/** One symbol changed: the check character catches it. */
const TYPO = CODE.slice(0, 3) + (CODE[3] === '7' ? '8' : '7') + CODE.slice(4);

async function tenant(
  h: Harness,
  settings: Record<string, string> = { landingUrl: LANDING },
  rules?: object,
) {
  return h.store.createTenant({
    crm: 'hubspot',
    accountId: `acct-${Math.random().toString(36).slice(2)}`,
    mode: 'oauth',
    config: { settings, ...(rules === undefined ? {} : { rules: rules as never }) },
  });
}

async function clicks(h: Harness, tenantId: string): Promise<StoredClick[]> {
  const out: StoredClick[] = [];
  for await (const page of h.store.listClicks(tenantId)) out.push(...page);
  return out;
}

describe('GET /r/:tenantId/:code', () => {
  it('records the click and redirects to the landing page with rs_click and rs_code, uncached, no cookie', async () => {
    const h = await harness();
    const t = await tenant(h);
    // Lower case and a hyphen, as a person retypes it: normalised before use.
    const typed = `${CODE.slice(0, 5).toLowerCase()}-${CODE.slice(5)}`;
    const res = await request(h.app).get(`/r/${t.id}/${typed}`).expect(302);

    const location = new URL(res.headers.location as string);
    expect(`${location.origin}${location.pathname}`).toBe('https://www.acme.test/refer');
    expect(location.searchParams.get('utm_source')).toBe('referral');
    expect(location.searchParams.get('rs_code')).toBe(CODE);
    const clickId = location.searchParams.get('rs_click')!;
    expect(clickId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['set-cookie']).toBeUndefined();

    expect(await clicks(h, t.id)).toEqual([{ clickId, code: CODE, at: h.clock.now.toISOString() }]);
    // A second visit is another click with another id.
    const again = await request(h.app).get(`/r/${t.id}/${CODE}`).expect(302);
    expect(new URL(again.headers.location as string).searchParams.get('rs_click')).not.toBe(clickId);
    expect(await clicks(h, t.id)).toHaveLength(2);
  });

  it("keeps clicks for the tenant's click window (default 90 days) in Redis, under the tenant's prefix", async () => {
    const h = await harness();
    const standard = await tenant(h);
    const short = await tenant(h, { landingUrl: LANDING }, { attribution: { clickWindowDays: 7 } });
    await request(h.app).get(`/r/${standard.id}/${CODE}`).expect(302);
    await request(h.app).get(`/r/${short.id}/${CODE}`).expect(302);

    const ttl = (id: string) => h.store.redis.pttl(h.store.keys.key(id, 'ck'));
    expect(await ttl(standard.id)).toBeGreaterThan(90 * DAY_MS - 60_000);
    expect(await ttl(standard.id)).toBeLessThanOrEqual(90 * DAY_MS);
    expect(await ttl(short.id)).toBeGreaterThan(7 * DAY_MS - 60_000);
    expect(await ttl(short.id)).toBeLessThanOrEqual(7 * DAY_MS);

    // Uninstall deletes them with every other tenant key.
    await h.store.deleteTenant(standard.id);
    expect(await h.store.redis.exists(h.store.keys.key(standard.id, 'ck'))).toBe(0);
    expect(await clicks(h, short.id)).toHaveLength(1);
  });

  it('redirects a typo (check character fails) with the code only and records nothing', async () => {
    const h = await harness();
    const t = await tenant(h);
    const res = await request(h.app).get(`/r/${t.id}/${TYPO}`).expect(302);
    const location = new URL(res.headers.location as string);
    expect(location.searchParams.get('rs_code')).toBe(TYPO);
    expect(location.searchParams.has('rs_click')).toBe(false);
    expect(await clicks(h, t.id)).toEqual([]);
  });

  it('sends anything that is not a code to the bare landing page and records nothing', async () => {
    const h = await harness();
    const t = await tenant(h);
    for (const bad of ['hello', 'ABC%20DEF', CODE + 'X', 'x'.repeat(300), '%E2%9C%93%E2%9C%93%E2%9C%93']) {
      const res = await request(h.app).get(`/r/${t.id}/${bad}`).expect(302);
      expect(res.headers.location).toBe(LANDING);
    }
    expect(await clicks(h, t.id)).toEqual([]);
  });

  it('answers the same 404 for an unknown tenant, a malformed id and a tenant without a landing page', async () => {
    const h = await harness();
    const none = await tenant(h, {});
    const unsafe = await tenant(h, { landingUrl: 'javascript:alert(1)' });
    const bodies = [];
    for (const id of ['no-such-tenant', 'bad*id', none.id, unsafe.id]) {
      const res = await request(h.app).get(`/r/${id}/${CODE}`).expect(404);
      expect(res.headers['cache-control']).toBe('no-store');
      bodies.push(res.body);
    }
    expect(bodies[0]).toEqual({
      error: { code: 'ERR_REFERRAL_LINK_NOT_FOUND', message: 'referral link not found' },
    });
    expect(new Set(bodies.map((b) => JSON.stringify(b))).size).toBe(1);
    expect(await clicks(h, none.id)).toEqual([]);
  });

  it('limits visits per IP (60 a minute), with Retry-After, and counts them in Redis', async () => {
    const h = await harness();
    const t = await tenant(h);
    for (let i = 0; i < 60; i++) await request(h.app).get(`/r/${t.id}/${CODE}`).expect(302);
    const res = await request(h.app).get(`/r/${t.id}/${CODE}`).expect(429);
    expect(res.body.error.code).toBe('ERR_HTTP_RATE_LIMITED');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    // Unknown tenants spend the same budget: no free enumeration.
    await request(h.app).get(`/r/no-such-tenant/${CODE}`).expect(429);
    expect(await clicks(h, t.id)).toHaveLength(60);
    const counters = await h.store.redis.keys(`${h.store.keys.prefix}:rl-ip:*`);
    expect(counters).toHaveLength(1);
  });
});
