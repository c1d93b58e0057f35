import { afterEach, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/store/redis-store.js';
import { generateKeyRing } from '../../src/store/crypto.js';
import { storeContract } from './contract.js';
import { redisHarness, REDIS_URL } from './helpers.js';

storeContract('RedisStore', (options) => redisHarness(options), { reopens: true });

describe('RedisStore specifics', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((c) => c()));
  });

  it('stores tokens only as JWE (dir + A256GCM) under the tenant prefix', async () => {
    const h = redisHarness();
    cleanups.push(h.cleanup);
    const t = await h.store.createTenant({ crm: 'hubspot', accountId: '42', mode: 'oauth' });
    await h.store.saveTokens(t.id, {
      accessToken: 'pat-na1-SECRET',
      refreshToken: 'REFRESH-SECRET',
      accountId: '42',
    });
    const raw = (await h.redis.get(`${h.prefix}:t:${t.id}:tok`)) ?? '';
    expect(raw.split('.')).toHaveLength(5);
    expect(raw).not.toContain('SECRET');
    const header = JSON.parse(Buffer.from(raw.split('.')[0] ?? '', 'base64url').toString()) as Record<
      string,
      string
    >;
    expect(header).toMatchObject({ alg: 'dir', enc: 'A256GCM', tid: t.id });
    // A ciphertext copied into another tenant's slot does not decrypt there.
    await h.redis.set(`${h.prefix}:t:other:tok`, raw);
    await expect(h.store.loadTokens('other')).rejects.toMatchObject({
      code: 'ERR_STORE_TOKEN_UNDECRYPTABLE',
    });
  });

  it('keeps every tenant key under {prefix}:t:{tenantId}: and small pages in compact hashes', async () => {
    const h = redisHarness();
    cleanups.push(h.cleanup);
    const t = await h.store.createTenant({ crm: 'hubspot', accountId: '42', mode: 'oauth' });
    await h.store.putRecordStates(t.id, 'contacts', [
      { id: '1', inputHash: 'abc', written: { referral_ready: true } },
    ]);
    await h.store.indexPeople(t.id, [{ kind: 'code', key: 'X', personId: '1' }]);
    await h.store.saveRun(t.id, {
      id: 'r',
      kind: 'backfill',
      status: 'running',
      startedAt: new Date().toISOString(),
      counts: {},
    });
    const keys = await h.redis.keys(`${h.prefix}:*`);
    const tenantKeys = keys.filter((k) => !k.startsWith(`${h.prefix}:g:`));
    expect(tenantKeys.length).toBeGreaterThan(3);
    for (const k of tenantKeys) expect(k.startsWith(`${h.prefix}:t:${t.id}:`)).toBe(true);
    const hashKey = tenantKeys.find((k) => k.includes(':h:contacts:')) ?? '';
    expect(await h.redis.object('ENCODING', hashKey)).toBe('listpack');
  });

  it('keeps e-mail addresses of the attribution index out of Redis (digests), still found', async () => {
    const h = redisHarness();
    cleanups.push(h.cleanup);
    await h.store.indexPeople('t1', [{ kind: 'email', key: 'Jane.Doe@Example.com', personId: '42' }]);
    expect(
      (await h.store.lookupPeople('t1', 'email', ['jane.doe@example.com'])).get('jane.doe@example.com'),
    ).toBe('42');
    const keys = await h.redis.keys(`${h.prefix}:*`);
    for (const key of keys) {
      const dump = JSON.stringify(await h.redis.hgetall(key));
      expect(dump).not.toMatch(/jane/i);
    }
  });

  it('a rotation does not overwrite tokens a refresh saved meanwhile', async () => {
    const h = redisHarness({ keyRing: generateKeyRing('old').ring });
    cleanups.push(h.cleanup);
    await h.store.createTenant({ id: 'tenant1', crm: 'hubspot', accountId: '1', mode: 'oauth' });
    await h.store.saveTokens('tenant1', { accessToken: 'a1', accountId: '1' });
    const both = {
      keys: [
        ...generateKeyRing('new').ring.keys,
        ...(h.store as unknown as { keyRing: { keys: [] } }).keyRing.keys,
      ],
    };
    const rotating = new RedisStore({ redis: h.redis, prefix: h.prefix, keyRing: both });
    // Simulate a refresh landing between the rotation's read and write.
    const original = h.redis.get.bind(h.redis);
    let raced = false;
    (h.redis as unknown as { get: typeof original }).get = (async (key: string) => {
      const value = await original(key);
      if (!raced && key.endsWith(':tok')) {
        raced = true;
        await rotating.saveTokens('tenant1', { accessToken: 'a2-refreshed', accountId: '1' });
      }
      return value;
    }) as typeof original;
    try {
      expect(await rotating.rotateTokenEncryption()).toEqual({ rotated: 0 });
    } finally {
      (h.redis as unknown as { get: typeof original }).get = original;
    }
    expect((await rotating.loadTokens('tenant1'))?.accessToken).toBe('a2-refreshed');
  });

  it('owns and closes a connection it opened from a URL', async () => {
    const store = new RedisStore({
      redis: REDIS_URL,
      prefix: 'unused-prefix',
      keyRing: generateKeyRing().ring,
    });
    await store.ping();
    await store.close();
    await expect(store.ping()).rejects.toThrow();
  });
});
