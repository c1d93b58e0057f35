import { afterEach, describe, expect, it } from 'vitest';
import type { RateLimiter, RateLimitRule } from '../../connectors/contract.js';
import type { RateLimiterOptions, Store } from '../../src/store/types.js';
import type { StoreHarness } from './helpers.js';
import { memoryHarness, redisHarness } from './helpers.js';

/** Two workers' stores over the same state. */
type MakeWorkers = () => StoreHarness<Store>;

/** A fake clock whose sleep advances time (deterministic waits). */
function fakeTime(start = Date.UTC(2026, 0, 1)): {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  slept: number[];
  advance: (ms: number) => void;
} {
  let t = start;
  const slept: number[] = [];
  return {
    now: () => t,
    sleep: (ms) => {
      slept.push(ms);
      t += ms;
      return Promise.resolve();
    },
    slept,
    advance: (ms) => {
      t += ms;
    },
  };
}

function limiterContract(name: string, make: MakeWorkers): void {
  describe(`RateLimiter: ${name}`, () => {
    const harnesses: StoreHarness<Store>[] = [];
    afterEach(async () => {
      await Promise.all(harnesses.splice(0).map((h) => h.cleanup()));
    });
    const workers = (
      rules: RateLimitRule[],
      options: RateLimiterOptions = {},
      tenantId = 'tenant1',
    ): [RateLimiter, RateLimiter] => {
      const h = make();
      harnesses.push(h);
      return [
        h.store.rateLimiter(tenantId, rules, options),
        h.sibling().rateLimiter(tenantId, rules, options),
      ];
    };

    it('grants up to the limit, then waits exactly until the oldest call leaves the window', async () => {
      const time = fakeTime();
      const [limiter] = workers([{ bucket: 'default', limit: 3, windowMs: 1000 }], time);
      await limiter.take('default');
      time.advance(200);
      await limiter.take('default');
      await limiter.take('default');
      expect(time.slept).toEqual([]);
      await limiter.take('default');
      expect(time.slept).toEqual([800]); // the call at t=0 leaves the window at t=1000
      const snap = await limiter.snapshot();
      expect(snap.buckets).toEqual([
        expect.objectContaining({ bucket: 'default', used: 3, limit: 3, windowMs: 1000 }),
      ]);
    });

    it('two workers sharing one budget never exceed it in any window', async () => {
      const windowMs = 300;
      const limit = 4;
      const rules = [{ bucket: 'default', limit, windowMs }];
      const grants: number[] = [];
      // Each worker records the limiter's own clock reading of its granted attempt.
      const worker = (limiter: (now: () => number) => RateLimiter) => {
        let last = 0;
        const l = limiter(() => (last = Date.now()));
        return async (): Promise<void> => {
          for (let i = 0; i < 6; i++) {
            await l.take('default');
            grants.push(last);
          }
        };
      };
      const h = make();
      harnesses.push(h);
      const sibling = h.sibling();
      const a = worker((now) => h.store.rateLimiter('shared', rules, { now }));
      const b = worker((now) => sibling.rateLimiter('shared', rules, { now }));
      const c = worker((now) => sibling.rateLimiter('shared', rules, { now }));
      await Promise.all([a(), b(), c()]);
      expect(grants).toHaveLength(18);
      grants.sort((x, y) => x - y);
      for (const t of grants) {
        const inWindow = grants.filter((g) => g > t - windowMs && g <= t).length;
        expect(inWindow).toBeLessThanOrEqual(limit);
      }
      // And the budget was actually used (not over-throttled): 18 calls need ≥ 4 windows.
      expect((grants.at(-1) ?? 0) - (grants[0] ?? 0)).toBeGreaterThanOrEqual(3 * windowMs);
    });

    it('a 429 pauseUntil observed by one worker makes every worker wait', async () => {
      const time = fakeTime();
      const rules = [{ bucket: 'default', limit: 100, windowMs: 10_000 }];
      const [a, b] = workers(rules, time);
      await a.observe('default', { pauseUntil: new Date(time.now() + 2_500) });
      const snap = await b.snapshot();
      expect(snap.pausedUntil).toBe(new Date(time.now() + 2_500).toISOString());
      expect(snap.pauseReason).toMatch(/default/);
      await b.take('default');
      expect(time.slept).toEqual([2_500]);
      await a.take('default');
      expect(time.slept).toEqual([2_500]);
      expect((await a.snapshot()).pausedUntil).toBeUndefined();
    });

    it('adopts what the CRM reports: remaining calls and the real limit', async () => {
      const time = fakeTime();
      const [a, b] = workers([{ bucket: 'default', limit: 110, windowMs: 10_000 }], time);
      await a.observe('default', { remaining: 2, limit: 190 });
      expect((await b.snapshot()).buckets[0]).toMatchObject({ used: 188, limit: 190 });
      await b.take('default', 2);
      expect(time.slept).toEqual([]);
      await a.take('default');
      expect(time.slept).toEqual([10_000]);
    });

    it('counts every call against daily, search separately from default, unknown buckets as default', async () => {
      const time = fakeTime();
      const [limiter] = workers(
        [
          { bucket: 'default', limit: 5, windowMs: 10_000 },
          { bucket: 'search', limit: 2, windowMs: 1_000 },
          { bucket: 'daily', limit: 5_000, windowMs: 86_400_000 },
        ],
        time,
      );
      await limiter.take('search');
      await limiter.take('search');
      await limiter.take('default', 3);
      await limiter.take('associations');
      const used = Object.fromEntries((await limiter.snapshot()).buckets.map((b) => [b.bucket, b.used]));
      expect(used).toEqual({ default: 4, search: 2, daily: 6 });
      expect(time.slept).toEqual([]);
      await limiter.take('search');
      expect(time.slept).toEqual([1_000]);
    });

    it('pauses every worker with a reason once the daily share is used, until the window rolls', async () => {
      const time = fakeTime();
      const rules = [
        { bucket: 'default', limit: 25, windowMs: 1_000 },
        { bucket: 'daily', limit: 15_000, windowMs: 86_400_000 },
      ];
      const [a, b] = workers(rules, { ...time, dailyShare: 0.2, maxWaitMs: 60_000 });
      // Salesforce says: 50 calls a day for this org → our share is 10.
      await a.observe('daily', { remaining: 50, limit: 50, windowMs: 86_400_000 });
      for (let i = 0; i < 10; i++) {
        await (i % 2 === 0 ? a : b).take('default');
        time.advance(100);
      }
      const error = await b.take('default').catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_RATE_LIMIT_PAUSED', retryable: true });
      expect((error as { message: string }).message).toMatch(/20% share/);
      const snap = await a.snapshot();
      expect(snap.pauseReason).toMatch(/daily budget used: 10 of 10 calls/);
      expect(Date.parse(snap.pausedUntil ?? '')).toBe(Date.UTC(2026, 0, 1) + 86_400_000);
      await expect(a.take('search')).rejects.toMatchObject({ code: 'ERR_RATE_LIMIT_PAUSED' });
      // The window rolls: work resumes.
      time.advance(86_400_000);
      await expect(a.take('default')).resolves.toBeUndefined();
      expect((await b.snapshot()).pausedUntil).toBeUndefined();
    });

    it('the org running low counts against our share too (remaining below our cap)', async () => {
      const time = fakeTime();
      const [a] = workers([{ bucket: 'daily', limit: 15_000, windowMs: 86_400_000 }], {
        ...time,
        dailyShare: 0.2,
      });
      await a.observe('daily', { remaining: 3, limit: 1000 }); // cap 200, but the org has 3 left
      await a.take('daily', 3);
      await expect(a.take('daily')).rejects.toMatchObject({ code: 'ERR_RATE_LIMIT_PAUSED' });
    });

    it('a pause reported for a bucket without its own rule stops the default budget', async () => {
      const time = fakeTime();
      const [a, b] = workers([{ bucket: 'default', limit: 100, windowMs: 10_000 }], time);
      await a.observe('associations', { pauseUntil: new Date(time.now() + 1_000) });
      await b.take('associations');
      expect(time.slept).toEqual([1_000]);
    });

    it('a caller-provided reason is kept for the admin page', async () => {
      const time = fakeTime();
      const [a, b] = workers([{ bucket: 'daily', limit: 1000, windowMs: 86_400_000 }], time);
      await a.observe('daily', {
        pauseUntil: new Date(time.now() + 3_600_000),
        reason: 'REQUEST_LIMIT_EXCEEDED',
      });
      expect((await b.snapshot()).pauseReason).toBe('REQUEST_LIMIT_EXCEEDED');
      await expect(b.take('daily')).rejects.toMatchObject({
        code: 'ERR_RATE_LIMIT_PAUSED',
        details: { resumeAt: new Date(time.now() + 3_600_000).toISOString() },
      });
    });

    it('a wait is abortable', async () => {
      const [limiter] = workers([{ bucket: 'default', limit: 1, windowMs: 20_000 }]);
      await limiter.take('default');
      const controller = new AbortController();
      const waiting = limiter.take('default', 1, controller.signal);
      setTimeout(() => controller.abort(new Error('shutdown')), 30);
      await expect(waiting).rejects.toThrow('shutdown');
    });

    it('tenants have separate budgets', async () => {
      const time = fakeTime();
      const h = make();
      harnesses.push(h);
      const rules = [{ bucket: 'default', limit: 1, windowMs: 1_000 }];
      await h.store.rateLimiter('t1', rules, time).take('default');
      await h.store.rateLimiter('t2', rules, time).take('default');
      expect(time.slept).toEqual([]);
    });
  });
}

limiterContract('RedisRateLimiter (real Redis, two connections)', () => redisHarness());
limiterContract('MemoryRateLimiter', () => memoryHarness());
