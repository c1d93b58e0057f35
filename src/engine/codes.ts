/**
 * Referral codes (PRODUCT.md F-ATTR): short, case-insensitive, unguessable, with a check character.
 *
 * - Alphabet: Crockford base32 without `Z` → 31 symbols `0-9 A-H J K M N P-T V-Y` (no I, L, O, U:
 *   read aloud or handwritten they are confused with 1, 1, 0, V). 31 is prime, which is what makes
 *   the check below exact without extra check symbols (Crockford's own mod-37 check needs five
 *   punctuation symbols, unsafe in links).
 * - 9 random symbols (31^9 ≈ 2.6e13, ~44.6 bits) from a cryptographic source, never derived from ids
 *   or emails; plus 1 check symbol = 10 characters.
 * - Check: Σ wᵢ·vᵢ ≡ 0 (mod 31) with weights wᵢ = i (1..10, check included). A single substitution
 *   at i changes the sum by i·(v'−v), non-zero mod 31 because 1 ≤ i ≤ 10 and 0 < |v'−v| < 31 with
 *   31 prime. An adjacent swap changes it by (wᵢ−wᵢ₊₁)·(vᵢ−vᵢ₊₁) = −(vᵢ−vᵢ₊₁) ≠ 0. So every single
 *   typo and every adjacent transposition (including with the check symbol) is detected; the tests
 *   verify it exhaustively per position.
 * - Input is normalised: upper-cased, spaces/hyphens removed, O→0 and I/L→1 (Crockford decoding).
 */
import { randomFillSync } from 'node:crypto';
import { AppError } from '../errors.js';

export const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXY';
const BASE = 31;
export const CODE_DATA_LENGTH = 9;
export const CODE_LENGTH = CODE_DATA_LENGTH + 1;

export const ERR_ENGINE_CODE_SPACE_EXHAUSTED = 'ERR_ENGINE_CODE_SPACE_EXHAUSTED';

/** Fills the array with random bytes. Default: `crypto.randomFillSync`. Tests inject a seeded one. */
export type RandomSource = (bytes: Uint8Array) => void;

export const cryptoRandom: RandomSource = (bytes) => {
  randomFillSync(bytes);
};

const VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE; i++) {
  VALUE[CODE_ALPHABET.charCodeAt(i)] = i;
  VALUE[CODE_ALPHABET.toLowerCase().charCodeAt(i)] = i;
}
for (const [from, to] of [
  ['O', '0'],
  ['o', '0'],
  ['I', '1'],
  ['i', '1'],
  ['L', '1'],
  ['l', '1'],
] as const) {
  VALUE[from.charCodeAt(0)] = VALUE[to.charCodeAt(0)]!;
}

function inverse(a: number): number {
  for (let x = 1; x < BASE; x++) if ((a * x) % BASE === 1) return x;
  throw new Error('no inverse');
}
const INV = Array.from({ length: CODE_LENGTH + 1 }, (_, i) => (i === 0 ? 0 : inverse(i % BASE)));

function weightedSum(values: ArrayLike<number>, length: number): number {
  let s = 0;
  for (let i = 0; i < length; i++) s += (i + 1) * values[i]!;
  return s % BASE;
}

/** The check symbol value for 9 data values. */
function checkValue(values: ArrayLike<number>): number {
  const s = weightedSum(values, CODE_DATA_LENGTH);
  // Want s + 10·c ≡ 0 → c = −s · 10⁻¹.
  return (((BASE - s) % BASE) * INV[CODE_LENGTH]!) % BASE;
}

const CANONICAL = new Uint8Array(128);
for (let i = 0; i < BASE; i++) CANONICAL[CODE_ALPHABET.charCodeAt(i)] = 1;

function isCanonical(input: string): boolean {
  for (let i = 0; i < input.length; i++) {
    const ch = input.charCodeAt(i);
    if (ch >= 128 || CANONICAL[ch] === 0) return false;
  }
  return true;
}

/**
 * Canonical form of user input: upper-case, no separators, O→0, I/L→1. Returns the input
 * upper-cased and stripped even when it holds symbols outside the alphabet (validation says so).
 */
export function normalizeCode(input: string): string {
  if (isCanonical(input)) return input; // the common case: no new string per stored code
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const ch = input.charCodeAt(i);
    if (ch === 32 || ch === 45 || ch === 95 || ch === 9) continue; // space - _ tab
    const v = ch < 128 ? VALUE[ch]! : -1;
    out += v >= 0 ? CODE_ALPHABET[v]! : input[i]!.toUpperCase();
  }
  return out;
}

export type CodeProblem = 'empty' | 'length' | 'alphabet' | 'check';

/** Why a (normalised) code is not valid, or null when it is. */
export function codeProblem(normalized: string): CodeProblem | null {
  if (normalized.length === 0) return 'empty';
  if (normalized.length !== CODE_LENGTH) return 'length';
  let s = 0;
  for (let i = 0; i < CODE_LENGTH; i++) {
    const ch = normalized.charCodeAt(i);
    const v = ch < 128 ? VALUE[ch]! : -1;
    if (v < 0) return 'alphabet';
    s += (i + 1) * v;
  }
  return s % BASE === 0 ? null : 'check';
}

export function isValidCode(input: string): boolean {
  return codeProblem(normalizeCode(input)) === null;
}

function valuesOf(normalized: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < normalized.length; i++) out.push(VALUE[normalized.charCodeAt(i)]!);
  return out;
}

function encode(values: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < values.length; i++) s += CODE_ALPHABET[values[i]!]!;
  return s;
}

/**
 * The valid codes one typo away from a code whose check failed: for each position the single
 * substitution that repairs the sum, and each adjacent swap that does. Callers look these up to
 * suggest "did you mean …" (never to credit automatically).
 */
export function typoCandidates(input: string): string[] {
  const normalized = normalizeCode(input);
  if (codeProblem(normalized) !== 'check') return [];
  const v = valuesOf(normalized);
  const s = weightedSum(v, CODE_LENGTH);
  const out = new Set<string>();
  for (let i = 0; i < CODE_LENGTH; i++) {
    // (i+1)·(v' − v) ≡ −s → v' = v − s·(i+1)⁻¹
    const fixed = (((v[i]! - ((s * INV[i + 1]!) % BASE)) % BASE) + BASE) % BASE;
    const copy = v.slice();
    copy[i] = fixed;
    out.add(encode(copy));
  }
  for (let i = 0; i + 1 < CODE_LENGTH; i++) {
    if (v[i] === v[i + 1]) continue;
    const copy = v.slice();
    copy[i] = v[i + 1]!;
    copy[i + 1] = v[i]!;
    if (weightedSum(copy, CODE_LENGTH) === 0) out.add(encode(copy));
  }
  return [...out];
}

/**
 * Draws codes from a random source, buffering bytes (one `randomFillSync` per 4 KiB rather than per
 * code: 1M codes in well under a second).
 */
export class CodeIssuer {
  private readonly pool = new Uint8Array(4096);
  private pos = 4096;
  private readonly values = new Uint8Array(CODE_LENGTH);

  constructor(private readonly random: RandomSource = cryptoRandom) {}

  private nextSymbol(): number {
    for (;;) {
      if (this.pos >= this.pool.length) {
        this.random(this.pool);
        this.pos = 0;
      }
      const b = this.pool[this.pos++]!;
      // Rejection sampling: 248 = 8·31, so b % 31 is uniform for b < 248.
      if (b < 248) return b % BASE;
    }
  }

  /** A fresh random valid code (not checked against any index). */
  draw(): string {
    const v = this.values;
    for (let i = 0; i < CODE_DATA_LENGTH; i++) v[i] = this.nextSymbol();
    v[CODE_DATA_LENGTH] = checkValue(v);
    return encode(v);
  }

  /** A code for which `isTaken` is false (the tenant's code index decides uniqueness). */
  issue(isTaken: (code: string) => boolean): string {
    for (let attempt = 0; attempt < 64; attempt++) {
      const code = this.draw();
      if (!isTaken(code)) return code;
    }
    throw new AppError(
      ERR_ENGINE_CODE_SPACE_EXHAUSTED,
      'could not draw an unused referral code in 64 attempts',
      {
        retryable: false,
      },
    );
  }
}

/** One-off issue (creates a pool per call; use a `CodeIssuer` for many). */
export function issueCode(isTaken: (code: string) => boolean, random: RandomSource = cryptoRandom): string {
  return new CodeIssuer(random).issue(isTaken);
}

/**
 * Keep an existing valid code (stable once issued); otherwise issue a new one. Returns the code and
 * whether it is new (the caller adds new codes to its index).
 */
export function ensureCode(
  existing: unknown,
  isTaken: (code: string) => boolean,
  issuer: CodeIssuer,
): { code: string; issued: boolean } {
  if (typeof existing === 'string') {
    const n = normalizeCode(existing);
    if (codeProblem(n) === null) return { code: n, issued: false };
  }
  return { code: issuer.issue(isTaken), issued: true };
}

/** The referral link for a code: `{code}` in the template is replaced (URL-encoded). */
export function referralLink(template: string, code: string): string {
  if (template !== linkTemplate) {
    linkTemplate = template;
    linkParts = template.split('{code}');
  }
  // Issued codes are in CODE_ALPHABET, which encodeURIComponent leaves as is.
  const value = isCanonical(code) ? code : encodeURIComponent(code);
  // A one-placeholder template (the usual) is two concatenations, not a split and a join per code.
  return linkParts.length === 2 ? linkParts[0]! + value + linkParts[1]! : linkParts.join(value);
}
/** The last template seen and its pieces around `{code}` (one template per run). */
let linkTemplate = '';
let linkParts: string[] = [''];

/** A deterministic `RandomSource` (xorshift32) for tests and the benchmark. Not for production. */
export function seededRandom(seed: number): RandomSource {
  let x = seed >>> 0 || 0x9e3779b9;
  return (bytes) => {
    for (let i = 0; i < bytes.length; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      bytes[i] = x & 0xff;
    }
  };
}
