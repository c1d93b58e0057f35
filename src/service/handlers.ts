/**
 * The queue's `JobHandlers` port implemented with the pipeline: each job builds the tenant's
 * runtime (tokens, limiter, mapping, rules) from the store and runs one `runSync`.
 *
 *  - backfill = full read, incremental = cursor read, reevaluate = recompute (no read, time passed),
 *    provision = create/extend the fields we own.
 *  - webhook = read exactly the records the events name, by id (`CrmConnector.pullByIds`: no
 *    time-window search, no cursor move), then compute/push as usual. Events for a field we own are
 *    our own writes echoing back (HubSpot sends `propertyChange` for every write, ours included), so
 *    they are dropped before any work is queued: no write-back loop. The periodic incremental sync
 *    stays the safety net for anything no event named.
 *  - backfill/incremental pulls are sliced: a job processes at most `ctx.pageBudget` pages and hands
 *    back `{ more: true }`; the continuation resumes from the saved cursors (progress in the store,
 *    `pull-slices` flag). Compute and push run once, when the whole pull is done. While a sliced
 *    pull is unfinished no job computes (the data is partial): webhooks only absorb their records,
 *    re-evaluation waits for the pull's own compute.
 *  - after a real run, a re-evaluation job is queued at the engine's `nextEvaluationAt` (a 30-day
 *    window ends, a cool-down lapses) so results change at the exact instant without a rescan.
 */
import type { ChangeEvent, Logger } from '../../connectors/contract.js';
import type { JobContext, JobHandlers, JobOutcome } from '../queue/handlers.js';
import type { QueueProducer } from '../queue/producer.js';
import { provisionTenant } from '../sync/provision.js';
import {
  clearSliceState,
  loadSliceState,
  newSliceState,
  pullByIds,
  pullSlice,
  saveSliceState,
} from '../sync/pull.js';
import type { PullCounts } from '../sync/pull.js';
import type { Mapping } from '../sync/mapping.js';
import { runSync } from '../sync/run-sync.js';
import type { SyncSummary } from '../sync/run-sync.js';
import { tenantRuntime } from '../sync/tenant-runtime.js';
import type { RuntimeOptions } from '../sync/tenant-runtime.js';
import type { SyncDeps } from '../sync/run-sync.js';
import type { SyncMetricEvent, SyncMetricsSink } from './sync-metrics.js';

export interface PipelineHandlerOptions {
  runtime: RuntimeOptions;
  /** Where follow-up work (re-evaluation at the next change instant) is queued. */
  producer?: Pick<QueueProducer, 'enqueue'>;
  logger: Logger;
  /** Observes each finished run (metrics, benchmarks, tests). */
  onRun?: (tenantId: string, summary: SyncSummary) => void;
  /** Where run and API-usage metrics go (shared by all workers; served by `serve`'s /metrics). */
  metrics?: SyncMetricsSink;
  /**
   * How a webhook reads its records, asked per job: `by-id` (default) or `window`, the previous
   * incremental time-window search of the named objects — kept only so bench/webhook-latency.ts
   * can compare both interleaved under the same machine load.
   */
  webhookRead?: () => 'by-id' | 'window';
}

/** Names of the CRM fields we own on `object` (a webhook for one of them is our own echo). */
export function ownedFieldNames(mapping: Mapping, object: string): Set<string> {
  const om = mapping.objects[object];
  return new Set(om === undefined ? [] : Object.values(om.owned).map((f) => f.name));
}

/**
 * The events that are work: everything except property changes of fields we own. Creations,
 * deletions, merges, association changes and changes of input fields all are.
 */
export function eventsThatAreWork(mapping: Mapping, events: readonly ChangeEvent[]): ChangeEvent[] {
  return events.filter(
    (e) =>
      !(e.kind === 'changed' && e.field !== undefined && ownedFieldNames(mapping, e.object).has(e.field)),
  );
}

function countsOf(s: SyncSummary): Record<string, number> {
  const read = Object.values(s.pulled).reduce((n, c) => n + c.read, 0);
  const changed = Object.values(s.pulled).reduce((n, c) => n + c.changed, 0);
  return {
    read,
    changed,
    people: s.people,
    written: s.push.recordsWritten,
    tasks: s.push.tasksCreated,
    errors: s.push.errors,
  };
}

/** The ids each event names, per mapped object (a merge also names its survivor). */
export function idsOfEvents(mapping: Mapping, events: readonly ChangeEvent[]): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const e of events) {
    if (mapping.objects[e.object] === undefined) continue;
    const set = (out[e.object] ??= new Set());
    for (const id of e.ids) set.add(id);
    if (e.mergedInto !== undefined) set.add(e.mergedInto);
  }
  return Object.fromEntries(Object.entries(out).map(([o, ids]) => [o, [...ids]]));
}

function total(pulled: Record<string, PullCounts>, key: keyof PullCounts): number {
  return Object.values(pulled).reduce((n, c) => n + c[key], 0);
}

export function pipelineHandlers(options: PipelineHandlerOptions): JobHandlers {
  const { logger } = options;

  const followUp = async (tenantId: string, s: SyncSummary): Promise<void> => {
    options.onRun?.(tenantId, s);
    if (options.producer === undefined || s.nextEvaluationAt === null) return;
    const delayMs = Math.max(0, Date.parse(s.nextEvaluationAt) - Date.now());
    await options.producer.enqueue('reevaluate', tenantId, { delayMs, reason: 'next-evaluation' });
  };

  /** Counts a job's API usage, and the run when it finished (or failed). Never fails the job. */
  const measure = async (
    deps: SyncDeps,
    ctx: JobContext,
    run: Pick<SyncMetricEvent, 'outcome' | 'durationMs'> & { summary?: SyncSummary },
  ): Promise<void> => {
    if (options.metrics === undefined) return;
    const counts = (deps.connector as { counts?: Record<string, number> }).counts ?? {};
    const apiCalls: Record<string, number> = {};
    for (const kind of ['read', 'write', 'search', 'associations'])
      if (typeof counts[kind] === 'number') apiCalls[kind] = counts[kind];
    const s = run.summary;
    const event: SyncMetricEvent = {
      crm: deps.definition.crm,
      kind: ctx.kind,
      read: s === undefined ? {} : Object.fromEntries(Object.entries(s.pulled).map(([o, c]) => [o, c.read])),
      written: s?.push.recordsWritten ?? 0,
      apiCalls,
      rateLimited: counts.rateLimited ?? 0,
    };
    if (run.outcome !== undefined) event.outcome = run.outcome;
    if (run.durationMs !== undefined) event.durationMs = run.durationMs;
    await options.metrics.record(event).catch((e: unknown) => {
      logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'sync metrics not recorded');
    });
  };

  /** runSync, measured: the run's outcome and duration (from `since`, the first slice's start). */
  const measuredRun = async (
    deps: SyncDeps,
    ctx: JobContext,
    since: number,
    run: () => Promise<SyncSummary>,
  ): Promise<SyncSummary> => {
    try {
      const summary = await run();
      const durationMs = Math.max(0, Date.parse(summary.finishedAt) - since);
      await measure(deps, ctx, { outcome: summary.status, durationMs, summary });
      return summary;
    } catch (error) {
      const durationMs = Math.max(0, deps.now().getTime() - since);
      await measure(deps, ctx, { outcome: ctx.signal.aborted ? 'cancelled' : 'failed', durationMs });
      throw error;
    }
  };

  const progressOf = (ctx: JobContext) => (p: { phase: string; done: number }) => {
    if (p.phase !== 'pull') void ctx.progress({ phase: p.phase, done: p.done }).catch(() => undefined);
  };

  const finish = async (tenantId: string, ctx: JobContext, summary: SyncSummary): Promise<JobOutcome> => {
    await followUp(tenantId, summary);
    logger.info({ tenantId, kind: ctx.kind, ...countsOf(summary) }, 'sync finished');
    return { counts: countsOf(summary) };
  };

  /**
   * One slice of a backfill/incremental run. An unfinished sliced pull of the tenant is continued
   * whatever kind of job arrives (its mode wins): two runs never interleave their cursors.
   */
  const sliced = async (
    tenantId: string,
    ctx: JobContext,
    mode: 'full' | 'incremental',
  ): Promise<JobOutcome> => {
    const deps = await tenantRuntime(options.runtime, tenantId);
    let state = await loadSliceState(deps.store, tenantId);
    if (state === null && mode === 'full' && ctx.reason === 'continuation') {
      // A continuation whose backfill another job of the tenant already finished: nothing left.
      return { counts: { read: 0 } };
    }
    // A backfill asked for while an incremental pull is unfinished replaces it (a full read covers
    // it); anything else continues the unfinished pull.
    if (state === null || (mode === 'full' && state.mode === 'incremental' && ctx.reason !== 'continuation'))
      state = newSliceState(mode, deps.now());
    const slice = state;
    let complete = false;
    try {
      complete = await pullSlice(deps, slice, {
        pageBudget: ctx.pageBudget,
        signal: ctx.signal,
        onPage: (object, c) =>
          void ctx.progress({ phase: 'pull', object, done: c.read }).catch(() => undefined),
      });
    } catch (error) {
      // Aborted = handed back (API usage only); anything else ended the run (bull may retry it).
      const durationMs = Math.max(0, deps.now().getTime() - Date.parse(slice.startedAt));
      await measure(deps, ctx, ctx.signal.aborted ? {} : { outcome: 'failed', durationMs });
      throw error;
    } finally {
      // Also on abort or failure: the next slice resumes from here (cursors are saved per page).
      await saveSliceState(deps.store, tenantId, slice);
    }
    if (!complete) {
      await measure(deps, ctx, {});
      logger.debug(
        { tenantId, kind: ctx.kind, slice: ctx.slice, done: slice.done },
        'pull slice handed back',
      );
      return {
        more: true,
        counts: { read: total(slice.counts, 'read'), pages: total(slice.counts, 'pages') },
      };
    }
    const summary = await measuredRun(deps, ctx, Date.parse(slice.startedAt), () =>
      runSync(deps, {
        mode: slice.mode,
        signal: ctx.signal,
        pull: () => Promise.resolve(slice.counts),
        onProgress: progressOf(ctx),
      }),
    );
    await clearSliceState(deps.store, tenantId);
    return finish(tenantId, ctx, summary);
  };

  return {
    async backfill(tenantId, ctx) {
      // Install queues provision and backfill on different queues with no order between them; a
      // backfill writing before the fields exist would fail every record. Provisioning is
      // idempotent (a second run reads and writes nothing), so the backfill makes sure first.
      if (ctx.reason !== 'continuation')
        await provisionTenant(await tenantRuntime(options.runtime, tenantId));
      return sliced(tenantId, ctx, 'full');
    },
    incremental: (tenantId, ctx) => sliced(tenantId, ctx, 'incremental'),
    async reevaluate(tenantId, ctx) {
      const deps = await tenantRuntime(options.runtime, tenantId);
      // Mid-pull the snapshot is partial; the pull's own compute re-evaluates everything anyway.
      if ((await loadSliceState(deps.store, tenantId)) !== null) return { counts: { deferred: 1 } };
      const summary = await measuredRun(deps, ctx, deps.now().getTime(), () =>
        runSync(deps, { mode: 'recompute', signal: ctx.signal, onProgress: progressOf(ctx) }),
      );
      return finish(tenantId, ctx, summary);
    },
    async webhook(tenantId, events, ctx) {
      const deps = await tenantRuntime(options.runtime, tenantId);
      const work = eventsThatAreWork(deps.mapping, events);
      const dropped = events.length - work.length;
      const ids = idsOfEvents(deps.mapping, work);
      if (Object.keys(ids).length === 0) return { counts: { events: events.length, dropped } };
      const read = (): Promise<Record<string, PullCounts>> =>
        pullByIds(deps, ids, deps.now(), { signal: ctx.signal });
      const partial =
        deps.tenant.lastSyncAt === undefined || (await loadSliceState(deps.store, tenantId)) !== null;
      if (partial) {
        // Never synced, or a sliced pull is unfinished: the snapshot is partial and computing it
        // would plan from a fraction of the account. Keep it current; the pull's compute uses it.
        const pulled = await read();
        await measure(deps, ctx, {});
        return { counts: { events: events.length, dropped, read: total(pulled, 'read'), deferred: 1 } };
      }
      const byId = (options.webhookRead?.() ?? 'by-id') === 'by-id';
      const summary = await measuredRun(deps, ctx, deps.now().getTime(), () =>
        runSync(deps, {
          mode: 'incremental',
          signal: ctx.signal,
          ...(byId ? { pull: read } : { objects: Object.keys(ids) }),
          onProgress: progressOf(ctx),
        }),
      );
      const outcome = await finish(tenantId, ctx, summary);
      return { counts: { ...outcome.counts, events: events.length, dropped } };
    },
    async provision(tenantId) {
      const report = await provisionTenant(await tenantRuntime(options.runtime, tenantId));
      return {
        counts: {
          created: report.created.length,
          updated: report.updated.length,
          conflicts: report.conflicts.length,
          writeCalls: report.writeCalls,
        },
      };
    },
  };
}
