import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodeIssuer, isValidCode, seededRandom } from '../../src/engine/codes.js';
import { generateAccount } from '../../src/engine/generate.js';
import type { GeneratedAccount } from '../../src/engine/generate.js';
import type { CurrentValues, Person } from '../../src/engine/model.js';
import { applyChanges } from '../../src/engine/plan.js';
import type { RecordPlan } from '../../src/engine/plan.js';
import { evaluatePerson } from '../../src/engine/readiness.js';
import { DEFAULT_RULES, parseRules } from '../../src/engine/rules.js';
import type { Rules } from '../../src/engine/rules.js';
import { runEngine } from '../../src/engine/run.js';
import type { EngineResult } from '../../src/engine/run.js';
import { accountStats } from '../../src/engine/stats.js';
import { NOW, ago, person } from './helpers.js';

const LINK = 'https://acme.test/r/{code}';

function run(account: GeneratedAccount, seed = 5, rules: Rules = DEFAULT_RULES, now = NOW): EngineResult {
  return runEngine(account, { now, rules, linkTemplate: LINK, random: seededRandom(seed) });
}

/** The account with every planned change written to the CRM and every ask task recorded as an ask. */
function applied(account: GeneratedAccount, result: EngineResult): GeneratedAccount {
  const byId = (plans: RecordPlan[]) => new Map(plans.map((p) => [p.id, p.changes]));
  const asked = new Set(result.tasks.filter((t) => t.kind === 'ask').map((t) => t.personId));
  const people = byId(result.personPlans);
  const deals = byId(result.dealPlans);
  const companies = byId(result.companyPlans);
  const write = <T extends { id: string; current: CurrentValues }>(
    r: T,
    m: Map<string, CurrentValues>,
  ): T => ({
    ...r,
    current: applyChanges(r.current, m.get(r.id) ?? {}),
  });
  return {
    ...account,
    people: account.people.map((p) => {
      const written = write(p, people);
      return asked.has(p.id) ? { ...written, asks: [...(p.asks ?? []), new Date(NOW)] } : written;
    }),
    deals: account.deals.map((d) => write(d, deals)),
    companies: account.companies.map((c) => write(c, companies)),
  };
}

const strip = (r: EngineResult) => ({ ...r, timingsMs: {} });
const small = (seed: number) => generateAccount({ seed, people: 1500, deals: 400, referrals: 200, now: NOW });

describe('runEngine', () => {
  it('is deterministic for the same data, now, rules and random source', () => {
    const account = small(1);
    expect(strip(run(account))).toEqual(strip(run(account)));
  });

  it('property: applying the plan (fields written, asks recorded) yields a second run with no changes and the same task keys', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), (seed) => {
        const account = generateAccount({ seed, people: 400, deals: 120, referrals: 60, now: NOW });
        const first = run(account, seed);
        expect(first.counts.changed.person).toBeGreaterThan(0);
        // Same day: the owners' ask budgets are spent, the asks are on record.
        const spent = Object.fromEntries(['', ...account.owners.map((o) => o.id)].map((id) => [id, 0]));
        const second = runEngine(applied(account, first), {
          now: NOW,
          linkTemplate: LINK,
          random: seededRandom(seed + 1),
          ownerBudgets: spent,
        });
        const changed = [...second.personPlans, ...second.dealPlans, ...second.companyPlans].filter(
          (p) => Object.keys(p.changes).length > 0,
        );
        expect(changed.map((p) => ({ id: p.id, changes: p.changes }))).toEqual([]);
        // Review suggestions come from the people holding codes, and run 1 issued new codes: a
        // free-text name may only find its referrer in run 2 (a new review, never a lost one).
        const keys = (r: EngineResult) =>
          r.tasks.filter((t) => t.kind !== 'ask' && t.kind !== 'review').map((t) => t.key);
        expect(keys(second)).toEqual(keys(first));
        const reviews = new Set(second.tasks.filter((t) => t.kind === 'review').map((t) => t.key));
        for (const t of first.tasks) if (t.kind === 'review') expect(reviews.has(t.key)).toBe(true);
        expect(second.tasks.filter((t) => t.kind === 'ask')).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });

  it('task keys are unique within a run', () => {
    const r = run(small(2));
    const keys = r.tasks.map((t) => t.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(r.tasks.map((t) => t.kind))).toEqual(
      new Set(['ask', 'follow_up', 'thank', 'review', 'reward']),
    );
  });

  it('caps new ask tasks per owner per day and honours remaining budgets', () => {
    const account = small(3);
    const rules = parseRules({ asks: { perOwnerDailyCap: 2 } });
    const r = run(account, 1, rules);
    const perOwner = new Map<string, number>();
    for (const t of r.tasks)
      if (t.kind === 'ask') perOwner.set(t.ownerId ?? '', (perOwner.get(t.ownerId ?? '') ?? 0) + 1);
    expect(Math.max(...perOwner.values())).toBeLessThanOrEqual(2);
    expect(r.counts.asksDeferred).toBeGreaterThan(0);
    const budgets = Object.fromEntries(account.owners.map((o) => [o.id, 0]));
    const none = runEngine(account, {
      now: NOW,
      rules,
      linkTemplate: LINK,
      random: seededRandom(1),
      ownerBudgets: budgets,
    });
    expect(none.tasks.filter((t) => t.kind === 'ask' && t.ownerId !== undefined)).toEqual([]);
  });

  it('issues valid unique codes to advocates, keeps stored ones, replaces duplicates', () => {
    const issuer = new CodeIssuer(seededRandom(99));
    const shared = issuer.draw();
    const a = person({
      id: 'a',
      nps: 10,
      lastPurchaseAt: ago(2),
      current: { referral_code: shared.toLowerCase() },
    });
    const b = person({ id: 'b', nps: 10, lastPurchaseAt: ago(2), current: { referral_code: shared } });
    const c = person({ id: 'c', nps: 10, lastPurchaseAt: ago(2) });
    const d = person({ id: 'd', kind: 'lead', isCustomer: undefined });
    const r = runEngine(
      { people: [a, b, c, d], companies: [], deals: [], tickets: [], owners: [] },
      { now: NOW, linkTemplate: LINK, random: seededRandom(1) },
    );
    const code = (id: string) => r.personPlans.find((p) => p.id === id)!.desired.referral_code;
    expect(code('a')).toBe(shared);
    expect(code('b')).not.toBe(shared);
    expect(isValidCode(code('b') as string)).toBe(true);
    expect(isValidCode(code('c') as string)).toBe(true);
    expect(code('d')).toBeUndefined();
    expect(r.personPlans.find((p) => p.id === 'a')!.changes.referral_code).toBe(shared);
    expect(r.personPlans.find((p) => p.id === 'c')!.desired.referral_link).toBe(
      `https://acme.test/r/${code('c')}`,
    );
  });

  it('credits referrers end to end: counts, revenue, tier, deal fields, partner roll-ups', () => {
    const r = run(small(4));
    const credited = r.decisions.filter((d) => d.status === 'credited');
    expect(credited.length).toBeGreaterThan(50);
    const referrerPlans = r.personPlans.filter((p) => typeof p.desired.referral_count === 'number');
    const totalCount = referrerPlans.reduce((s, p) => s + (p.desired.referral_count as number), 0);
    expect(totalCount).toBe(new Set(credited.map((d) => d.referredId)).size);
    expect(r.report.referrals).toBe(totalCount);
    const revenue = referrerPlans.reduce(
      (s, p) => s + ((p.desired.referral_revenue as number | null) ?? 0),
      0,
    );
    expect(Math.round(revenue)).toBe(Math.round(r.report.referredRevenue));
    const attributedDeals = r.dealPlans.filter((p) => p.desired.referral_attributed === true);
    expect(attributedDeals.length).toBeGreaterThan(0);
    for (const p of attributedDeals)
      expect(['customer', 'partner', 'employee']).toContain(p.desired.referral_source_type);
    for (const d of credited) {
      const referred = r.personPlans.find((p) => p.id === d.referredId)!;
      expect(referred.desired.referred_by_contact_id).toBe(d.referrer!.id);
    }
  });

  it('nextEvaluationAt is the earliest next change of anyone, and nothing changes before it', () => {
    const account = small(5);
    const r = run(account);
    const stats = accountStats(account.people, DEFAULT_RULES);
    let min = Infinity;
    for (const p of account.people) {
      const e = evaluatePerson(p, { now: NOW, rules: DEFAULT_RULES, stats, tickets: [] });
      if (e.nextChangeAt !== null) min = Math.min(min, e.nextChangeAt);
    }
    expect(r.nextEvaluationAt).not.toBeNull();
    expect(r.nextEvaluationAt!.getTime()).toBeLessThanOrEqual(min);
    expect(r.nextEvaluationAt!.getTime()).toBeGreaterThan(NOW);
  });

  it('reports figures consistent with the decisions and the data-quality table', () => {
    const account = small(6);
    const r = run(account);
    const rep = r.report;
    expect(rep.people).toBe(account.people.length);
    expect(rep.reviews).toBe(r.decisions.filter((d) => d.status === 'review').length);
    expect(rep.rejected).toBe(r.decisions.filter((d) => d.status === 'rejected').length);
    const missingEmail = account.people.filter((p: Person) => p.email === undefined).length;
    expect(rep.dataQuality.find((q) => q.input === 'email')).toEqual({
      input: 'email',
      missing: missingEmail,
      share: Math.round((missingEmail / account.people.length) * 10000) / 10000,
    });
    const missingCode = account.people.filter((p) => p.capture?.codeUsed === undefined).length;
    expect(rep.dataQuality.find((q) => q.input === 'capture.codeUsed')?.missing).toBe(missingCode);
    expect(rep.conversionRate).toBe(Math.round((rep.converted / rep.referrals) * 10000) / 10000);
    expect(rep.rewardCost).toBeGreaterThan(0);
    expect(rep.roi).toBe(Math.round(((rep.referredRevenue - rep.rewardCost) / rep.rewardCost) * 100) / 100);
    expect(Object.keys(rep.perVariant).sort()).toEqual(['A', 'B']);
    expect(rep.topReferrers.length).toBeGreaterThan(0);
    expect(rep.asksScheduled).toBe(r.tasks.filter((t) => t.kind === 'ask').length);
  });

  it('accepts hand-built records without current values', () => {
    const bare = {
      id: 'h1',
      kind: 'contact',
      isCustomer: true,
      nps: 10,
      lastPurchaseAt: ago(1),
    } as unknown as Person;
    const deal = { id: 'hd', personIds: ['h1'], isWon: true } as unknown as GeneratedAccount['deals'][number];
    const r = runEngine(
      { people: [bare], companies: [], deals: [deal], tickets: [], owners: [] },
      { now: NOW, linkTemplate: LINK, random: seededRandom(2) },
    );
    // Ready, so asked at once: the plan is the post-ask state (cool-down started).
    expect(r.tasks.map((t) => t.kind)).toEqual(['ask']);
    expect(r.personPlans[0]?.changes.referral_last_asked_at).toEqual(new Date(NOW));
    expect(isValidCode(r.personPlans[0]?.changes.referral_code as string)).toBe(true);
    expect(r.dealPlans[0]?.changes).toEqual({});
  });

  it('streams plans to onPlan without retaining them', () => {
    const account = small(7);
    const seen: string[] = [];
    const r = runEngine(account, {
      now: NOW,
      linkTemplate: LINK,
      random: seededRandom(1),
      onPlan: (kind, plan) => seen.push(`${kind}:${plan.id}`),
    });
    expect(r.personPlans).toEqual([]);
    expect(seen.length).toBe(account.people.length + account.deals.length + account.companies.length);
    const retained = run(account, 1);
    expect(retained.personPlans.length).toBe(account.people.length);
  });
});
