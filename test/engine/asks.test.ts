import { describe, expect, it } from 'vitest';
import { OwnerBudget, isAskCandidate, scheduleAsks } from '../../src/engine/asks.js';
import type { AskCandidate } from '../../src/engine/asks.js';
import { evaluatePerson } from '../../src/engine/readiness.js';
import { DEFAULT_RULES, parseRules } from '../../src/engine/rules.js';
import { NO_STATS, NOW, ago, person } from './helpers.js';

const cand = (personId: string, ownerId: string | undefined, score: number): AskCandidate => ({
  personId,
  ownerId,
  score,
  lastAskedAt: null,
});

describe('ask scheduling', () => {
  it('respects the per-owner daily cap, highest score first, then id', () => {
    const budget = new OwnerBudget(2);
    const s = scheduleAsks(
      [
        cand('b', 'o1', 80),
        cand('a', 'o1', 80),
        cand('c', 'o1', 95),
        cand('d', 'o2', 60),
        cand('e', 'o1', 70),
      ],
      budget,
    );
    expect(s.scheduled.map((c) => c.personId)).toEqual(['c', 'a', 'd']);
    expect(s.deferred.map((c) => c.personId)).toEqual(['b', 'e']);
    expect(budget.remaining('o1')).toBe(0);
    expect(budget.remaining('o2')).toBe(1);
    expect(budget.toJSON()).toEqual({ o1: 0, o2: 1 });
  });

  it('is deterministic whatever the input order', () => {
    const list = Array.from({ length: 50 }, (_, i) => cand(`p${i}`, `o${i % 3}`, (i * 37) % 100));
    const a = scheduleAsks(list, new OwnerBudget(5)).scheduled;
    const b = scheduleAsks([...list].reverse(), new OwnerBudget(5)).scheduled;
    expect(b).toEqual(a);
    expect(a).toHaveLength(15);
  });

  it('starts from the remaining budgets given, and people without owner share one budget', () => {
    const budget = OwnerBudget.fromRules(parseRules({ asks: { perOwnerDailyCap: 3 } }), { o1: 1 });
    const s = scheduleAsks(
      [cand('a', 'o1', 90), cand('b', 'o1', 80), cand('x', undefined, 70), cand('y', undefined, 60)],
      budget,
    );
    expect(s.scheduled.map((c) => c.personId)).toEqual(['a', 'x', 'y']);
    expect(budget.remaining(undefined)).toBe(1);
    expect(scheduleAsks([cand('z', 'o9', 1)], new OwnerBudget(0)).scheduled).toEqual([]);
  });

  it('only ready people in the pilot and past their cool-down are candidates', () => {
    const ready = { nps: 10, lastRenewalAt: ago(3) };
    const ctx = { now: NOW, rules: DEFAULT_RULES, stats: NO_STATS };
    expect(isAskCandidate(evaluatePerson(person(ready), ctx), NOW)).toBe(true);
    expect(isAskCandidate(evaluatePerson(person({ ...ready, asks: [ago(10)] }), ctx), NOW)).toBe(false);
    expect(isAskCandidate(evaluatePerson(person({ nps: 10 }), ctx), NOW)).toBe(false);
    const pilot = { ...ctx, rules: parseRules({ pilot: { mode: 'share', share: 0 } }) };
    expect(isAskCandidate(evaluatePerson(person(ready), pilot), NOW)).toBe(false);
  });
});
