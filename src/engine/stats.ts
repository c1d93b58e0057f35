/**
 * Account-wide statistics some criteria need (the "top spend quantile"). Computed with a
 * mergeable log-scale histogram so that the in-memory run and the streaming pipeline (which sees
 * one page at a time and keeps the histogram in Redis between pages) get the SAME threshold from
 * the same data: `accountStats()` is just "add everyone, then read".
 *
 * Buckets are 1 % wide (relative), so the threshold is exact to within 1 % of the amount, and the
 * whole state is at most ~3,000 counters whatever the account size.
 */
import type { Person } from './model.js';
import type { Rules } from './rules.js';

export interface AccountStats {
  /** Lifetime spend at or above which a person is a "high spender"; null = no spend data. */
  highSpendThreshold: number | null;
}

const GROWTH = Math.log(1.01);
const BUCKETS = 3000; // 1.01^2999 ≈ 9e12: beyond any lifetime value.

function bucketOf(amount: number): number {
  if (!(amount >= 1)) return 0; // 0..1 (and negatives: refunds) share bucket 0
  const b = 1 + Math.floor(Math.log(amount) / GROWTH);
  return b >= BUCKETS ? BUCKETS - 1 : b;
}

function bucketFloor(b: number): number {
  return b === 0 ? 0 : Math.exp((b - 1) * GROWTH);
}

/** JSON form of the accumulator: sparse `{ bucket: count }` plus the total. */
export interface SpendHistogramJson {
  n: number;
  counts: Record<string, number>;
}

export class SpendHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private n = 0;

  add(amount: number | undefined): void {
    if (amount === undefined || !Number.isFinite(amount)) return;
    this.counts[bucketOf(amount)]! += 1;
    this.n += 1;
  }

  addPerson(person: Person): void {
    if (person.totalSpend !== undefined) this.add(person.totalSpend.amount);
  }

  /** Remove a value added before (the pipeline replaces a person's old spend when it changes). */
  remove(amount: number | undefined): void {
    if (amount === undefined || !Number.isFinite(amount)) return;
    const b = bucketOf(amount);
    if (this.counts[b]! > 0) {
      this.counts[b]! -= 1;
      this.n -= 1;
    }
  }

  merge(other: SpendHistogram): this {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    this.n += other.n;
    return this;
  }

  get size(): number {
    return this.n;
  }

  /**
   * The lower edge of the bucket holding the q-quantile: a person whose spend is ≥ this value is
   * in the top (1 − q) share (give or take one bucket). null without data.
   */
  quantileFloor(q: number): number | null {
    if (this.n === 0) return null;
    const rank = Math.min(this.n - 1, Math.floor(q * this.n)); // 0-based rank of the q-quantile
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.counts[b]!;
      if (seen > rank) return bucketFloor(b);
    }
    return null;
  }

  toJSON(): SpendHistogramJson {
    const counts: Record<string, number> = {};
    for (let b = 0; b < BUCKETS; b++) if (this.counts[b]! > 0) counts[String(b)] = this.counts[b]!;
    return { n: this.n, counts };
  }

  static fromJSON(json: SpendHistogramJson): SpendHistogram {
    const h = new SpendHistogram();
    for (const [k, v] of Object.entries(json.counts)) {
      const b = Number(k);
      if (Number.isInteger(b) && b >= 0 && b < BUCKETS && Number.isFinite(v) && v > 0) {
        h.counts[b] = v;
        h.n += v;
      }
    }
    return h;
  }
}

/** The stats the rules need, from a filled histogram. */
export function statsFromHistogram(histogram: SpendHistogram, rules: Rules): AccountStats {
  const hs = rules.criteria.find((c) => c.kind === 'highSpend');
  const q = hs?.kind === 'highSpend' ? hs.quantile : 0.8;
  const floor = histogram.quantileFloor(q);
  // A zero threshold would make everyone with any spend "high"; require a positive amount.
  return { highSpendThreshold: floor === null ? null : Math.max(floor, Number.MIN_VALUE) };
}

/** One-shot: stats of a whole (in-memory) account. */
export function accountStats(people: Iterable<Person>, rules: Rules): AccountStats {
  const h = new SpendHistogram();
  for (const p of people) h.addPerson(p);
  return statsFromHistogram(h, rules);
}
