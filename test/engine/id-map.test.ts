import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FilteredIdMap, FilteredIdSet } from '../../src/engine/id-map.js';

describe('FilteredIdMap', () => {
  it('finds every key it holds (the pre-filter has no false negatives)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 0, maxLength: 24 }), { maxLength: 300 }), (keys) => {
        const map = new Map(keys.map((k, i) => [k, i]));
        const ids = new FilteredIdMap(map);
        expect(ids.size).toBe(keys.length);
        for (const [k, i] of map) {
          expect(ids.mayHave(k)).toBe(true);
          expect(ids.get(k)).toBe(i);
        }
      }),
    );
  });

  it('answers undefined for ids it does not hold, and lets few of them through to the map', () => {
    const held = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) held.set(`hs-${1_000_000 + i * 7}`, i);
    const ids = new FilteredIdMap(held);
    let passed = 0;
    const probes = 100_000;
    for (let i = 0; i < probes; i++) {
      const id = `hs-${1_000_000 + i * 7 + 3}`; // never held (7 ∤ 3)
      if (ids.mayHave(id)) passed++;
      expect(ids.get(id)).toBeUndefined();
    }
    // Two probes at ≥ 16 bits per key: about 1.4 % false positives in theory; 3 % is the alarm.
    expect(passed / probes).toBeLessThan(0.03);
  });

  it('an empty map holds nothing', () => {
    const ids = new FilteredIdMap(new Map<string, number>());
    expect(ids.get('')).toBeUndefined();
    expect(ids.get('x')).toBeUndefined();
  });

  it('a filtered set has exactly the ids of its set', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ maxLength: 20 }), { maxLength: 200 }),
        fc.array(fc.string({ maxLength: 20 }), { maxLength: 200 }),
        (held, probes) => {
          const set = new Set(held);
          const ids = new FilteredIdSet(set);
          for (const id of [...held, ...probes]) expect(ids.has(id)).toBe(set.has(id));
        },
      ),
    );
  });
});
