import { describe, expect, it } from 'vitest';
import { creditDeal, rollupReferrer } from '../../src/engine/credit.js';
import type { ReferralRecord } from '../../src/engine/credit.js';
import { DealSchema } from '../../src/engine/model.js';
import { DAY_MS, DEFAULT_RULES, parseRules } from '../../src/engine/rules.js';
import { NOW, ago } from './helpers.js';

const captured = ago(100).getTime();
const deal = (fields: Record<string, unknown>) =>
  DealSchema.parse({
    id: 'd1',
    isWon: true,
    amount: { amount: 1234.567, currency: 'USD' },
    personIds: ['p'],
    ...fields,
  });

describe('deal credit', () => {
  it('credits a won deal inside the window, rounded to cents', () => {
    const c = creditDeal(deal({ closeDate: new Date(captured + 90 * DAY_MS) }), captured, DEFAULT_RULES);
    expect(c).toMatchObject({ credited: true, reason: 'won_in_window', amount: 1234.57 });
  });
  it('does not credit after the window, before the referral, or when not won', () => {
    expect(
      creditDeal(deal({ closeDate: new Date(captured + 90 * DAY_MS + 1) }), captured, DEFAULT_RULES).reason,
    ).toBe('won_after_window');
    expect(
      creditDeal(deal({ closeDate: new Date(captured - 2 * DAY_MS) }), captured, DEFAULT_RULES).reason,
    ).toBe('won_before_referral');
    expect(creditDeal(deal({ isWon: false, closeDate: ago(1) }), captured, DEFAULT_RULES)).toMatchObject({
      credited: false,
      reason: 'not_won',
      amount: 0,
    });
  });
  it('the window is configurable', () => {
    const r = parseRules({ attribution: { windowDays: 30 } });
    expect(creditDeal(deal({ closeDate: new Date(captured + 31 * DAY_MS) }), captured, r).credited).toBe(
      false,
    );
  });
});

const entry = (i: number, converted: boolean, revenue = 0): ReferralRecord => ({
  referredId: `r${i}`,
  capturedAt: NOW - (50 - i) * DAY_MS,
  convertedAt: converted ? NOW - (40 - i) * DAY_MS : null,
  revenue,
});

describe('referrer roll-ups', () => {
  it('counts referrals, conversions and revenue; tiers by successful referrals', () => {
    const r = rollupReferrer([entry(1, true, 100), entry(2, false), entry(3, true, 50.5)], DEFAULT_RULES);
    expect(r).toMatchObject({
      referralCount: 3,
      convertedCount: 2,
      revenue: 150.5,
      successful: 2,
      tier: 'Bronze',
    });
    expect(rollupReferrer([], DEFAULT_RULES).tier).toBeNull();
    const three = rollupReferrer([entry(1, true), entry(2, true), entry(3, true)], DEFAULT_RULES);
    expect(three.tier).toBe('Silver');
    const ten = rollupReferrer(
      Array.from({ length: 10 }, (_, i) => entry(i, true)),
      DEFAULT_RULES,
    );
    expect(ten.tier).toBe('Gold');
  });

  it('earns a reward per success plus milestone bonuses, with stable ordinal keys', () => {
    const r = rollupReferrer(
      [entry(1, true), entry(2, true), entry(3, true), entry(4, false)],
      DEFAULT_RULES,
    );
    expect(r.rewards.map((w) => w.key)).toEqual(['s1', 's2', 's3', 'm3']);
    expect(r.rewardTotal).toBe(50 * 3 + 100);
    expect(r.milestonesReached).toEqual(['3 referrals bonus']);
    expect(r.rewardBalance).toBe(250);
    expect(r.rewardsDue).toBe(4);
    const paid = rollupReferrer([entry(1, true), entry(2, true), entry(3, true)], DEFAULT_RULES, {
      count: 3,
      amount: 150,
    });
    expect(paid.rewardBalance).toBe(100);
    expect(paid.rewardsDue).toBe(1);
  });

  it('success can be counted on referral instead of conversion', () => {
    const r = rollupReferrer(
      [entry(1, false), entry(2, false)],
      parseRules({ rewards: { successOn: 'referred' } }),
    );
    expect(r.successful).toBe(2);
    expect(r.tier).toBe('Bronze');
  });
});
