import { describe, expect, it } from 'vitest';
import { codeProblem, normalizeCode, typoCandidates } from '../../../src/engine/codes.js';
import {
  asTyped,
  isValidSeedCode,
  SEED_CODE_LENGTH,
  seedCodeIssuer,
  withAdjacentSwap,
  withOneTypo,
} from '../../../src/sandbox/seed/codes.js';
import { SeedRandom } from '../../../src/sandbox/seed/random.js';

function draws(seed: number, n: number): string[] {
  const issuer = seedCodeIssuer(new SeedRandom(seed));
  return Array.from({ length: n }, () => issuer.draw());
}

describe('seed referral codes (the engine scheme, seeded)', () => {
  it('issues codes the engine accepts, reproducibly per seed', () => {
    const codes = draws(9, 500);
    for (const code of codes) {
      expect(code).toHaveLength(SEED_CODE_LENGTH);
      expect(isValidSeedCode(code)).toBe(true);
      expect(codeProblem(normalizeCode(code))).toBeNull();
    }
    expect(new Set(codes).size).toBe(codes.length);
    expect(draws(9, 500)).toEqual(codes);
    expect(draws(10, 500)).not.toEqual(codes);
  });

  it('makes typos and adjacent swaps the engine rejects and can trace back to the code', () => {
    const random = new SeedRandom(1);
    let swaps = 0;
    for (const code of draws(3, 300)) {
      const typo = withOneTypo(code, random);
      expect(typo).not.toBe(code);
      expect(isValidSeedCode(typo)).toBe(false);
      expect(typoCandidates(typo)).toContain(code);
      const swap = withAdjacentSwap(code, random);
      if (swap === undefined) continue;
      swaps++;
      expect(isValidSeedCode(swap)).toBe(false);
      expect(typoCandidates(swap)).toContain(code);
    }
    expect(swaps).toBeGreaterThan(250);
    expect(withAdjacentSwap('AAAAAAAAAA', random)).toBeUndefined();
  });

  it('types codes the way people do, which the engine normalises back to the code', () => {
    const random = new SeedRandom(2);
    const [code = ''] = draws(4, 1);
    const typed = new Set(Array.from({ length: 100 }, () => asTyped(code, random)));
    expect(typed.size).toBeGreaterThan(2);
    for (const t of typed) expect(normalizeCode(t)).toBe(code);
  });
});
