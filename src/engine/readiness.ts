/**
 * Referral readiness of one person (PRODUCT.md F-READY): weighted criteria → score 0–100,
 * exclusions that veto, segments, trigger event, hysteresis, ask cool-down and yearly cap, pilot
 * and A/B variant — and `nextChangeAt`, the next instant at which the result could change with no
 * data change, so the service re-evaluates exactly then instead of rescanning everyone.
 *
 * Pure and synchronous: everything it needs comes in `ctx`, so the in-memory run and the streaming
 * pipeline (one page at a time, context fetched from Redis) call the same function.
 *
 * Reason texts are time-stable ("renewed 2026-11-11 (+25)", never "12 days ago"): a text that
 * changed every day would rewrite the CRM field daily and re-fire workflows.
 */
import type { CurrentValues, Person, Ticket } from './model.js';
import type { CriterionKind, Rules } from './rules.js';
import { DAY_MS, totalWeight } from './rules.js';
import type { AccountStats } from './stats.js';
import { isoDay, ms, stableUnit } from './util.js';

export const EXCLUSION_CODES = [
  'not_customer',
  'opted_out',
  'do_not_contact',
  'open_ticket',
  'complaint',
  'detractor',
  'inactive',
  'usage_drop',
  'cool_down',
  'yearly_cap',
] as const;
export type ExclusionCode = (typeof EXCLUSION_CODES)[number];

export type TriggerEventKind = 'onboarding' | 'renewal' | 'upgrade' | 'support_win' | 'purchase';

export interface Reason {
  /** The criterion that contributed, an exclusion code, or `hysteresis`. */
  criterion: CriterionKind | ExclusionCode | 'hysteresis';
  /** Points added to the 0–100 score (0 for exclusions). */
  contribution: number;
  /** Human text, e.g. "NPS 10 (+30)" or "1 open ticket → excluded". */
  text: string;
}

export type Variant = 'A' | 'B';

export interface PersonEvaluation {
  personId: string;
  /** 0–100, integer. */
  score: number;
  ready: boolean;
  /** Met criteria first (rules order), then exclusions. */
  reasons: Reason[];
  excludedBy: ExclusionCode[];
  /** Segment tags matched (`segment-a`, `segment-b`, `vip`, custom tags). */
  segments: string[];
  /** Display name of the primary segment (VIP > Segment A > Segment B > first custom), or null. */
  primarySegment: string | null;
  /** Tags to write (`referral_tags`): the segment tags. */
  tags: string[];
  /** The most recent positive event inside `rules.triggerDays`, or null. */
  triggerEvent: TriggerEventKind | null;
  triggerAt: number | null;
  /** Stable per person id (and `rules.ab.salt`). */
  variant: Variant;
  inPilot: boolean;
  /** Epoch ms from which a new ask is allowed (cool-down and yearly cap); null = allowed now. */
  eligibleToAskAt: number | null;
  /** Epoch ms of the newest ask, or null. */
  lastAskedAt: number | null;
  /** Epoch ms of the next instant the result may change by time alone; null = never. */
  nextChangeAt: number | null;
}

export interface EvaluationContext {
  /** Evaluation instant (epoch ms or Date). */
  now: number | Date;
  rules: Rules;
  /** This person's tickets (open and recently closed). */
  tickets?: readonly Ticket[];
  stats: AccountStats;
  /** Current CRM values of our fields (hysteresis); defaults to `person.current`. */
  previous?: CurrentValues;
}

const NO_TICKETS: readonly Ticket[] = [];
const YEAR_MS = 365 * DAY_MS;

/**
 * Collects candidate instants > now and keeps the earliest. A module-level scratch object avoids
 * an allocation per person; evaluation is synchronous so it cannot be interleaved.
 */
const next = { now: 0, at: Infinity };
function changeAt(t: number): void {
  if (t > next.now && t < next.at) next.at = t;
}

/** "Within the last N days": true at exactly N days, false 1 ms later (day 30 true, day 31 false). */
function within(now: number, t: number, days: number): boolean {
  if (!(t <= now)) {
    if (t > now) changeAt(t); // a future-dated event becomes "past" then
    return false;
  }
  const end = t + days * DAY_MS;
  if (now <= end) {
    changeAt(end + 1);
    return true;
  }
  return false;
}

/** "At least N days ago". */
function atLeast(now: number, t: number, days: number): boolean {
  if (Number.isNaN(t)) return false;
  const from = t + days * DAY_MS;
  if (now >= from) return true;
  changeAt(from);
  return false;
}

const EVENT_TEXT: Record<TriggerEventKind, string> = {
  onboarding: 'onboarded',
  renewal: 'renewed',
  upgrade: 'upgraded',
  support_win: 'support win',
  purchase: 'purchased',
};

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Latest of purchase / renewal / upgrade (the "recent purchase" criterion and Segment A). */
const purchaseScratch: { t: number; kind: TriggerEventKind } = { t: NaN, kind: 'purchase' };
function latestPurchase(
  purchase: number,
  renewal: number,
  upgrade: number,
): { t: number; kind: TriggerEventKind } {
  let t = purchase;
  let kind: TriggerEventKind = 'purchase';
  if (renewal > t || (Number.isNaN(t) && !Number.isNaN(renewal))) {
    t = renewal;
    kind = 'renewal';
  }
  if (upgrade > t || (Number.isNaN(t) && !Number.isNaN(upgrade))) {
    t = upgrade;
    kind = 'upgrade';
  }
  purchaseScratch.t = t;
  purchaseScratch.kind = kind;
  return purchaseScratch;
}

function segmentValue(p: Person, field: string): unknown {
  if (field === 'totalSpend') return p.totalSpend?.amount;
  return (p as unknown as Record<string, unknown>)[field];
}

function customConditionHolds(
  p: Person,
  now: number,
  c: Rules['segments']['custom'][number]['all'][number],
): boolean {
  const v = segmentValue(p, c.field);
  switch (c.op) {
    case 'exists':
      return (v !== undefined && v !== null) === c.value;
    case 'gte':
      return typeof v === 'number' && v >= c.value;
    case 'lte':
      return typeof v === 'number' && v <= c.value;
    case 'eq':
      return typeof v === 'number' && v === c.value;
    case 'is':
      return typeof v === 'boolean' && v === c.value;
    case 'in':
      return typeof v === 'string' && c.value.some((x) => x.toLowerCase() === v.toLowerCase());
    case 'withinDays':
      return v instanceof Date && within(now, v.getTime(), c.value);
    case 'olderThanDays': {
      if (!(v instanceof Date)) return false;
      const from = v.getTime() + c.value * DAY_MS + 1;
      if (now >= from) return true;
      changeAt(from);
      return false;
    }
  }
}

function addExclusion(
  excludedBy: ExclusionCode[],
  reasons: Reason[],
  code: ExclusionCode,
  text: string,
): void {
  excludedBy.push(code);
  reasons.push({ criterion: code, contribution: 0, text });
}

/** Scratch for the trigger event (no closure per evaluation). */
const trigger: { kind: TriggerEventKind | null; at: number } = { kind: null, at: -Infinity };
function considerTrigger(now: number, days: number, kind: TriggerEventKind, t: number): void {
  if (within(now, t, days) && t > trigger.at) {
    trigger.at = t;
    trigger.kind = kind;
  }
}

const weightCache = new WeakMap<Rules, number>();
function weightOf(rules: Rules): number {
  let w = weightCache.get(rules);
  if (w === undefined) {
    w = totalWeight(rules);
    weightCache.set(rules, w);
  }
  return w;
}

export function evaluatePerson(person: Person, ctx: EvaluationContext): PersonEvaluation {
  const rules = ctx.rules;
  const now = typeof ctx.now === 'number' ? ctx.now : ctx.now.getTime();
  const tickets = ctx.tickets ?? NO_TICKETS;
  const previous = ctx.previous ?? person.current;
  const spendFloor = ctx.stats.highSpendThreshold;
  next.now = now;
  next.at = Infinity;

  // Each input is read once: people come in many shapes (sparse mapped records), so every
  // property read is a megamorphic lookup; re-reading them was a third of the evaluation time.
  const nps = person.nps;
  const purchaseCount = person.purchaseCount;
  const activeLast = person.activeDaysLast30;
  const activePrev = person.activeDaysPrev30;
  const sinceMs = ms(person.customerSince);
  const purchaseMs = ms(person.lastPurchaseAt);
  const renewalMs = ms(person.lastRenewalAt);
  const upgradeMs = ms(person.lastUpgradeAt);

  const total = weightOf(rules);
  const reasons: Reason[] = [];
  let points = 0;
  const purchase = latestPurchase(purchaseMs, renewalMs, upgradeMs);
  const spend = person.totalSpend?.amount;
  const isHighSpender = spendFloor !== null && spend !== undefined && spend > 0 && spend >= spendFloor;

  for (const c of rules.criteria) {
    const pts = Math.round((c.weight * 100) / total);
    let text: string | null = null;
    switch (c.kind) {
      case 'nps':
        if (nps !== undefined) {
          if (nps >= c.minNps) text = `NPS ${nps}`;
        } else if (person.csat !== undefined && person.csat >= c.minCsat) {
          text = `CSAT ${person.csat}`;
        }
        break;
      case 'recentPurchase':
        if (within(now, purchase.t, c.withinDays))
          text = `${EVENT_TEXT[purchase.kind]} ${isoDay(purchase.t)}`;
        break;
      case 'activeUse': {
        const days = activeLast;
        const features = person.featuresUsed;
        if (
          (days !== undefined || features !== undefined) &&
          (days === undefined || days >= c.minActiveDays) &&
          (features === undefined || features >= c.minFeatures)
        ) {
          text =
            days !== undefined && features !== undefined
              ? `active ${days} days, ${plural(features, 'feature')}`
              : days !== undefined
                ? `active ${days} days`
                : `uses ${plural(features!, 'feature')}`;
        }
        break;
      }
      case 'advocacy':
        if (person.leftReview === true) text = 'left a review';
        else if (person.gaveTestimonial === true) text = 'gave a testimonial';
        else if (person.referredBefore === true) text = 'referred before';
        else if (person.sharedContent === true) text = 'shared content';
        break;
      case 'tenure': {
        if (atLeast(now, sinceMs, c.minDays)) text = `customer since ${isoDay(sinceMs)}`;
        break;
      }
      case 'repeatPurchases':
        if (purchaseCount !== undefined && purchaseCount > c.moreThan) {
          text = plural(purchaseCount, 'purchase');
        }
        break;
      case 'highSpend':
        if (isHighSpender) text = 'top spender';
        break;
      case 'engagement': {
        const clicks = person.emailClicks ?? -1;
        const opens = person.emailOpens ?? -1;
        if (clicks >= c.minClicks) text = `${plural(clicks, 'email click')}`;
        else if (opens >= c.minOpens) text = `${plural(opens, 'email open')}`;
        break;
      }
    }
    if (text !== null) {
      points += (c.weight * 100) / total;
      reasons.push({ criterion: c.kind, contribution: pts, text: `${text} (+${pts})` });
    }
  }
  const score = Math.min(100, Math.round(points));

  // ---- Exclusions (veto whatever the score)
  const ex = rules.exclusions;
  const excludedBy: ExclusionCode[] = [];
  if (ex.nonCustomers && (person.kind === 'lead' || person.isCustomer === false)) {
    addExclusion(
      excludedBy,
      reasons,
      'not_customer',
      person.kind === 'lead' ? 'lead, not a customer → excluded' : 'not a customer → excluded',
    );
  }
  if (ex.optOut && person.optedOut === true)
    addExclusion(excludedBy, reasons, 'opted_out', 'opted out → excluded');
  if (ex.optOut && person.doNotContact === true)
    addExclusion(excludedBy, reasons, 'do_not_contact', 'do not contact → excluded');
  if (tickets.length > 0) {
    let open = 0;
    let complaint = false;
    for (const t of tickets) {
      if (t.isOpen) open++;
      if (t.isComplaint === true && ex.complaintDays >= 0) {
        if (t.isOpen) complaint = true;
        else if (ex.complaintDays > 0 && within(now, ms(t.closedAt ?? t.createdAt), ex.complaintDays))
          complaint = true;
      }
    }
    if (ex.openTicket && open > 0)
      addExclusion(excludedBy, reasons, 'open_ticket', `${plural(open, 'open ticket')} → excluded`);
    if (complaint) addExclusion(excludedBy, reasons, 'complaint', 'recent complaint → excluded');
  }
  if (nps !== undefined && nps <= ex.detractorMaxNps) {
    addExclusion(excludedBy, reasons, 'detractor', `NPS ${nps} → excluded (detractor)`);
  }
  if (ex.inactiveDays > 0 && person.lastActiveAt !== undefined) {
    const last = person.lastActiveAt.getTime();
    if (!within(now, last, ex.inactiveDays) && last <= now) {
      addExclusion(excludedBy, reasons, 'inactive', `inactive since ${isoDay(last)} → excluded`);
    }
  }
  if (
    ex.usageDropRatio > 0 &&
    activeLast !== undefined &&
    activePrev !== undefined &&
    activePrev > 0 &&
    activeLast < ex.usageDropRatio * activePrev
  ) {
    addExclusion(
      excludedBy,
      reasons,
      'usage_drop',
      `usage fell ${activePrev} → ${activeLast} days → excluded`,
    );
  }

  // ---- Ask anti-fatigue: cool-down and yearly cap
  let lastAskedAt: number | null = null;
  let eligibleToAskAt: number | null = null;
  const asks = person.asks;
  if (asks !== undefined && asks.length > 0) {
    let inYear = 0;
    let oldestInYear = Infinity;
    for (const a of asks) {
      const t = a.getTime();
      if (lastAskedAt === null || t > lastAskedAt) lastAskedAt = t;
      if (t <= now && now - t < YEAR_MS) {
        inYear++;
        if (t < oldestInYear) oldestInYear = t;
      } else if (t > now) changeAt(t); // a future-dated ask enters the year then
    }
    const coolEnd = lastAskedAt! + rules.asks.coolDownDays * DAY_MS;
    let until = coolEnd;
    if (inYear >= rules.asks.maxPerYear) {
      // With k asks in the year and cap m, the (k − m + 1)-th oldest must leave the window; the
      // oldest leaving is the earliest candidate (re-evaluation then recounts).
      until = Math.max(until, oldestInYear + YEAR_MS);
    }
    eligibleToAskAt = until;
    if (coolEnd > now) {
      addExclusion(
        excludedBy,
        reasons,
        'cool_down',
        `asked ${isoDay(lastAskedAt!)}, cool-down until ${isoDay(coolEnd)} → excluded`,
      );
      changeAt(coolEnd);
    }
    if (inYear >= rules.asks.maxPerYear) {
      addExclusion(
        excludedBy,
        reasons,
        'yearly_cap',
        `${plural(inYear, 'ask')} in 12 months (cap ${rules.asks.maxPerYear}) → excluded`,
      );
      changeAt(oldestInYear + YEAR_MS);
    }
    if (eligibleToAskAt <= now) eligibleToAskAt = null;
  }

  // ---- Ready, with hysteresis
  let ready = false;
  if (excludedBy.length === 0) {
    if (score >= rules.threshold) ready = true;
    else if (previous.referral_ready === true && score >= rules.threshold - rules.hysteresis) {
      ready = true;
      reasons.push({
        criterion: 'hysteresis',
        contribution: 0,
        text: `score ${score} stays ready (≥ ${rules.threshold - rules.hysteresis})`,
      });
    }
  }

  // ---- Segments
  const seg = rules.segments;
  const segments: string[] = [];
  let primarySegment: string | null = null;
  if (seg.vip.enabled && isHighSpender && atLeast(now, sinceMs, seg.vip.minTenureDays)) {
    let positive: boolean;
    const history = person.npsHistory;
    if (history !== undefined && history.length > 0) {
      positive = true;
      for (const h of history) if (h.score < seg.vip.minNps) positive = false;
    } else positive = nps !== undefined && nps >= seg.vip.minNps;
    if (positive) {
      segments.push('vip');
      primarySegment = 'VIP';
    }
  }
  if (
    seg.a.enabled &&
    nps !== undefined &&
    nps >= seg.a.minNps &&
    within(now, purchase.t, seg.a.purchaseDays)
  ) {
    segments.push('segment-a');
    primarySegment ??= 'Segment A';
  }
  if (
    seg.b.enabled &&
    activeLast !== undefined &&
    activeLast >= seg.b.minActiveDays &&
    purchaseCount !== undefined &&
    purchaseCount > seg.b.moreThanPurchases
  ) {
    segments.push('segment-b');
    primarySegment ??= 'Segment B';
  }
  for (const custom of seg.custom) {
    let all = true;
    for (const c of custom.all) {
      if (!customConditionHolds(person, now, c)) {
        all = false;
        break;
      }
    }
    if (all) {
      segments.push(custom.tag);
      primarySegment ??= custom.name;
    }
  }

  // ---- Trigger event: the most recent positive event inside the trigger window
  trigger.kind = null;
  trigger.at = -Infinity;
  const days = rules.triggerDays;
  considerTrigger(now, days, 'onboarding', ms(person.onboardingCompletedAt));
  considerTrigger(now, days, 'renewal', renewalMs);
  considerTrigger(now, days, 'upgrade', upgradeMs);
  considerTrigger(now, days, 'support_win', ms(person.lastSupportWinAt));
  considerTrigger(now, days, 'purchase', purchaseMs);
  const triggerEvent = trigger.kind;
  const triggerAt = trigger.kind === null ? null : trigger.at;

  // ---- Variant and pilot
  const variant: Variant = stableUnit(rules.ab.salt, person.id) < rules.ab.shareB ? 'B' : 'A';
  const pilot = rules.pilot;
  const inPilot =
    pilot.mode === 'off' ||
    (pilot.mode === 'segment' && pilot.segment !== undefined && segments.includes(pilot.segment)) ||
    (pilot.mode === 'share' && stableUnit(pilot.salt, person.id) < pilot.share);

  return {
    personId: person.id,
    score,
    ready,
    reasons,
    excludedBy,
    segments,
    primarySegment,
    tags: segments,
    triggerEvent,
    triggerAt,
    variant,
    inPilot,
    eligibleToAskAt,
    lastAskedAt,
    nextChangeAt: next.at === Infinity ? null : next.at,
  };
}

/** The reasons as one text (`referral_readiness_reasons`). */
export function reasonsText(evaluation: PersonEvaluation): string {
  let s = '';
  for (const r of evaluation.reasons) s = s === '' ? r.text : `${s}; ${r.text}`;
  return s;
}
