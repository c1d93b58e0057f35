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
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A stable number in [0, 1) for (salt, id): the same person always lands in the same bucket. */
export function stableUnit(salt: string, id: string): number {
  return stableHash(salt, id) / 4294967296;
}

/**
 * `stableUnit(salt, id) < share`, as a boolean: the hot path (A/B variant and pilot share of every
 * person) gets no number back, which a caller that does not inline this would receive boxed.
 */
export function stableBelow(salt: string, id: string, share: number): boolean {
  return stableHash(salt, id) / 4294967296 < share;
}

/** The unsigned 32-bit hash behind `stableUnit`. */
function stableHash(salt: string, id: string): number {
  // fnv1a(salt + '\u0000' + id), hashed in three steps without joining the strings: the joined
  // string (and its flattening on the first charCodeAt) cost two allocations per person and call.
  let h = 0x811c9dc5;
  for (let i = 0; i < salt.length; i++) h = Math.imul(h ^ salt.charCodeAt(i), 0x01000193);
  h = Math.imul(h, 0x01000193); // the NUL separator: h ^ 0 = h
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  // Finalise so nearby ids spread evenly.
  return fmix32(h >>> 0);
}

/** murmur3's 32-bit finaliser: every input bit affects every output bit. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const dayCache = new Map<number, string>();
/** Days 1970-01-01 … 2243-10-16 in an array (an indexed load, no hashing); others in the Map. */
const DAY_SLOTS = 100_000;
/** Filled up front (400 KB): writes far past the end of an empty array make it a slow dictionary. */
const dayArray = new Array<string | undefined>(DAY_SLOTS).fill(undefined);

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
