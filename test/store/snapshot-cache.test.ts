import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { bucketOf } from '../../src/store/keys.js';
import {
  MemorySnapshotCache,
  RedisSnapshotCache,
  decodeSnapshot,
  encodeSnapshot,
} from '../../src/store/snapshot-cache.js';
import type { SnapshotCache, SnapshotEntry } from '../../src/store/snapshot-cache.js';
import { REDIS_URL, deletePrefix, randomPrefix } from './helpers.js';

const redis = new Redis(REDIS_URL);
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await deletePrefix(redis, p);
  redis.disconnect();
});

const caches: [string, () => SnapshotCache][] = [
  ['memory', () => new MemorySnapshotCache()],
  [
    'redis',
    () => {
      const prefix = randomPrefix();
      prefixes.push(prefix);
      return new RedisSnapshotCache(redis, prefix);
    },
  ],
];

async function scanAll(cache: SnapshotCache, tenant: string, object: string): Promise<SnapshotEntry[][]> {
  const out: SnapshotEntry[][] = [];
  for await (const batch of cache.scan(tenant, object)) out.push(batch);
  return out;
}

/** Deterministic shuffle (the order of writes must not matter). */
function shuffled<T>(list: readonly T[], seed: number): T[] {
  const out = [...list];
  let x = seed;
  for (let i = out.length - 1; i > 0; i--) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const ids = Array.from({ length: 3000 }, (_, i) => `rec-${(i * 7919) % 100_000}`);
const entries = ids.map((id) => ({ id, json: encodeSnapshot({ id, at: new Date(Date.UTC(2026, 0, 1)) }) }));

describe.each(caches)('%s snapshot cache', (_name, make) => {
  it('stores, reads back, counts, deletes and clears per tenant and object', async () => {
    const cache = make();
    await cache.put('t1', 'contacts', entries.slice(0, 10));
    await cache.put('t2', 'contacts', entries.slice(0, 3));
    expect(await cache.count('t1', 'contacts')).toBe(10);
    const got = await cache.get('t1', 'contacts', [ids[0]!, 'missing']);
    expect([...got.keys()]).toEqual([ids[0]]);
    expect(decodeSnapshot<{ at: Date }>(got.get(ids[0]!)!).at).toEqual(new Date(Date.UTC(2026, 0, 1)));
    await cache.delete('t1', 'contacts', [ids[0]!]);
    expect(await cache.count('t1', 'contacts')).toBe(9);
    await cache.clear('t1');
    expect(await cache.count('t1', 'contacts')).toBe(0);
    expect(await cache.count('t2', 'contacts')).toBe(3);
  });

  it('scans in bucket-then-id order whatever the order of writes, in bounded chunks', async () => {
    const a = make();
    const b = make();
    for (const [cache, seed] of [
      [a, 1],
      [b, 2],
    ] as const) {
      const order = shuffled(entries, seed);
      for (let i = 0; i < order.length; i += 500) await cache.put('t', 'contacts', order.slice(i, i + 500));
    }
    // Rewrites move nothing.
    await b.put('t', 'contacts', shuffled(entries, 3).slice(0, 200));
    const batches = await scanAll(a, 't', 'contacts');
    expect(Math.max(...batches.map((x) => x.length))).toBeLessThan(entries.length);
    const scanned = batches.flat().map((e) => e.id);
    const expected = [...ids].sort((x, y) => bucketOf(x) - bucketOf(y) || (x < y ? -1 : x > y ? 1 : 0));
    expect(scanned).toEqual(expected);
    expect((await scanAll(b, 't', 'contacts')).flat().map((e) => e.id)).toEqual(expected);
  });
});
