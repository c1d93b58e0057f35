import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  asTyped,
  isValidSeedCode,
  issueSeedCode,
  SEED_CODE_ALPHABET,
  SEED_CODE_BODY_LENGTH,
  seedCodeCheck,
  withAdjacentSwap,
  withOneTypo,
} from '../../../src/sandbox/seed/codes.js';
import { SeedRandom } from '../../../src/sandbox/seed/random.js';

const body = fc
  .array(fc.constantFrom(...SEED_CODE_ALPHABET), {
    minLength: SEED_CODE_BODY_LENGTH,
    maxLength: SEED_CODE_BODY_LENGTH,
  })
  .map((chars) => chars.join(''));

describe('seed referral codes', () => {
  it('issues valid 8-character codes from the unambiguous alphabet', () => {
    const random = new SeedRandom(9);
    for (let i = 0; i < 200; i++) {
      const code = issueSeedCode(random);
      expect(code).toMatch(/^[2-9A-HJ-NP-TV-Z]{8}$/);
      expect(isValidSeedCode(code)).toBe(true);
    }
  });

  it('catches every single-character substitution (check character included)', () => {
    fc.assert(
      fc.property(
        body,
        fc.nat(SEED_CODE_BODY_LENGTH),
        fc.constantFrom(...SEED_CODE_ALPHABET),
        (b, at, ch) => {
          const code = b + seedCodeCheck(b);
          fc.pre(code[at] !== ch);
          expect(isValidSeedCode(code.slice(0, at) + ch + code.slice(at + 1))).toBe(false);
        },
      ),
    );
  });

  it('catches every adjacent swap of different characters (check character included)', () => {
    fc.assert(
      fc.property(body, fc.nat(SEED_CODE_BODY_LENGTH - 1), (b, at) => {
        const code = b + seedCodeCheck(b);
        fc.pre(code[at] !== code[at + 1]);
        const swapped = code.slice(0, at) + (code[at + 1] ?? '') + (code[at] ?? '') + code.slice(at + 2);
        expect(isValidSeedCode(swapped)).toBe(false);
      }),
    );
  });

  it('makes typos and swaps that differ from the code and fail validation', () => {
    const random = new SeedRandom(1);
    for (let i = 0; i < 200; i++) {
      const code = issueSeedCode(random);
      const typo = withOneTypo(code, random);
      expect(typo).not.toBe(code);
      expect(isValidSeedCode(typo)).toBe(false);
      const swap = withAdjacentSwap(code, random);
      if (swap !== undefined) expect(isValidSeedCode(swap)).toBe(false);
    }
    expect(withAdjacentSwap('AAAAAAAA', random)).toBeUndefined();
  });

  it('types codes the way people do without changing them beyond case, spaces and a dash', () => {
    const random = new SeedRandom(2);
    const code = issueSeedCode(random);
    const typed = new Set(Array.from({ length: 100 }, () => asTyped(code, random)));
    expect(typed.size).toBeGreaterThan(2);
    for (const t of typed) expect(t.trim().toUpperCase().replace('-', '')).toBe(code);
  });
});
