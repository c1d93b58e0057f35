/**
 * runSync's push order under failures: an ask whose task the CRM refused did not happen — the
 * person is not written as asked, no ask is recorded, no cap is used, and the next run asks again.
 * Also: the connector's `writeBatch` sizes the pipeline's pushUpdates calls.
 */
import { describe, expect, it } from 'vitest';
import type { CrmConnector, RecordUpdate, TaskWrite } from '../../connectors/contract.js';
import { hubspotDefinition } from '../../connectors/hubspot/index.js';
import { DEFAULT_RULES, generateAccount } from '../../src/engine/index.js';
import { MemoryStore, generateKeyRing } from '../../src/store/index.js';
import { MemorySnapshotCache } from '../../src/store/snapshot-cache.js';
import { ASK_HISTORY_OBJECT, dayKey } from '../../src/sync/compute.js';
import { loadMapping } from '../../src/sync/mapping.js';
import { cacheAccount } from './helpers.js';
import { DIRTY_FLAG } from '../../src/sync/pull.js';
import { runSync } from '../../src/sync/run-sync.js';
import type { SyncDeps } from '../../src/sync/run-sync.js';

const NOW = new Date('2026-06-01T12:00:00.000Z');

function crm(options: { failAsks: boolean; writeBatch?: number }) {
  const calls: RecordUpdate[][] = [];
  const tasks: TaskWrite[] = [];
  const connector: CrmConnector = {
    crm: 'hubspot',
    ...(options.writeBatch === undefined ? {} : { writeBatch: options.writeBatch }),
    pull: () => {
      throw new Error('not pulled');
    },
    provision: async () => ({}) as never,
    describeFields: async () => [],
    budget: async () => ({}) as never,
    pushUpdates: async (list) => {
      calls.push([...list]);
      return list.map((u) => ({ object: u.object, id: u.id, ok: true as const }));
    },
    pushTasks: async (list) =>
      list.map((t) => {
        if (options.failAsks && t.kind === 'ask')
          return {
            key: t.key,
            ok: false as const,
            error: { code: 'ERR_TEST', message: 'refused', retryable: true },
          };
        tasks.push(t);
        return { key: t.key, ok: true as const, taskId: `t-${t.key}`, created: true };
      }),
  };
  return { connector, calls, tasks };
}

async function tenant() {
  const store = new MemoryStore({ keyRing: generateKeyRing().ring });
  const snapshots = new MemorySnapshotCache();
  const tenantId = 't';
  await store.createTenant({ id: tenantId, crm: 'hubspot', accountId: '1', mode: 'private', config: {} });
  const account = generateAccount({ seed: 21, people: 1500, deals: 300, referrals: 100, now: NOW });
  await cacheAccount(snapshots, tenantId, account, 'drop');
  await store.setFlag(tenantId, DIRTY_FLAG, true, 86_400_000);
  const deps = (connector: CrmConnector): SyncDeps => ({
    tenantId,
    store,
    snapshots,
    connector,
    definition: hubspotDefinition({ clientId: 'c', clientSecret: 's' }),
    mapping: loadMapping('hubspot'),
    rules: DEFAULT_RULES,
    now: () => NOW,
  });
  return { store, snapshots, tenantId, deps };
}

describe('runSync push order', () => {
  it('does not mark people asked when their ask task failed, and asks them on the next run', async () => {
    const t = await tenant();
    const failing = crm({ failAsks: true });
    const first = await runSync(t.deps(failing.connector), { mode: 'recompute' });
    const planned = first.plan!.tasksByKind['ask'] ?? 0;
    expect(planned).toBeGreaterThan(0);
    expect(first.status).toBe('partial');
    const written = new Map(failing.calls.flat().map((u) => [u.id, u.fields]));
    const askedIds = [...written].filter(([, v]) => v['referral_last_asked_at'] !== undefined);
    expect(askedIds).toEqual([]);
    expect(await t.store.getFlag(t.tenantId, dayKey(NOW))).toBeNull();
    expect(await t.snapshots.count(t.tenantId, ASK_HISTORY_OBJECT)).toBe(0);
    expect(await t.store.getFlag(t.tenantId, DIRTY_FLAG)).toBe(true);

    const healthy = crm({ failAsks: false });
    const second = await runSync(t.deps(healthy.connector), { mode: 'recompute' });
    expect(second.status).toBe('succeeded');
    const asks = healthy.tasks.filter((x) => x.kind === 'ask');
    expect(asks).toHaveLength(planned);
    const asked = new Set(
      healthy.calls
        .flat()
        .filter((u) => u.fields['referral_last_asked_at'] !== undefined)
        .map((u) => u.id),
    );
    for (const a of asks) expect(asked.has(a.person.id)).toBe(true);
    expect(await t.snapshots.count(t.tenantId, ASK_HISTORY_OBJECT)).toBe(asks.length);
  });

  it('hands the connector as many updates per call as its writeBatch says', async () => {
    const t = await tenant();
    const small = crm({ failAsks: false, writeBatch: 100 });
    const summary = await runSync(t.deps(small.connector), { mode: 'recompute' });
    expect(summary.push.recordsWritten).toBeGreaterThan(300);
    expect(Math.max(...small.calls.map((c) => c.length))).toBe(100);
    const t2 = await tenant();
    const big = crm({ failAsks: false });
    await runSync(t2.deps(big.connector), { mode: 'recompute' });
    expect(big.calls).toHaveLength(1);
  });
});
