/**
 * Crash and resume: a run killed at any stage, then re-run, converges to the same CRM state with no
 * lost write and no duplicate task — on the in-memory store and on real Redis. Also: time passing
 * alone (no data change) changes flags at the instant the engine announced.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskWrite } from '../../connectors/contract.js';
import { hubspotDefinition, privateAppTokenSet } from '../../connectors/hubspot/index.js';
import { startSandboxes } from '../../src/sandbox/index.js';
import type { RunningSandboxes } from '../../src/sandbox/index.js';
import { MemoryStore, RedisStore, generateKeyRing } from '../../src/store/index.js';
import type { Store } from '../../src/store/index.js';
import { MemorySnapshotCache, RedisSnapshotCache } from '../../src/store/snapshot-cache.js';
import type { SnapshotCache } from '../../src/store/snapshot-cache.js';
import { provisionTenant } from '../../src/sync/provision.js';
import { runSync } from '../../src/sync/run-sync.js';
import type { SyncDeps } from '../../src/sync/run-sync.js';
import { tenantRuntime } from '../../src/sync/tenant-runtime.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

class Crash extends Error {}

for (const kind of ['memory', 'redis'] as const) {
  describe(`crash and resume (${kind} store)`, () => {
    let sandboxes: RunningSandboxes;
    let store: Store;
    let snapshots: SnapshotCache;
    let redis: Redis | undefined;
    const prefix = `rs-test-${randomBytes(6).toString('hex')}`;
    const tenantId = 'crash';
    let clock = new Date(Math.floor(Date.now() / 1000) * 1000);

    beforeAll(async () => {
      sandboxes = await startSandboxes({ seed: 3, contacts: 800 });
      const keyRing = generateKeyRing().ring;
      if (kind === 'redis') {
        redis = new Redis('redis://127.0.0.1:6379');
        store = new RedisStore({ redis, prefix, keyRing });
        snapshots = new RedisSnapshotCache(redis, prefix);
      } else {
        store = new MemoryStore({ keyRing });
        snapshots = new MemorySnapshotCache();
      }
      const hs = sandboxes.hubspot;
      await store.createTenant({
        id: tenantId,
        crm: 'hubspot',
        accountId: String(hs.credentials.portalId),
        mode: 'private',
        config: { settings: { apiBaseUrl: hs.url }, writeBack: 'on' },
      });
      await store.saveTokens(
        tenantId,
        privateAppTokenSet(hs.credentials.privateAppToken, String(hs.credentials.portalId)),
      );
      await provisionTenant(await runtime());
    }, 120_000);

    afterAll(async () => {
      if (redis !== undefined) {
        const keys = await redis.keys(`${prefix}:*`);
        if (keys.length > 0) await redis.del(...keys);
        await redis.quit();
      }
      await sandboxes?.close();
    });

    async function runtime(): Promise<SyncDeps> {
      const hs = sandboxes.hubspot.credentials;
      return tenantRuntime(
        {
          store,
          snapshots,
          logger: silent,
          definitions: {
            hubspot: hubspotDefinition({ clientId: hs.clientId, clientSecret: hs.clientSecret }),
          },
        },
        tenantId,
      );
    }

    const taskCount = (): number => sandboxes.hubspot.sandbox.state.objects.tasks.records.size;

    it('converges after crashes after the pull, between the task call and its ledger, and after the tasks', async () => {
      const dry = await runSync(await runtime(), { mode: 'full', dryRun: true });
      const plannedTasks = dry.plan!.tasks;
      expect(plannedTasks).toBeGreaterThan(0);

      // 1. Crash right after the pull: nothing written, the change is not forgotten.
      await expect(
        runSync(await runtime(), {
          mode: 'incremental',
          checkpoint: (stage) => {
            if (stage === 'pulled') throw new Crash('killed');
          },
        }),
      ).rejects.toThrow();
      expect(taskCount()).toBe(0);

      // 2. Crash between the CRM creating the tasks and our ledger recording them.
      const deps = await runtime();
      const realPush = deps.connector.pushTasks.bind(deps.connector);
      deps.connector.pushTasks = async (tasks: readonly TaskWrite[]) => {
        await realPush(tasks);
        throw new Crash('killed after the CRM call');
      };
      await expect(runSync(deps, { mode: 'incremental' })).rejects.toThrow();
      expect(taskCount()).toBe(plannedTasks);

      // 3. Crash after the tasks, before the record writes: the re-run creates no second task.
      await expect(
        runSync(await runtime(), {
          mode: 'incremental',
          checkpoint: (stage) => {
            if (stage === 'tasks') throw new Crash('killed');
          },
        }),
      ).rejects.toThrow();
      expect(taskCount()).toBe(plannedTasks);

      // 4. Resume: no duplicate task, nothing left to write afterwards.
      const resumed = await runSync(await runtime(), { mode: 'incremental' });
      expect(resumed.push.tasksCreated).toBe(0);
      expect(taskCount()).toBe(plannedTasks);
      const after = await runSync(await runtime(), { mode: 'incremental' });
      expect(after.push.recordsWritten).toBe(0);
      expect(after.push.tasksCreated).toBe(0);
      expect(taskCount()).toBe(plannedTasks);
    }, 300_000);

    it('re-evaluates when time alone changes a result, at the announced instant', async () => {
      const at = async (): Promise<SyncDeps> => ({ ...(await runtime()), now: () => clock });
      const settled = await runSync(await at(), { mode: 'incremental' });
      expect(settled.push.recordsWritten).toBe(0);
      const next = (await store.getFlag(tenantId, 'next-eval')) as string | null;
      expect(next).not.toBeNull();
      // Just before the instant: nothing is due, no compute.
      clock = new Date(Date.parse(next!) - 1000);
      const early = await runSync(await at(), { mode: 'incremental' });
      expect(early.computed).toBe(false);
      // At the instant: recompute, and at least one person's values change with no data change.
      clock = new Date(Date.parse(next!) + 1000);
      const due = await runSync(await at(), { mode: 'recompute' });
      expect(due.computed).toBe(true);
      expect(due.push.recordsWritten).toBeGreaterThan(0);
    }, 300_000);
  });
}
