/**
 * The streaming compute over a real-Redis snapshot cache: the same plan and tasks as the whole
 * engine over the same records (in the cache's scan order, with the same code stream), writes
 * leaving page by page while the compute goes on, and only ask candidates' writes held back.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { hubspotDefinition } from '../../connectors/hubspot/index.js';
import { salesforceDefinition } from '../../connectors/salesforce/index.js';
import { DEFAULT_RULES, generateAccount, runEngine } from '../../src/engine/index.js';
import type { RecordPlan } from '../../src/engine/index.js';
import { MemorySnapshotCache, RedisSnapshotCache, encodeSnapshot } from '../../src/store/snapshot-cache.js';
import { MemoryStore, generateKeyRing } from '../../src/store/index.js';
import { codeStream, computePlan } from '../../src/sync/compute.js';
import type { ComputeDeps, PlannedWrite } from '../../src/sync/compute.js';
import { loadMapping } from '../../src/sync/mapping.js';
import { cacheAccount, cachedAccount } from './helpers.js';
import { REDIS_URL, deletePrefix, randomPrefix, redisHarness } from '../store/helpers.js';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const SECRET = Buffer.alloc(32, 7);
const redis = new Redis(REDIS_URL);
const prefixes: string[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
  for (const p of prefixes) await deletePrefix(redis, p);
  redis.disconnect();
});

const plansById = (plans: { plan: RecordPlan }[]) => new Map(plans.map((w) => [w.plan.id, w.plan.changes]));

describe('computePlan (streaming)', () => {
  it('plans on Redis exactly what the whole engine plans, streaming writes page by page', async () => {
    const harness = redisHarness();
    cleanups.push(harness.cleanup);
    const prefix = randomPrefix();
    prefixes.push(prefix);
    const snapshots = new RedisSnapshotCache(redis, prefix);
    const tenantId = 'stream';
    const account = generateAccount({ seed: 4, people: 8000, deals: 2000, referrals: 600, now: NOW });
    await cacheAccount(snapshots, tenantId, account, 'in-records');
    await harness.store.setFlag(tenantId, 'code-secret', SECRET.toString('base64'), 86_400_000);
    const mapping = loadMapping('hubspot');
    const deps: ComputeDeps = {
      tenantId,
      store: harness.store,
      snapshots,
      mapping,
      rules: DEFAULT_RULES,
      definition: hubspotDefinition({ clientId: 'c', clientSecret: 's' }),
    };

    // Kept decoded between passes (small objects) or streamed on every pass: the same plan.
    const kept: PlannedWrite[] = [];
    const keptPlan = await computePlan(deps, NOW, { onWrites: async (w) => void kept.push(...w) });
    const streamed: PlannedWrite[] = [];
    let calls = 0;
    let progressBeforeLastCall = 0;
    let progress = 0;
    const plan = await computePlan(deps, NOW, {
      memoMaxRecords: 0,
      onWrites: async (writes) => {
        calls++;
        progressBeforeLastCall = progress;
        streamed.push(...writes);
      },
      onProgress: (done) => (progress = done),
    });

    // The whole engine over the same records, in the cache's order, with the same code stream.
    const whole = runEngine(await cachedAccount(snapshots, tenantId), {
      now: NOW,
      rules: DEFAULT_RULES,
      random: codeStream(SECRET, 0).random,
      linkTemplate: mapping.referralLinkTemplate,
      keepUnchanged: false,
    });
    const all = [...streamed, ...plan.heldWrites];
    expect(plansById([...kept, ...keptPlan.heldWrites])).toEqual(plansById(all));
    expect(keptPlan.tasks).toEqual(plan.tasks);
    expect(plan.writes).toBe(all.length);
    expect(plansById(all)).toEqual(
      new Map(
        [...whole.personPlans, ...whole.dealPlans, ...whole.companyPlans].map((p) => [p.id, p.changes]),
      ),
    );
    expect(plan.tasks.map((t) => t.key)).toEqual(whole.tasks.map((t) => t.key));
    expect(plan.engine.counts).toEqual(whole.counts);
    expect(plan.engine.report).toEqual(whole.report);

    // Streamed: many calls, people written before the last page was computed.
    expect(calls).toBeGreaterThan(10);
    expect(progressBeforeLastCall).toBeLessThan(account.people.length);
    // Held: only people asked now (or deferred candidates), every ask's person among them.
    const held = new Set(plan.heldWrites.map((w) => w.plan.id));
    expect(plan.heldWrites.every((w) => w.kind === 'person')).toBe(true);
    const asked = plan.tasks.filter((t) => t.kind === 'ask').map((t) => t.person.id);
    expect(asked.length).toBeGreaterThan(0);
    for (const id of asked) expect(held.has(id)).toBe(true);
    expect(streamed.some((w) => asked.includes(w.plan.id))).toBe(false);
    // Tasks point at the objects their records live in.
    expect(new Set(plan.tasks.map((t) => t.person.object))).toEqual(new Set(['contacts']));
    expect(plan.tasks.filter((t) => t.deal !== undefined).every((t) => t.deal!.object === 'deals')).toBe(
      true,
    );
  }, 120_000);

  it('carries a converted lead’s referral to its contact whatever the scan order (Salesforce)', async () => {
    const mapping = loadMapping('salesforce');
    const snapshots = new MemorySnapshotCache();
    const store = new MemoryStore({ keyRing: generateKeyRing().ring });
    const tenantId = 'sf';
    const base = { current: {}, createdAt: new Date('2026-05-01T00:00:00.000Z') };
    const referrer = {
      ...base,
      id: '003R',
      kind: 'contact',
      email: 'ada@customer.test',
      firstName: 'Ada',
      lastName: 'Lovelace',
      isCustomer: true,
    };
    const contact = {
      ...base,
      id: '003A',
      kind: 'contact',
      email: 'new@prospect.test',
      firstName: 'Bo',
      lastName: 'New',
    };
    const lead = {
      ...base,
      id: '00QZ',
      kind: 'lead',
      email: 'new@prospect.test',
      convertedToId: '003A',
      capture: { referrerEmail: 'ada@customer.test', capturedAt: new Date('2026-05-20T00:00:00.000Z') },
    };
    await snapshots.put(
      tenantId,
      'Contact',
      [referrer, contact].map((r) => ({ id: r.id, json: encodeSnapshot(r) })),
    );
    await snapshots.put(tenantId, 'Lead', [{ id: lead.id, json: encodeSnapshot(lead) }]);
    const writes: PlannedWrite[] = [];
    const plan = await computePlan(
      {
        tenantId,
        store,
        snapshots,
        mapping,
        rules: DEFAULT_RULES,
        definition: salesforceDefinition({ clientId: 'c', clientSecret: 's' }),
      },
      NOW,
      { onWrites: async (w) => void writes.push(...w) },
    );
    const referred = [...writes, ...plan.heldWrites].find((w) => w.plan.id === '003A');
    expect(referred?.plan.changes.referred_by_contact_id).toBe('003R');
    // The converted lead itself is no longer a person of the account.
    expect(plan.people).toBe(2);
    expect(plan.tasks.find((t) => t.kind === 'follow_up')?.person).toEqual({ object: 'Contact', id: '003A' });
  });
});
