/** Real-Redis test helpers: a random key prefix per store, deleted afterwards. */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { generateKeyRing } from '../../src/store/crypto.js';
import type { KeyRing } from '../../src/store/crypto.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { RedisStore } from '../../src/store/redis-store.js';

export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

export function randomPrefix(): string {
  return `test-${randomBytes(6).toString('hex')}`;
}

export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

export interface StoreHarness<S> {
  store: S;
  /** A second store over the same data (another worker process). */
  sibling: () => S;
  /** A store over the same data with another key ring (Redis only: memory state is per instance). */
  withKeyRing?: (ring: KeyRing) => S;
  cleanup: () => Promise<void>;
}

export function redisHarness(
  options: { keyRing?: KeyRing; now?: () => Date; maxRuns?: number } = {},
): StoreHarness<RedisStore> & { redis: Redis; prefix: string } {
  const prefix = randomPrefix();
  const keyRing = options.keyRing ?? generateKeyRing().ring;
  const redis = new Redis(REDIS_URL);
  const opened: Redis[] = [redis];
  const make = (client: Redis, ring: KeyRing = keyRing): RedisStore =>
    new RedisStore({
      redis: client,
      prefix,
      keyRing: ring,
      ...(options.now === undefined ? {} : { now: options.now }),
      ...(options.maxRuns === undefined ? {} : { maxRuns: options.maxRuns }),
    });
  return {
    redis,
    prefix,
    store: make(redis),
    sibling: () => {
      const client = new Redis(REDIS_URL);
      opened.push(client);
      return make(client);
    },
    withKeyRing: (ring) => make(redis, ring),
    cleanup: async () => {
      await deletePrefix(redis, prefix);
      await Promise.all(opened.map((c) => c.quit()));
    },
  };
}

export function memoryHarness(
  options: { keyRing?: KeyRing; now?: () => Date; maxRuns?: number } = {},
): StoreHarness<MemoryStore> {
  const store = new MemoryStore({
    keyRing: options.keyRing ?? generateKeyRing().ring,
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.maxRuns === undefined ? {} : { maxRuns: options.maxRuns }),
  });
  // In-process: a "sibling" is the same store (the memory store is never shared across processes).
  return { store, sibling: () => store, cleanup: () => Promise.resolve() };
}
