/**
 * Fault injection for the sandbox CRMs, configurable per run, deterministic for a seed, so
 * reliability tests can prove a sync converges with nothing lost and nothing duplicated.
 * Each emulator mounts `injector.middleware(kind)` before its routes and asks
 * `shouldFailRecord()` per record inside batch endpoints and `shouldExpireToken()` per call.
 */
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';

export const FaultPlanSchema = z.strictObject({
  seed: z.number().int().default(1),
  /** Probability that a call is answered with the CRM's 429 / limit error. */
  rateLimitRate: z.number().min(0).max(1).default(0),
  /** A burst: the next N calls after `afterCalls` get a 429. */
  rateLimitBurst: z
    .strictObject({ afterCalls: z.number().int().min(0), count: z.number().int().min(1) })
    .optional(),
  /** Probability of a 500/502/503 (the CRM's own 5xx body). */
  serverErrorRate: z.number().min(0).max(1).default(0),
  /** Added latency on every call, ms. */
  latencyMs: z.number().int().min(0).default(0),
  /** Probability that a call hangs for `timeoutMs` before answering (client timeouts). */
  timeoutRate: z.number().min(0).max(1).default(0),
  timeoutMs: z.number().int().min(0).default(30_000),
  /** Probability that the connection is destroyed without an answer. */
  dropRate: z.number().min(0).max(1).default(0),
  /** Expire the current access token(s) after this many API calls (mid-run expiry). */
  expireTokensAfterCalls: z.number().int().min(1).optional(),
  /** Probability that one record of a batch write fails (207 / per-record error). */
  recordFailureRate: z.number().min(0).max(1).default(0),
  /** Only inject on paths matching this regular expression (default: every API path). */
  pathPattern: z.string().optional(),
});
export type FaultPlan = z.infer<typeof FaultPlanSchema>;
export type FaultPlanInput = z.input<typeof FaultPlanSchema>;

/** Small deterministic PRNG (mulberry32): same seed, same faults. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FaultResponders {
  /** Write the CRM's own rate-limit answer (status, headers, body). */
  rateLimited(res: Response): void;
  /** Write the CRM's own 5xx answer. */
  serverError(res: Response, status: number): void;
}

export interface FaultCounters {
  calls: number;
  rateLimited: number;
  serverErrors: number;
  timeouts: number;
  drops: number;
  recordFailures: number;
  tokenExpiries: number;
}

export class FaultInjector {
  private plan: FaultPlan = FaultPlanSchema.parse({});
  private random: () => number = mulberry32(1);
  private pattern: RegExp | undefined;
  private callsSinceTokenExpiry = 0;
  readonly counters: FaultCounters = FaultInjector.zero();

  private static zero(): FaultCounters {
    return {
      calls: 0,
      rateLimited: 0,
      serverErrors: 0,
      timeouts: 0,
      drops: 0,
      recordFailures: 0,
      tokenExpiries: 0,
    };
  }

  configure(input: FaultPlanInput): void {
    this.plan = FaultPlanSchema.parse(input);
    this.random = mulberry32(this.plan.seed);
    this.pattern = this.plan.pathPattern === undefined ? undefined : new RegExp(this.plan.pathPattern);
    this.callsSinceTokenExpiry = 0;
    Object.assign(this.counters, FaultInjector.zero());
  }

  reset(): void {
    this.configure({});
  }

  get current(): FaultPlan {
    return this.plan;
  }

  /** Express middleware: applies call-level faults before the route runs. */
  middleware(responders: FaultResponders) {
    return (req: Request, res: Response, next: NextFunction): void => {
      if (this.pattern !== undefined && !this.pattern.test(req.path)) return next();
      const n = ++this.counters.calls;
      const p = this.plan;
      const go = (): void => {
        const burst = p.rateLimitBurst;
        if (burst !== undefined && n > burst.afterCalls && n <= burst.afterCalls + burst.count) {
          this.counters.rateLimited++;
          return responders.rateLimited(res);
        }
        if (p.rateLimitRate > 0 && this.random() < p.rateLimitRate) {
          this.counters.rateLimited++;
          return responders.rateLimited(res);
        }
        if (p.serverErrorRate > 0 && this.random() < p.serverErrorRate) {
          this.counters.serverErrors++;
          const statuses = [500, 502, 503] as const;
          return responders.serverError(res, statuses[Math.floor(this.random() * 3)] ?? 500);
        }
        if (p.dropRate > 0 && this.random() < p.dropRate) {
          this.counters.drops++;
          req.socket.destroy();
          return;
        }
        if (p.timeoutRate > 0 && this.random() < p.timeoutRate) {
          this.counters.timeouts++;
          setTimeout(next, p.timeoutMs).unref();
          return;
        }
        next();
      };
      if (p.latencyMs > 0) setTimeout(go, p.latencyMs).unref();
      else go();
    };
  }

  /** Per record inside a batch write: should this one fail? */
  shouldFailRecord(): boolean {
    if (this.plan.recordFailureRate > 0 && this.random() < this.plan.recordFailureRate) {
      this.counters.recordFailures++;
      return true;
    }
    return false;
  }

  /** Per authenticated call: has the access token just expired (mid-run expiry)? */
  shouldExpireToken(): boolean {
    const every = this.plan.expireTokensAfterCalls;
    if (every === undefined) return false;
    if (++this.callsSinceTokenExpiry >= every) {
      this.callsSinceTokenExpiry = 0;
      this.counters.tokenExpiries++;
      return true;
    }
    return false;
  }
}
