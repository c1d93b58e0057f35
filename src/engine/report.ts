/**
 * F-REPORT figures computed from the same data the engine writes: referral rate, asks, referrals,
 * conversion rate, time to conversion, referred revenue, reward cost, ROI, per segment, per A/B
 * variant, top referrers and partners, and the data-quality table (share of people missing each
 * canonical person input).
 *
 * A streaming accumulator: its whole state is a plain JSON object (`toJSON`/`fromJSON`), so the
 * pipeline can feed it page by page across processes and keep it in Redis; `buildReport` is the
 * one-shot helper for in-memory data. Memory is bounded: counters, a per-day histogram of
 * conversion times and the top-N referrer lists.
 */
import type { AttributionDecision, ReferrerRef } from './attribution.js';
import type { PartnerRollup, ReferralRecord, ReferrerRollup } from './credit.js';
import { CANONICAL_INPUTS } from './model.js';
import type { Company, Person } from './model.js';
import type { PersonEvaluation } from './readiness.js';
import { DAY_MS } from './rules.js';
import { cents } from './util.js';

const TOP_N = 20;

export interface GroupFigures {
  people: number;
  ready: number;
  asked: number;
  /** Credited referrals made by people of the group. */
  referrals: number;
  converted: number;
  revenue: number;
}

export interface TopReferrer {
  id: string;
  name: string | null;
  type: string;
  referrals: number;
  converted: number;
  revenue: number;
  tier: string | null;
}

export interface TopPartner {
  companyId: string;
  name: string | null;
  sent: number;
  received: number;
  revenue: number;
}

/** Referred revenue of one calendar month (UTC) of conversion. */
export interface MonthFigures {
  /** `YYYY-MM`. */
  month: string;
  revenue: number;
  conversions: number;
}

export interface ReportState {
  people: number;
  customers: number;
  ready: number;
  /** People with at least one ask on record (or asked in this run). */
  asked: number;
  /** Asks on record plus asks scheduled in this run. */
  asks: number;
  asksScheduled: number;
  referrers: number;
  referrals: number;
  converted: number;
  referredRevenue: number;
  rewardCost: number;
  reviews: number;
  rejected: number;
  rejectedByReason: Record<string, number>;
  creditedByMethod: Record<string, number>;
  /** Days from capture to first won deal → count. */
  conversionDays: Record<string, number>;
  /**
   * `YYYY-MM` (UTC month of the conversion) → credited revenue and conversions. Optional: states
   * saved before it existed load without it. One key per month keeps the state small.
   */
  revenueByMonth?: Record<string, { revenue: number; conversions: number }>;
  segments: Record<string, GroupFigures>;
  variants: Record<string, GroupFigures>;
  topReferrers: TopReferrer[];
  partners: TopPartner[];
  missing: Record<string, number>;
}

export interface Report {
  people: number;
  customers: number;
  ready: number;
  readyRate: number | null;
  asks: number;
  asksScheduled: number;
  asked: number;
  referrers: number;
  referrals: number;
  /** Referrers ÷ people asked (share of asked people who referred someone). */
  referralRate: number | null;
  converted: number;
  /** Converted ÷ credited referrals. */
  conversionRate: number | null;
  timeToConversionDays: { median: number; mean: number; p90: number } | null;
  referredRevenue: number;
  /** Referred revenue over time: per month of conversion, oldest first (months without one left out). */
  revenueByMonth: MonthFigures[];
  rewardCost: number;
  /** (referred revenue − reward cost) ÷ reward cost; null without reward cost. */
  roi: number | null;
  reviews: number;
  rejected: number;
  rejectedByReason: Record<string, number>;
  creditedByMethod: Record<string, number>;
  perSegment: Record<string, GroupFigures & { conversionRate: number | null }>;
  perVariant: Record<string, GroupFigures & { conversionRate: number | null }>;
  topReferrers: TopReferrer[];
  topPartners: TopPartner[];
  dataQuality: { input: string; missing: number; share: number }[];
}

const PERSON_INPUTS = Object.keys(CANONICAL_INPUTS.person);

const TOP_INDEX = new Map<string, number>();
const CAPTURE_INDEX = new Map<string, number>();
PERSON_INPUTS.forEach((path, i) => {
  if (path.startsWith('capture.')) CAPTURE_INDEX.set(path.slice('capture.'.length), i);
  else TOP_INDEX.set(path, i);
});

const SEEN_SLOTS = 96;
/** The last person's key sequence and each key's TOP_INDEX (−1: not an input). */
const seenKeys: string[] = new Array<string>(SEEN_SLOTS).fill('');
const seenIndex: number[] = new Array<number>(SEEN_SLOTS).fill(-1);

/**
 * Counts the inputs a person HAS into `present` (aligned with PERSON_INPUTS). Iterates the keys the
 * record actually carries (`for…in` uses V8's enum cache) instead of probing all 38 names: mapped
 * records are sparse and come in many shapes, where each probe is a slow megamorphic lookup.
 */
function countPresent(p: Person, present: Float64Array): void {
  if ('asks' in p) {
    countPresentFull(p, present);
    return;
  }
  const rec = p as unknown as Record<string, unknown>;
  let j = 0;
  for (const k in rec) {
    // Same-shaped records list their keys in the same order: the key seen at this position last
    // time is usually this one (a pointer compare instead of a Map lookup per key).
    let i: number;
    if (j < SEEN_SLOTS && seenKeys[j] === k) i = seenIndex[j]!;
    else {
      i = TOP_INDEX.get(k) ?? -1;
      if (j < SEEN_SLOTS) {
        seenKeys[j] = k;
        seenIndex[j] = i;
      }
    }
    j++;
    if (i < 0) continue;
    const v = rec[k];
    if (v !== undefined && v !== null && v !== '') present[i]!++;
  }
  const c = p.capture as Record<string, unknown> | undefined;
  if (c !== undefined) {
    for (const k in c) {
      const i = CAPTURE_INDEX.get(k);
      if (i === undefined) continue;
      const v = c[k];
      if (v !== undefined && v !== null && v !== '') present[i]!++;
    }
  }
}

/** A value that counts as present in the data-quality table. */
function has(v: unknown): boolean {
  return v !== undefined && v !== null && v !== '';
}

/**
 * `countPresent` for a record built with every input key present (one hidden class, e.g. the
 * generator's): plain monomorphic reads, no key walk. Indexes follow PERSON_INPUTS (checked at load).
 */
function countPresentFull(p: Person, present: Float64Array): void {
  if (has(p.email)) present[0]!++;
  if (has(p.firstName)) present[1]!++;
  if (has(p.lastName)) present[2]!++;
  if (has(p.companyId)) present[3]!++;
  if (has(p.ownerId)) present[4]!++;
  if (has(p.createdAt)) present[5]!++;
  if (has(p.lifecycleStage)) present[6]!++;
  if (has(p.isCustomer)) present[7]!++;
  if (has(p.isEmployee)) present[8]!++;
  if (has(p.nps)) present[9]!++;
  if (has(p.csat)) present[10]!++;
  if (has(p.lastPurchaseAt)) present[11]!++;
  if (has(p.lastRenewalAt)) present[12]!++;
  if (has(p.lastUpgradeAt)) present[13]!++;
  if (has(p.onboardingCompletedAt)) present[14]!++;
  if (has(p.lastSupportWinAt)) present[15]!++;
  if (has(p.purchaseCount)) present[16]!++;
  if (has(p.totalSpend)) present[17]!++;
  if (has(p.activeDaysLast30)) present[18]!++;
  if (has(p.activeDaysPrev30)) present[19]!++;
  if (has(p.featuresUsed)) present[20]!++;
  if (has(p.lastActiveAt)) present[21]!++;
  if (has(p.emailOpens)) present[22]!++;
  if (has(p.emailClicks)) present[23]!++;
  if (has(p.leftReview)) present[24]!++;
  if (has(p.sharedContent)) present[25]!++;
  if (has(p.gaveTestimonial)) present[26]!++;
  if (has(p.referredBefore)) present[27]!++;
  if (has(p.customerSince)) present[28]!++;
  if (has(p.optedOut)) present[29]!++;
  if (has(p.doNotContact)) present[30]!++;
  if (has(p.convertedToId)) present[36]!++;
  if (has(p.convertedFromId)) present[37]!++;
  const c = p.capture;
  if (c !== undefined) {
    if (has(c.codeUsed)) present[31]!++;
    if (has(c.clickId)) present[32]!++;
    if (has(c.referrerEmail)) present[33]!++;
    if (has(c.howHeard)) present[34]!++;
    if (has(c.capturedAt)) present[35]!++;
  }
}
const FULL_LAYOUT = [
  'email',
  'firstName',
  'lastName',
  'companyId',
  'ownerId',
  'createdAt',
  'lifecycleStage',
  'isCustomer',
  'isEmployee',
  'nps',
  'csat',
  'lastPurchaseAt',
  'lastRenewalAt',
  'lastUpgradeAt',
  'onboardingCompletedAt',
  'lastSupportWinAt',
  'purchaseCount',
  'totalSpend',
  'activeDaysLast30',
  'activeDaysPrev30',
  'featuresUsed',
  'lastActiveAt',
  'emailOpens',
  'emailClicks',
  'leftReview',
  'sharedContent',
  'gaveTestimonial',
  'referredBefore',
  'customerSince',
  'optedOut',
  'doNotContact',
  'capture.codeUsed',
  'capture.clickId',
  'capture.referrerEmail',
  'capture.howHeard',
  'capture.capturedAt',
  'convertedToId',
  'convertedFromId',
];
if (FULL_LAYOUT.join() !== PERSON_INPUTS.join()) throw new Error('report: countPresentFull is out of date');

function emptyGroup(): GroupFigures {
  return { people: 0, ready: 0, asked: 0, referrals: 0, converted: 0, revenue: 0 };
}

function ratio(a: number, b: number): number | null {
  return b === 0 ? null : Math.round((a / b) * 10000) / 10000;
}

function insertTop<T>(list: T[], item: T, better: (a: T, b: T) => number): void {
  let i = list.length;
  while (i > 0 && better(item, list[i - 1]!) < 0) i--;
  if (i >= TOP_N) return;
  list.splice(i, 0, item);
  if (list.length > TOP_N) list.pop();
}

const byRevenue = (a: TopReferrer, b: TopReferrer): number =>
  b.revenue - a.revenue || b.referrals - a.referrals || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const byPartner = (a: TopPartner, b: TopPartner): number =>
  b.revenue - a.revenue ||
  b.sent - a.sent ||
  (a.companyId < b.companyId ? -1 : a.companyId > b.companyId ? 1 : 0);

export class ReportAccumulator {
  readonly state: ReportState;
  /** Hot-path count of people HAVING each input; `state.missing` = people − present (synced lazily). */
  private readonly presentCounts = new Float64Array(PERSON_INPUTS.length);

  constructor(state?: ReportState) {
    this.state = state ?? {
      people: 0,
      customers: 0,
      ready: 0,
      asked: 0,
      asks: 0,
      asksScheduled: 0,
      referrers: 0,
      referrals: 0,
      converted: 0,
      referredRevenue: 0,
      rewardCost: 0,
      reviews: 0,
      rejected: 0,
      rejectedByReason: {},
      creditedByMethod: {},
      conversionDays: {},
      revenueByMonth: {},
      segments: {},
      variants: {},
      topReferrers: [],
      partners: [],
      missing: Object.fromEntries(PERSON_INPUTS.map((p) => [p, 0])),
    };
    PERSON_INPUTS.forEach((p, i) => {
      this.presentCounts[i] = this.state.people - (this.state.missing[p] ?? 0);
    });
  }

  private syncMissing(): void {
    PERSON_INPUTS.forEach((p, i) => {
      this.state.missing[p] = this.state.people - this.presentCounts[i]!;
    });
  }

  static fromJSON(state: ReportState): ReportAccumulator {
    return new ReportAccumulator(structuredClone(state));
  }

  toJSON(): ReportState {
    this.syncMissing();
    return this.state;
  }

  private group(table: Record<string, GroupFigures>, key: string): GroupFigures {
    let g = table[key];
    if (g === undefined) table[key] = g = emptyGroup();
    return g;
  }

  /** Every person once, with its evaluation; `askedNow` when this run scheduled an ask. */
  addPerson(person: Person, e: PersonEvaluation, askedNow: boolean): void {
    const s = this.state;
    s.people++;
    if (person.isCustomer === true) s.customers++;
    if (e.ready) s.ready++;
    const previousAsks = person.asks?.length ?? 0;
    const asked = previousAsks > 0 || askedNow;
    s.asks += previousAsks + (askedNow ? 1 : 0);
    if (askedNow) s.asksScheduled++;
    if (asked) s.asked++;
    for (const tag of e.segments) {
      const g = this.group(s.segments, tag);
      g.people++;
      if (e.ready) g.ready++;
      if (asked) g.asked++;
    }
    if (e.ready || asked) {
      const g = this.group(s.variants, e.variant);
      g.people++;
      if (e.ready) g.ready++;
      if (asked) g.asked++;
    }
    countPresent(person, this.presentCounts);
  }

  addDecision(d: AttributionDecision): void {
    const s = this.state;
    if (d.status === 'review') s.reviews++;
    else if (d.status === 'rejected') {
      s.rejected++;
      s.rejectedByReason[d.reason] = (s.rejectedByReason[d.reason] ?? 0) + 1;
    } else if (d.status === 'credited' && d.method !== undefined) {
      s.creditedByMethod[d.method] = (s.creditedByMethod[d.method] ?? 0) + 1;
    }
  }

  /**
   * A referrer's roll-up with its ledger entries. `e` (their evaluation) places their referrals in
   * segments and variants when the referrer is a person of this account.
   */
  addReferrer(
    ref: Pick<ReferrerRef, 'id' | 'name' | 'type'>,
    rollup: ReferrerRollup,
    entries: readonly ReferralRecord[],
    e: Pick<PersonEvaluation, 'segments' | 'variant'> | null,
  ): void {
    const s = this.state;
    s.referrers++;
    s.referrals += rollup.referralCount;
    s.converted += rollup.convertedCount;
    s.referredRevenue = cents(s.referredRevenue + rollup.revenue);
    s.rewardCost = cents(s.rewardCost + rollup.rewardTotal);
    for (const entry of entries) {
      if (entry.convertedAt === null) continue;
      const days = String(Math.max(0, Math.round((entry.convertedAt - entry.capturedAt) / DAY_MS)));
      s.conversionDays[days] = (s.conversionDays[days] ?? 0) + 1;
      // ISO date's first 7 characters: the UTC month.
      const month = new Date(entry.convertedAt).toISOString().slice(0, 7);
      const byMonth = (s.revenueByMonth ??= {});
      const m = (byMonth[month] ??= { revenue: 0, conversions: 0 });
      m.revenue = cents(m.revenue + entry.revenue);
      m.conversions++;
    }
    if (e !== null) {
      const groups = [...e.segments.map((t) => this.group(s.segments, t)), this.group(s.variants, e.variant)];
      for (const g of groups) {
        g.referrals += rollup.referralCount;
        g.converted += rollup.convertedCount;
        g.revenue = cents(g.revenue + rollup.revenue);
      }
    }
    insertTop(
      s.topReferrers,
      {
        id: ref.id,
        name: ref.name ?? null,
        type: ref.type,
        referrals: rollup.referralCount,
        converted: rollup.convertedCount,
        revenue: rollup.revenue,
        tier: rollup.tier,
      },
      byRevenue,
    );
  }

  addPartner(company: Pick<Company, 'id' | 'name'>, p: PartnerRollup): void {
    if (p.sent === 0 && p.received === 0) return;
    insertTop(
      this.state.partners,
      {
        companyId: company.id,
        name: company.name ?? null,
        sent: p.sent,
        received: p.received,
        revenue: cents(p.revenue),
      },
      byPartner,
    );
  }

  finish(): Report {
    this.syncMissing();
    const s = this.state;
    const withRate = (
      t: Record<string, GroupFigures>,
    ): Record<string, GroupFigures & { conversionRate: number | null }> =>
      Object.fromEntries(
        Object.entries(t)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([k, g]) => [k, { ...g, conversionRate: ratio(g.converted, g.referrals) }]),
      );
    return {
      people: s.people,
      customers: s.customers,
      ready: s.ready,
      readyRate: ratio(s.ready, s.people),
      asks: s.asks,
      asksScheduled: s.asksScheduled,
      asked: s.asked,
      referrers: s.referrers,
      referrals: s.referrals,
      referralRate: ratio(s.referrers, s.asked),
      converted: s.converted,
      conversionRate: ratio(s.converted, s.referrals),
      timeToConversionDays: conversionStats(s.conversionDays),
      referredRevenue: s.referredRevenue,
      revenueByMonth: Object.entries(s.revenueByMonth ?? {})
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([month, m]) => ({ month, revenue: m.revenue, conversions: m.conversions })),
      rewardCost: s.rewardCost,
      roi:
        s.rewardCost === 0
          ? null
          : Math.round(((s.referredRevenue - s.rewardCost) / s.rewardCost) * 100) / 100,
      reviews: s.reviews,
      rejected: s.rejected,
      rejectedByReason: { ...s.rejectedByReason },
      creditedByMethod: { ...s.creditedByMethod },
      perSegment: withRate(s.segments),
      perVariant: withRate(s.variants),
      topReferrers: s.topReferrers.slice(0, 10),
      topPartners: s.partners.slice(0, 10),
      dataQuality: PERSON_INPUTS.map((input) => ({
        input,
        missing: s.missing[input] ?? 0,
        share: ratio(s.missing[input] ?? 0, s.people) ?? 0,
      })),
    };
  }
}

function conversionStats(hist: Record<string, number>): Report['timeToConversionDays'] {
  const days = Object.entries(hist)
    .map(([d, n]) => [Number(d), n] as const)
    .sort((a, b) => a[0] - b[0]);
  let n = 0;
  let sum = 0;
  for (const [d, c] of days) {
    n += c;
    sum += d * c;
  }
  if (n === 0) return null;
  const at = (q: number): number => {
    const rank = Math.ceil(q * n);
    let seen = 0;
    for (const [d, c] of days) {
      seen += c;
      if (seen >= rank) return d;
    }
    return days[days.length - 1]![0];
  };
  return { median: at(0.5), mean: Math.round((sum / n) * 10) / 10, p90: at(0.9) };
}
