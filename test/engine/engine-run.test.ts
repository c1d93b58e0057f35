import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/engine/codes.js';
import { generateAccount } from '../../src/engine/generate.js';
import type { RecordPlan } from '../../src/engine/plan.js';
import { ERR_ENGINE_PHASE_ORDER, EngineRun, runEngine } from '../../src/engine/run.js';
import type { EngineOptions, EngineResult, PlanKind } from '../../src/engine/run.js';
import { NOW } from './helpers.js';

const LINK = 'https://acme.test/r/{code}';
const account = generateAccount({ seed: 3, people: 3000, deals: 900, referrals: 400, now: NOW });

function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/** The account fed the way the streaming pipeline feeds it: page by page, one pass per phase. */
function streamed(size: number, options: EngineOptions): EngineResult {
  const run = new EngineRun(options);
  for (const c of chunks(account.companies, size)) run.addCompanies(c);
  for (const c of chunks(account.tickets, size)) run.addTickets(c);
  run.addClicks(account.clicks);
  for (const c of chunks(account.people, size)) run.indexPeople(c);
  if (run.needsReferrerPass) for (const c of chunks(account.people, size)) run.indexReferrers(c);
  run.attribute();
  for (const c of chunks(account.deals, size)) run.planDeals(c);
  run.rollup();
  for (const c of chunks(account.companies, size)) run.planCompanies(c);
  for (const c of chunks(account.people, size)) run.planPeople(c);
  return run.finish();
}

const strip = (r: EngineResult) => ({ ...r, timingsMs: {} });

describe('EngineRun (the engine fed in chunks)', () => {
  it.each([1, 7, 250, 5000])('gives exactly the result of runEngine when fed in chunks of %i', (size) => {
    const options = (): EngineOptions => ({ now: NOW, linkTemplate: LINK, random: seededRandom(9) });
    const whole = runEngine(account, options());
    expect(whole.counts.changed.person).toBeGreaterThan(0);
    expect(whole.decisions.some((d) => d.status === 'credited')).toBe(true);
    expect(strip(streamed(size, options()))).toEqual(strip(whole));
  });

  it('hands every plan to onPlan and retains none', () => {
    const seen: Record<PlanKind, RecordPlan[]> = { person: [], deal: [], company: [] };
    const result = streamed(100, {
      now: NOW,
      linkTemplate: LINK,
      random: seededRandom(9),
      onPlan: (kind, plan) => seen[kind].push(plan),
    });
    const whole = runEngine(account, { now: NOW, linkTemplate: LINK, random: seededRandom(9) });
    expect(result.personPlans).toEqual([]);
    expect(seen.person).toHaveLength(account.people.length);
    expect(new Map(seen.person.map((p) => [p.id, p]))).toEqual(
      new Map(whole.personPlans.map((p) => [p.id, p])),
    );
    expect(seen.deal).toEqual(whole.dealPlans);
  });

  it('rejects phases called out of order with ERR_ENGINE_PHASE_ORDER', () => {
    const options = { now: NOW, linkTemplate: LINK, random: seededRandom(1) };
    const early = new EngineRun(options);
    expect(() => early.planPeople(account.people)).toThrow(
      expect.objectContaining({ code: ERR_ENGINE_PHASE_ORDER }),
    );
    const late = new EngineRun(options);
    late.indexPeople(account.people.slice(0, 10));
    expect(() => late.addCompanies(account.companies)).toThrow(
      expect.objectContaining({ code: ERR_ENGINE_PHASE_ORDER }),
    );
    late.attribute();
    expect(() => late.indexReferrers(account.people)).toThrow(
      expect.objectContaining({ code: ERR_ENGINE_PHASE_ORDER }),
    );
  });

  it('finishes an empty account', () => {
    const run = new EngineRun({ now: NOW, linkTemplate: LINK });
    run.attribute();
    run.rollup();
    const r = run.finish();
    expect(r.counts.people).toBe(0);
    expect(r.nextEvaluationAt).toBeNull();
  });
});
