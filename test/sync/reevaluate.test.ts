/**
 * Exact re-evaluation without rescanning: after a full run, at the next change instant, the
 * targeted re-evaluation of the due people plans exactly what a full compute at that instant
 * plans, and a real targeted run converges (a full compute then finds nothing left to change).
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { CrmConnector, RecordUpdate, TaskWrite } from '../../connectors/contract.js';
import { hubspotDefinition } from '../../connectors/hubspot/index.js';
import { DEFAULT_RULES, generateAccount } from '../../src/engine/index.js';
import { RedisSnapshotCache } from '../../src/store/snapshot-cache.js';
import { computePlan } from '../../src/sync/compute.js';
import type { ComputeDeps, PlannedWrite } from '../../src/sync/compute.js';
import { loadMapping } from '../../src/sync/mapping.js';
import { cacheAccount } from './helpers.js';
import { DIRTY_FLAG } from '../../src/sync/pull.js';
import { reevaluateDue } from '../../src/sync/reevaluate.js';
import { FULL_COMPUTE_FLAG, runSync } from '../../src/sync/run-sync.js';
import type { SyncDeps } from '../../src/sync/run-sync.js';
import { REDIS_URL, deletePrefix, randomPrefix, redisHarness } from '../store/helpers.js';

const T0 = new Date('2026-06-01T12:00:00.000Z');
const redis = new Redis(REDIS_URL);
const prefixes: string[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
  for (const p of prefixes) await deletePrefix(redis, p);
  redis.disconnect();
});

/** A CRM that accepts every write and task (the pipeline updates the cache on success). */
function acceptingConnector(): CrmConnector & { updates: RecordUpdate[]; tasks: TaskWrite[] } {
  const updates: RecordUpdate[] = [];
  const tasks: TaskWrite[] = [];
  return {
    crm: 'hubspot',
    updates,
    tasks,
    pull: () => {
      throw new Error('recompute reads nothing from the CRM');
    },
    provision: async () => ({ created: [], updated: [], unchanged: [], conflicts: [] }) as never,
    describeFields: async () => [],
    pushUpdates: async (list) => {
      updates.push(...list);
      return list.map((u) => ({ object: u.object, id: u.id, ok: true as const }));
    },
    pushTasks: async (list) => {
      tasks.push(...list);
      return list.map((t) => ({ key: t.key, ok: true as const, taskId: `task-${t.key}`, created: true }));
    },
    budget: async () => ({}) as never,
  };
}

const changesOf = (writes: readonly PlannedWrite[]) =>
  new Map(writes.map((w) => [`${w.kind}:${w.plan.id}`, w.plan.changes]));

describe('re-evaluation at the next change instant (no rescan)', () => {
  it('plans what a full compute plans at that instant, and converges', async () => {
    const harness = redisHarness();
    cleanups.push(harness.cleanup);
    const prefix = randomPrefix();
    prefixes.push(prefix);
    const snapshots = new RedisSnapshotCache(redis, prefix);
    const tenantId = 'reeval';
    const account = generateAccount({ seed: 12, people: 3000, deals: 800, referrals: 250, now: T0 });
    // The pipeline's people carry no `asks`: the ask history is its own table (and the CRM's
    // last-asked date), as the pull and push leave it.
    await cacheAccount(snapshots, tenantId, account, 'history');
    await harness.store.createTenant({
      id: tenantId,
      crm: 'hubspot',
      accountId: '1',
      mode: 'private',
      config: {},
    });
    await harness.store.setFlag(tenantId, DIRTY_FLAG, true, 86_400_000);
    const mapping = loadMapping('hubspot');
    const connector = acceptingConnector();
    let now = T0;
    const deps: SyncDeps & ComputeDeps = {
      tenantId,
      store: harness.store,
      snapshots,
      connector,
      definition: hubspotDefinition({ clientId: 'c', clientSecret: 's' }),
      mapping,
      rules: DEFAULT_RULES,
      now: () => now,
    };

    // A full run at T0 writes everything and keeps each person's next instant.
    const first = await runSync(deps, { mode: 'recompute' });
    expect(first.push.recordsWritten).toBeGreaterThan(0);
    const due = await harness.store.nextDueAt(tenantId);
    expect(due).not.toBeNull();
    expect(first.nextEvaluationAt).toBe(due!.toISOString());
    // Far enough that several people are due at once.
    const t1 = new Date(Math.ceil((due!.getTime() + 3 * 86_400_000) / 1000) * 1000);

    const full: PlannedWrite[] = [];
    const fullPlan = await computePlan(deps, t1, { onWrites: async (w) => void full.push(...w) });
    full.push(...fullPlan.heldWrites);
    const targeted: PlannedWrite[] = [];
    const plan = await reevaluateDue(deps, t1, { onWrites: async (w) => void targeted.push(...w) });
    expect(plan).not.toBeNull();
    targeted.push(...plan!.heldWrites);

    expect(full.length).toBeGreaterThan(0);
    expect(full.every((w) => w.kind === 'person')).toBe(true);
    expect(changesOf(targeted)).toEqual(changesOf(full));
    const asks = (tasks: readonly TaskWrite[]) =>
      tasks
        .filter((t) => t.kind === 'ask')
        .map((t) => t.key)
        .sort();
    expect(asks(plan!.tasks)).toEqual(asks(fullPlan.tasks));
    // It read the due people only.
    expect(plan!.people).toBeLessThan(account.people.length / 2);

    // A real targeted run (only time passed: not dirty, not forced) writes them; then a full
    // compute at the same instant finds nothing left to change for anyone.
    now = t1;
    connector.updates.length = 0;
    // (The last full computation is 3+ days old: allow that, or the daily full sweep would run.)
    const second = await runSync(deps, { mode: 'recompute', fullComputeMaxAgeMs: 30 * 86_400_000 });
    expect(second.people).toBe(plan!.people);
    expect(second.push.recordsWritten).toBe(targeted.length);
    expect(connector.updates.map((u) => u.id).sort()).toEqual(targeted.map((w) => w.plan.id).sort());
    const after: PlannedWrite[] = [];
    const check = await computePlan(deps, t1, { onWrites: async (w) => void after.push(...w) });
    expect([...after, ...check.heldWrites]).toEqual([]);
    const next = await harness.store.nextDueAt(tenantId);
    expect(next!.getTime()).toBeGreaterThan(t1.getTime());

    // By default a time-only run more than a day after the last full computation computes the
    // whole account (the report is refreshed); right after it, time-only runs are targeted again.
    expect(await harness.store.getFlag(tenantId, FULL_COMPUTE_FLAG)).toBe(T0.toISOString());
    const reportBefore = await harness.store.loadReport(tenantId);
    const sweep = await runSync(deps, { mode: 'recompute' });
    expect(sweep.people).toBe(account.people.length);
    expect(await harness.store.getFlag(tenantId, FULL_COMPUTE_FLAG)).toBe(t1.toISOString());
    expect((await harness.store.loadReport(tenantId))!.report).not.toEqual(reportBefore!.report);
    const again = await runSync(deps, { mode: 'recompute' });
    expect(again.people).toBeLessThan(account.people.length / 2);
    expect(await harness.store.getFlag(tenantId, FULL_COMPUTE_FLAG)).toBe(t1.toISOString());
  }, 120_000);
});
