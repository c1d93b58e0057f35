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
import { isoDay, ms, stableBelow } from './util.js';

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
const NO_PREVIOUS: CurrentValues = Object.freeze({}) as CurrentValues;
const YEAR_MS = 365 * DAY_MS;

/**
 * Collects candidate instants > now and keeps the earliest. A module-level scratch object avoids
 * an allocation per person; evaluation is synchronous so it cannot be interleaved.
 */
const next = { now: 0, at: Infinity };
function changeAt(t: number): void {
  if (t > next.now && t < next.at) next.at = t;
}

/**
 * Instants of the evaluation under way (epoch ms, NaN = absent), handed to the helpers below by
 * slot number. evaluatePerson is too large for TurboFan to inline them, and a double passed to a
 * call that is not inlined is boxed into a fresh heap number (~15 per person, a third of the
 * bytes an evaluation allocated). Synchronous use only, like `next`.
 */
const T = new Float64Array(8);
const NOW = 0;
const PURCHASE = 1;
const RENEWAL = 2;
const UPGRADE = 3;
const LATEST = 4;
const SINCE = 5;
const TMP = 6;

/** "Within the last N days": true at exactly N days, false 1 ms later (day 30 true, day 31 false). */
function within(slot: number, days: number): boolean {
  const now = T[NOW]!;
  const t = T[slot]!;
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
function atLeast(slot: number, days: number): boolean {
  const now = T[NOW]!;
  const t = T[slot]!;
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

/**
 * Latest of purchase / renewal / upgrade (the "recent purchase" criterion and Segment A), from
 * their slots; also left in slot LATEST.
 */
const purchaseScratch: { t: number; kind: TriggerEventKind } = { t: NaN, kind: 'purchase' };
function latestPurchase(): { t: number; kind: TriggerEventKind } {
  const renewal = T[RENEWAL]!;
  const upgrade = T[UPGRADE]!;
  let t = T[PURCHASE]!;
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
  T[LATEST] = t;
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
      if (!(v instanceof Date)) return false;
      T[TMP] = v.getTime();
      return within(TMP, c.value);
    case 'olderThanDays': {
      if (!(v instanceof Date)) return false;
      const from = v.getTime() + c.value * DAY_MS + 1;
      if (now >= from) return true;
      changeAt(from);
      return false;
    }
  }
}

/**
 * Reasons and exclusions of the evaluation under way, gathered in reused scratch arrays and copied
 * out at their exact size: three fresh arrays grown by `push` were ~60 % of the bytes an evaluation
 * allocated (each first push reserves 17 slots). Synchronous use only, like `next` above.
 */
const reasonScratch: Reason[] = [];
let reasonCount = 0;
const excludedScratch: ExclusionCode[] = [];
let excludedCount = 0;

function addReason(criterion: Reason['criterion'], contribution: number, text: string): void {
  reasonScratch[reasonCount++] = { criterion, contribution, text };
}

function addExclusion(code: ExclusionCode, text: string): void {
  excludedScratch[excludedCount++] = code;
  addReason(code, 0, text);
}

function addTag(tags: string[] | null, tag: string): string[] {
  if (tags === null) return [tag];
  tags.push(tag);
  return tags;
}

function copyOut<T>(scratch: readonly T[], n: number): T[] {
  // Literals for the usual counts (a `slice` is a builtin call per list).
  if (n === 0) return [];
  if (n === 1) return [scratch[0]!];
  if (n === 2) return [scratch[0]!, scratch[1]!];
  if (n === 3) return [scratch[0]!, scratch[1]!, scratch[2]!];
  return scratch.slice(0, n);
}

/** Scratch for the trigger event (no closure per evaluation). */
const trigger: { kind: TriggerEventKind | null; at: number } = { kind: null, at: -Infinity };
function considerTrigger(days: number, kind: TriggerEventKind, slot: number): void {
  const t = T[slot]!;
  if (within(slot, days) && t > trigger.at) {
    trigger.at = t;
    trigger.kind = kind;
  }
}

/**
 * The inputs evaluatePerson reads, copied out of the person in ONE pass over the keys it actually
 * has. Mapped records are sparse and come in many shapes, so each `person.x` is a megamorphic
 * lookup (~40 per evaluation were most of its time); `for…in` walks V8's per-shape enum cache and
 * the evaluation then reads this single-shape scratch object. Synchronous use only.
 */
const INPUT_KEYS = [
  'id',
  'kind',
  'current',
  'nps',
  'csat',
  'npsHistory',
  'purchaseCount',
  'activeDaysLast30',
  'activeDaysPrev30',
  'featuresUsed',
  'customerSince',
  'lastPurchaseAt',
  'lastRenewalAt',
  'lastUpgradeAt',
  'onboardingCompletedAt',
  'lastSupportWinAt',
  'lastActiveAt',
  'totalSpend',
  'emailOpens',
  'emailClicks',
  'leftReview',
  'sharedContent',
  'gaveTestimonial',
  'referredBefore',
  'isCustomer',
  'optedOut',
  'doNotContact',
  'asks',
] as const;
const INPUT_INDEX = new Map<string, number>(INPUT_KEYS.map((k, i) => [k, i]));
/** Key positions remembered (a record with more keys looks the rest up). */
const KEY_MEMORY = 96;

class Inputs {
  id: Person['id'] = undefined as unknown as Person['id'];
  kind: Person['kind'] = undefined as unknown as Person['kind'];
  current: Person['current'] = undefined as unknown as Person['current'];
  nps: Person['nps'] = undefined as unknown as Person['nps'];
  csat: Person['csat'] = undefined as unknown as Person['csat'];
  npsHistory: Person['npsHistory'] = undefined as unknown as Person['npsHistory'];
  purchaseCount: Person['purchaseCount'] = undefined as unknown as Person['purchaseCount'];
  activeDaysLast30: Person['activeDaysLast30'] = undefined as unknown as Person['activeDaysLast30'];
  activeDaysPrev30: Person['activeDaysPrev30'] = undefined as unknown as Person['activeDaysPrev30'];
  featuresUsed: Person['featuresUsed'] = undefined as unknown as Person['featuresUsed'];
  customerSince: Person['customerSince'] = undefined as unknown as Person['customerSince'];
  lastPurchaseAt: Person['lastPurchaseAt'] = undefined as unknown as Person['lastPurchaseAt'];
  lastRenewalAt: Person['lastRenewalAt'] = undefined as unknown as Person['lastRenewalAt'];
  lastUpgradeAt: Person['lastUpgradeAt'] = undefined as unknown as Person['lastUpgradeAt'];
  onboardingCompletedAt: Person['onboardingCompletedAt'] =
    undefined as unknown as Person['onboardingCompletedAt'];
  lastSupportWinAt: Person['lastSupportWinAt'] = undefined as unknown as Person['lastSupportWinAt'];
  lastActiveAt: Person['lastActiveAt'] = undefined as unknown as Person['lastActiveAt'];
  totalSpend: Person['totalSpend'] = undefined as unknown as Person['totalSpend'];
  emailOpens: Person['emailOpens'] = undefined as unknown as Person['emailOpens'];
  emailClicks: Person['emailClicks'] = undefined as unknown as Person['emailClicks'];
  leftReview: Person['leftReview'] = undefined as unknown as Person['leftReview'];
  sharedContent: Person['sharedContent'] = undefined as unknown as Person['sharedContent'];
  gaveTestimonial: Person['gaveTestimonial'] = undefined as unknown as Person['gaveTestimonial'];
  referredBefore: Person['referredBefore'] = undefined as unknown as Person['referredBefore'];
  isCustomer: Person['isCustomer'] = undefined as unknown as Person['isCustomer'];
  optedOut: Person['optedOut'] = undefined as unknown as Person['optedOut'];
  doNotContact: Person['doNotContact'] = undefined as unknown as Person['doNotContact'];
  asks: Person['asks'] = undefined as unknown as Person['asks'];

  /** The last key sequence seen and each key's INPUT_INDEX (−1: not an input). */
  private readonly seenKeys: string[] = new Array<string>(KEY_MEMORY).fill('');
  private readonly seenIndex: number[] = new Array<number>(KEY_MEMORY).fill(-1);

  load(person: Person): void {
    if ('asks' in person) this.loadFull(person);
    else this.loadSparse(person);
  }

  /**
   * A record built with every input key present (absent ones `undefined`, one literal: the
   * generator's and the sandbox's layout) has one hidden class: plain reads are monomorphic and
   * twice as fast as walking its keys. `asks` (never mapped from a CRM) tells such records apart.
   */
  private loadFull(p: Person): void {
    this.id = p.id;
    this.kind = p.kind;
    this.current = p.current;
    this.nps = p.nps;
    this.csat = p.csat;
    this.npsHistory = p.npsHistory;
    this.purchaseCount = p.purchaseCount;
    this.activeDaysLast30 = p.activeDaysLast30;
    this.activeDaysPrev30 = p.activeDaysPrev30;
    this.featuresUsed = p.featuresUsed;
    this.customerSince = p.customerSince;
    this.lastPurchaseAt = p.lastPurchaseAt;
    this.lastRenewalAt = p.lastRenewalAt;
    this.lastUpgradeAt = p.lastUpgradeAt;
    this.onboardingCompletedAt = p.onboardingCompletedAt;
    this.lastSupportWinAt = p.lastSupportWinAt;
    this.lastActiveAt = p.lastActiveAt;
    this.totalSpend = p.totalSpend;
    this.emailOpens = p.emailOpens;
    this.emailClicks = p.emailClicks;
    this.leftReview = p.leftReview;
    this.sharedContent = p.sharedContent;
    this.gaveTestimonial = p.gaveTestimonial;
    this.referredBefore = p.referredBefore;
    this.isCustomer = p.isCustomer;
    this.optedOut = p.optedOut;
    this.doNotContact = p.doNotContact;
    this.asks = p.asks;
  }

  /** Sparse mapped records (many shapes, often dictionary-mode): one pass over the keys they have. */
  private loadSparse(person: Person): void {
    this.id = undefined as unknown as Person['id'];
    this.kind = undefined as unknown as Person['kind'];
    this.current = undefined as unknown as Person['current'];
    this.nps = undefined as unknown as Person['nps'];
    this.csat = undefined as unknown as Person['csat'];
    this.npsHistory = undefined as unknown as Person['npsHistory'];
    this.purchaseCount = undefined as unknown as Person['purchaseCount'];
    this.activeDaysLast30 = undefined as unknown as Person['activeDaysLast30'];
    this.activeDaysPrev30 = undefined as unknown as Person['activeDaysPrev30'];
    this.featuresUsed = undefined as unknown as Person['featuresUsed'];
    this.customerSince = undefined as unknown as Person['customerSince'];
    this.lastPurchaseAt = undefined as unknown as Person['lastPurchaseAt'];
    this.lastRenewalAt = undefined as unknown as Person['lastRenewalAt'];
    this.lastUpgradeAt = undefined as unknown as Person['lastUpgradeAt'];
    this.onboardingCompletedAt = undefined as unknown as Person['onboardingCompletedAt'];
    this.lastSupportWinAt = undefined as unknown as Person['lastSupportWinAt'];
    this.lastActiveAt = undefined as unknown as Person['lastActiveAt'];
    this.totalSpend = undefined as unknown as Person['totalSpend'];
    this.emailOpens = undefined as unknown as Person['emailOpens'];
    this.emailClicks = undefined as unknown as Person['emailClicks'];
    this.leftReview = undefined as unknown as Person['leftReview'];
    this.sharedContent = undefined as unknown as Person['sharedContent'];
    this.gaveTestimonial = undefined as unknown as Person['gaveTestimonial'];
    this.referredBefore = undefined as unknown as Person['referredBefore'];
    this.isCustomer = undefined as unknown as Person['isCustomer'];
    this.optedOut = undefined as unknown as Person['optedOut'];
    this.doNotContact = undefined as unknown as Person['doNotContact'];
    this.asks = undefined as unknown as Person['asks'];
    const rec = person as unknown as Record<string, unknown>;
    const seenKeys = this.seenKeys;
    const seenIndex = this.seenIndex;
    let j = 0;
    for (const key in rec) {
      // Records of one shape list their keys in the same order: the key at this position is
      // usually the one seen there last time (a pointer compare), so the Map lookup is rare.
      let i: number;
      if (j < seenKeys.length && seenKeys[j] === key) i = seenIndex[j]!;
      else {
        i = INPUT_INDEX.get(key) ?? -1;
        if (j < seenKeys.length) {
          seenKeys[j] = key;
          seenIndex[j] = i;
        }
      }
      j++;
      if (i < 0) continue;
      const v = rec[key];
      // Named stores (one per case) stay monomorphic; a computed `this[name]` store would not.
      switch (i) {
        case 0:
          this.id = v as Person['id'];
          break;
        case 1:
          this.kind = v as Person['kind'];
          break;
        case 2:
          this.current = v as Person['current'];
          break;
        case 3:
          this.nps = v as Person['nps'];
          break;
        case 4:
          this.csat = v as Person['csat'];
          break;
        case 5:
          this.npsHistory = v as Person['npsHistory'];
          break;
        case 6:
          this.purchaseCount = v as Person['purchaseCount'];
          break;
        case 7:
          this.activeDaysLast30 = v as Person['activeDaysLast30'];
          break;
        case 8:
          this.activeDaysPrev30 = v as Person['activeDaysPrev30'];
          break;
        case 9:
          this.featuresUsed = v as Person['featuresUsed'];
          break;
        case 10:
          this.customerSince = v as Person['customerSince'];
          break;
        case 11:
          this.lastPurchaseAt = v as Person['lastPurchaseAt'];
          break;
        case 12:
          this.lastRenewalAt = v as Person['lastRenewalAt'];
          break;
        case 13:
          this.lastUpgradeAt = v as Person['lastUpgradeAt'];
          break;
        case 14:
          this.onboardingCompletedAt = v as Person['onboardingCompletedAt'];
          break;
        case 15:
          this.lastSupportWinAt = v as Person['lastSupportWinAt'];
          break;
        case 16:
          this.lastActiveAt = v as Person['lastActiveAt'];
          break;
        case 17:
          this.totalSpend = v as Person['totalSpend'];
          break;
        case 18:
          this.emailOpens = v as Person['emailOpens'];
          break;
        case 19:
          this.emailClicks = v as Person['emailClicks'];
          break;
        case 20:
          this.leftReview = v as Person['leftReview'];
          break;
        case 21:
          this.sharedContent = v as Person['sharedContent'];
          break;
        case 22:
          this.gaveTestimonial = v as Person['gaveTestimonial'];
          break;
        case 23:
          this.referredBefore = v as Person['referredBefore'];
          break;
        case 24:
          this.isCustomer = v as Person['isCustomer'];
          break;
        case 25:
          this.optedOut = v as Person['optedOut'];
          break;
        case 26:
          this.doNotContact = v as Person['doNotContact'];
          break;
        case 27:
          this.asks = v as Person['asks'];
          break;
      }
    }
  }
}
const I = new Inputs();

/** Per rules object: the total weight, and each criterion's points and its text suffix " (+pts)". */
interface CriteriaTable {
  total: number;
  points: number[];
  suffixes: string[];
}
const criteriaCache = new WeakMap<Rules, CriteriaTable>();
function criteriaOf(rules: Rules): CriteriaTable {
  let t = criteriaCache.get(rules);
  if (t === undefined) {
    const total = totalWeight(rules);
    const points = rules.criteria.map((c) => Math.round((c.weight * 100) / total));
    t = { total, points, suffixes: points.map((pts) => ` (+${pts})`) };
    criteriaCache.set(rules, t);
  }
  return t;
}

export function evaluatePerson(person: Person, ctx: EvaluationContext): PersonEvaluation {
  const rules = ctx.rules;
  const now = typeof ctx.now === 'number' ? ctx.now : ctx.now.getTime();
  const tickets = ctx.tickets ?? NO_TICKETS;
  I.load(person);
  const previous: CurrentValues = ctx.previous ?? I.current ?? NO_PREVIOUS;
  const spendFloor = ctx.stats.highSpendThreshold;
  next.now = now;
  next.at = Infinity;

  // Each input is read once: people come in many shapes (sparse mapped records), so every
  // property read is a megamorphic lookup; re-reading them was a third of the evaluation time.
  const nps = I.nps;
  const purchaseCount = I.purchaseCount;
  const activeLast = I.activeDaysLast30;
  const activePrev = I.activeDaysPrev30;
  const sinceMs = ms(I.customerSince);
  const purchaseMs = ms(I.lastPurchaseAt);
  const renewalMs = ms(I.lastRenewalAt);
  const upgradeMs = ms(I.lastUpgradeAt);

  const table = criteriaOf(rules);
  const total = table.total;
  reasonCount = 0;
  excludedCount = 0;
  let points = 0;
  T[NOW] = now;
  T[PURCHASE] = purchaseMs;
  T[RENEWAL] = renewalMs;
  T[UPGRADE] = upgradeMs;
  T[SINCE] = sinceMs;
  const purchase = latestPurchase();
  const spend = I.totalSpend?.amount;
  const isHighSpender = spendFloor !== null && spend !== undefined && spend > 0 && spend >= spendFloor;

  const criteria = rules.criteria;
  for (let ci = 0; ci < criteria.length; ci++) {
    const c = criteria[ci]!;
    const pts = table.points[ci]!;
    let text: string | null = null;
    switch (c.kind) {
      case 'nps':
        if (nps !== undefined) {
          if (nps >= c.minNps) text = `NPS ${nps}`;
        } else if (I.csat !== undefined && I.csat >= c.minCsat) {
          text = `CSAT ${I.csat}`;
        }
        break;
      case 'recentPurchase':
        if (within(LATEST, c.withinDays)) text = `${EVENT_TEXT[purchase.kind]} ${isoDay(purchase.t)}`;
        break;
      case 'activeUse': {
        const days = activeLast;
        const features = I.featuresUsed;
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
        if (I.leftReview === true) text = 'left a review';
        else if (I.gaveTestimonial === true) text = 'gave a testimonial';
        else if (I.referredBefore === true) text = 'referred before';
        else if (I.sharedContent === true) text = 'shared content';
        break;
      case 'tenure': {
        if (atLeast(SINCE, c.minDays)) text = `customer since ${isoDay(sinceMs)}`;
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
        const clicks = I.emailClicks ?? -1;
        const opens = I.emailOpens ?? -1;
        if (clicks >= c.minClicks) text = `${plural(clicks, 'email click')}`;
        else if (opens >= c.minOpens) text = `${plural(opens, 'email open')}`;
        break;
      }
    }
    if (text !== null) {
      points += (c.weight * 100) / total;
      addReason(c.kind, pts, text + table.suffixes[ci]!);
    }
  }
  const score = Math.min(100, Math.round(points));

  // ---- Exclusions (veto whatever the score)
  const ex = rules.exclusions;
  if (ex.nonCustomers && (I.kind === 'lead' || I.isCustomer === false)) {
    addExclusion(
      'not_customer',
      I.kind === 'lead' ? 'lead, not a customer → excluded' : 'not a customer → excluded',
    );
  }
  if (ex.optOut && I.optedOut === true) addExclusion('opted_out', 'opted out → excluded');
  if (ex.optOut && I.doNotContact === true) addExclusion('do_not_contact', 'do not contact → excluded');
  if (tickets.length > 0) {
    let open = 0;
    let complaint = false;
    for (const t of tickets) {
      if (t.isOpen) open++;
      if (t.isComplaint === true && ex.complaintDays >= 0) {
        if (t.isOpen) complaint = true;
        else if (ex.complaintDays > 0) {
          T[TMP] = ms(t.closedAt ?? t.createdAt);
          if (within(TMP, ex.complaintDays)) complaint = true;
        }
      }
    }
    if (ex.openTicket && open > 0) addExclusion('open_ticket', `${plural(open, 'open ticket')} → excluded`);
    if (complaint) addExclusion('complaint', 'recent complaint → excluded');
  }
  if (nps !== undefined && nps <= ex.detractorMaxNps) {
    addExclusion('detractor', `NPS ${nps} → excluded (detractor)`);
  }
  if (ex.inactiveDays > 0 && I.lastActiveAt !== undefined) {
    const last = I.lastActiveAt.getTime();
    T[TMP] = last;
    if (!within(TMP, ex.inactiveDays) && last <= now) {
      addExclusion('inactive', `inactive since ${isoDay(last)} → excluded`);
    }
  }
  if (
    ex.usageDropRatio > 0 &&
    activeLast !== undefined &&
    activePrev !== undefined &&
    activePrev > 0 &&
    activeLast < ex.usageDropRatio * activePrev
  ) {
    addExclusion('usage_drop', `usage fell ${activePrev} → ${activeLast} days → excluded`);
  }

  // ---- Ask anti-fatigue: cool-down and yearly cap
  let lastAskedAt: number | null = null;
  let eligibleToAskAt: number | null = null;
  const asks = I.asks;
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
    // Within the ask's own window the person stays ready (no new ask: eligibleToAskAt is later);
    // the vetoes apply from its end, an instant the service re-evaluates at.
    const vetoFrom = lastAskedAt! + rules.asks.askWindowHours * 3_600_000;
    const inAskWindow = now < vetoFrom;
    if (inAskWindow && (coolEnd > now || inYear >= rules.asks.maxPerYear)) changeAt(vetoFrom);
    if (coolEnd > now && !inAskWindow) {
      addExclusion(
        'cool_down',
        `asked ${isoDay(lastAskedAt!)}, cool-down until ${isoDay(coolEnd)} → excluded`,
      );
      changeAt(coolEnd);
    }
    if (inYear >= rules.asks.maxPerYear && !inAskWindow) {
      addExclusion(
        'yearly_cap',
        `${plural(inYear, 'ask')} in 12 months (cap ${rules.asks.maxPerYear}) → excluded`,
      );
      changeAt(oldestInYear + YEAR_MS);
    }
    if (eligibleToAskAt <= now) eligibleToAskAt = null;
  }

  // ---- Ready, with hysteresis
  let ready = false;
  if (excludedCount === 0) {
    if (score >= rules.threshold) ready = true;
    else if (previous.referral_ready === true && score >= rules.threshold - rules.hysteresis) {
      ready = true;
      addReason('hysteresis', 0, `score ${score} stays ready (≥ ${rules.threshold - rules.hysteresis})`);
    }
  }

  // ---- Segments
  const seg = rules.segments;
  // Most people match no segment: the array is made on the first match, at its size.
  let segments: string[] | null = null;
  let primarySegment: string | null = null;
  if (seg.vip.enabled && isHighSpender && atLeast(SINCE, seg.vip.minTenureDays)) {
    let positive: boolean;
    const history = I.npsHistory;
    if (history !== undefined && history.length > 0) {
      positive = true;
      for (const h of history) if (h.score < seg.vip.minNps) positive = false;
    } else positive = nps !== undefined && nps >= seg.vip.minNps;
    if (positive) {
      segments = addTag(segments, 'vip');
      primarySegment = 'VIP';
    }
  }
  if (seg.a.enabled && nps !== undefined && nps >= seg.a.minNps && within(LATEST, seg.a.purchaseDays)) {
    segments = addTag(segments, 'segment-a');
    primarySegment ??= 'Segment A';
  }
  if (
    seg.b.enabled &&
    activeLast !== undefined &&
    activeLast >= seg.b.minActiveDays &&
    purchaseCount !== undefined &&
    purchaseCount > seg.b.moreThanPurchases
  ) {
    segments = addTag(segments, 'segment-b');
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
      segments = addTag(segments, custom.tag);
      primarySegment ??= custom.name;
    }
  }

  // ---- Trigger event: the most recent positive event inside the trigger window
  trigger.kind = null;
  trigger.at = -Infinity;
  const days = rules.triggerDays;
  T[TMP] = ms(I.onboardingCompletedAt);
  considerTrigger(days, 'onboarding', TMP);
  considerTrigger(days, 'renewal', RENEWAL);
  considerTrigger(days, 'upgrade', UPGRADE);
  T[TMP] = ms(I.lastSupportWinAt);
  considerTrigger(days, 'support_win', TMP);
  considerTrigger(days, 'purchase', PURCHASE);
  const triggerEvent = trigger.kind;
  const triggerAt = trigger.kind === null ? null : trigger.at;

  // ---- Variant and pilot
  const variant: Variant = stableBelow(rules.ab.salt, person.id, rules.ab.shareB) ? 'B' : 'A';
  const pilot = rules.pilot;
  const inPilot =
    pilot.mode === 'off' ||
    (pilot.mode === 'segment' &&
      pilot.segment !== undefined &&
      segments !== null &&
      segments.includes(pilot.segment)) ||
    (pilot.mode === 'share' && stableBelow(pilot.salt, person.id, pilot.share));

  const tags = segments ?? [];
  return {
    personId: person.id,
    score,
    ready,
    reasons: copyOut(reasonScratch, reasonCount),
    excludedBy: copyOut(excludedScratch, excludedCount),
    segments: tags,
    primarySegment,
    tags,
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
