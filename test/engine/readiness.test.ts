import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PersonInput } from '../../src/engine/model.js';
import { evaluatePerson, reasonsText } from '../../src/engine/readiness.js';
import type { EvaluationContext } from '../../src/engine/readiness.js';
import { DAY_MS, DEFAULT_RULES, parseRules } from '../../src/engine/rules.js';
import type { RulesInput } from '../../src/engine/rules.js';
import { NO_STATS, NOW, ago, person, ticket } from './helpers.js';

const ctx = (over: Partial<EvaluationContext> = {}): EvaluationContext => ({
  now: NOW,
  rules: DEFAULT_RULES,
  stats: NO_STATS,
  ...over,
});
const evalWith = (fields: Partial<PersonInput>, over: Partial<EvaluationContext> = {}) =>
  evaluatePerson(person(fields), ctx(over));
const rules = (input: RulesInput) => parseRules(input);

/** NPS 10 (+30) and a renewal 12 days ago (+25): 55 ≥ 50. */
const promoter: Partial<PersonInput> = { nps: 10, lastRenewalAt: ago(12) };

describe('readiness score and reasons', () => {
  it('scores met criteria with human-readable, time-stable reasons', () => {
    const e = evalWith({ ...promoter, customerSince: ago(400), purchaseCount: 5 });
    expect(e.score).toBe(30 + 25 + 10 + 5);
    expect(e.ready).toBe(true);
    expect(e.reasons.map((r) => r.text)).toEqual([
      'NPS 10 (+30)',
      `renewed ${ago(12).toISOString().slice(0, 10)} (+25)`,
      `customer since ${ago(400).toISOString().slice(0, 10)} (+10)`,
      '5 purchases (+5)',
    ]);
    expect(e.reasons[0]).toEqual({ criterion: 'nps', contribution: 30, text: 'NPS 10 (+30)' });
    expect(reasonsText(e)).toContain('NPS 10 (+30); renewed');
  });

  it('uses CSAT when NPS is absent', () => {
    expect(evalWith({ csat: 4.5 }).reasons[0]?.text).toBe('CSAT 4.5 (+30)');
    expect(evalWith({ csat: 4.4 }).score).toBe(0);
  });

  it('is ready exactly at the threshold, not one point below', () => {
    expect(evalWith(promoter, { rules: rules({ threshold: 55 }) }).ready).toBe(true);
    expect(evalWith(promoter, { rules: rules({ threshold: 56 }) }).ready).toBe(false);
    expect(evalWith({ nps: 9 }).score).toBe(30);
    expect(evalWith({ nps: 8 }).score).toBe(0);
  });

  it('normalises weights to 0-100', () => {
    const r = rules({
      criteria: [
        { kind: 'nps', weight: 2 },
        { kind: 'advocacy', weight: 1 },
        { kind: 'tenure', weight: 1 },
      ],
    });
    const e = evalWith({ nps: 10, leftReview: true, customerSince: ago(10) }, { rules: r });
    expect(e.score).toBe(75);
    expect(e.reasons.map((x) => x.contribution)).toEqual([50, 25]);
  });

  it('counts repeat purchases only above 3 and high spend against the account quantile', () => {
    expect(evalWith({ purchaseCount: 3 }).score).toBe(0);
    expect(evalWith({ purchaseCount: 4 }).score).toBe(5);
    const stats = { highSpendThreshold: 1000 };
    expect(evalWith({ totalSpend: { amount: 1000, currency: 'USD' } }, { stats }).score).toBe(5);
    expect(evalWith({ totalSpend: { amount: 999, currency: 'USD' } }, { stats }).score).toBe(0);
  });
});

describe('time passing', () => {
  it('"purchase in the last 30 days" is true on day 30 and false on day 31', () => {
    const at = NOW - 10 * DAY_MS;
    const p = person({ nps: 10, lastPurchaseAt: new Date(at) });
    const on = (t: number) => evaluatePerson(p, ctx({ now: t }));
    expect(on(at + 30 * DAY_MS).score).toBe(55);
    expect(on(at + 31 * DAY_MS).score).toBe(30);
    expect(on(at + 30 * DAY_MS).ready).toBe(true);
    expect(on(at + 31 * DAY_MS).ready).toBe(false);
    // The exact instant it flips is announced.
    const e = on(NOW);
    expect(e.nextChangeAt).toBe(at + 30 * DAY_MS + 1);
    expect(on(e.nextChangeAt! - 1).score).toBe(55);
    expect(on(e.nextChangeAt!).score).toBe(30);
  });

  it('announces tenure reaching the minimum', () => {
    const since = NOW - 100 * DAY_MS;
    const e = evalWith({ customerSince: new Date(since) });
    expect(e.score).toBe(0);
    expect(e.nextChangeAt).toBe(since + 183 * DAY_MS);
    expect(evalWith({ customerSince: new Date(since) }, { now: since + 183 * DAY_MS }).score).toBe(10);
  });

  it('returns null when nothing changes by time alone', () => {
    expect(evalWith({ nps: 10, purchaseCount: 7 }).nextChangeAt).toBeNull();
  });

  it('property: nothing changes between now and nextChangeAt', () => {
    const day = fc.integer({ min: -20, max: 800 }).map((d) => ago(d));
    const arbPerson = fc.record(
      {
        nps: fc.integer({ min: 0, max: 10 }),
        lastPurchaseAt: day,
        lastRenewalAt: day,
        onboardingCompletedAt: day,
        customerSince: day,
        lastActiveAt: day,
        purchaseCount: fc.integer({ min: 0, max: 9 }),
        activeDaysLast30: fc.integer({ min: 0, max: 30 }),
        leftReview: fc.boolean(),
        asks: fc.array(day, { maxLength: 3 }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(arbPerson, fc.double({ min: 0, max: 1, noNaN: true }), (fields, frac) => {
        const p = person(fields);
        const now = evaluatePerson(p, ctx());
        if (now.nextChangeAt === null) {
          const later = evaluatePerson(p, ctx({ now: NOW + 3000 * DAY_MS }));
          expect(later.score).toBe(now.score);
          return;
        }
        const t = NOW + Math.floor((now.nextChangeAt - 1 - NOW) * frac);
        const mid = evaluatePerson(p, ctx({ now: t }));
        expect({ ...mid, nextChangeAt: null }).toEqual({ ...now, nextChangeAt: null });
      }),
      { numRuns: 1000 },
    );
  });
});

describe('exclusions veto readiness', () => {
  const excludedBy = (fields: Partial<PersonInput>, over: Partial<EvaluationContext> = {}) =>
    evalWith({ ...promoter, ...fields }, over).excludedBy;

  it('open ticket', () => {
    const e = evalWith(promoter, { tickets: [ticket(), ticket({ id: 't2' })] });
    expect(e.ready).toBe(false);
    expect(e.excludedBy).toEqual(['open_ticket']);
    expect(e.reasons.at(-1)?.text).toBe('2 open tickets → excluded');
    expect(evalWith(promoter, { tickets: [ticket({ isOpen: false, closedAt: ago(1) })] }).ready).toBe(true);
  });

  it('complaint closed within 30 days, not after', () => {
    const complaint = (days: number) => [ticket({ isOpen: false, isComplaint: true, closedAt: ago(days) })];
    expect(evalWith(promoter, { tickets: complaint(30) }).excludedBy).toEqual(['complaint']);
    expect(evalWith(promoter, { tickets: complaint(31) }).excludedBy).toEqual([]);
  });

  it('detractor NPS ≤ 6', () => {
    expect(excludedBy({ nps: 6 })).toEqual(['detractor']);
    expect(excludedBy({ nps: 7 })).toEqual([]);
  });

  it('inactivity over 60 days and falling usage', () => {
    expect(excludedBy({ lastActiveAt: ago(60) })).toEqual([]);
    expect(excludedBy({ lastActiveAt: ago(61) })).toEqual(['inactive']);
    expect(excludedBy({ activeDaysPrev30: 20, activeDaysLast30: 9 })).toEqual(['usage_drop']);
    expect(excludedBy({ activeDaysPrev30: 20, activeDaysLast30: 10 })).toEqual([]);
  });

  it('opt-out, do-not-contact, leads and non-customers', () => {
    expect(excludedBy({ optedOut: true })).toEqual(['opted_out']);
    expect(excludedBy({ doNotContact: true })).toEqual(['do_not_contact']);
    expect(excludedBy({ kind: 'lead', isCustomer: undefined })).toEqual(['not_customer']);
    expect(excludedBy({ isCustomer: false })).toEqual(['not_customer']);
    expect(excludedBy({ isCustomer: undefined })).toEqual([]);
  });

  it('exclusions are not overridden by hysteresis', () => {
    const e = evalWith({ ...promoter, optedOut: true, current: { referral_ready: true } });
    expect(e.ready).toBe(false);
  });
});

describe('hysteresis', () => {
  // 45 points: NPS (+30), advocacy (+10), repeat purchases (+5). Threshold 50, band 5.
  const wobbly: Partial<PersonInput> = { nps: 9, leftReview: true, purchaseCount: 4 };
  it('keeps a ready person ready inside the band', () => {
    const e = evalWith({ ...wobbly, current: { referral_ready: true } });
    expect(e.score).toBe(45);
    expect(e.ready).toBe(true);
    expect(e.reasons.at(-1)?.criterion).toBe('hysteresis');
  });
  it('does not make a not-ready person ready inside the band', () => {
    expect(evalWith({ ...wobbly, current: { referral_ready: false } }).ready).toBe(false);
    expect(evalWith(wobbly).ready).toBe(false);
  });
  it('drops below the band', () => {
    expect(evalWith({ nps: 9, leftReview: true, current: { referral_ready: true } }).ready).toBe(false);
  });
  it('reads the previous flag from ctx.previous when given', () => {
    expect(evalWith(wobbly, { previous: { referral_ready: true } }).ready).toBe(true);
  });
});

describe('ask cool-down and yearly cap', () => {
  it('excludes inside the 90-day cool-down and says until when', () => {
    const e = evalWith({ ...promoter, asks: [ago(89)] });
    expect(e.excludedBy).toEqual(['cool_down']);
    expect(e.eligibleToAskAt).toBe(ago(89).getTime() + 90 * DAY_MS);
    expect(e.nextChangeAt).toBeLessThanOrEqual(e.eligibleToAskAt!);
    expect(e.lastAskedAt).toBe(ago(89).getTime());
    const after = evalWith({ ...promoter, asks: [ago(91)] });
    expect(after.excludedBy).toEqual([]);
    expect(after.eligibleToAskAt).toBeNull();
    expect(after.ready).toBe(true);
  });

  it('stays ready during the ask window (automations fire on the flag), vetoes from its end', () => {
    const justAsked = new Date(NOW - 3_600_000);
    const e = evalWith({ ...promoter, asks: [justAsked] });
    expect(e.ready).toBe(true);
    expect(e.excludedBy).toEqual([]);
    // No second ask: eligible only after the cool-down; the flag changes when the window ends.
    expect(e.eligibleToAskAt).toBe(justAsked.getTime() + 90 * DAY_MS);
    expect(e.nextChangeAt).toBe(justAsked.getTime() + 24 * 3_600_000);
    const later = evalWith({ ...promoter, asks: [justAsked] }, { now: justAsked.getTime() + 24 * 3_600_000 });
    expect(later.ready).toBe(false);
    expect(later.excludedBy).toEqual(['cool_down']);
  });

  it('caps asks per rolling year', () => {
    const r = rules({ asks: { maxPerYear: 2, coolDownDays: 30 } });
    const e = evalWith({ ...promoter, asks: [ago(200), ago(100)] }, { rules: r });
    expect(e.excludedBy).toEqual(['yearly_cap']);
    expect(e.eligibleToAskAt).toBe(ago(200).getTime() + 365 * DAY_MS);
    const one = evalWith({ ...promoter, asks: [ago(400), ago(100)] }, { rules: r });
    expect(one.excludedBy).toEqual([]);
  });
});

describe('segments, trigger, variant, pilot', () => {
  it('Segment A: NPS ≥ 9 and a purchase ≤ 30 days', () => {
    expect(evalWith({ nps: 9, lastPurchaseAt: ago(30) }).segments).toEqual(['segment-a']);
    expect(evalWith({ nps: 9, lastPurchaseAt: ago(31) }).segments).toEqual([]);
    expect(evalWith({ nps: 8, lastPurchaseAt: ago(3) }).primarySegment).toBeNull();
  });

  it('Segment B: high usage and > 3 purchases', () => {
    const e = evalWith({ activeDaysLast30: 15, purchaseCount: 4 });
    expect(e.segments).toEqual(['segment-b']);
    expect(e.primarySegment).toBe('Segment B');
    expect(evalWith({ activeDaysLast30: 14, purchaseCount: 4 }).segments).toEqual([]);
  });

  it('VIP: long tenure, high spend, consistently positive feedback', () => {
    const stats = { highSpendThreshold: 5000 };
    const vip: Partial<PersonInput> = {
      customerSince: ago(800),
      totalSpend: { amount: 9000, currency: 'USD' },
      nps: 10,
      npsHistory: [
        { at: ago(300), score: 9 },
        { at: ago(30), score: 10 },
      ],
    };
    expect(evalWith(vip, { stats }).primarySegment).toBe('VIP');
    expect(evalWith({ ...vip, npsHistory: [{ at: ago(300), score: 7 }] }, { stats }).segments).toEqual([]);
    expect(evalWith({ ...vip, customerSince: ago(700) }, { stats }).segments).toEqual([]);
  });

  it('admin segments as rules', () => {
    const r = rules({
      segments: {
        custom: [
          {
            name: 'Fresh promoters',
            tag: 'fresh-promoters',
            all: [
              { field: 'nps', op: 'gte', value: 9 },
              { field: 'onboardingCompletedAt', op: 'withinDays', value: 14 },
            ],
          },
        ],
      },
    });
    const e = evalWith({ nps: 9, onboardingCompletedAt: ago(14) }, { rules: r });
    expect(e.segments).toEqual(['fresh-promoters']);
    expect(e.tags).toEqual(['fresh-promoters']);
    expect(e.primarySegment).toBe('Fresh promoters');
    expect(evalWith({ nps: 9, onboardingCompletedAt: ago(15) }, { rules: r }).segments).toEqual([]);
  });

  it('trigger event: the most recent positive event in the last 30 days', () => {
    const e = evalWith({ ...promoter, lastUpgradeAt: ago(3), onboardingCompletedAt: ago(20) });
    expect(e.triggerEvent).toBe('upgrade');
    expect(e.triggerAt).toBe(ago(3).getTime());
    expect(evalWith({ lastSupportWinAt: ago(31) }).triggerEvent).toBeNull();
  });

  it('variant is stable per person and splits by shareB', () => {
    const variants = Array.from({ length: 2000 }, (_, i) => evalWith({ id: `p${i}` }).variant);
    const b = variants.filter((v) => v === 'B').length;
    expect(b).toBeGreaterThan(850);
    expect(b).toBeLessThan(1150);
    expect(Array.from({ length: 2000 }, (_, i) => evalWith({ id: `p${i}`, nps: 3 }).variant)).toEqual(
      variants,
    );
    expect(evalWith({ id: 'p7' }, { rules: rules({ ab: { shareB: 0 } }) }).variant).toBe('A');
  });

  it('pilot by share or by segment', () => {
    const share = rules({ pilot: { mode: 'share', share: 0.25 } });
    const inPilot = Array.from(
      { length: 2000 },
      (_, i) => evalWith({ id: `p${i}` }, { rules: share }).inPilot,
    );
    const n = inPilot.filter(Boolean).length;
    expect(n).toBeGreaterThan(400);
    expect(n).toBeLessThan(600);
    const seg = rules({ pilot: { mode: 'segment', segment: 'segment-a' } });
    expect(evalWith({ nps: 9, lastPurchaseAt: ago(2) }, { rules: seg }).inPilot).toBe(true);
    expect(evalWith({ nps: 9 }, { rules: seg }).inPilot).toBe(false);
    expect(evalWith({}).inPilot).toBe(true);
  });
});

describe('determinism', () => {
  it('property: same input and now → same evaluation', () => {
    const arb = fc.record(
      {
        id: fc.string({ minLength: 1, maxLength: 8 }),
        nps: fc.integer({ min: 0, max: 10 }),
        csat: fc.integer({ min: 1, max: 5 }),
        lastPurchaseAt: fc.integer({ min: 0, max: 900 }).map((d) => ago(d)),
        purchaseCount: fc.nat(20),
        activeDaysLast30: fc.nat(30),
        activeDaysPrev30: fc.nat(30),
        featuresUsed: fc.nat(12),
        optedOut: fc.boolean(),
        asks: fc.array(
          fc.integer({ min: 0, max: 500 }).map((d) => ago(d)),
          { maxLength: 4 },
        ),
      },
      { requiredKeys: ['id'] },
    );
    fc.assert(
      fc.property(arb, (fields) => {
        const a = evaluatePerson(person(fields), ctx({ rules: parseRules({}) }));
        const b = evaluatePerson(person(structuredClone(fields)), ctx({ now: new Date(NOW) }));
        expect(b).toEqual(a);
      }),
      { numRuns: 300 },
    );
  });
});
