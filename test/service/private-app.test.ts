/** `serve` with only a private-app token installs that portal as a tenant once, and reuses it (real Redis). */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { ensurePrivateAppTenant, UNKNOWN_PORTAL } from '../../src/service/private-app.js';
import { RedisStore, generateKeyRing } from '../../src/store/index.js';
import { dropPrefix, randomPrefix, REDIS_URL } from '../queue/helpers.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
// Assembled at run time: no token-shaped literal in the repository.
const token = ['pat', 'test', 'x'.repeat(12)].join('-');

function fakeQueue() {
  const calls: string[] = [];
  return {
    calls,
    enqueue: async (kind: string, tenantId: string) => {
      calls.push(`${kind}:${tenantId}`);
      return { jobId: `${kind}-1`, coalesced: false };
    },
    schedule: async (tenantId: string, every?: number) => {
      calls.push(`schedule:${tenantId}:${every}`);
    },
  };
}

describe('private-app tenant bootstrap', () => {
  const prefix = randomPrefix();
  const redis = new Redis(REDIS_URL);
  const store = new RedisStore({ redis, prefix, keyRing: generateKeyRing().ring });

  afterAll(async () => {
    await dropPrefix(prefix);
    redis.disconnect();
  });

  it('creates the tenant once (provision, backfill, schedule), then reuses it and saves the rotated token', async () => {
    const asked: string[] = [];
    const fetchPortalId = async (t: string, base?: string) => {
      asked.push(`${t === token}:${base}`);
      return '4242';
    };
    const q1 = fakeQueue();
    const first = await ensurePrivateAppTenant(
      { store, queue: q1, logger: silent },
      { token, scheduleEveryMs: 900_000, apiBaseUrl: 'http://hs.test', fetchPortalId },
    );
    expect(first.created).toBe(true);
    expect(first.tenant).toMatchObject({ crm: 'hubspot', accountId: '4242', mode: 'private' });
    expect(asked).toEqual(['true:http://hs.test']);
    const id = first.tenant.id;
    expect(q1.calls).toEqual([`provision:${id}`, `backfill:${id}`, `schedule:${id}:900000`]);
    expect((await store.loadTokens(id))?.accessToken).toBe(token);

    const rotated = `${token}-2`;
    const q2 = fakeQueue();
    const again = await ensurePrivateAppTenant(
      { store, queue: q2, logger: silent },
      { token: rotated, portalId: '4242', scheduleEveryMs: 900_000, fetchPortalId },
    );
    expect(again).toMatchObject({ created: false, tenant: { id } });
    expect(asked).toHaveLength(1); // a configured portal id is not asked for
    expect(q2.calls).toEqual([`incremental:${id}`, `schedule:${id}:900000`]);
    expect((await store.loadTokens(id))?.accessToken).toBe(rotated);
    expect((await store.listTenants()).filter((t) => t.accountId === '4242')).toHaveLength(1);
  });

  it('falls back to a placeholder account when HubSpot does not say the portal id', async () => {
    const out = await ensurePrivateAppTenant(
      { store, queue: fakeQueue(), logger: silent },
      {
        token,
        scheduleEveryMs: 60_000,
        fetchPortalId: () => Promise.reject(new AppError('ERR_HUBSPOT_ACCOUNT_INFO', 'HTTP 404')),
      },
    );
    expect(out.tenant.accountId).toBe(UNKNOWN_PORTAL);
  });
});
