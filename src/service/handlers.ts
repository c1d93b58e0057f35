/**
 * The queue's `JobHandlers` port implemented with the pipeline: each job builds the tenant's
 * runtime (tokens, limiter, mapping, rules) from the store and runs one `runSync`.
 *
 *  - backfill = full read, incremental = cursor read, reevaluate = recompute (no read, time passed),
 *    provision = create/extend the fields we own.
 *  - webhook = incremental scoped to the objects the events name. Events for a field we own are our
 *    own writes echoing back (HubSpot sends `propertyChange` for every write, ours included), so
 *    they are dropped before any work is queued: no write-back loop.
 *  - after a real run, a re-evaluation job is queued at the engine's `nextEvaluationAt` (a 30-day
 *    window ends, a cool-down lapses) so results change at the exact instant without a rescan.
 */
import type { ChangeEvent, Logger } from '../../connectors/contract.js';
import type { JobContext, JobHandlers, JobOutcome } from '../queue/handlers.js';
import type { QueueProducer } from '../queue/producer.js';
import { provisionTenant } from '../sync/provision.js';
import type { Mapping } from '../sync/mapping.js';
import { runSync } from '../sync/run-sync.js';
import type { SyncMode, SyncSummary } from '../sync/run-sync.js';
import { tenantRuntime } from '../sync/tenant-runtime.js';
import type { RuntimeOptions } from '../sync/tenant-runtime.js';

export interface PipelineHandlerOptions {
  runtime: RuntimeOptions;
  /** Where follow-up work (re-evaluation at the next change instant) is queued. */
  producer?: Pick<QueueProducer, 'enqueue'>;
  logger: Logger;
  /** Observes each finished run (metrics, benchmarks, tests). */
  onRun?: (tenantId: string, summary: SyncSummary) => void;
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

export function pipelineHandlers(options: PipelineHandlerOptions): JobHandlers {
  const { logger } = options;

  const followUp = async (tenantId: string, s: SyncSummary): Promise<void> => {
    options.onRun?.(tenantId, s);
    if (options.producer === undefined || s.nextEvaluationAt === null) return;
    const delayMs = Math.max(0, Date.parse(s.nextEvaluationAt) - Date.now());
    await options.producer.enqueue('reevaluate', tenantId, { delayMs, reason: 'next-evaluation' });
  };

  const sync = async (
    tenantId: string,
    ctx: JobContext,
    mode: SyncMode,
    objects?: readonly string[],
  ): Promise<JobOutcome> => {
    const deps = await tenantRuntime(options.runtime, tenantId);
    const summary = await runSync(deps, {
      mode,
      signal: ctx.signal,
      ...(objects === undefined ? {} : { objects }),
      onProgress: (p) => {
        if (p.phase !== 'pull') void ctx.progress({ phase: p.phase, done: p.done }).catch(() => undefined);
      },
    });
    await followUp(tenantId, summary);
    logger.info({ tenantId, kind: ctx.kind, ...countsOf(summary) }, 'sync finished');
    return { counts: countsOf(summary) };
  };

  return {
    async backfill(tenantId, ctx) {
      // Install queues provision and backfill on different queues with no order between them; a
      // backfill writing before the fields exist would fail every record. Provisioning is
      // idempotent (a second run reads and writes nothing), so the backfill makes sure first.
      await provisionTenant(await tenantRuntime(options.runtime, tenantId));
      return sync(tenantId, ctx, 'full');
    },
    incremental: (tenantId, ctx) => sync(tenantId, ctx, 'incremental'),
    reevaluate: (tenantId, ctx) => sync(tenantId, ctx, 'recompute'),
    async webhook(tenantId, events, ctx) {
      const deps = await tenantRuntime(options.runtime, tenantId);
      const work = eventsThatAreWork(deps.mapping, events);
      if (work.length === 0) return { counts: { events: events.length, dropped: events.length } };
      const objects = [...new Set(work.map((e) => e.object))].filter(
        (o) => deps.mapping.objects[o] !== undefined,
      );
      const outcome = await sync(tenantId, ctx, 'incremental', objects.length > 0 ? objects : undefined);
      return { counts: { ...outcome.counts, events: events.length, dropped: events.length - work.length } };
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
