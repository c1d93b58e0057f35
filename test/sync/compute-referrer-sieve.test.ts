/**
 * The streaming compute's referrer pass decodes only the people the engine's sieve accepts: on a
 * real-Redis cache, with every object streamed (no memo), it feeds a small share of the account to
 * `indexReferrers` and still plans exactly what the whole engine plans — including referrers found
 * by an email with escapes, by an email beside a nested `"email"` key, and with converted
 * Salesforce leads in front of their contacts.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { hubspotDefinition } from '../../connectors/hubspot/index.js';
import { salesforceDefinition } from '../../connectors/salesforce/index.js';
import { DEFAULT_RULES, EngineRun, generateAccount, runEngine } from '../../src/engine/index.js';
import type { Person, RecordPlan } from '../../src/engine/index.js';
import { MemorySnapshotCache, RedisSnapshotCache, encodeSnapshot } from '../../src/store/snapshot-cache.js';
import { MemoryStore, generateKeyRing } from '../../src/store/index.js';
import { codeStream, computePlan } from '../../src/sync/compute.js';
import type { ComputeDeps, PlannedWrite, SyncPlan } from '../../src/sync/compute.js';
import { loadMapping } from '../../src/sync/mapping.js';
import { cacheAccount, cachedAccount } from './helpers.js';
import { REDIS_URL, deletePrefix, randomPrefix } from '../store/helpers.js';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const DAY = 86_400_000;
const SECRET = Buffer.alloc(32, 9);
const redis = new Redis(REDIS_URL);
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await deletePrefix(redis, p);
  redis.disconnect();
});
afterEach(() => vi.restoreAllMocks());

/** The ids of the people fed to `indexReferrers` while `fn` runs. */
async function fedToReferrerPass<T>(fn: () => Promise<T>): Promise<{ result: T; fed: string[] }> {
  const fed: string[] = [];
  const original = EngineRun.prototype.indexReferrers;
  vi.spyOn(EngineRun.prototype, 'indexReferrers').mockImplementation(function (
    this: EngineRun,
    people: Iterable<Person>,
  ) {
    const list = [...people];
    for (const p of list) fed.push(p.id);
    original.call(this, list);
  });
  const result = await fn();
  vi.restoreAllMocks();
  return { result, fed };
}

const changesOf = (plan: SyncPlan, streamed: PlannedWrite[]): Map<string, RecordPlan['changes']> =>
  new Map([...streamed, ...plan.heldWrites].map((w) => [w.plan.id, w.plan.changes]));

/** People the referrer pass must find in unusual JSON, and one it must not take for a referrer. */
function trickyPeople(): Person[] {
  const at = new Date(NOW.getTime() - 5 * DAY);
  const base = { kind: 'contact' as const, createdAt: at };
  return [
    // Referrer whose email needs escapes in JSON (the capture writes it differently cased and
    // spaced), with an admin-mapped `email` among its owned values BEFORE its own email.
    {
      ...base,
      current: { email: 'q-crm@x.test' },
      id: 'zq-r1',
      email: 'Quo"te\\Back@x.test',
      firstName: 'Quin',
      isCustomer: true,
    },
    {
      ...base,
      current: {},
      id: 'zq-n1',
      email: 'n1@x.test',
      capture: { referrerEmail: ' quo"te\\back@X.TEST ', capturedAt: at },
    },
    // Referrer with an `email` among its owned values AFTER its own (read by a full decode).
    { ...base, id: 'zq-r2', email: 'r2@x.test', isCustomer: true, current: { email: 'r2-crm@x.test' } },
    {
      ...base,
      current: {},
      id: 'zq-n2',
      email: 'n2@x.test',
      capture: { referrerEmail: 'R2@x.test', capturedAt: at },
    },
    // An earlier attribution names a referrer by id only (no code, no wanted email).
    { ...base, current: {}, id: 'zq-r3', email: 'r3@x.test', firstName: 'Rae', lastName: 'Now' },
    {
      ...base,
      current: { referred_by_contact_id: 'zq-r3', referred_by_name: 'Rae Before' },
      id: 'zq-n3',
      email: 'n3@x.test',
    },
    // Not a referrer: only a nested value is a wanted email.
    { ...base, current: { email: 'r2@x.test' }, id: 'zq-d', email: 'd@x.test', isCustomer: true },
  ];
}

describe('computePlan referrer pass (streamed objects)', () => {
  it('feeds only the people the sieve accepts and plans exactly what the whole engine plans', async () => {
    const prefix = randomPrefix();
    prefixes.push(prefix);
    const snapshots = new RedisSnapshotCache(redis, prefix);
    const store = new MemoryStore({ keyRing: generateKeyRing().ring });
    const tenantId = 'sieve';
    const generated = generateAccount({ seed: 11, people: 8000, deals: 2000, referrals: 600, now: NOW });
    const account = { ...generated, people: [...generated.people, ...trickyPeople()] };
    await cacheAccount(snapshots, tenantId, account, 'in-records');
    await store.setFlag(tenantId, 'code-secret', SECRET.toString('base64'), DAY);
    const mapping = loadMapping('hubspot');
    const deps: ComputeDeps = {
      tenantId,
      store,
      snapshots,
      mapping,
      rules: DEFAULT_RULES,
      definition: hubspotDefinition({ clientId: 'c', clientSecret: 's' }),
    };

    const streamed: PlannedWrite[] = [];
    const { result: plan, fed } = await fedToReferrerPass(() =>
      computePlan(deps, NOW, { memoMaxRecords: 0, onWrites: async (w) => void streamed.push(...w) }),
    );
    const cached = await cachedAccount(snapshots, tenantId);
    const people = cached.people;
    const { result: whole, fed: wholeFed } = await fedToReferrerPass(async () =>
      runEngine(cached, {
        now: NOW,
        rules: DEFAULT_RULES,
        random: codeStream(SECRET, 0).random,
        linkTemplate: mapping.referralLinkTemplate,
        keepUnchanged: false,
      }),
    );

    // The whole engine sees everyone; the streamed pass a small share, in scan order.
    expect(wholeFed).toEqual(people.map((p) => p.id));
    expect(fed.length).toBeGreaterThan(0);
    expect(fed.length).toBeLessThan(people.length * 0.1);
    const order = new Map(people.map((p, i) => [p.id, i]));
    expect(fed.every((id, i) => i === 0 || order.get(fed[i - 1]!)! < order.get(id)!)).toBe(true);
    expect(fed).toEqual(expect.arrayContaining(['zq-r1', 'zq-r2', 'zq-r3']));
    expect(fed).not.toContain('zq-d');

    // Exactly the same plan, tasks, decisions, counts and report.
    expect(changesOf(plan, streamed)).toEqual(
      new Map(
        [...whole.personPlans, ...whole.dealPlans, ...whole.companyPlans].map((p) => [p.id, p.changes]),
      ),
    );
    expect(plan.tasks.map((t) => t.key)).toEqual(whole.tasks.map((t) => t.key));
    expect(plan.engine.decisions).toEqual(whole.decisions);
    expect(plan.engine.counts).toEqual(whole.counts);
    expect(plan.engine.report).toEqual(whole.report);
    // The unusual referrers were found (by email).
    const referrerOf = (id: string) => whole.decisions.find((d) => d.referredId === id)?.referrer?.id;
    expect(referrerOf('zq-n1')).toBe('zq-r1');
    expect(referrerOf('zq-n2')).toBe('zq-r2');
    expect(changesOf(plan, streamed).get('zq-n3')?.referred_by_name).toBe('Rae Now');
  }, 120_000);

  it('drops converted leads in the streamed pass as in the kept one (Salesforce)', async () => {
    const mapping = loadMapping('salesforce');
    const tenantId = 'sf';
    const base = { current: {}, createdAt: new Date('2026-05-01T00:00:00.000Z') };
    const capturedAt = new Date('2026-05-20T00:00:00.000Z');
    const people = {
      Contact: [
        {
          ...base,
          id: '003R',
          kind: 'contact',
          email: 'ada@customer.test',
          firstName: 'Ada',
          isCustomer: true,
        },
        { ...base, id: '003A', kind: 'contact', email: 'new@prospect.test', firstName: 'Bo' },
      ],
      Lead: [
        // Converted, so no longer a person: its email is the wanted one, yet it must not be the referrer.
        {
          ...base,
          id: '00QR',
          kind: 'lead',
          email: 'ada@customer.test',
          isCustomer: true,
          convertedToId: '003R',
        },
        {
          ...base,
          id: '00QZ',
          kind: 'lead',
          email: 'new@prospect.test',
          convertedToId: '003A',
          capture: { referrerEmail: 'ada@customer.test', capturedAt },
        },
      ],
    };
    const plans: { changes: Map<string, RecordPlan['changes']>; fed: string[]; plan: SyncPlan }[] = [];
    for (const memoMaxRecords of [20_000, 0]) {
      const snapshots = new MemorySnapshotCache();
      for (const [object, list] of Object.entries(people))
        await snapshots.put(
          tenantId,
          object,
          list.map((r) => ({ id: r.id, json: encodeSnapshot(r) })),
        );
      const store = new MemoryStore({ keyRing: generateKeyRing().ring });
      await store.setFlag(tenantId, 'code-secret', SECRET.toString('base64'), DAY);
      const writes: PlannedWrite[] = [];
      const { result: plan, fed } = await fedToReferrerPass(() =>
        computePlan(
          {
            tenantId,
            store,
            snapshots,
            mapping,
            rules: DEFAULT_RULES,
            definition: salesforceDefinition({ clientId: 'c', clientSecret: 's' }),
          },
          NOW,
          { memoMaxRecords, onWrites: async (w) => void writes.push(...w) },
        ),
      );
      plans.push({ changes: changesOf(plan, writes), fed, plan });
    }
    const [kept, streamedRun] = plans;
    expect(kept!.fed).toEqual(['003R', '003A']);
    expect(streamedRun!.fed).toEqual(['003R']);
    expect(streamedRun!.changes).toEqual(kept!.changes);
    expect(streamedRun!.plan.engine.decisions).toEqual(kept!.plan.engine.decisions);
    expect(streamedRun!.changes.get('003A')?.referred_by_contact_id).toBe('003R');
  });
});
