/**
 * `EngineRun.referrerSieve`: feeding the referrer pass only the people the sieve accepts (by id and
 * email) gives exactly the result of feeding everyone — with name keys wanted (every code holder
 * kept) and without (only the holders of wanted codes) — and the sieve accepts a small share.
 */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/engine/codes.js';
import { generateAccount } from '../../src/engine/generate.js';
import type { GeneratedAccount } from '../../src/engine/generate.js';
import type { Person } from '../../src/engine/model.js';
import { ERR_ENGINE_PHASE_ORDER, EngineRun, runEngine } from '../../src/engine/run.js';
import type { EngineOptions, EngineResult } from '../../src/engine/run.js';
import { NOW } from './helpers.js';

const LINK = 'https://acme.test/r/{code}';
const options = (): EngineOptions => ({ now: NOW, linkTemplate: LINK, random: seededRandom(5) });
const strip = (r: EngineResult) => ({ ...r, timingsMs: {} });

/** The run with the referrer pass fed only what the sieve accepts; `fed`: how many it was. */
function sieved(account: GeneratedAccount): { result: EngineResult; fed: number } {
  const run = new EngineRun(options());
  run.addCompanies(account.companies);
  run.addTickets(account.tickets);
  run.addClicks(account.clicks);
  run.indexPeople(account.people);
  let fed = 0;
  if (run.needsReferrerPass) {
    const sieve = run.referrerSieve();
    const needed = account.people.filter(
      (p) => sieve.needsId(p.id) || (p.email !== undefined && sieve.needsEmail(p.email)),
    );
    fed = needed.length;
    run.indexReferrers(needed);
  }
  run.attribute();
  run.planDeals(account.deals);
  run.rollup();
  run.planCompanies(account.companies);
  run.planPeople(account.people);
  return { result: run.finish(), fed };
}

/** The same account without free-text captures (no name keys wanted). */
function withoutNames(account: GeneratedAccount): GeneratedAccount {
  const people = account.people.map((p): Person => {
    if (p.capture?.howHeard === undefined) return p;
    const { howHeard: _h, ...capture } = p.capture;
    return { ...p, capture };
  });
  return { ...account, people };
}

describe('EngineRun.referrerSieve', () => {
  it.each([1, 2, 3])('gives exactly the result of the full referrer pass (seed %i)', (seed) => {
    const account = generateAccount({ seed, people: 3000, deals: 900, referrals: 400, now: NOW });
    for (const a of [account, withoutNames(account)]) {
      const whole = runEngine(a, options());
      expect(whole.decisions.some((d) => d.status === 'credited')).toBe(true);
      const { result, fed } = sieved(a);
      expect(fed).toBeGreaterThan(0);
      expect(fed).toBeLessThan(a.people.length * 0.15);
      expect(strip(result)).toEqual(strip(whole));
    }
  });

  it('keeps fewer people when no name keys are wanted (only the holders of wanted codes)', () => {
    const account = generateAccount({ seed: 4, people: 3000, deals: 900, referrals: 400, now: NOW });
    expect(sieved(withoutNames(account)).fed).toBeLessThan(sieved(account).fed);
  });

  it('exists only between the first people pass and attribution', () => {
    const account = generateAccount({ seed: 1, people: 50, deals: 10, referrals: 10, now: NOW });
    const run = new EngineRun(options());
    expect(() => run.referrerSieve()).toThrow(expect.objectContaining({ code: ERR_ENGINE_PHASE_ORDER }));
    run.indexPeople(account.people);
    const sieve = run.referrerSieve();
    expect(run.referrerSieve()).toBe(sieve);
    run.indexReferrers(account.people);
    expect(run.referrerSieve()).toBe(sieve);
    run.attribute();
    expect(() => run.referrerSieve()).toThrow(expect.objectContaining({ code: ERR_ENGINE_PHASE_ORDER }));
  });
});
