/**
 * The org's daily API budget. Salesforce allows each org a rolling-24h number of API requests,
 * reported on every REST response as `Sforce-Limit-Info: api-usage=USED/LIMIT` and by
 * `GET /limits` (`DailyApiRequests {Max, Remaining}`) (API_FACTS §2 "REST basics, errors, limits").
 * The org shares it with every other integration, so we never use more than a configured share
 * of it (default 20%, like tap-salesforce's `quota_percent_per_run`), never drive the org below a
 * small reserve, and pause (never spin) when Salesforce says REQUEST_LIMIT_EXCEEDED.
 *
 * Our own usage is counted per call here and seeded from the shared limiter's `daily` bucket, so
 * every worker of the tenant sees the same pause (`limiter.observe('daily', {pauseUntil})`).
 */
import type { ConnectorContext } from '../contract.js';
import { AppError } from '../../src/errors.js';
import { ERR_SALESFORCE_BUDGET_PAUSED } from './errors.js';
import type { SalesforceFacts } from './facts.js';

export interface BudgetState {
  ourCalls: number;
  ourCap: number;
  orgUsed?: number;
  orgLimit?: number;
  pausedUntil?: string;
  pauseReason?: string;
}

export class BudgetGuard {
  private ourCalls = 0;
  private windowStart: number | undefined;
  private orgUsed: number | undefined;
  private orgLimit: number | undefined;
  private pausedUntil: Date | undefined;
  private pauseReason: string | undefined;
  private seeded: Promise<void> | undefined;
  private lastObserved = '';

  constructor(
    private readonly ctx: Pick<ConnectorContext, 'limiter' | 'logger' | 'now'>,
    private readonly share: number,
    private readonly facts: SalesforceFacts['budget'],
  ) {}

  /** Calls we may make ourselves in the rolling window. */
  get cap(): number {
    return Math.floor(this.share * (this.orgLimit ?? this.facts.fallbackDailyAllowance));
  }

  state(): BudgetState {
    return {
      ourCalls: this.ourCalls,
      ourCap: this.cap,
      ...(this.orgUsed === undefined ? {} : { orgUsed: this.orgUsed }),
      ...(this.orgLimit === undefined ? {} : { orgLimit: this.orgLimit }),
      ...(this.pausedUntil === undefined ? {} : { pausedUntil: this.pausedUntil.toISOString() }),
      ...(this.pauseReason === undefined ? {} : { pauseReason: this.pauseReason }),
    };
  }

  /** Once per connector: adopt a pause and the usage other workers already recorded. */
  private seed(): Promise<void> {
    this.seeded ??= (async () => {
      try {
        const snap = await this.ctx.limiter.snapshot();
        if (snap.pausedUntil !== undefined && Date.parse(snap.pausedUntil) > this.ctx.now().getTime()) {
          this.pausedUntil = new Date(snap.pausedUntil);
          this.pauseReason = snap.pauseReason ?? 'Salesforce API budget paused';
        }
        const daily = snap.buckets.find((b) => b.bucket === 'daily');
        if (daily !== undefined && daily.used > 0) {
          this.ourCalls = daily.used;
          this.windowStart = Date.parse(daily.resetsAt) - this.facts.windowMs;
        }
      } catch (error) {
        // The budget snapshot is advisory; our own counting still protects the org.
        this.ctx.logger.warn({ err: String(error) }, 'salesforce budget: limiter snapshot unavailable');
      }
    })();
    return this.seeded;
  }

  /** Before every API call: throws ERR_SALESFORCE_BUDGET_PAUSED when we must not call. */
  async beforeCall(): Promise<void> {
    await this.seed();
    const now = this.ctx.now().getTime();
    if (this.windowStart !== undefined && now >= this.windowStart + this.facts.windowMs) {
      this.windowStart = now;
      this.ourCalls = 0;
    }
    if (this.pausedUntil !== undefined) {
      if (now < this.pausedUntil.getTime()) throw this.pausedError();
      this.pausedUntil = undefined;
      this.pauseReason = undefined;
    }
    if (this.ourCalls + 1 > this.cap) {
      const until = new Date((this.windowStart ?? now) + this.facts.windowMs);
      await this.pause(
        until,
        `referral-sync used its ${Math.round(this.share * 100)}% share of the org's daily API allowance ` +
          `(${this.ourCalls} of ${this.cap} calls); syncing resumes at ${until.toISOString()}`,
      );
      throw this.pausedError();
    }
    this.windowStart ??= now;
    this.ourCalls++;
  }

  /** After a call: what Salesforce reported (`Sforce-Limit-Info` or `/limits`). */
  async observeOrg(used: number, limit: number): Promise<void> {
    if (!Number.isFinite(used) || !Number.isFinite(limit) || limit <= 0) return;
    this.orgUsed = used;
    this.orgLimit = limit;
    const remaining = Math.max(0, limit - used);
    const key = `${remaining}/${limit}`;
    if (key !== this.lastObserved) {
      this.lastObserved = key;
      await this.ctx.limiter.observe('daily', { remaining, limit, windowMs: this.facts.windowMs });
    }
    const reserve = Math.ceil(limit * this.facts.orgReserveShare);
    if (remaining <= reserve && this.pausedUntil === undefined) {
      const until = new Date(this.ctx.now().getTime() + this.facts.requestLimitPauseMs);
      await this.pause(
        until,
        `the Salesforce org has only ${remaining} of ${limit} daily API calls left; referral-sync pauses ` +
          `so the org's other integrations keep working, and retries at ${until.toISOString()}`,
      );
    }
  }

  /** Salesforce answered REQUEST_LIMIT_EXCEEDED for the daily total. */
  async onRequestLimitExceeded(): Promise<AppError> {
    const until = new Date(this.ctx.now().getTime() + this.facts.requestLimitPauseMs);
    await this.pause(
      until,
      `Salesforce refused a call with REQUEST_LIMIT_EXCEEDED (the org's daily API allowance is spent); ` +
        `syncing resumes at ${until.toISOString()}`,
    );
    return this.pausedError();
  }

  private async pause(until: Date, reason: string): Promise<void> {
    this.pausedUntil = until;
    this.pauseReason = reason;
    this.ctx.logger.warn({ pauseUntil: until.toISOString() }, reason);
    try {
      await this.ctx.limiter.observe('daily', { pauseUntil: until, reason });
    } catch (error) {
      this.ctx.logger.warn({ err: String(error) }, 'salesforce budget: could not share the pause');
    }
  }

  /**
   * The shared limiter refused a long wait (its daily bucket at our share, or a pause another
   * worker recorded): the same stop, in this connector's terms.
   */
  fromLimiterPause(error: AppError): AppError {
    const resumeAt = error.details?.resumeAt;
    const until =
      typeof resumeAt === 'string' || typeof resumeAt === 'number' || resumeAt instanceof Date
        ? new Date(resumeAt)
        : new Date(this.ctx.now().getTime() + this.facts.requestLimitPauseMs);
    this.pausedUntil = Number.isNaN(until.getTime())
      ? new Date(this.ctx.now().getTime() + this.facts.requestLimitPauseMs)
      : until;
    this.pauseReason = error.message;
    return this.pausedError();
  }

  private pausedError(): AppError {
    const pauseUntil = (this.pausedUntil ?? this.ctx.now()).toISOString();
    const reason = this.pauseReason ?? 'Salesforce API budget paused';
    return new AppError(ERR_SALESFORCE_BUDGET_PAUSED, reason, {
      details: { pauseUntil, reason },
      retryable: true,
    });
  }
}

/** Parse `Sforce-Limit-Info: api-usage=18/5000` (SF headers_api_usage.htm). */
export function parseLimitInfo(header: string | undefined): { used: number; limit: number } | undefined {
  if (header === undefined) return undefined;
  const m = /api-usage=(\d+)\/(\d+)/.exec(header);
  if (m === null) return undefined;
  return { used: Number(m[1]), limit: Number(m[2]) };
}
