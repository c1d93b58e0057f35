import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors.js';
import { DEFAULT_RULES, ERR_ENGINE_RULES_INVALID, parseRules, totalWeight } from '../../src/engine/rules.js';

function rejection(input: unknown): string {
  try {
    parseRules(input);
  } catch (e) {
    expect(isAppError(e, ERR_ENGINE_RULES_INVALID)).toBe(true);
    return (e as Error).message;
  }
  throw new Error('expected the rules to be rejected');
}

describe('rules', () => {
  it('defaults follow PRODUCT.md', () => {
    const r = DEFAULT_RULES;
    expect(r.criteria.map((c) => c.kind)).toEqual([
      'nps',
      'recentPurchase',
      'activeUse',
      'advocacy',
      'tenure',
      'repeatPurchases',
      'highSpend',
    ]);
    expect(totalWeight(r)).toBe(100);
    expect(r.criteria.find((c) => c.kind === 'nps')).toMatchObject({ minNps: 9, minCsat: 4.5 });
    expect(r.criteria.find((c) => c.kind === 'recentPurchase')).toMatchObject({ withinDays: 30 });
    expect(r.criteria.find((c) => c.kind === 'repeatPurchases')).toMatchObject({ moreThan: 3 });
    expect(r.exclusions.detractorMaxNps).toBe(6);
    expect(r.asks.coolDownDays).toBe(90);
    expect(r.attribution.windowDays).toBe(90);
    expect(r.rewards.tiers.map((t) => t.name)).toEqual(['Bronze', 'Silver', 'Gold']);
    expect(r.pilot.mode).toBe('off');
    expect(parseRules(null)).toEqual(DEFAULT_RULES);
  });

  it('a partial override keeps the other defaults', () => {
    const r = parseRules({
      threshold: 70,
      asks: { perOwnerDailyCap: 5 },
      pilot: { mode: 'share', share: 0.2 },
    });
    expect(r.threshold).toBe(70);
    expect(r.asks).toEqual({ coolDownDays: 90, askWindowHours: 24, maxPerYear: 2, perOwnerDailyCap: 5 });
    expect(r.pilot).toMatchObject({ mode: 'share', share: 0.2 });
    expect(r.criteria).toEqual(DEFAULT_RULES.criteria);
  });

  it('rejects invalid config naming each path and problem', () => {
    const msg = rejection({ threshold: 120, asks: { coolDownDays: -1 } });
    expect(msg).toContain('threshold');
    expect(msg).toContain('asks.coolDownDays');
  });

  it('rejects fewer than 3 or more than 10 criteria, duplicates, unknown kinds and unknown keys', () => {
    expect(rejection({ criteria: [{ kind: 'nps', weight: 10 }] })).toContain('criteria');
    const dup = [
      { kind: 'nps', weight: 10 },
      { kind: 'nps', weight: 20 },
      { kind: 'tenure', weight: 5 },
    ];
    expect(rejection({ criteria: dup })).toContain('criteria.1.kind: duplicate criterion "nps"');
    expect(rejection({ criteria: [{ kind: 'horoscope', weight: 1 }, ...dup.slice(1)] })).toContain(
      'criteria.0',
    );
    expect(rejection({ tresholdd: 3 })).toMatch(/tresholdd/);
  });

  it('checks custom segments, pilot segment, milestones and tier order', () => {
    expect(
      rejection({
        segments: { custom: [{ name: 'x', tag: 'x', all: [{ field: 'nps', op: 'withinDays', value: 3 }] }] },
      }),
    ).toContain('segments.custom.0.all.0.op: operator "withinDays" does not apply to number field "nps"');
    expect(
      rejection({
        segments: { custom: [{ name: 'x', tag: 'Bad Tag', all: [{ field: 'nps', op: 'gte', value: 3 }] }] },
      }),
    ).toContain('segments.custom.0.tag');
    expect(rejection({ pilot: { mode: 'segment' } })).toContain('pilot.segment');
    expect(rejection({ pilot: { mode: 'segment', segment: 'nope' } })).toContain(
      'unknown segment tag "nope"',
    );
    expect(
      rejection({
        rewards: {
          tiers: [
            { name: 'A', minSuccessful: 3 },
            { name: 'B', minSuccessful: 2 },
          ],
        },
      }),
    ).toContain('rewards.tiers.1.minSuccessful');
    expect(
      rejection({
        rewards: {
          milestones: [
            { name: 'a', at: 3, amount: 1 },
            { name: 'b', at: 3, amount: 2 },
          ],
        },
      }),
    ).toContain('duplicate milestone');
    const ok = parseRules({
      segments: {
        custom: [
          { name: 'Power users', tag: 'power', all: [{ field: 'featuresUsed', op: 'gte', value: 8 }] },
        ],
      },
      pilot: { mode: 'segment', segment: 'power' },
    });
    expect(ok.pilot.segment).toBe('power');
  });
});
