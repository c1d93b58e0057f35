/**
 * Small hot-path helpers shared by the engine modules: epoch-ms access to optional dates, a
 * stable string hash for A/B and pilot assignment, and a cached ISO day formatter (reasons must be
 * time-stable texts, so they name days, never "12 days ago").
 */
import { DAY_MS } from './rules.js';

/** Epoch ms of an optional Date; NaN when absent or invalid (NaN fails every comparison). */
export function ms(d: Date | undefined): number {
  return d === undefined ? NaN : d.getTime();
}

/** FNV-1a 32-bit over the UTF-16 code units: stable across runs, processes and machines. */
export function fnv1a(text: string): number {
  return fnv1aFrom(0x811c9dc5, text) >>> 0;
}

/** FNV-1a state `h` continued over `text` (not finalised to unsigned). */
function fnv1aFrom(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h;
}

/** A stable number in [0, 1) for (salt, id): the same person always lands in the same bucket. */
export function stableUnit(salt: string, id: string): number {
  // fnv1a(salt + '\u0000' + id), hashed in three steps: the joined string (and its flattening on
  // the first charCodeAt) cost two allocations per person and call.
  let h = Math.imul(fnv1aFrom(0x811c9dc5, salt) ^ 0, 0x01000193);
  h = fnv1aFrom(h, id) >>> 0;
  // Finalise (murmur3 fmix32) so nearby ids spread evenly.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

const dayCache = new Map<number, string>();
/** Days 1970-01-01 … 2243-10-16 in an array (an indexed load, no hashing); others in the Map. */
const DAY_SLOTS = 100_000;
const dayArray: (string | undefined)[] = [];

/** `YYYY-MM-DD` (UTC) of an instant, cached per day: reasons for 1M people reuse a few hundred strings. */
export function isoDay(epochMs: number): string {
  const day = Math.floor(epochMs / DAY_MS);
  if (day >= 0 && day < DAY_SLOTS) {
    let s = dayArray[day];
    if (s === undefined) dayArray[day] = s = new Date(day * DAY_MS).toISOString().slice(0, 10);
    return s;
  }
  let s = dayCache.get(day);
  if (s === undefined) {
    s = new Date(day * DAY_MS).toISOString().slice(0, 10);
    if (dayCache.size > 20_000) dayCache.clear();
    dayCache.set(day, s);
  }
  return s;
}

/** Round money to cents so sums of floats compare by value. */
export function cents(x: number): number {
  return Math.round(x * 100) / 100;
}

export function lowerTrim(s: string | undefined): string | undefined {
  if (s === undefined) return undefined;
  const t = s.trim().toLowerCase();
  return t === '' ? undefined : t;
}

/** The domain of an email address, lower-cased; undefined when it has none. */
export function emailDomain(email: string | undefined): string | undefined {
  if (email === undefined) return undefined;
  const at = email.lastIndexOf('@');
  if (at < 0 || at === email.length - 1) return undefined;
  return email
    .slice(at + 1)
    .trim()
    .toLowerCase();
}
