/**
 * Closing the loop (PRODUCT.md F-ATTR): deals of referred people won inside the attribution window
 * are credited to the referrer; per-referrer roll-ups (count, converted, revenue), tiers,
 * milestone rewards, balance and rewards due; partner companies' sent/received/revenue.
 *
 * Roll-ups take the referrer's ledger entries (one per credited referred person): the in-memory
 * run builds them from the decisions, the pipeline keeps them in its Redis ledger.
 */
import type { Deal } from './model.js';
import type { Rules } from './rules.js';
import { DAY_MS } from './rules.js';
import { cents, ms } from './util.js';

export type DealCreditReason =
  'won_in_window' | 'not_won' | 'won_before_referral' | 'won_after_window' | 'no_amount';

export interface DealCredit {
  dealId: string;
  credited: boolean;
  reason: DealCreditReason;
  /** Credited amount (0 unless credited). */
  amount: number;
  /** Epoch ms of the win (close date), or null. */
  wonAt: number | null;
}

/**
 * Timezone slack: a deal closed on the capture day but stamped a few hours earlier (date-only close
 * dates are midnight UTC) still counts.
 */
const SLACK_MS = DAY_MS;

/** Whether a deal of a referred person (captured at `capturedAt`) credits its amount. */
export function creditDeal(deal: Deal, capturedAt: number, rules: Rules): DealCredit {
  const wonAt = ms(deal.closeDate);
  const base = { dealId: deal.id, wonAt: Number.isNaN(wonAt) ? null : wonAt };
  if (deal.isWon !== true) return { ...base, credited: false, reason: 'not_won', amount: 0 };
  if (wonAt < capturedAt - SLACK_MS)
    return { ...base, credited: false, reason: 'won_before_referral', amount: 0 };
  if (wonAt > capturedAt + rules.attribution.windowDays * DAY_MS) {
    return { ...base, credited: false, reason: 'won_after_window', amount: 0 };
  }
  const amount = deal.amount?.amount;
  if (amount === undefined) return { ...base, credited: true, reason: 'no_amount', amount: 0 };
  // A won deal with no close date is credited at face value: the CRM says it is won, and the
  // capture is the latest instant it could have been referred.
  return { ...base, credited: true, reason: 'won_in_window', amount: cents(amount) };
}

/** One credited referral as seen from its referrer (a ledger entry). */
export interface ReferralRecord {
  referredId: string;
  /** Epoch ms of the capture. */
  capturedAt: number;
  /** Epoch ms of the first credited won deal, or null when not converted. */
  convertedAt: number | null;
  /** Credited revenue. */
  revenue: number;
}

export interface RewardEarned {
  /** Stable ordinal key: `s<n>` for the n-th success, `m<at>` for a milestone. */
  key: string;
  name: string;
  amount: number;
  /** Epoch ms when earned (capture/conversion of the referral that reached it), for task recency. */
  at: number;
}

export interface ReferrerRollup {
  referralCount: number;
  convertedCount: number;
  revenue: number;
  /** Successful referrals per `rules.rewards.successOn`. */
  successful: number;
  tier: string | null;
  rewards: RewardEarned[];
  rewardTotal: number;
  rewardBalance: number;
  rewardsDue: number;
  milestonesReached: string[];
}

/** What the referrer has already been paid (from the admin's reward ledger), if tracked. */
export interface PaidRewards {
  count: number;
  amount: number;
}

export function rollupReferrer(
  entries: readonly ReferralRecord[],
  rules: Rules,
  paid: PaidRewards = { count: 0, amount: 0 },
): ReferrerRollup {
  let converted = 0;
  let revenue = 0;
  const successTimes: number[] = [];
  for (const e of entries) {
    revenue += e.revenue;
    if (e.convertedAt !== null) converted++;
    if (rules.rewards.successOn === 'referred') successTimes.push(e.capturedAt);
    else if (e.convertedAt !== null) successTimes.push(e.convertedAt);
  }
  // Order successes in time (ties by value) so reward n is always the same occasion.
  successTimes.sort((a, b) => a - b);
  const successful = successTimes.length;
  const rewards: RewardEarned[] = [];
  const r = rules.rewards;
  if (r.perSuccess > 0) {
    for (let n = 1; n <= successful; n++) {
      rewards.push({ key: `s${n}`, name: `referral #${n}`, amount: r.perSuccess, at: successTimes[n - 1]! });
    }
  }
  const milestonesReached: string[] = [];
  for (const m of r.milestones) {
    if (successful >= m.at) {
      milestonesReached.push(m.name);
      if (m.amount > 0)
        rewards.push({ key: `m${m.at}`, name: m.name, amount: m.amount, at: successTimes[m.at - 1]! });
    }
  }
  let tier: string | null = null;
  for (const t of r.tiers) if (successful >= t.minSuccessful) tier = t.name;
  let rewardTotal = 0;
  for (const w of rewards) rewardTotal += w.amount;
  return {
    referralCount: entries.length,
    convertedCount: converted,
    revenue: cents(revenue),
    successful,
    tier,
    rewards,
    rewardTotal: cents(rewardTotal),
    rewardBalance: cents(Math.max(0, rewardTotal - paid.amount)),
    rewardsDue: Math.max(0, rewards.length - paid.count),
    milestonesReached,
  };
}

export interface PartnerRollup {
  /** Referrals made by the partner's people. */
  sent: number;
  /** Referred people who belong to the partner company (referrals the partner received). */
  received: number;
  /** Credited revenue of the referrals the partner sent. */
  revenue: number;
}

export function emptyPartnerRollup(): PartnerRollup {
  return { sent: 0, received: 0, revenue: 0 };
}
