/**
 * Anti-fatigue scheduling of "ask for a referral" tasks (PRODUCT.md F-READY): who among the ready
 * people gets an ask today, within each owner's daily cap, in a deterministic order (score
 * descending, then person id) so a re-run on the same data picks the same people.
 *
 * Cool-down and yearly cap are already in the evaluation (`eligibleToAskAt`, exclusions); this
 * module adds the per-owner budget. The streaming pipeline keeps one `OwnerBudget` per tenant and
 * day (remaining counts in Redis) and calls `scheduleAsks` per page: the order is then stable
 * within a page and pages are processed in a stable order.
 */
import type { PersonEvaluation } from './readiness.js';
import type { Rules } from './rules.js';

export interface AskCandidate {
  personId: string;
  ownerId: string | undefined;
  score: number;
  /** The newest earlier ask (epoch ms) or null: part of the ask task's idempotency key. */
  lastAskedAt: number | null;
}

/** Whether an evaluated person may be asked now (ready, in the pilot, past cool-down and cap). */
export function isAskCandidate(e: PersonEvaluation, now: number): boolean {
  return e.ready && e.inPilot && (e.eligibleToAskAt === null || e.eligibleToAskAt <= now);
}

export function askCandidate(e: PersonEvaluation, ownerId: string | undefined): AskCandidate {
  return { personId: e.personId, ownerId, score: e.score, lastAskedAt: e.lastAskedAt };
}

/** Budget key of people without an owner (their asks share one budget). */
export const UNASSIGNED_OWNER = '';

/** Remaining new-ask tasks per owner for one day. Owners not listed start at `rules.asks.perOwnerDailyCap`. */
export class OwnerBudget {
  private readonly left = new Map<string, number>();

  constructor(
    private readonly dailyCap: number,
    remaining?: ReadonlyMap<string, number> | Readonly<Record<string, number>>,
  ) {
    if (remaining !== undefined) {
      const entries = remaining instanceof Map ? remaining.entries() : Object.entries(remaining);
      for (const [owner, n] of entries) this.left.set(owner, Math.max(0, Math.floor(n)));
    }
  }

  static fromRules(
    rules: Rules,
    remaining?: ReadonlyMap<string, number> | Readonly<Record<string, number>>,
  ): OwnerBudget {
    return new OwnerBudget(rules.asks.perOwnerDailyCap, remaining);
  }

  remaining(ownerId: string | undefined): number {
    return this.left.get(ownerId ?? UNASSIGNED_OWNER) ?? this.dailyCap;
  }

  /** Consume one unit; false (and nothing consumed) when the owner has none left. */
  take(ownerId: string | undefined): boolean {
    const key = ownerId ?? UNASSIGNED_OWNER;
    const n = this.left.get(key) ?? this.dailyCap;
    if (n <= 0) return false;
    this.left.set(key, n - 1);
    return true;
  }

  /** Remaining counts of the owners touched so far (what the pipeline persists). */
  toJSON(): Record<string, number> {
    return Object.fromEntries(this.left);
  }
}

/** Score descending, then person id ascending (code-unit order, locale-independent). */
export function compareAskCandidates(a: AskCandidate, b: AskCandidate): number {
  if (a.score !== b.score) return b.score - a.score;
  return a.personId < b.personId ? -1 : a.personId > b.personId ? 1 : 0;
}

export interface AskSchedule {
  scheduled: AskCandidate[];
  /** Over their owner's cap today; they stay candidates tomorrow. */
  deferred: AskCandidate[];
}

/** Decide who is asked today; consumes `budget`. Does not mutate `candidates`. */
export function scheduleAsks(candidates: readonly AskCandidate[], budget: OwnerBudget): AskSchedule {
  const sorted = [...candidates].sort(compareAskCandidates);
  const scheduled: AskCandidate[] = [];
  const deferred: AskCandidate[] = [];
  for (const c of sorted) (budget.take(c.ownerId) ? scheduled : deferred).push(c);
  return { scheduled, deferred };
}
