/**
 * Referral codes as an earlier run of referral-sync would have issued them, so a seeded account
 * already has `referral_code` values on some advocates and referred leads that typed them in. The
 * codes come from the engine's own issuer (`src/engine/codes.ts`: 9 random symbols + a mod-31
 * check symbol), fed by the seed's stream instead of crypto so the account is reproducible; the
 * engine therefore keeps them (`ensureCode`) and resolves them. The typo helpers produce exactly
 * the two mistakes its check symbol must catch: one wrong character, two adjacent ones swapped.
 */
import { CODE_ALPHABET, CodeIssuer, isValidCode, type RandomSource } from '../../engine/codes.js';
import type { SeedRandom } from './random.js';

export { CODE_ALPHABET as SEED_CODE_ALPHABET, CODE_LENGTH as SEED_CODE_LENGTH } from '../../engine/codes.js';

/** The engine's issuer drawing its bytes from the seed's stream (deterministic per seed). */
export function seedCodeIssuer(random: SeedRandom): CodeIssuer {
  const source: RandomSource = (bytes) => {
    for (let i = 0; i < bytes.length; i++) bytes[i] = random.int(0, 255);
  };
  return new CodeIssuer(source);
}

export function isValidSeedCode(code: string): boolean {
  return isValidCode(code);
}

/** One character replaced by a different one of the alphabet (a typo the check symbol catches). */
export function withOneTypo(code: string, random: SeedRandom): string {
  const at = random.int(0, code.length - 1);
  const current = code.charAt(at);
  let replacement = current;
  while (replacement === current) replacement = CODE_ALPHABET.charAt(random.int(0, CODE_ALPHABET.length - 1));
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
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}
