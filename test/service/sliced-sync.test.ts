/**
 * The pipeline handlers on real Redis against the sandbox HubSpot:
 *  - a backfill is processed in slices of at most `pageBudget` pages, each handing back a
 *    continuation that resumes from the saved cursors; compute and push run once, after the pull;
 *  - while a sliced pull is unfinished, webhooks only absorb and re-evaluation waits;
 *  - a webhook reads exactly the records it names by id (no search) and writes the result;
 *  - the same through bull: a worker with a small page budget runs the backfill as several jobs.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeEvent, JsonValue } from '../../connectors/contract.js';
import { hubspotDefinition, privateAppTokenSet } from '../../connectors/hubspot/index.js';
import type { JobContext } from '../../src/queue/handlers.js';
import type { JobKind } from '../../src/queue/jobs.js';
import { BullQueueProducer } from '../../src/queue/producer.js';
import { QueueSet } from '../../src/queue/queues.js';
import { startWorker } from '../../src/queue/worker.js';
import { startSandboxes } from '../../src/sandbox/index.js';
import type { RunningSandboxes } from '../../src/sandbox/index.js';
import { pipelineHandlers } from '../../src/service/handlers.js';
import { RedisStore, generateKeyRing } from '../../src/store/index.js';
import { RedisSnapshotCache } from '../../src/store/snapshot-cache.js';
import { PULL_SLICES_FLAG } from '../../src/sync/pull.js';
import type { SyncSummary } from '../../src/sync/run-sync.js';
import type { RuntimeOptions } from '../../src/sync/tenant-runtime.js';
import { dropPrefix, randomPrefix, REDIS_URL, waitFor } from '../queue/helpers.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

function ctxOf(
  kind: JobKind,
  slice: number,
  pageBudget: number,
  signal = new AbortController().signal,
): JobContext {
  return {
    signal,
    progress: async (_d: JsonValue) => undefined,
    pageBudget,
    kind,
    jobId: `${kind}-${slice}`,
    attempt: 1,
    slice,
    reason: slice === 0 ? 'test' : 'continuation',
  };
}

describe('sliced pulls and webhook reads by id (real Redis, sandbox HubSpot)', () => {
  let sandboxes: RunningSandboxes;
  let redis: Redis;
  let store: RedisStore;
  let runtime: RuntimeOptions;
  const prefix = randomPrefix();
  const runs: SyncSummary[] = [];
  let tenantId = '';

  beforeAll(async () => {
    sandboxes = await startSandboxes({ seed: 41, contacts: 450 });
    redis = new Redis(REDIS_URL);
    store = new RedisStore({ redis, prefix: `${prefix}:s`, keyRing: generateKeyRing().ring });
    const hs = sandboxes.hubspot;
    runtime = {
      store,
      snapshots: new RedisSnapshotCache(redis, `${prefix}:s`),
      logger: silent,
      definitions: {
        hubspot: hubspotDefinition({
          clientId: hs.credentials.clientId,
          clientSecret: hs.credentials.clientSecret,
        }),
      },
    };
    const tenant = await store.createTenant({
      crm: 'hubspot',
      accountId: String(hs.credentials.portalId),
      mode: 'private',
      config: { settings: { apiBaseUrl: hs.url }, writeBack: 'on' },
    });
    tenantId = tenant.id;
    await store.saveTokens(
      tenantId,
      privateAppTokenSet(hs.credentials.privateAppToken, String(hs.credentials.portalId)),
    );
  }, 120_000);

  afterAll(async () => {
    await sandboxes?.close();
    await dropPrefix(prefix);
    redis?.disconnect();
  });

  const handlers = () => pipelineHandlers({ runtime, logger: silent, onRun: (_t, s) => runs.push(s) });

  it('runs a backfill as slices of at most pageBudget pages; compute and push once the pull is done', async () => {
    const h = handlers();
    const hs = sandboxes.hubspot.sandbox;
    const budget = 2;
    const live = [...hs.state.objects.contacts.records.values()].filter(
      (r) => !r.archived && r.mergedInto === 0,
    );
    // A webhook before the first sync: only absorbed (computing a fraction of the account would
    // plan from partial data); the backfill computes.
    const early = await h.webhook(
      tenantId,
      [
        {
          accountId: '1',
          object: 'contacts',
          kind: 'created',
          ids: [String(live[1]!.num)],
          occurredAt: new Date(),
        },
      ],
      ctxOf('webhook', 0, budget),
    );
    expect(early?.counts).toMatchObject({ read: 1, deferred: 1 });
    expect(runs).toHaveLength(0);
    let slice = 0;
    let writesBeforeLast = 0;
    for (;;) {
      const readsBefore = hs.state.calls.read;
      writesBeforeLast = hs.state.calls.write;
      const out = await h.backfill(tenantId, ctxOf('backfill', slice, budget));
      slice++;
      if (out?.more !== true) break;
      // Each slice: `budget` list pages + the next one fetched and dropped (re-read by the next slice).
      expect(hs.state.calls.read - readsBefore).toBeLessThanOrEqual(budget + 1);
      // Nothing computed or written while the pull is partial; the progress is in the store.
      expect(runs).toHaveLength(0);
      expect(await store.getFlag(tenantId, PULL_SLICES_FLAG)).not.toBeNull();
      if (slice === 3) {
        // Mid-backfill: a webhook only absorbs, a re-evaluation waits for the pull's own compute.
        const event: ChangeEvent = {
          accountId: '1',
          object: 'contacts',
          kind: 'changed',
          ids: [String(live[0]!.num)],
          field: 'nps_score',
          occurredAt: new Date(),
        };
        const w = await h.webhook(tenantId, [event], ctxOf('webhook', 0, budget));
        expect(w?.counts?.deferred).toBe(1);
        const r = await h.reevaluate(tenantId, ctxOf('reevaluate', 0, budget));
        expect(r?.counts?.deferred).toBe(1);
        expect(runs).toHaveLength(0);
      }
      expect(slice).toBeLessThan(200);
    }
    // 450 contacts = 5 list pages alone: the backfill took many slices.
    expect(slice).toBeGreaterThan(4);
    expect(runs).toHaveLength(1);
    const run = runs[0]!;
    expect(run.mode).toBe('full');
    expect(run.status).toBe('succeeded');
    expect(run.push.recordsWritten).toBeGreaterThan(0);
    expect(hs.state.calls.write).toBeGreaterThan(writesBeforeLast);
    // Every live contact was read exactly into the cache: nothing skipped by the slicing.
    const cached = await runtime.snapshots.get(
      tenantId,
      'contacts',
      live.map((r) => String(r.num)),
    );
    expect(cached.size).toBe(live.length);
    expect(await store.getFlag(tenantId, PULL_SLICES_FLAG)).toBeNull();

    // A continuation of the finished backfill finds nothing left to do.
    const late = await h.backfill(tenantId, ctxOf('backfill', slice, budget));
    expect(late?.more).toBeUndefined();
    expect(runs).toHaveLength(1);
  }, 120_000);

  it('a webhook reads exactly the named records by id (no search) and writes the result', async () => {
    const h = handlers();
    const hs = sandboxes.hubspot.sandbox;
    const [id] = [...hs.state.objects.contacts.records.entries()]
      .filter(([, c]) => c.props.referral_ready === 'true')
      .map(([n]) => String(n));
    expect(id).toBeDefined();
    hs.simulateUserEdit('contacts', id!, { nps_score: '2' });
    const searches = hs.state.calls.search;
    const before = runs.length;
    const out = await h.webhook(
      tenantId,
      [
        {
          accountId: '1',
          object: 'contacts',
          kind: 'changed',
          ids: [id!],
          field: 'nps_score',
          occurredAt: new Date(),
        },
      ],
      ctxOf('webhook', 0, 20),
    );
    expect(hs.state.calls.search).toBe(searches);
    expect(out?.counts?.read).toBe(1);
    expect(runs.length).toBe(before + 1);
    expect(runs.at(-1)?.push.recordsWritten).toBeGreaterThan(0);
    expect(hs.getValue('contacts', id!, 'referral_ready')).toBe('false');

    // Our own write echoing back (an owned field) is dropped before any read.
    const reads = hs.state.calls.read;
    const echo = await h.webhook(
      tenantId,
      [
        {
          accountId: '1',
          object: 'contacts',
          kind: 'changed',
          ids: [id!],
          field: 'referral_ready',
          occurredAt: new Date(),
        },
      ],
      ctxOf('webhook', 0, 20),
    );
    expect(echo?.counts?.dropped).toBe(1);
    expect(hs.state.calls.read).toBe(reads);

    // A deleted record named by a webhook leaves the cache.
    const gone = [...hs.state.objects.contacts.records.entries()].filter(([, c]) => !c.archived).at(-1)![0];
    const res = await fetch(`${sandboxes.hubspot.url}/crm/v3/objects/contacts/${gone}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${sandboxes.hubspot.credentials.privateAppToken}` },
    });
    expect(res.status).toBe(204);
    const del = await h.webhook(
      tenantId,
      [{ accountId: '1', object: 'contacts', kind: 'deleted', ids: [String(gone)], occurredAt: new Date() }],
      ctxOf('webhook', 0, 20),
    );
    expect(del?.counts?.read).toBe(0);
    expect((await runtime.snapshots.get(tenantId, 'contacts', [String(gone)])).size).toBe(0);
  }, 60_000);

  it('a slice aborted mid-pull (shutdown) keeps its progress; the continuation resumes and completes', async () => {
    const h = handlers();
    const hs = sandboxes.hubspot;
    const tenant = await store.createTenant({
      crm: 'hubspot',
      accountId: `${hs.credentials.portalId}-abort`,
      mode: 'private',
      config: { settings: { apiBaseUrl: hs.url }, writeBack: 'on' },
    });
    await store.saveTokens(
      tenant.id,
      privateAppTokenSet(hs.credentials.privateAppToken, String(hs.credentials.portalId)),
    );
    const controller = new AbortController();
    let pages = 0;
    const ctx: JobContext = {
      ...ctxOf('backfill', 0, 1_000, controller.signal),
      progress: async () => {
        pages++;
        if (pages === 4) controller.abort(new Error('shutdown'));
      },
    };
    await expect(h.backfill(tenant.id, ctx)).rejects.toThrow();
    const saved = (await store.getFlag(tenant.id, PULL_SLICES_FLAG)) as { done: string[] } | null;
    expect(saved).not.toBeNull();
    const before = runs.length;
    const out = await h.backfill(tenant.id, ctxOf('backfill', 1, 1_000));
    expect(out?.more).toBeUndefined();
    const run = runs.slice(before).find((r) => r.tenantId === tenant.id);
    expect(run?.mode).toBe('full');
    const live = [...hs.sandbox.state.objects.contacts.records.values()].filter(
      (r) => !r.archived && r.mergedInto === 0,
    );
    const cached = await runtime.snapshots.get(
      tenant.id,
      'contacts',
      live.map((r) => String(r.num)),
    );
    expect(cached.size).toBe(live.length);
  }, 60_000);

  it('through bull: a worker with a small page budget runs the backfill as several jobs', async () => {
    const qPrefix = `${prefix}-q`;
    const queues = new QueueSet({ redis: REDIS_URL, prefix: qPrefix });
    const producer = new BullQueueProducer(queues);
    const hs = sandboxes.hubspot;
    const tenant = await store.createTenant({
      crm: 'hubspot',
      accountId: `${hs.credentials.portalId}-b`,
      mode: 'private',
      config: { settings: { apiBaseUrl: hs.url }, writeBack: 'on' },
    });
    await store.saveTokens(
      tenant.id,
      privateAppTokenSet(hs.credentials.privateAppToken, String(hs.credentials.portalId)),
    );
    const done: SyncSummary[] = [];
    const worker = await startWorker({
      queues,
      producer,
      pageBudget: 3,
      handlers: pipelineHandlers({
        runtime,
        producer,
        logger: silent,
        onRun: (t, s) => t === tenant.id && done.push(s),
      }),
    });
    try {
      const slices: number[] = [];
      queues.byKind.backfill.on('completed', (job) =>
        slices.push((job.data as { slice?: number }).slice ?? 0),
      );
      await producer.enqueue('backfill', tenant.id, { reason: 'test' });
      const run = await waitFor(() => done[0], 'sliced backfill through the queue', 90_000);
      expect(run.mode).toBe('full');
      expect(run.status).toBe('succeeded');
      await waitFor(() => slices.length > 0 && Math.max(...slices) > 2, 'continuation jobs', 10_000);
    } finally {
      await worker.close(5_000);
      await queues.close();
      await dropPrefix(qPrefix);
    }
  }, 120_000);
});
