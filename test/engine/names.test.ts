import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NameQuery, jaroWinkler, nameSimilarity, nameTokens } from '../../src/engine/names.js';

describe('fuzzy name scoring', () => {
  it('NameQuery scores exactly like nameSimilarity (the run scores candidates with it)', () => {
    const word = fc.stringMatching(/^[A-Za-zé]{1,9}$/);
    const text = fc.array(word, { minLength: 0, maxLength: 6 }).map((w) => w.join(' '));
    fc.assert(
      fc.property(text, text, (howHeard, name) => {
        const tokens = nameTokens(howHeard);
        const nt = nameTokens(name);
        expect(new NameQuery(tokens).similarity(nt.join(' '), nt.length)).toBe(nameSimilarity(tokens, name));
      }),
      { numRuns: 500 },
    );
  });

  it('Jaro-Winkler is unaffected by earlier comparisons and by names longer than its buffers', () => {
    const long = 'x'.repeat(200);
    const before = jaroWinkler('martha', 'marhta');
    expect(jaroWinkler(long, `${long}y`)).toBeGreaterThan(0.99);
    expect(jaroWinkler('dwayne', 'duane')).toBeCloseTo(0.84, 2);
    expect(jaroWinkler('martha', 'marhta')).toBe(before);
    expect(before).toBeCloseTo(0.961, 3);
  });
});
