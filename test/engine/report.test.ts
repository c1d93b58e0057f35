import { describe, expect, it } from 'vitest';
import type { AttributionDecision } from '../../src/engine/attribution.js';
import { rollupReferrer } from '../../src/engine/credit.js';
import { evaluatePerson } from '../../src/engine/readiness.js';
import { ReportAccumulator } from '../../src/engine/report.js';
import { DAY_MS, DEFAULT_RULES } from '../../src/engine/rules.js';
import { SpendHistogram, accountStats, statsFromHistogram } from '../../src/engine/stats.js';
import { NO_STATS, NOW, ago, person } from './helpers.js';

const evalOf = (p: ReturnType<typeof person>) =>
  evaluatePerson(p, { now: NOW, rules: DEFAULT_RULES, stats: NO_STATS });
const decision = (
  status: AttributionDecision['status'],
  reason: AttributionDecision['reason'],
): AttributionDecision => ({
  referredId: 'x',
  status,
  reason,
  text: 't',
  capturedAt: NOW,
  notes: [],
  ...(status === 'credited' ? { method: 'code' as const } : {}),
});

describe('report accumulator', () => {
  it('computes rates, time to conversion, ROI and per-group figures', () => {
    const acc = new ReportAccumulator();
    const ready = person({ id: 'r1', nps: 10, lastPurchaseAt: ago(2), asks: [ago(200)], email: 'a@b.test' });
    const other = person({ id: 'r2', nps: 3 });
    const eReady = evalOf(ready);
    acc.addPerson(ready, eReady, true);
    acc.addPerson(other, evalOf(other), false);
    acc.addDecision(decision('credited', 'matched_code'));
    acc.addDecision(decision('rejected', 'self_referral'));
    acc.addDecision(decision('review', 'fuzzy_name'));
    const entries = [
      { referredId: 'n1', capturedAt: NOW - 30 * DAY_MS, convertedAt: NOW - 20 * DAY_MS, revenue: 1000 },
      { referredId: 'n2', capturedAt: NOW - 30 * DAY_MS, convertedAt: NOW - 10 * DAY_MS, revenue: 500 },
      { referredId: 'n3', capturedAt: NOW - 30 * DAY_MS, convertedAt: null, revenue: 0 },
    ];
    acc.addReferrer(
      { id: 'r1', name: 'Ann', type: 'customer' },
      rollupReferrer(entries, DEFAULT_RULES),
      entries,
      eReady,
    );
    acc.addPartner({ id: 'co1', name: 'Partner' }, { sent: 2, received: 1, revenue: 700 });
    const rep = acc.finish();
    expect(rep).toMatchObject({
      people: 2,
      ready: 1,
      readyRate: 0.5,
      asks: 2,
      asked: 1,
      asksScheduled: 1,
      referrers: 1,
      referrals: 3,
      referralRate: 1,
      converted: 2,
      conversionRate: 0.6667,
      referredRevenue: 1500,
      rewardCost: 100,
      roi: 14,
      reviews: 1,
      rejected: 1,
      rejectedByReason: { self_referral: 1 },
      creditedByMethod: { code: 1 },
    });
    expect(rep.timeToConversionDays).toEqual({ median: 10, mean: 15, p90: 20 });
    expect(rep.perSegment['segment-a']).toMatchObject({
      people: 1,
      ready: 1,
      asked: 1,
      referrals: 3,
      converted: 2,
    });
    expect(rep.perVariant[eReady.variant]).toMatchObject({ referrals: 3, revenue: 1500 });
    expect(rep.topReferrers[0]).toMatchObject({ id: 'r1', referrals: 3, revenue: 1500, tier: 'Bronze' });
    expect(rep.topPartners).toEqual([
      { companyId: 'co1', name: 'Partner', sent: 2, received: 1, revenue: 700 },
    ]);
    expect(rep.dataQuality.find((q) => q.input === 'email')).toEqual({
      input: 'email',
      missing: 1,
      share: 0.5,
    });
    expect(rep.dataQuality.find((q) => q.input === 'nps')?.missing).toBe(0);
  });

  it('state survives JSON between pages (streaming)', () => {
    const people = Array.from({ length: 6 }, (_, i) =>
      person({ id: `p${i}`, nps: i + 4, email: i % 2 ? 'x@y.test' : undefined }),
    );
    const whole = new ReportAccumulator();
    for (const p of people) whole.addPerson(p, evalOf(p), false);
    let paged = new ReportAccumulator();
    for (const p of people) {
      paged.addPerson(p, evalOf(p), false);
      paged = ReportAccumulator.fromJSON(JSON.parse(JSON.stringify(paged.toJSON())));
    }
    expect(paged.finish()).toEqual(whole.finish());
  });

  it('referred revenue over time: per UTC month of conversion, sorted, across pages and old states', () => {
    const at = (iso: string) => Date.parse(iso);
    const captured = at('2025-12-01T00:00:00Z');
    const ann = [
      { referredId: 'a1', capturedAt: captured, convertedAt: at('2026-02-28T23:59:59Z'), revenue: 100.1 },
      { referredId: 'a2', capturedAt: captured, convertedAt: at('2026-01-15T12:00:00Z'), revenue: 50 },
      { referredId: 'a3', capturedAt: captured, convertedAt: null, revenue: 0 },
    ];
    const bob = [
      // Midnight UTC on March 1st belongs to March, whatever the server's time zone.
      { referredId: 'b1', capturedAt: captured, convertedAt: at('2026-03-01T00:00:00Z'), revenue: 20 },
      { referredId: 'b2', capturedAt: captured, convertedAt: at('2026-02-01T00:00:00Z'), revenue: 0.2 },
    ];
    const add = (acc: ReportAccumulator, id: string, entries: typeof ann) =>
      acc.addReferrer(
        { id, name: id, type: 'customer' },
        rollupReferrer(entries, DEFAULT_RULES),
        entries,
        null,
      );
    const whole = new ReportAccumulator();
    add(whole, 'ann', ann);
    add(whole, 'bob', bob);
    const rep = whole.finish();
    expect(rep.revenueByMonth).toEqual([
      { month: '2026-01', revenue: 50, conversions: 1 },
      { month: '2026-02', revenue: 100.3, conversions: 2 },
      { month: '2026-03', revenue: 20, conversions: 1 },
    ]);
    // The months add up to the headline figures.
    expect(rep.revenueByMonth.reduce((n, m) => n + m.conversions, 0)).toBe(rep.converted);
    expect(rep.revenueByMonth.reduce((n, m) => n + m.revenue, 0)).toBeCloseTo(rep.referredRevenue, 2);

    // Fed page by page through JSON (the pipeline's way), the series is the same.
    let paged = new ReportAccumulator();
    add(paged, 'ann', ann);
    paged = ReportAccumulator.fromJSON(JSON.parse(JSON.stringify(paged.toJSON())));
    add(paged, 'bob', bob);
    expect(paged.finish().revenueByMonth).toEqual(rep.revenueByMonth);

    // A state saved before the series existed loads, starts it empty and keeps counting.
    const { revenueByMonth: _dropped, ...old } = new ReportAccumulator().toJSON();
    const resumed = ReportAccumulator.fromJSON(old);
    expect(resumed.finish().revenueByMonth).toEqual([]);
    add(resumed, 'bob', bob);
    expect(resumed.finish().revenueByMonth.map((m) => m.month)).toEqual(['2026-02', '2026-03']);
  });
});

describe('account stats', () => {
  it('the high-spend threshold is the quantile floor, stable under merge and JSON', () => {
    const amounts = Array.from({ length: 1000 }, (_, i) => (i + 1) * 10);
    const h = new SpendHistogram();
    for (const a of amounts) h.add(a);
    const t = statsFromHistogram(h, DEFAULT_RULES).highSpendThreshold!;
    const above = amounts.filter((a) => a >= t).length;
    expect(above).toBeGreaterThanOrEqual(200);
    expect(above).toBeLessThanOrEqual(203);
    const a = new SpendHistogram();
    const b = new SpendHistogram();
    amounts.forEach((x, i) => (i % 2 ? a : b).add(x));
    expect(
      statsFromHistogram(a.merge(SpendHistogram.fromJSON(b.toJSON())), DEFAULT_RULES).highSpendThreshold,
    ).toBe(t);
    const people = amounts.map((x, i) => person({ id: `p${i}`, totalSpend: { amount: x, currency: 'USD' } }));
    expect(accountStats(people, DEFAULT_RULES).highSpendThreshold).toBe(t);
    expect(accountStats([], DEFAULT_RULES).highSpendThreshold).toBeNull();
    h.remove(10_000);
    expect(h.size).toBe(999);
  });
});
