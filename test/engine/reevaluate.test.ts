import { describe, expect, it } from 'vitest';
import { CodeIssuer, seededRandom } from '../../src/engine/codes.js';
import { desiredPerson } from '../../src/engine/plan.js';
import type { RecordPlan } from '../../src/engine/plan.js';
import { evaluatePerson } from '../../src/engine/readiness.js';
import { ROLLUP_FIELDS, reevaluatePeople } from '../../src/engine/reevaluate.js';
import { DEFAULT_RULES, parseRules } from '../../src/engine/rules.js';
import { nextBudgetReset } from '../../src/engine/run.js';
import { SpendHistogram, statsFromHistogram } from '../../src/engine/stats.js';
import { NOW, ago, person } from './helpers.js';

const rollup = {
  referralCount: 3,
  convertedCount: 2,
  revenue: 5000,
  successful: 2,
  tier: 'silver',
  rewards: [],
  rewardTotal: 100,
  rewardBalance: 50,
  rewardsDue: 1,
  milestonesReached: [],
};

describe('reevaluatePeople', () => {
  it('ROLLUP_FIELDS are exactly the person fields a roll-up decides', () => {
    const p = person({ nps: 10, lastPurchaseAt: ago(3) });
    const e = evaluatePerson(p, {
      now: NOW,
      rules: DEFAULT_RULES,
      stats: statsFromHistogram(new SpendHistogram(), DEFAULT_RULES),
    });
    const base = {
      person: p,
      evaluation: e,
      code: null,
      link: null,
      askedAt: null,
      rules: DEFAULT_RULES,
      attribution: null,
    };
    const without = desiredPerson({ ...base, rollup: null });
    const withRollup = desiredPerson({ ...base, rollup });
    const differing = Object.keys(withRollup).filter(
      (k) => JSON.stringify(withRollup[k]) !== JSON.stringify(without[k]),
    );
    expect(differing.sort()).toEqual([...ROLLUP_FIELDS].sort());
  });

  it('plans readiness only, leaves roll-ups alone, issues codes off the index, asks within the cap and defers the rest to tomorrow', () => {
    const rules = parseRules({ asks: { perOwnerDailyCap: 1 } });
    const ready = (id: string, tenured: boolean) =>
      person({
        id,
        ownerId: 'o1',
        nps: 10,
        lastPurchaseAt: ago(2),
        ...(tenured ? { customerSince: ago(900) } : {}),
        current: { referral_count: 7 },
      });
    const people = [ready('a', false), ready('b', true)];
    const plans: { plan: RecordPlan; asked: boolean }[] = [];
    const issuer = new CodeIssuer(seededRandom(3));
    const firstDraw = new CodeIssuer(seededRandom(3)).draw();
    const result = reevaluatePeople(people, {
      now: NOW,
      rules,
      histogram: new SpendHistogram(),
      partnerCompanyIds: new Set(),
      ticketsOf: () => [],
      issuer,
      // The stream's first code is held by someone else in the tenant.
      isTaken: (code) => code === firstDraw,
      linkTemplate: 'https://x.test/r/{code}',
      onPlan: (plan, asked) => plans.push({ plan, asked }),
    });
    expect(result.asksScheduled).toBe(1);
    expect(result.asksDeferred).toBe(1);
    const asked = plans.find((x) => x.asked)!;
    expect(asked.plan.id).toBe('b'); // the higher score (tenure), though 'a' comes first
    expect(result.tasks.map((t) => t.kind)).toEqual(['ask']);
    expect(result.nextChangeAt.get('a')).toBe(nextBudgetReset(NOW));
    for (const { plan } of plans) {
      for (const f of ROLLUP_FIELDS) expect(plan.desired).not.toHaveProperty(f);
      expect(plan.changes.referral_code).not.toBe(firstDraw);
      expect(typeof plan.changes.referral_code).toBe('string');
    }
    expect(new Set(result.codesIssued).size).toBe(2);
  });
});
