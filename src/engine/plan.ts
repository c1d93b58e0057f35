/**
 * The write-back plan (PRODUCT.md F-WRITE): the values we want in the CRM per record, the minimal
 * changes against what is there, and tasks with deterministic idempotency keys.
 *
 * Desired values: a key present = "this field should hold this value" (null = empty); a key
 * absent = "leave the field alone" (e.g. readiness fields outside the pilot, a code we have not
 * issued). Comparison is by value: numbers within half a cent, dates to the second (Salesforce
 * stores seconds), arrays as sets, and null / absent / '' / [] are all "empty", so an unchanged
 * value is never rewritten (a rewrite can re-fire a workflow).
 *
 * To avoid mass writes of "nothing" at first backfill, a false flag or a zero count is written
 * only when the field already holds a value (`flag`, `count`): a fresh record keeps empty fields.
 */
import type { AttributionDecision, ReferrerType } from './attribution.js';
import type { DealCredit, PartnerRollup, ReferrerRollup } from './credit.js';
import type { Company, CurrentValues, Deal, OwnedValue, Person } from './model.js';
import type { PersonEvaluation } from './readiness.js';
import { reasonsText } from './readiness.js';
import type { Rules, TaskTemplate } from './rules.js';
import { DAY_MS } from './rules.js';
import { cents } from './util.js';

export type Desired = Record<string, OwnedValue>;
/** Stand-in for a record built without `current` (the schema defaults it; hand-built objects may not). */
export const NO_VALUES: CurrentValues = Object.freeze({}) as CurrentValues;
export type OwnedChanges = Record<string, OwnedValue>;
/** Same words as `src/sync/mapping.ts` WritePolicy (the engine does not import the sync layer). */
export type WritePolicy = 'always' | 'only-if-empty' | 'never';

export interface RecordPlan {
  id: string;
  desired: Desired;
  changes: OwnedChanges;
}

// ---------------------------------------------------------------------------------------------
// Value comparison and diff
// ---------------------------------------------------------------------------------------------

export function isEmptyValue(v: OwnedValue | undefined): boolean {
  return v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);
}

function asNumber(v: OwnedValue | undefined): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return NaN;
}

function asEpochSecond(v: OwnedValue | undefined): number {
  const t =
    v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : typeof v === 'number' ? v : NaN;
  return Math.floor(t / 1000);
}

function asBoolean(v: OwnedValue | undefined): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return undefined;
}

/** Value equality as the CRM would see it (see the module comment). */
export function sameValue(desired: OwnedValue | undefined, current: OwnedValue | undefined): boolean {
  const de = isEmptyValue(desired);
  const ce = isEmptyValue(current);
  if (de || ce) return de && ce;
  if (desired instanceof Date || current instanceof Date)
    return asEpochSecond(desired) === asEpochSecond(current);
  if (typeof desired === 'number' || typeof current === 'number') {
    const a = asNumber(desired);
    const b = asNumber(current);
    return Math.abs(a - b) < 0.005;
  }
  if (typeof desired === 'boolean' || typeof current === 'boolean')
    return asBoolean(desired) === asBoolean(current);
  if (Array.isArray(desired) || Array.isArray(current)) {
    const a = Array.isArray(desired) ? desired : String(desired).split(';');
    const b = Array.isArray(current) ? current : String(current).split(';');
    const sa = new Set(a);
    const sb = new Set(b);
    if (sa.size !== sb.size) return false;
    for (const x of sa) if (!sb.has(x)) return false;
    return true;
  }
  return desired === current;
}

/**
 * The minimal changes that make `current` hold `desired`. `policies` applies to admin-mapped
 * fields we do not own (default `always`, i.e. owned-field behaviour): `never` skips,
 * `only-if-empty` writes only into an empty field.
 */
export function diffOwned(
  desired: Readonly<Desired>,
  current: Readonly<CurrentValues> | undefined,
  policies?: Readonly<Record<string, WritePolicy>>,
): OwnedChanges {
  const changes: OwnedChanges = {};
  current ??= NO_VALUES;
  let blank = true;
  for (const _ in current) {
    blank = false;
    break;
  }
  if (blank) {
    // Nothing written yet (most records at backfill): every non-empty desired value is a change,
    // the empty ones are not (`sameValue(want, undefined)`), and `only-if-empty` always holds.
    for (const key in desired) {
      const want = desired[key];
      if (isEmptyValue(want)) continue;
      if (policies !== undefined && policies[key] === 'never') continue;
      changes[key] = want!;
    }
    return changes;
  }
  for (const key in desired) {
    const want = desired[key];
    const have = current[key];
    if (sameValue(want, have)) continue;
    const policy = policies?.[key] ?? 'always';
    if (policy === 'never') continue;
    if (policy === 'only-if-empty' && !isEmptyValue(have)) continue;
    changes[key] = want ?? null;
  }
  return changes;
}

/** `current` with `changes` written (what the CRM holds after the push). */
export function applyChanges(
  current: Readonly<CurrentValues>,
  changes: Readonly<OwnedChanges>,
): CurrentValues {
  return { ...current, ...changes };
}

export function hasChanges(changes: Readonly<OwnedChanges>): boolean {
  for (const _ in changes) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// Desired values
// ---------------------------------------------------------------------------------------------

/** true → true; false → false only if the field holds a value already, else empty. */
function flag(value: boolean, current: OwnedValue | undefined): boolean | null {
  return value ? true : isEmptyValue(current) ? null : false;
}

/** A count/amount: 0 is written only over an existing value. */
function count(value: number, current: OwnedValue | undefined): number | null {
  return value !== 0 ? value : isEmptyValue(current) ? null : 0;
}

/** Dates are written to the second (see module comment). */
export function dateValue(epochMs: number | null): Date | null {
  return epochMs === null ? null : new Date(Math.floor(epochMs / 1000) * 1000);
}

export interface PersonPlanInput {
  person: Person;
  evaluation: PersonEvaluation;
  /** The person's referral code (kept or newly issued) and link; null = none. */
  code: string | null;
  link: string | null;
  /** Epoch ms of an ask scheduled in this run, or null. */
  askedAt: number | null;
  rules: Rules;
  /** The person's own attribution as a referred person (credited only is written). */
  attribution: AttributionDecision | null;
  /** The person's roll-up as a referrer, or null when they referred no one. */
  rollup: ReferrerRollup | null;
}

export function desiredPerson(input: PersonPlanInput): Desired {
  const { person, evaluation: e, rollup } = input;
  const cur = person.current ?? NO_VALUES;
  // Roll-up fields are always planned; readiness fields only inside the pilot. Each shape is one
  // object literal (one allocation, fast in-object properties) rather than ~20 incremental adds:
  // this runs a million times per full evaluation.
  const referral_count = count(rollup?.referralCount ?? 0, cur.referral_count);
  const referral_converted_count = count(rollup?.convertedCount ?? 0, cur.referral_converted_count);
  const referral_revenue = count(rollup?.revenue ?? 0, cur.referral_revenue);
  const referrer_tier = rollup?.tier ?? null;
  const referral_reward_balance = count(rollup?.rewardBalance ?? 0, cur.referral_reward_balance);
  const referral_rewards_due = count(rollup?.rewardsDue ?? 0, cur.referral_rewards_due);
  let d: Desired;
  if (!e.inPilot) {
    d = {
      referral_count,
      referral_converted_count,
      referral_revenue,
      referrer_tier,
      referral_reward_balance,
      referral_rewards_due,
    };
  } else if (e.excludedBy.includes('not_customer')) {
    // Readiness is about customers: for leads and non-customers the fields stay empty (or are
    // emptied if the person stopped being a customer) instead of writing "not a customer" to half
    // the database at backfill.
    d = {
      referral_ready: flag(false, cur.referral_ready),
      referral_readiness_score: null,
      referral_readiness_reasons: null,
      referral_tags: null,
      referral_segment: null,
      referral_trigger_event: null,
      referral_next_eligible_at: null,
      referral_count,
      referral_converted_count,
      referral_revenue,
      referrer_tier,
      referral_reward_balance,
      referral_rewards_due,
    };
  } else {
    d = {
      referral_ready: flag(e.ready, cur.referral_ready),
      referral_readiness_score: count(e.score, cur.referral_readiness_score),
      referral_readiness_reasons: e.reasons.length === 0 ? null : reasonsText(e),
      referral_tags: e.tags.length === 0 ? null : e.tags,
      referral_segment: e.primarySegment,
      referral_trigger_event: e.ready ? e.triggerEvent : null,
      // Asked in this run: at least the cool-down from now, or later if the yearly cap says so.
      referral_next_eligible_at: dateValue(
        input.askedAt !== null
          ? Math.max(input.askedAt + input.rules.asks.coolDownDays * DAY_MS, e.eligibleToAskAt ?? 0)
          : e.eligibleToAskAt,
      ),
      referral_count,
      referral_converted_count,
      referral_revenue,
      referrer_tier,
      referral_reward_balance,
      referral_rewards_due,
    };
    if (e.ready || !isEmptyValue(cur.referral_variant)) d.referral_variant = e.variant;
  }
  const lastAsked = input.askedAt ?? e.lastAskedAt;
  if (lastAsked !== null || !isEmptyValue(cur.referral_last_asked_at))
    d.referral_last_asked_at = dateValue(lastAsked);
  if (input.code !== null) {
    d.referral_code = input.code;
    if (input.link !== null) d.referral_link = input.link;
  }
  const a = input.attribution;
  if (a !== null && a.status === 'credited' && a.referrer !== undefined) {
    d.referred_by_contact_id = a.referrer.id;
    d.referred_by_name = a.referrer.name ?? null;
    d.referral_attribution_method = a.method ?? null;
  }
  return d;
}

export interface DealAttribution {
  referrerId: string;
  referrerName: string | null;
  referrerType: ReferrerType;
  codeUsed: string | null;
}

export function desiredDeal(deal: Deal, attribution: DealAttribution | null): Desired {
  const cur = deal.current ?? NO_VALUES;
  if (attribution === null) {
    return {
      referral_attributed: flag(false, cur.referral_attributed),
      referral_source_type: null,
      referred_by_contact_id: null,
      referred_by_name: null,
      referral_code_used: null,
    };
  }
  return {
    referral_attributed: true,
    referral_source_type: attribution.referrerType,
    referred_by_contact_id: attribution.referrerId,
    referred_by_name: attribution.referrerName,
    referral_code_used: attribution.codeUsed,
  };
}

export function desiredCompany(company: Company, partner: PartnerRollup | null): Desired {
  const cur = company.current ?? NO_VALUES;
  return {
    partner_referrals_sent: count(partner?.sent ?? 0, cur.partner_referrals_sent),
    partner_referrals_received: count(partner?.received ?? 0, cur.partner_referrals_received),
    partner_referral_revenue: count(cents(partner?.revenue ?? 0), cur.partner_referral_revenue),
  };
}

export function planRecord(id: string, desired: Desired, current: CurrentValues): RecordPlan {
  return { id, desired, changes: diffOwned(desired, current) };
}

// ---------------------------------------------------------------------------------------------
// Tasks
// ---------------------------------------------------------------------------------------------

/** Same words as `connectors/contract.ts` TaskKind. */
export type EngineTaskKind = 'ask' | 'follow_up' | 'thank' | 'review' | 'reward';

export interface EngineTask {
  /** Deterministic: stable across re-runs, unique per (kind, subject record, occasion). */
  key: string;
  kind: EngineTaskKind;
  subject: string;
  body: string;
  dueAt: Date;
  priority: 'low' | 'normal' | 'high';
  ownerId?: string;
  /** The person the task is about (canonical id). */
  personId: string;
  dealId?: string;
  companyId?: string;
}

/** Occasion = the newest earlier ask: one ask task per eligibility period. */
export function askTaskKey(personId: string, lastAskedAt: number | null): string {
  return `ask:${personId}:${lastAskedAt ?? 0}`;
}
/** One follow-up per referred person and referrer. */
export function followUpTaskKey(referredId: string, referrerId: string): string {
  return `follow_up:${referredId}:${referrerId}`;
}
/** One thank-you per credited won deal. */
export function thankTaskKey(referrerId: string, dealId: string): string {
  return `thank:${referrerId}:${dealId}`;
}
/**
 * One review per referred person (the occasion is their capture): the suggested referrer may
 * improve as more people get codes, but the rep gets one review task, not one per suggestion.
 */
export function reviewTaskKey(referredId: string): string {
  return `review:${referredId}`;
}
/** One reward task per reward ordinal (`s3` = third success, `m10` = 10-referral milestone). */
export function rewardTaskKey(referrerId: string, rewardKey: string): string {
  return `reward:${referrerId}:${rewardKey}`;
}

/** `{name}`-style placeholders; unknown placeholders are left as written. */
export function renderTemplate(template: string, vars: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => {
    const v = vars[k];
    return v === undefined ? m : String(v);
  });
}

export function personName(p: Pick<Person, 'id' | 'firstName' | 'lastName' | 'email'>): string {
  // The non-empty of first and last name joined by a space (no array per call: this names every
  // code holder of the account for the fuzzy index).
  const first = p.firstName;
  const last = p.lastName;
  const hasFirst = first !== undefined && first !== '';
  const hasLast = last !== undefined && last !== '';
  if (hasFirst) return hasLast ? `${first} ${last}` : first;
  if (hasLast) return last;
  return p.email ?? p.id;
}

export function buildTask(
  kind: EngineTaskKind,
  key: string,
  template: TaskTemplate,
  vars: Readonly<Record<string, string | number>>,
  now: number,
  subject: {
    personId: string;
    ownerId?: string | undefined;
    dealId?: string;
    companyId?: string | undefined;
  },
): EngineTask {
  const task: EngineTask = {
    key,
    kind,
    subject: renderTemplate(template.subject, vars),
    body: renderTemplate(template.body, vars),
    dueAt: new Date(now + template.dueDays * DAY_MS),
    priority: template.priority,
    personId: subject.personId,
  };
  if (subject.ownerId !== undefined) task.ownerId = subject.ownerId;
  if (subject.dealId !== undefined) task.dealId = subject.dealId;
  if (subject.companyId !== undefined) task.companyId = subject.companyId;
  return task;
}

/** Whether an occasion is recent enough to task (rules.tasks.maxAgeDays). */
export function recentOccasion(at: number, now: number, rules: Rules): boolean {
  return at <= now + DAY_MS && now - at <= rules.tasks.maxAgeDays * DAY_MS;
}

export function formatMoney(amount: number, currency: string): string {
  return `${currency} ${cents(amount).toFixed(2)}`;
}

export type { DealCredit };
