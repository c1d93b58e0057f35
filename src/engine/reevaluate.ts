/**
 * Re-evaluation of the people whose result changes with time alone (their `nextChangeAt` came:
 * a 30-day window closed, a cool-down ended), without the rest of the account.
 *
 * Only readiness depends on time: attribution, deal credit and roll-ups do not (nothing in them
 * reads `now` but task recency), so with no data change since the last full run their values in
 * the CRM are already what a full run would plan. This plans the readiness side only — score,
 * flag, reasons, tags, segment, trigger, variant, next eligible date, asks, and a code for people
 * who just became advocates — and leaves the roll-up fields out of the plan; attribution fields
 * are never planned without an attribution. The account-wide inputs come from the caller: the
 * spend distribution kept from the last full run, partner companies, the people's tickets, a code
 * issuer with the tenant's code index behind `isTaken`, and today's per-owner ask budgets.
 */
import type { AskCandidate } from './asks.js';
import { OwnerBudget, askCandidate, compareAskCandidates, isAskCandidate } from './asks.js';
import type { CodeIssuer } from './codes.js';
import { codeProblem, normalizeCode, referralLink } from './codes.js';
import type { Person, Ticket } from './model.js';
import type { EngineTask, RecordPlan } from './plan.js';
import { NO_VALUES, desiredPerson, diffOwned } from './plan.js';
import type { PersonEvaluation } from './readiness.js';
import { evaluatePerson } from './readiness.js';
import type { Rules } from './rules.js';
import type { SpendHistogram } from './stats.js';
import { statsFromHistogram } from './stats.js';
import { askTask, nextBudgetReset } from './run.js';

/** Person fields derived from the person's roll-up as a referrer (not from time). */
export const ROLLUP_FIELDS = [
  'referral_count',
  'referral_converted_count',
  'referral_revenue',
  'referrer_tier',
  'referral_reward_balance',
  'referral_rewards_due',
] as const;

export interface ReevaluateOptions {
  now: number | Date;
  rules: Rules;
  /** The spend distribution of the whole account at its last full run. */
  histogram: SpendHistogram;
  partnerCompanyIds: ReadonlySet<string>;
  /** Each person's tickets (open and recently closed). */
  ticketsOf: (personId: string) => readonly Ticket[];
  issuer: CodeIssuer;
  /** Whether a code is held by anyone in the tenant (its code index). */
  isTaken: (code: string) => boolean;
  ownerBudgets?: ReadonlyMap<string, number> | Readonly<Record<string, number>>;
  linkTemplate: string;
  onPlan: (plan: RecordPlan, asked: boolean) => void;
}

export interface ReevaluateResult {
  tasks: EngineTask[];
  /** Each person's next change instant after this evaluation (epoch ms or null). */
  nextChangeAt: Map<string, number | null>;
  codesIssued: string[];
  asksScheduled: number;
  asksDeferred: number;
}

export function reevaluatePeople(people: readonly Person[], options: ReevaluateOptions): ReevaluateResult {
  const now = typeof options.now === 'number' ? options.now : options.now.getTime();
  const { rules } = options;
  const stats = statsFromHistogram(options.histogram, rules);
  const issued = new Set<string>();
  const isTaken = (code: string): boolean => issued.has(code) || options.isTaken(code);
  const result: ReevaluateResult = {
    tasks: [],
    nextChangeAt: new Map(),
    codesIssued: [],
    asksScheduled: 0,
    asksDeferred: 0,
  };
  const evaluate = (p: Person): PersonEvaluation =>
    evaluatePerson(p, { now, rules, tickets: options.ticketsOf(p.id), stats });
  const reset = nextBudgetReset(now);
  const plan = (
    p: Person,
    e: PersonEvaluation,
    code: string | null,
    askedAt: number | null,
    deferred = false,
  ): void => {
    // Deferred over today's cap: tomorrow's budget may ask them.
    const next = deferred && (e.nextChangeAt === null || reset < e.nextChangeAt) ? reset : e.nextChangeAt;
    result.nextChangeAt.set(p.id, next);
    const desired = desiredPerson({
      person: p,
      evaluation: e,
      code,
      link: code === null ? null : referralLink(options.linkTemplate, code),
      askedAt,
      attribution: null,
      rollup: null,
      rules,
    });
    for (const field of ROLLUP_FIELDS) delete desired[field];
    options.onPlan({ id: p.id, desired, changes: diffOwned(desired, p.current) }, askedAt !== null);
  };

  const candidates: { person: Person; code: string | null; c: AskCandidate }[] = [];
  for (const p of people) {
    const e = evaluate(p);
    const stored = (p.current ?? NO_VALUES).referral_code;
    let code: string | null = null;
    if (typeof stored === 'string' && codeProblem(normalizeCode(stored)) === null)
      code = normalizeCode(stored);
    if (
      code === null &&
      (rules.codes.issueTo === 'everyone' ||
        (e.ready && e.inPilot) ||
        e.lastAskedAt !== null ||
        p.isEmployee === true ||
        (p.companyId !== undefined && options.partnerCompanyIds.has(p.companyId)))
    ) {
      code = options.issuer.issue(isTaken);
      issued.add(code);
      result.codesIssued.push(code);
    }
    if (isAskCandidate(e, now)) candidates.push({ person: p, code, c: askCandidate(e, p.ownerId) });
    else plan(p, e, code, null);
  }

  // Asks under today's per-owner budgets, best first (score desc, id), as the full run does.
  const budget = OwnerBudget.fromRules(rules, options.ownerBudgets);
  candidates.sort((a, b) => compareAskCandidates(a.c, b.c));
  for (const x of candidates) {
    const before = evaluate(x.person);
    if (!budget.take(x.c.ownerId)) {
      result.asksDeferred++;
      plan(x.person, before, x.code, null, true);
      continue;
    }
    result.asksScheduled++;
    const asked: Person = { ...x.person, asks: [...(x.person.asks ?? []), new Date(now)] };
    plan(asked, evaluate(asked), x.code, now);
    result.tasks.push(askTask(x.person, before, x.code, rules, options.linkTemplate, now));
  }
  return result;
}
