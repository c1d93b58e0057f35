import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OwnedValue } from '../../src/engine/model.js';
import {
  applyChanges,
  askTaskKey,
  desiredPerson,
  diffOwned,
  followUpTaskKey,
  renderTemplate,
  rewardTaskKey,
  reviewTaskKey,
  sameValue,
  thankTaskKey,
} from '../../src/engine/plan.js';
import { evaluatePerson } from '../../src/engine/readiness.js';
import { DEFAULT_RULES, parseRules } from '../../src/engine/rules.js';
import { NO_STATS, NOW, ago, person } from './helpers.js';

describe('value comparison', () => {
  it('numbers and dates by value, arrays as sets, empty values alike', () => {
    expect(sameValue(42, '42')).toBe(true);
    expect(sameValue(10.001, 10)).toBe(true);
    expect(sameValue(10.01, 10)).toBe(false);
    expect(sameValue(new Date('2026-01-01T00:00:00.000Z'), new Date('2026-01-01T00:00:00.900Z'))).toBe(true);
    expect(sameValue(new Date('2026-01-01T00:00:00Z'), '2026-01-01T00:00:00.000Z')).toBe(true);
    expect(sameValue(new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T00:00:01Z'))).toBe(false);
    expect(sameValue(['a', 'b'], ['b', 'a'])).toBe(true);
    expect(sameValue(['a', 'b'], 'b;a')).toBe(true);
    expect(sameValue(['a'], ['a', 'b'])).toBe(false);
    expect(sameValue(null, undefined)).toBe(true);
    expect(sameValue('', null)).toBe(true);
    expect(sameValue([], undefined)).toBe(true);
    expect(sameValue(false, undefined)).toBe(false);
    expect(sameValue(0, null)).toBe(false);
    expect(sameValue(true, 'true')).toBe(true);
    expect(sameValue('Gold', 'gold')).toBe(false);
  });
});

describe('diffOwned', () => {
  it('returns only the changed fields', () => {
    const changes = diffOwned(
      {
        referral_ready: true,
        referral_readiness_score: 70,
        referral_tags: ['vip', 'segment-a'],
        referral_segment: null,
      },
      { referral_ready: true, referral_readiness_score: 65, referral_tags: ['segment-a', 'vip'] },
    );
    expect(changes).toEqual({ referral_readiness_score: 70 });
  });

  it('applies write policies to mirrored fields', () => {
    const desired = { promo_code: 'ABC', promo_note: 'x', promo_other: 'y' };
    const current = { promo_code: 'OLD', promo_other: 'z' };
    const changes = diffOwned(desired, current, {
      promo_code: 'only-if-empty',
      promo_note: 'only-if-empty',
      promo_other: 'never',
    });
    expect(changes).toEqual({ promo_note: 'x' });
    expect(diffOwned(desired, current, { promo_code: 'always' })).toMatchObject({ promo_code: 'ABC' });
  });

  const value: fc.Arbitrary<OwnedValue> = fc.oneof(
    fc.boolean(),
    fc.integer({ min: -1000, max: 1000 }),
    fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((x) => Math.round(x * 100) / 100),
    fc.string({ maxLength: 6 }),
    fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'vip'), { maxLength: 3 }),
    fc.date({ min: new Date('2000-01-01'), max: new Date('2040-01-01'), noInvalidDate: true }),
    fc.constant(null),
  );
  const record = fc.dictionary(fc.constantFrom('f1', 'f2', 'f3', 'f4', 'f5'), value);

  it('property: applying a plan yields a second plan with no changes', () => {
    fc.assert(
      fc.property(record, record, (desired, current) => {
        const first = diffOwned(desired, current);
        const after = applyChanges(current, first);
        expect(diffOwned(desired, after)).toEqual({});
        for (const k of Object.keys(first)) expect(sameValue(desired[k], current[k])).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('desired person values', () => {
  const ctx = { now: NOW, rules: DEFAULT_RULES, stats: NO_STATS };
  const plan = (
    fields: Parameters<typeof person>[0],
    extra: Partial<Parameters<typeof desiredPerson>[0]> = {},
  ) => {
    const p = person(fields);
    return desiredPerson({
      person: p,
      evaluation: evaluatePerson(p, { ...ctx, ...(extra.rules ? { rules: extra.rules } : {}) }),
      code: null,
      link: null,
      askedAt: null,
      attribution: null,
      rollup: null,
      rules: DEFAULT_RULES,
      ...extra,
    });
  };

  it('a fresh record with nothing to say produces no writes', () => {
    const p = person({ isCustomer: undefined });
    const d = plan({ isCustomer: undefined });
    expect(diffOwned(d, p.current)).toEqual({});
  });

  it('leads and non-customers get no readiness values (emptied if they had some)', () => {
    const lead = plan({ kind: 'lead', isCustomer: undefined, nps: 10, lastPurchaseAt: ago(3) });
    expect(diffOwned(lead, {})).toEqual({});
    const churned = plan({
      isCustomer: false,
      current: { referral_ready: true, referral_readiness_score: 80 },
    });
    expect(diffOwned(churned, { referral_ready: true, referral_readiness_score: 80 })).toEqual({
      referral_ready: false,
      referral_readiness_score: null,
    });
  });

  it('writes false or 0 only over an existing value', () => {
    expect(plan({ nps: 3 }).referral_ready).toBeNull();
    expect(plan({ nps: 3, current: { referral_ready: true } }).referral_ready).toBe(false);
    expect(plan({}).referral_count).toBeNull();
    expect(plan({ current: { referral_count: 2 } }).referral_count).toBe(0);
  });

  it('ready people get score, reasons, tags, segment, trigger and variant', () => {
    const d = plan({ nps: 10, lastPurchaseAt: ago(3) });
    expect(d).toMatchObject({
      referral_ready: true,
      referral_readiness_score: 55,
      referral_tags: ['segment-a'],
      referral_segment: 'Segment A',
      referral_trigger_event: 'purchase',
    });
    expect(d.referral_readiness_reasons).toContain('NPS 10 (+30)');
    expect(['A', 'B']).toContain(d.referral_variant);
  });

  it('outside the pilot, readiness fields are left alone', () => {
    const rules = parseRules({ pilot: { mode: 'share', share: 0 } });
    const d = plan({ nps: 10, lastPurchaseAt: ago(3) }, { rules });
    expect('referral_ready' in d).toBe(false);
    expect('referral_readiness_score' in d).toBe(false);
  });

  it('an ask today stamps last asked and the next eligible date (to the second)', () => {
    const d = plan({ nps: 10, lastPurchaseAt: ago(3) }, { askedAt: NOW + 123 });
    expect((d.referral_last_asked_at as Date).getTime()).toBe(NOW);
    expect((d.referral_next_eligible_at as Date).getTime()).toBe(NOW + 90 * 86_400_000);
  });

  it('codes and links are written when given, never cleared when not', () => {
    expect(plan({}, { code: 'C', link: 'L' })).toMatchObject({ referral_code: 'C', referral_link: 'L' });
    expect('referral_code' in plan({ current: { referral_code: 'OLD' } })).toBe(false);
  });
});

describe('task keys and templates', () => {
  it('keys are stable and unique per kind, subject and occasion', () => {
    const keys = [
      askTaskKey('p1', null),
      askTaskKey('p1', 1000),
      askTaskKey('p2', null),
      followUpTaskKey('p1', 'r1'),
      followUpTaskKey('p1', 'r2'),
      thankTaskKey('r1', 'd1'),
      thankTaskKey('r1', 'd2'),
      reviewTaskKey('p1'),
      reviewTaskKey('p2'),
      rewardTaskKey('r1', 's1'),
      rewardTaskKey('r1', 'm3'),
    ];
    expect(new Set(keys).size).toBe(keys.length);
    expect(askTaskKey('p1', 1000)).toBe(askTaskKey('p1', 1000));
  });

  it('renders placeholders and leaves unknown ones', () => {
    expect(renderTemplate('Ask {name} ({score}) {nope}', { name: 'Ann', score: 70 })).toBe(
      'Ask Ann (70) {nope}',
    );
  });
});
