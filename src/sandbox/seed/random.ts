/**
 * The seed generator's randomness: one mulberry32 stream (the same PRNG the fault injector uses),
 * so a seed always yields the same account. Methods, not closures, so a 1M-contact run allocates
 * nothing per draw.
 */
import { mulberry32 } from '../common/faults.js';

export const DAY_MS = 86_400_000;

export class SeedRandom {
  private readonly next: () => number;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next();
  }

  /** Uniform integer in [min, max] (both inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new RangeError('pick from an empty list');
    return item;
  }

  /** Picks an index by relative weights (weights need not sum to 1). */
  weightedIndex(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let r = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i] ?? 0;
      if (r < 0) return i;
    }
    return weights.length - 1;
  }

  /** Roughly log-normal: a positive amount with a long right tail around `median`. */
  logNormal(median: number, sigma: number): number {
    // Box-Muller; 1 - float() keeps the log argument in (0, 1].
    const u = 1 - this.next();
    const v = this.next();
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    return median * Math.exp(sigma * z);
  }

  /** Geometric count >= 1 with the given mean (repeat purchases, NPS surveys answered...). */
  geometric(mean: number): number {
    const p = 1 / mean;
    return 1 + Math.floor(Math.log(1 - this.next()) / Math.log(1 - p));
  }

  /** An instant (epoch ms) uniformly between `minDaysAgo` and `maxDaysAgo` days before `asOfMs`. */
  msAgo(asOfMs: number, minDaysAgo: number, maxDaysAgo: number): number {
    const days = minDaysAgo + this.next() * (maxDaysAgo - minDaysAgo);
    return Math.floor(asOfMs - days * DAY_MS);
  }

  daysAgo(asOfMs: number, minDaysAgo: number, maxDaysAgo: number): Date {
    return new Date(this.msAgo(asOfMs, minDaysAgo, maxDaysAgo));
  }

  /** Lower-case base-36 token of `length` characters (click ids, ...). */
  token(length: number): string {
    let s = '';
    for (let i = 0; i < length; i++) s += Math.floor(this.next() * 36).toString(36);
    return s;
  }
}
