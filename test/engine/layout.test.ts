/**
 * The engine reads person records two ways (readiness `Inputs.load`, report `countPresent`): plain
 * property reads for records that carry every input key (the generator's one-literal layout), a
 * walk over the keys for sparse mapped records. Both must give the same evaluation and report.
 */
import { describe, expect, it } from 'vitest';
import { generateAccount } from '../../src/engine/generate.js';
import type { Person } from '../../src/engine/model.js';
import { evaluatePerson } from '../../src/engine/readiness.js';
import { ReportAccumulator } from '../../src/engine/report.js';
import { DEFAULT_RULES } from '../../src/engine/rules.js';
import { accountStats } from '../../src/engine/stats.js';
import { stableBelow, stableUnit } from '../../src/engine/util.js';
import { NOW } from './helpers.js';

/** The record as a mapper builds it: only the keys that hold a value, added one by one. */
function sparse(p: Person): Person {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined) continue;
    if (k === 'capture') {
      const c: Record<string, unknown> = {};
      for (const [ck, cv] of Object.entries(v as object)) if (cv !== undefined) c[ck] = cv;
      out[k] = c;
    } else out[k] = v;
  }
  return out as Person;
}

describe('full-layout and sparse person records', () => {
  const account = generateAccount({ seed: 11, people: 3000, deals: 500, referrals: 300, now: NOW });
  const full = account.people;
  const thin = full.map(sparse);
  const stats = accountStats(full, DEFAULT_RULES);

  it('are told apart by the `asks` key, as the readers expect', () => {
    expect(full.every((p) => 'asks' in p)).toBe(true);
    expect(thin.filter((p) => 'asks' in p).length).toBeLessThan(full.length / 2);
  });

  it('evaluate the same', () => {
    for (let i = 0; i < full.length; i++) {
      const ctx = { now: NOW, rules: DEFAULT_RULES, stats };
      expect(evaluatePerson(thin[i]!, ctx)).toEqual(evaluatePerson(full[i]!, ctx));
    }
  });

  it('report the same data quality and figures', () => {
    const a = new ReportAccumulator();
    const b = new ReportAccumulator();
    for (let i = 0; i < full.length; i++) {
      const e = evaluatePerson(full[i]!, { now: NOW, rules: DEFAULT_RULES, stats });
      a.addPerson(full[i]!, e, false);
      b.addPerson(thin[i]!, e, false);
    }
    const ra = a.finish();
    expect(b.finish()).toEqual(ra);
    // The generator leaves inputs missing: the table is not trivially all-zero.
    expect(ra.dataQuality.some((q) => q.missing > 0 && q.missing < full.length)).toBe(true);
  });
});

describe('stableBelow', () => {
  it('is stableUnit(salt, id) < share', () => {
    for (let i = 0; i < 5000; i++) {
      const salt = ['', 'ab', 'pilot-x', 'é漢'][i % 4]!;
      const id = `p${i}`;
      const share = (i % 101) / 100;
      expect(stableBelow(salt, id, share)).toBe(stableUnit(salt, id) < share);
    }
  });
});
