/**
 * Referral codes as a previous referral program would have issued them, so a seeded account
 * already has `referral_code` values on some advocates and referred leads that typed them in.
 * The codes are random (from the seed's stream), never derived from ids or emails, and end in a
 * check character; the typo helpers produce exactly the two mistakes a check character must catch
 * (one wrong character, two adjacent characters swapped).
 */
import type { SeedRandom } from './random.js';

/**
 * 31 symbols (a prime count): digits and capitals without 0/1/I/O (read-aloud ambiguity) and U.
 * Lower case is accepted by normalising, so codes are case-insensitive.
 */
export const SEED_CODE_ALPHABET = '23456789ABCDEFGHJKLMNPQRSTVWXYZ';
const BASE = SEED_CODE_ALPHABET.length; // 31, prime
export const SEED_CODE_BODY_LENGTH = 7;

/**
 * The check character c makes the weighted sum Σ (i+1)·value(char_i) + 8·c ≡ 0 (mod 31), the
 * ISBN-10 construction over a prime alphabet: one wrong character changes the sum by w·d and an
 * adjacent swap by ±(a−b); with 31 prime and 0 < w, |d|, |a−b| < 31 neither is ≡ 0, so both are
 * always caught, including swaps with the check character itself.
 */
export function seedCodeCheck(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i++) sum += (i + 1) * SEED_CODE_ALPHABET.indexOf(body.charAt(i));
  // 8·4 = 32 ≡ 1 (mod 31): 4 is the inverse of the check weight 8.
  const check = (((-sum * 4) % BASE) + BASE) % BASE;
  return SEED_CODE_ALPHABET.charAt(check);
}

export function issueSeedCode(random: SeedRandom): string {
  let body = '';
  for (let i = 0; i < SEED_CODE_BODY_LENGTH; i++) body += SEED_CODE_ALPHABET.charAt(random.int(0, BASE - 1));
  return body + seedCodeCheck(body);
}

export function isValidSeedCode(code: string): boolean {
  const body = code.slice(0, -1);
  return (
    code.length === SEED_CODE_BODY_LENGTH + 1 &&
    [...body].every((ch) => SEED_CODE_ALPHABET.includes(ch)) &&
    seedCodeCheck(body) === code.slice(-1)
  );
}

/** One body character replaced by a different one (a typo the check character catches). */
export function withOneTypo(code: string, random: SeedRandom): string {
  const at = random.int(0, SEED_CODE_BODY_LENGTH - 1);
  const current = code.charAt(at);
  let replacement = current;
  while (replacement === current) replacement = SEED_CODE_ALPHABET.charAt(random.int(0, BASE - 1));
  return code.slice(0, at) + replacement + code.slice(at + 1);
}

/** Two adjacent, different characters swapped; `undefined` if the code has no such pair. */
export function withAdjacentSwap(code: string, random: SeedRandom): string | undefined {
  const start = random.int(0, code.length - 2);
  for (let k = 0; k < code.length - 1; k++) {
    const at = (start + k) % (code.length - 1);
    const a = code.charAt(at);
    const b = code.charAt(at + 1);
    if (a !== b) return code.slice(0, at) + b + a + code.slice(at + 2);
  }
  return undefined;
}

/** How people really type a code into a form: lower case, spaces, a dash in the middle. */
export function asTyped(code: string, random: SeedRandom): string {
  const r = random.float();
  if (r < 0.55) return code;
  if (r < 0.8) return code.toLowerCase();
  if (r < 0.9) return ` ${code} `;
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}
