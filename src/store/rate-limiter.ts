/**
 * One API budget per tenant and bucket, shared by every worker process.
 *
 * Why hand-written Lua rather than `rate-limiter-flexible`: the CRM limits are ROLLING windows
 * (HubSpot "110 requests every 10 seconds", API_FACTS §HubSpot rate limits) and the library's Redis
 * limiter counts fixed windows (up to 2× the limit across a window boundary); it has no way to
 * adopt what the CRM reports (`X-HubSpot-RateLimit-Remaining`, `Sforce-Limit-Info`), no shared
 * pause with a reason, no injected clock for tests, and a call that counts against two buckets
 * (`search` + `daily`) is not atomic across its `RateLimiterUnion`. One Lua script does all of that
 * atomically in one round trip.
 *
 * Algorithms, per rule:
 *  - `log` (limit ≤ 1,000 and window ≤ 1 h): exact sliding-window log in a sorted set of call
 *    timestamps. Never exceeds `limit` calls in ANY window of `windowMs`.
 *  - `fixed` (large daily quotas): a counter that starts with the first call and rolls after
 *    `windowMs` (a 250k/day sorted set would cost ~15 MB per tenant). Exhaustion pauses every
 *    worker with a reason until the window rolls.
 *
 * Which buckets a call counts against: `take(b)` counts against rule `b` (or `default` when no
 * rule is named `b`) and against `daily` when a `daily` rule exists. HubSpot's search bucket is
 * separate from the 10-second one ("excludes the CRM Search API", API_FACTS §HubSpot).
 *
 * `take()` sleeps (abortably) when the wait is short; a wait longer than `maxWaitMs` (a daily cap,
 * a long 429 cool-off) throws `ERR_RATE_LIMIT_PAUSED` (retryable, with `resumeAt`) so the job hands
 * its slot back to the queue instead of holding a worker for hours.
 *
 * Time is the caller's clock (injectable for tests); workers' clocks are assumed NTP-synced.
 */
import type { Redis } from 'ioredis';
import type { BudgetSnapshot, RateLimiter, RateLimitRule } from '../../connectors/contract.js';
import { AppError } from '../errors.js';
import type { KeySpace } from './keys.js';

export const ERR_RATE_LIMIT_PAUSED = 'ERR_RATE_LIMIT_PAUSED';

export interface LimiterOptions {
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Share (0–1] of the CRM-reported `daily` limit we may use. */
  dailyShare?: number;
  /** Longest wait `take()` sleeps through before throwing `ERR_RATE_LIMIT_PAUSED`. Default 60 s. */
  maxWaitMs?: number;
}

export type RuleKind = 'log' | 'fixed';

export function ruleKind(rule: RateLimitRule): RuleKind {
  return rule.limit <= 1000 && rule.windowMs <= 3_600_000 ? 'log' : 'fixed';
}

/** The rules a call in `bucket` counts against. */
export function applicableRules(rules: readonly RateLimitRule[], bucket: string): RateLimitRule[] {
  const primary = rules.find((r) => r.bucket === bucket) ?? rules.find((r) => r.bucket === 'default');
  const daily = rules.find((r) => r.bucket === 'daily');
  const out: RateLimitRule[] = [];
  if (primary !== undefined) out.push(primary);
  if (daily !== undefined && daily !== primary) out.push(daily);
  return out;
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function shareLabel(share: number | undefined): string {
  return share === undefined ? '' : ` (${Math.round(share * 1000) / 10}% share of the CRM's daily allowance)`;
}

/** Result of one attempt: 0 = taken; otherwise how long to wait and, for a pause, why. */
export interface Attempt {
  waitMs: number;
  reason: string;
}

/** Shared take/observe/snapshot loop; backends implement the three atomic primitives. */
export abstract class BaseRateLimiter implements RateLimiter {
  protected readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  protected readonly dailyShare: number | undefined;
  private readonly maxWaitMs: number;

  constructor(
    protected readonly rules: readonly RateLimitRule[],
    options: LimiterOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? abortableSleep;
    this.dailyShare = options.dailyShare;
    this.maxWaitMs = options.maxWaitMs ?? 60_000;
  }

  protected abstract attempt(rules: readonly RateLimitRule[], cost: number, now: number): Promise<Attempt>;
  protected abstract record(
    rule: RateLimitRule | undefined,
    bucket: string,
    info: { remaining?: number; limit?: number; pauseUntil?: number; reason: string },
    now: number,
  ): Promise<void>;
  abstract snapshot(): Promise<BudgetSnapshot>;

  /** The share applies to the `daily` bucket only (Salesforce/HubSpot private daily quotas). */
  protected shareOf(bucket: string): number | undefined {
    return bucket === 'daily' ? this.dailyShare : undefined;
  }

  async take(bucket: string, cost = 1, signal?: AbortSignal): Promise<void> {
    const rules = applicableRules(this.rules, bucket);
    if (rules.length === 0) return;
    // A cost above a limit could never be granted: clamp so a large batch waits for a full window.
    const clamped = Math.max(1, Math.min(cost, ...rules.map((r) => r.limit)));
    for (;;) {
      signal?.throwIfAborted();
      const now = this.now();
      const { waitMs, reason } = await this.attempt(rules, clamped, now);
      if (waitMs <= 0) return;
      if (waitMs > this.maxWaitMs) {
        const resumeAt = new Date(now + waitMs).toISOString();
        throw new AppError(
          ERR_RATE_LIMIT_PAUSED,
          reason || `API budget "${bucket}" paused until ${resumeAt}`,
          {
            retryable: true,
            details: { bucket, resumeAt, reason },
          },
        );
      }
      await this.sleep(waitMs, signal);
    }
  }

  async observe(
    bucket: string,
    info: { remaining?: number; limit?: number; windowMs?: number; pauseUntil?: Date; reason?: string },
  ): Promise<void> {
    // Same resolution as take(): a bucket without its own rule is the `default` budget, so a pause
    // reported for it stops the calls that actually count against that budget.
    const rule =
      this.rules.find((r) => r.bucket === bucket) ?? this.rules.find((r) => r.bucket === 'default');
    const target = rule?.bucket ?? bucket;
    const pauseUntil = info.pauseUntil?.getTime();
    const reason =
      info.reason ??
      (pauseUntil === undefined
        ? ''
        : `the CRM asked to stop "${bucket}" calls until ${new Date(pauseUntil).toISOString()}`);
    await this.record(
      rule,
      target,
      {
        ...(info.remaining === undefined || !Number.isFinite(info.remaining)
          ? {}
          : { remaining: Math.max(0, info.remaining) }),
        ...(info.limit === undefined || !(info.limit > 0) ? {} : { limit: info.limit }),
        ...(pauseUntil === undefined || Number.isNaN(pauseUntil) ? {} : { pauseUntil }),
        reason,
      },
      this.now(),
    );
  }
}

// -------------------------------------------------------------------------------------------------
// Redis
// -------------------------------------------------------------------------------------------------

/*
 * KEYS[1] = meta hash (l:{bucket} limit override, p:{bucket} pause until ms, r:{bucket} reason, seq)
 * KEYS[1+i] = window key of bucket i
 * ARGV = now, cost, then per bucket: name, kind, limit, windowMs, shareLabel
 * Returns {waitMs, reason}: waitMs 0 = all buckets charged.
 */
const TAKE_LUA = `
local now = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local n = (#ARGV - 2) / 5
local wait = 0
local reason = ''
local info = {}
for i = 1, n do
  local o = 2 + (i - 1) * 5
  local name, kind = ARGV[o + 1], ARGV[o + 2]
  local limit = tonumber(redis.call('HGET', KEYS[1], 'l:' .. name) or ARGV[o + 3])
  local window = tonumber(ARGV[o + 4])
  local key = KEYS[1 + i]
  local pu = tonumber(redis.call('HGET', KEYS[1], 'p:' .. name) or '0')
  if pu > now and pu - now > wait then
    wait = pu - now
    reason = redis.call('HGET', KEYS[1], 'r:' .. name) or ''
  end
  local c = math.min(cost, limit)
  if kind == 'log' then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
    local count = redis.call('ZCARD', key)
    if count + c > limit then
      local e = redis.call('ZRANGE', key, count + c - limit - 1, count + c - limit - 1, 'WITHSCORES')
      local w = tonumber(e[2]) + window - now
      if w > wait then wait = w; reason = '' end
    end
  else
    local s = tonumber(redis.call('HGET', key, 's') or '-1')
    local used = tonumber(redis.call('HGET', key, 'c') or '0')
    if s < 0 or now >= s + window then s = now; used = 0 end
    info[i] = {s, used}
    if used + c > limit then
      local w = s + window - now
      local why = name .. ' budget used: ' .. used .. ' of ' .. limit .. ' calls' .. ARGV[o + 5] ..
        '; paused until the window rolls'
      if w > wait then wait = w; reason = why end
      local cur = tonumber(redis.call('HGET', KEYS[1], 'p:' .. name) or '0')
      if s + window > cur then
        redis.call('HSET', KEYS[1], 'p:' .. name, s + window, 'r:' .. name, why)
      end
    end
  end
end
if wait > 0 then return {wait, reason} end
for i = 1, n do
  local o = 2 + (i - 1) * 5
  local name, kind = ARGV[o + 1], ARGV[o + 2]
  local limit = tonumber(redis.call('HGET', KEYS[1], 'l:' .. name) or ARGV[o + 3])
  local window = tonumber(ARGV[o + 4])
  local key = KEYS[1 + i]
  local c = math.min(cost, limit)
  if kind == 'log' then
    local seq = redis.call('HINCRBY', KEYS[1], 'seq', c)
    for j = 1, c do redis.call('ZADD', key, now, seq - c + j) end
    redis.call('PEXPIRE', key, window)
  else
    redis.call('HSET', key, 's', info[i][1], 'c', info[i][2] + c)
    redis.call('PEXPIRE', key, math.max(1, info[i][1] + window - now))
  end
end
return {0, ''}
`;

/*
 * KEYS[1] = meta hash, KEYS[2] = window key (or a dummy when the bucket has no rule)
 * ARGV = now, name, kind ('' = no rule), ruleLimit, windowMs, remaining, limit, pauseUntil, reason, share
 */
const OBSERVE_LUA = `
local now = tonumber(ARGV[1])
local name, kind = ARGV[2], ARGV[3]
if ARGV[7] ~= '' and kind ~= '' then
  local reported = tonumber(ARGV[7])
  if ARGV[10] ~= '' then reported = math.floor(reported * tonumber(ARGV[10])) end
  redis.call('HSET', KEYS[1], 'l:' .. name, math.max(1, reported))
end
if ARGV[6] ~= '' and kind ~= '' then
  local limit = tonumber(redis.call('HGET', KEYS[1], 'l:' .. name) or ARGV[4])
  local window = tonumber(ARGV[5])
  local floor = math.min(limit, limit - tonumber(ARGV[6]))
  if kind == 'log' then
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
    local add = floor - redis.call('ZCARD', KEYS[2])
    if add > 0 then
      local seq = redis.call('HINCRBY', KEYS[1], 'seq', add)
      for j = 1, add do redis.call('ZADD', KEYS[2], now, seq - add + j) end
      redis.call('PEXPIRE', KEYS[2], window)
    end
  else
    local s = tonumber(redis.call('HGET', KEYS[2], 's') or '-1')
    local used = tonumber(redis.call('HGET', KEYS[2], 'c') or '0')
    if s < 0 or now >= s + window then s = now; used = 0 end
    if floor > used then
      redis.call('HSET', KEYS[2], 's', s, 'c', floor)
      redis.call('PEXPIRE', KEYS[2], math.max(1, s + window - now))
    end
  end
end
if ARGV[8] ~= '' then
  local pu = tonumber(ARGV[8])
  local cur = tonumber(redis.call('HGET', KEYS[1], 'p:' .. name) or '0')
  if pu > now and pu > cur then
    redis.call('HSET', KEYS[1], 'p:' .. name, pu, 'r:' .. name, ARGV[9])
  end
end
return 1
`;

type LimiterRedis = Redis & {
  rsLimiterTake(numKeys: number, ...args: (string | number)[]): Promise<[number, string]>;
  rsLimiterObserve(numKeys: number, ...args: (string | number)[]): Promise<number>;
};

function withScripts(redis: Redis): LimiterRedis {
  const r = redis as LimiterRedis;
  // defineCommand uses EVALSHA with an EVAL fallback (ioredis README "Lua Scripting").
  if (typeof r.rsLimiterTake !== 'function') redis.defineCommand('rsLimiterTake', { lua: TAKE_LUA });
  if (typeof r.rsLimiterObserve !== 'function') redis.defineCommand('rsLimiterObserve', { lua: OBSERVE_LUA });
  return r;
}

export class RedisRateLimiter extends BaseRateLimiter {
  private readonly redis: LimiterRedis;
  private readonly meta: string;

  constructor(
    redis: Redis,
    private readonly keys: KeySpace,
    private readonly tenantId: string,
    rules: readonly RateLimitRule[],
    options: LimiterOptions = {},
  ) {
    super(rules, options);
    this.redis = withScripts(redis);
    this.meta = keys.key(tenantId, 'rl');
  }

  private windowKey(bucket: string): string {
    return this.keys.key(this.tenantId, `rl:${bucket}`);
  }

  protected async attempt(rules: readonly RateLimitRule[], cost: number, now: number): Promise<Attempt> {
    const args: (string | number)[] = [now, cost];
    for (const r of rules)
      args.push(r.bucket, ruleKind(r), r.limit, r.windowMs, shareLabel(this.shareOf(r.bucket)));
    const [waitMs, reason] = await this.redis.rsLimiterTake(
      1 + rules.length,
      this.meta,
      ...rules.map((r) => this.windowKey(r.bucket)),
      ...args,
    );
    return { waitMs: Number(waitMs), reason };
  }

  protected async record(
    rule: RateLimitRule | undefined,
    bucket: string,
    info: { remaining?: number; limit?: number; pauseUntil?: number; reason: string },
    now: number,
  ): Promise<void> {
    const share = this.shareOf(bucket);
    await this.redis.rsLimiterObserve(
      2,
      this.meta,
      this.windowKey(bucket),
      now,
      bucket,
      rule === undefined ? '' : ruleKind(rule),
      rule?.limit ?? 0,
      rule?.windowMs ?? 0,
      info.remaining ?? '',
      info.limit ?? '',
      info.pauseUntil ?? '',
      info.reason,
      share ?? '',
    );
  }

  async snapshot(): Promise<BudgetSnapshot> {
    const now = this.now();
    const pipe = this.redis.pipeline();
    pipe.hgetall(this.meta);
    for (const r of this.rules) {
      const key = this.windowKey(r.bucket);
      if (ruleKind(r) === 'log') {
        pipe.zcount(key, `(${now - r.windowMs}`, '+inf');
        pipe.zrangebyscore(key, `(${now - r.windowMs}`, '+inf', 'WITHSCORES', 'LIMIT', 0, 1);
      } else {
        pipe.hmget(key, 's', 'c');
      }
    }
    const results = (await pipe.exec()) ?? [];
    const values = results.map(([error, value]) => {
      if (error) throw error;
      return value;
    });
    const meta = (values[0] ?? {}) as Record<string, string>;
    let i = 1;
    const windows = this.rules.map((r) => {
      if (ruleKind(r) === 'log') {
        const used = Number(values[i++]);
        const oldest = values[i++] as string[];
        return { used, start: oldest.length >= 2 ? Number(oldest[1]) : undefined };
      }
      const [s, c] = values[i++] as [string | null, string | null];
      const start = s === null ? undefined : Number(s);
      const live = start !== undefined && now < start + r.windowMs;
      return { used: live ? Number(c ?? 0) : 0, start: live ? start : undefined };
    });
    return buildSnapshot(this.rules, windows, meta, now);
  }
}

/** Shapes the admin snapshot from raw window state (both backends). */
export function buildSnapshot(
  rules: readonly RateLimitRule[],
  windows: readonly { used: number; start: number | undefined }[],
  meta: Readonly<Record<string, string>>,
  now: number,
): BudgetSnapshot {
  const snapshot: BudgetSnapshot = {
    buckets: rules.map((r, i) => {
      const w = windows[i] ?? { used: 0, start: undefined };
      const override = meta[`l:${r.bucket}`];
      return {
        bucket: r.bucket,
        used: w.used,
        limit: override === undefined ? r.limit : Number(override),
        windowMs: r.windowMs,
        resetsAt: new Date(w.start === undefined ? now : w.start + r.windowMs).toISOString(),
      };
    }),
  };
  let until = 0;
  let reason = '';
  for (const [field, value] of Object.entries(meta)) {
    if (!field.startsWith('p:')) continue;
    const pu = Number(value);
    if (pu > now && pu > until) {
      until = pu;
      reason = meta[`r:${field.slice(2)}`] ?? '';
    }
  }
  if (until > 0) {
    snapshot.pausedUntil = new Date(until).toISOString();
    snapshot.pauseReason = reason;
  }
  return snapshot;
}

// -------------------------------------------------------------------------------------------------
// Memory (demo / one-shot CLI): the same algorithm over in-process state
// -------------------------------------------------------------------------------------------------

export interface MemoryLimiterState {
  meta: Map<string, string>;
  logs: Map<string, number[]>;
  fixed: Map<string, { s: number; c: number }>;
}

export function newMemoryLimiterState(): MemoryLimiterState {
  return { meta: new Map(), logs: new Map(), fixed: new Map() };
}

export class MemoryRateLimiter extends BaseRateLimiter {
  constructor(
    private readonly state: MemoryLimiterState,
    rules: readonly RateLimitRule[],
    options: LimiterOptions = {},
  ) {
    super(rules, options);
  }

  private limitOf(rule: RateLimitRule): number {
    const override = this.state.meta.get(`l:${rule.bucket}`);
    return override === undefined ? rule.limit : Number(override);
  }

  private log(rule: RateLimitRule, now: number): number[] {
    const live = (this.state.logs.get(rule.bucket) ?? []).filter((t) => t > now - rule.windowMs);
    this.state.logs.set(rule.bucket, live);
    return live;
  }

  private fixedWindow(rule: RateLimitRule, now: number): { s: number; c: number } {
    const w = this.state.fixed.get(rule.bucket);
    return w === undefined || now >= w.s + rule.windowMs ? { s: now, c: 0 } : { ...w };
  }

  protected attempt(rules: readonly RateLimitRule[], cost: number, now: number): Promise<Attempt> {
    let waitMs = 0;
    let reason = '';
    const { meta } = this.state;
    for (const rule of rules) {
      const limit = this.limitOf(rule);
      const pu = Number(meta.get(`p:${rule.bucket}`) ?? 0);
      if (pu > now && pu - now > waitMs) {
        waitMs = pu - now;
        reason = meta.get(`r:${rule.bucket}`) ?? '';
      }
      const c = Math.min(cost, limit);
      if (ruleKind(rule) === 'log') {
        const log = this.log(rule, now);
        if (log.length + c > limit) {
          const w = (log[log.length + c - limit - 1] ?? now) + rule.windowMs - now;
          if (w > waitMs) [waitMs, reason] = [w, ''];
        }
      } else {
        const win = this.fixedWindow(rule, now);
        if (win.c + c > limit) {
          const why =
            `${rule.bucket} budget used: ${win.c} of ${limit} calls${shareLabel(this.shareOf(rule.bucket))}` +
            '; paused until the window rolls';
          const w = win.s + rule.windowMs - now;
          if (w > waitMs) [waitMs, reason] = [w, why];
          if (win.s + rule.windowMs > Number(meta.get(`p:${rule.bucket}`) ?? 0)) {
            meta.set(`p:${rule.bucket}`, String(win.s + rule.windowMs));
            meta.set(`r:${rule.bucket}`, why);
          }
        }
      }
    }
    if (waitMs > 0) return Promise.resolve({ waitMs, reason });
    for (const rule of rules) {
      const c = Math.min(cost, this.limitOf(rule));
      if (ruleKind(rule) === 'log') {
        const log = this.log(rule, now);
        for (let j = 0; j < c; j++) log.push(now);
      } else {
        const win = this.fixedWindow(rule, now);
        this.state.fixed.set(rule.bucket, { s: win.s, c: win.c + c });
      }
    }
    return Promise.resolve({ waitMs: 0, reason: '' });
  }

  protected record(
    rule: RateLimitRule | undefined,
    bucket: string,
    info: { remaining?: number; limit?: number; pauseUntil?: number; reason: string },
    now: number,
  ): Promise<void> {
    const { meta } = this.state;
    const share = this.shareOf(bucket);
    if (rule !== undefined && info.limit !== undefined) {
      const reported = share === undefined ? info.limit : Math.floor(info.limit * share);
      meta.set(`l:${bucket}`, String(Math.max(1, reported)));
    }
    if (rule !== undefined && info.remaining !== undefined) {
      const limit = this.limitOf(rule);
      const floor = Math.min(limit, limit - info.remaining);
      if (ruleKind(rule) === 'log') {
        const log = this.log(rule, now);
        for (let j = log.length; j < floor; j++) log.push(now);
      } else {
        const win = this.fixedWindow(rule, now);
        if (floor > win.c) this.state.fixed.set(bucket, { s: win.s, c: floor });
      }
    }
    if (info.pauseUntil !== undefined && info.pauseUntil > now) {
      if (info.pauseUntil > Number(meta.get(`p:${bucket}`) ?? 0)) {
        meta.set(`p:${bucket}`, String(info.pauseUntil));
        meta.set(`r:${bucket}`, info.reason);
      }
    }
    return Promise.resolve();
  }

  snapshot(): Promise<BudgetSnapshot> {
    const now = this.now();
    const windows = this.rules.map((r) => {
      if (ruleKind(r) === 'log') {
        const log = this.log(r, now);
        return { used: log.length, start: log[0] };
      }
      const w = this.state.fixed.get(r.bucket);
      const live = w !== undefined && now < w.s + r.windowMs;
      return { used: live ? w.c : 0, start: live ? w.s : undefined };
    });
    return Promise.resolve(buildSnapshot(this.rules, windows, Object.fromEntries(this.state.meta), now));
  }
}
