import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { JobContext, JobHandlers, JobOutcome } from '../../src/queue/handlers.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** An isolated prefix per test (BullMQ's own test style). */
export function randomPrefix(): string {
  return `test-q-${randomBytes(6).toString('hex')}`;
}

/** Deletes every key under the prefix. */
export async function dropPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}

export async function waitFor<T>(
  probe: () => T | Promise<T>,
  what: string,
  timeoutMs = 15_000,
  everyMs = 25,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

type Handler = (tenantId: string, ctx: JobContext) => Promise<JobOutcome | void>;

/** Handlers that all do the same thing; the webhook one ignores its events unless overridden. */
export function uniformHandlers(handler: Handler, overrides: Partial<JobHandlers> = {}): JobHandlers {
  return {
    backfill: handler,
    incremental: handler,
    reevaluate: handler,
    provision: handler,
    webhook: (tenantId, _events, ctx) => handler(tenantId, ctx),
    ...overrides,
  };
}
