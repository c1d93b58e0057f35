/**
 * HubSpot's API limits for one installing account (API_FACTS §Rate limits):
 * - rolling 10-second window (public apps: 110 requests / 10 s; search excluded);
 * - CRM search: 5 requests per second, answered 429 "You have reached your secondly limit.";
 * - private-app tokens only: a daily quota with `X-HubSpot-RateLimit-Daily(-Remaining)` headers
 *   (OAuth calls carry no daily headers);
 * - headers `X-HubSpot-RateLimit-Max`, `-Remaining`, `-Interval-Milliseconds` on every non-search
 *   response; search responses carry none;
 * - 429 bodies `{status:"error",message:"You have reached your ten_secondly_rolling limit.",
 *   errorType:"RATE_LIMIT",correlationId,policyName:"TEN_SECONDLY_ROLLING",groupName}`, DAILY
 *   likewise with "You have reached your daily limit.".
 */
import { randomUUID } from 'node:crypto';
import type { Next as NextFunction, SbRequest as Request, SbResponse as Response } from './http-kit.js';
import type { TokenRecord } from './auth.js';
import type { HubSpotState } from './state.js';

export interface LimitsConfig {
  enabled: boolean;
  tenSecondly: number;
  searchPerSecond: number;
  /** Daily quota for private-app tokens. */
  daily: number;
}

export const DEFAULT_LIMITS: LimitsConfig = {
  enabled: true,
  tenSecondly: 110,
  searchPerSecond: 5,
  daily: 250_000,
};
export const TEN_SECONDS_MS = 10_000;

/** Timestamps of accepted requests within a rolling window (deque over an array). */
export class RollingWindow {
  private times: number[] = [];
  private head = 0;

  constructor(readonly windowMs: number) {}

  count(nowMs: number): number {
    while (this.head < this.times.length && (this.times[this.head] ?? 0) <= nowMs - this.windowMs)
      this.head++;
    if (this.head > 1024 && this.head > this.times.length / 2) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    return this.times.length - this.head;
  }

  add(nowMs: number): void {
    this.times.push(nowMs);
  }

  clear(): void {
    this.times = [];
    this.head = 0;
  }
}

export function rateLimitBody(policy: 'TEN_SECONDLY_ROLLING' | 'DAILY' | 'SECONDLY'): Record<string, string> {
  const message =
    policy === 'TEN_SECONDLY_ROLLING'
      ? 'You have reached your ten_secondly_rolling limit.'
      : policy === 'DAILY'
        ? 'You have reached your daily limit.'
        : 'You have reached your secondly limit.';
  const body: Record<string, string> = {
    status: 'error',
    message,
    errorType: 'RATE_LIMIT',
    correlationId: randomUUID(),
    policyName: policy,
    groupName: policy === 'SECONDLY' ? 'api-search' : 'api-calls',
  };
  if (policy === 'DAILY') body.requestId = randomUUID();
  return body;
}

export class RateLimiter {
  private readonly tenSecondly = new RollingWindow(TEN_SECONDS_MS);
  private readonly search = new RollingWindow(1000);
  private dailyUsed = 0;
  private dailyKey = '';

  constructor(
    public config: LimitsConfig,
    private readonly state: HubSpotState,
    private readonly now: () => Date,
  ) {}

  reset(): void {
    this.tenSecondly.clear();
    this.search.clear();
    this.dailyUsed = 0;
    this.dailyKey = '';
  }

  private rollDay(nowMs: number): void {
    const key = new Date(nowMs).toISOString().slice(0, 10);
    if (key !== this.dailyKey) {
      this.dailyKey = key;
      this.dailyUsed = 0;
    }
  }

  middleware() {
    return (req: Request, res: Response, next: NextFunction): void => {
      if (!this.config.enabled) return next();
      const nowMs = this.now().getTime();
      const token = res.locals.token as TokenRecord | undefined;
      const isPrivate = token?.kind === 'private';
      if (req.method === 'POST' && req.path.endsWith('/search')) {
        if (this.search.count(nowMs) >= this.config.searchPerSecond) {
          this.state.rateLimited.secondly++;
          this.state.rateLimited.total++;
          res.status(429).json(rateLimitBody('SECONDLY'));
          return;
        }
        this.search.add(nowMs);
        return next();
      }
      const used = this.tenSecondly.count(nowMs);
      const max = this.config.tenSecondly;
      res.setHeader('X-HubSpot-RateLimit-Interval-Milliseconds', String(TEN_SECONDS_MS));
      res.setHeader('X-HubSpot-RateLimit-Max', String(max));
      if (isPrivate) this.rollDay(nowMs);
      const setDaily = (remaining: number): void => {
        if (!isPrivate) return;
        res.setHeader('X-HubSpot-RateLimit-Daily', String(this.config.daily));
        res.setHeader('X-HubSpot-RateLimit-Daily-Remaining', String(Math.max(0, remaining)));
      };
      if (used >= max) {
        res.setHeader('X-HubSpot-RateLimit-Remaining', '0');
        setDaily(this.config.daily - this.dailyUsed);
        this.state.rateLimited.tenSecondly++;
        this.state.rateLimited.total++;
        res.status(429).json(rateLimitBody('TEN_SECONDLY_ROLLING'));
        return;
      }
      if (isPrivate && this.dailyUsed >= this.config.daily) {
        res.setHeader('X-HubSpot-RateLimit-Remaining', String(max - used));
        setDaily(0);
        this.state.rateLimited.daily++;
        this.state.rateLimited.total++;
        res.status(429).json(rateLimitBody('DAILY'));
        return;
      }
      this.tenSecondly.add(nowMs);
      if (isPrivate) this.dailyUsed++;
      res.setHeader('X-HubSpot-RateLimit-Remaining', String(max - used - 1));
      setDaily(this.config.daily - this.dailyUsed);
      next();
    };
  }
}
