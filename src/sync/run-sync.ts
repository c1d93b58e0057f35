/**
 * One sync run for one tenant: pull → map → compute → diff → push → checkpoint.
 *
 *  - `full` (install, forced re-sync) and `incremental` (schedule, webhooks) differ only in how the
 *    connector reads; `recompute` pulls nothing (time passed: a 30-day window expired, a cool-down
 *    ended — the engine said when).
 *  - Compute runs only when something the engine reads changed (the tenant's dirty flag), when
 *    re-evaluation is due, or when forced; our own writes echoing back change nothing.
 *  - A dry run pulls and computes exactly like a real run and returns the plan; it writes nothing to
 *    the CRM and advances nothing a real run would need (dirty flag, code stream, ask caps, ledgers).
 */
import { randomUUID } from 'node:crypto';
import type { CrmConnector, CrmDefinition, Logger, TaskWrite } from '../../connectors/contract.js';
import { AppError, isAppError } from '../errors.js';
import type { Report, Rules } from '../engine/index.js';
import type { SnapshotCache } from '../store/snapshot-cache.js';
import type { Store, SyncRun } from '../store/types.js';
import type { JsonValue } from '../../connectors/contract.js';
import { FOREVER_MS, computePlan, consumeAsks, recordAsks, saveCodePosition } from './compute.js';
import type { ComputeOptions, PlannedWrite, SyncPlan } from './compute.js';
import { reevaluateDue } from './reevaluate.js';
import type { Mapping } from './mapping.js';
import { DIRTY_FLAG, DIRTY_TTL_MS, pullAll } from './pull.js';
import type { PullCounts } from './pull.js';
import { emptyPushCounts, pushTasks, pushWrites, writeBatchOf } from './push.js';
import type { PushCounts } from './push.js';

export const ERR_SYNC_FAILED = 'ERR_SYNC_FAILED';
export const NEXT_EVALUATION_FLAG = 'next-eval';
/** When the last real full computation ran (the sync's clock, ISO): see FULL_COMPUTE_MAX_AGE_MS. */
export const FULL_COMPUTE_FLAG = 'full-computed-at';

export type SyncMode = 'full' | 'incremental' | 'recompute';

/**
 * A time-only run re-evaluates just the due people, and leaves roll-ups, attribution and the
 * report as the last full computation made them (time alone moves none of them but readiness
 * counts). At least once a day the whole account is computed again instead: the dashboard's
 * figures are then never more than a day old, and the full plan is the daily consistency sweep
 * (anything a targeted run could not see, such as a CRM edit whose webhook was lost and which
 * the cursor did not bring, is written back then).
 */
export const FULL_COMPUTE_MAX_AGE_MS = 86_400_000;

export interface SyncDeps {
  tenantId: string;
  store: Store;
  snapshots: SnapshotCache;
  connector: CrmConnector;
  definition: Pick<CrmDefinition, 'encode' | 'crm'>;
  mapping: Mapping;
  rules: Rules;
  now: () => Date;
  logger?: Logger;
}

export interface SyncProgress {
  phase: 'pull' | 'compute' | 'push' | 'tasks' | 'done';
  object?: string;
  done: number;
  total?: number;
}

export interface SyncOptions {
  mode: SyncMode;
  dryRun?: boolean;
  /** Compute even if nothing changed (rules or mapping changed, admin asked). */
  force?: boolean;
  /** Only pull these CRM objects (webhook for one object). */
  objects?: readonly string[];
  signal?: AbortSignal;
  /**
   * Replaces the cursor pull of this run: a webhook's read of exactly the records it names, or a
   * pull that earlier jobs already did in slices (src/service/handlers.ts). Returns its counts.
   */
  pull?: () => Promise<Record<string, PullCounts>>;
  onProgress?: (progress: SyncProgress) => void;
  /**
   * How old the last full computation may be for a time-only run to re-evaluate just the due
   * people (default a day, `FULL_COMPUTE_MAX_AGE_MS`); older, the run computes the whole account.
   */
  fullComputeMaxAgeMs?: number;
  /** Test hook: called between phases (crash injection): pulled → computed → tasks → pushed. */
  checkpoint?: (stage: 'pulled' | 'computed' | 'tasks' | 'pushed') => void | Promise<void>;
}

export interface PlanPreview {
  /** Changes per owned field, by record kind. */
  fieldChanges: Record<string, Record<string, number>>;
  records: number;
  samples: {
    kind: string;
    object: string;
    id: string;
    before: Record<string, unknown>;
    after: Record<string, unknown>;
  }[];
  tasks: number;
  tasksByKind: Record<string, number>;
  tasksByOwner: Record<string, number>;
  taskSamples: { key: string; kind: string; subject: string; ownerId?: string; person: string }[];
}

export interface SyncSummary {
  runId: string;
  tenantId: string;
  mode: SyncMode;
  dryRun: boolean;
  startedAt: string;
  finishedAt: string;
  pulled: Record<string, PullCounts>;
  computed: boolean;
  people: number;
  push: Omit<PushCounts, 'errors'> & { errors: number };
  plan: PlanPreview | null;
  report: Report | null;
  nextEvaluationAt: string | null;
  status: 'succeeded' | 'partial';
}

const SAMPLE_SIZE = 20;
const NO_DESIRED = Object.freeze({}) as PlannedWrite['plan']['desired'];

/**
 * The preview of a plan, built as its writes stream past (counts, and the first samples of each
 * record kind — people first — so a preview of a 1M-contact plan holds 60 records, not the plan).
 */
export class PreviewBuilder {
  private records = 0;
  private readonly samples: Record<string, PlanPreview['samples']> = { person: [], deal: [], company: [] };

  addWrites(writes: readonly PlannedWrite[]): void {
    this.records += writes.length;
    for (const w of writes) {
      const list = (this.samples[w.kind] ??= []);
      if (list.length >= SAMPLE_SIZE) continue;
      const before: Record<string, unknown> = {};
      for (const k of Object.keys(w.plan.changes)) before[k] = w.before[k] ?? null;
      list.push({ kind: w.kind, object: w.object, id: w.plan.id, before, after: { ...w.plan.changes } });
    }
  }

  /** `tasks`: the plan's tasks not yet created (the ledger's done keys left out). */
  finish(plan: SyncPlan, tasks: readonly TaskWrite[]): PlanPreview {
    const tasksByKind: Record<string, number> = {};
    const tasksByOwner: Record<string, number> = {};
    for (const t of tasks) {
      tasksByKind[t.kind] = (tasksByKind[t.kind] ?? 0) + 1;
      const owner = t.ownerId ?? '(no owner)';
      tasksByOwner[owner] = (tasksByOwner[owner] ?? 0) + 1;
    }
    return {
      fieldChanges: plan.engine.counts.fieldChanges,
      records: this.records,
      samples: Object.values(this.samples).flat(),
      tasks: tasks.length,
      tasksByKind,
      tasksByOwner,
      taskSamples: tasks.slice(0, SAMPLE_SIZE).map((t) => ({
        key: t.key,
        kind: t.kind,
        subject: t.subject,
        ...(t.ownerId === undefined ? {} : { ownerId: t.ownerId }),
        person: `${t.person.object}/${t.person.id}`,
      })),
    };
  }
}

function dueForReevaluation(flag: JsonValue | null, now: Date): boolean {
  return typeof flag === 'string' && Date.parse(flag) <= now.getTime();
}

export async function runSync(deps: SyncDeps, options: SyncOptions): Promise<SyncSummary> {
  const { tenantId, store } = deps;
  const startedAt = deps.now();
  const runId = randomUUID();
  const dryRun = options.dryRun ?? false;
  const run: SyncRun = {
    id: runId,
    kind: dryRun
      ? 'dry-run'
      : options.mode === 'full'
        ? 'backfill'
        : options.mode === 'recompute'
          ? 'reevaluate'
          : 'incremental',
    status: 'running',
    startedAt: startedAt.toISOString(),
    counts: {},
  };
  await store.saveRun(tenantId, run);
  const progress = options.onProgress ?? (() => undefined);
  try {
    // ---- pull
    let pulled: Record<string, PullCounts> = {};
    if (options.pull !== undefined) pulled = await options.pull();
    else if (options.mode !== 'recompute') {
      pulled = await pullAll(deps, {
        mode: options.mode,
        runStartedAt: startedAt,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        ...(options.objects === undefined ? {} : { objects: options.objects }),
        onPage: (object, c) => progress({ phase: 'pull', object, done: c.read }),
      });
    }
    await options.checkpoint?.('pulled');

    // ---- compute (only when something changed, time passed, or forced)
    // Whole seconds: CRMs store datetimes to the second (HubSpot) or millisecond; an instant we
    // write must read back equal, or the next run would see a change that is not one.
    const now = new Date(Math.floor(deps.now().getTime() / 1000) * 1000);
    const dirty = (await store.getFlag(tenantId, DIRTY_FLAG)) === true;
    const due = dueForReevaluation(await store.getFlag(tenantId, NEXT_EVALUATION_FLAG), now);
    const shouldCompute = dirty || due || options.force === true || options.mode === 'recompute' || dryRun;
    const push = emptyPushCounts();
    let plan: SyncPlan | null = null;
    let preview: PlanPreview | null = null;
    let targeted = false;
    if (shouldCompute) {
      progress({ phase: 'compute', done: 0 });
      // Record writes stream out of compute and go to the CRM in the connector's big batches
      // (PUSH_CHUNK), so a 1M-contact plan is never held whole. The last partial batch waits for
      // the tasks and goes with the ask candidates' writes (see below).
      const previewing = new PreviewBuilder();
      const writeBatch = writeBatchOf(deps.connector);
      let buffered: PlannedWrite[] = [];
      const computeOptions: ComputeOptions = {
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        persist: !dryRun,
        onProgress: (done, total) => progress({ phase: 'compute', done, total }),
        onWrites: async (writes) => {
          previewing.addWrites(writes);
          if (dryRun) return;
          // Held until pushed: keep what the push needs, not the plan's whole desired state.
          for (const w of writes)
            buffered.push({ ...w, plan: { id: w.plan.id, desired: NO_DESIRED, changes: w.plan.changes } });
          if (buffered.length >= writeBatch) {
            const out = buffered;
            buffered = [];
            await pushWrites(deps, out, push, options.signal);
          }
        },
      };
      // Only time passed (nothing the engine reads changed, nothing forced) and the last full
      // computation is recent: re-evaluate just the people whose instant came, not the account.
      // A dry run always shows the whole plan.
      targeted =
        !dirty &&
        options.force !== true &&
        !dryRun &&
        (await lastFullComputeAge(store, tenantId, now)) <=
          (options.fullComputeMaxAgeMs ?? FULL_COMPUTE_MAX_AGE_MS);
      if (targeted) plan = await reevaluateDue(deps, now, computeOptions);
      if (plan === null) {
        targeted = false;
        plan = await computePlan(deps, now, computeOptions);
      }
      previewing.addWrites(plan.heldWrites);
      // Tasks re-planned while their occasion is recent (idempotent by key) but already created
      // are not "what will be written": the preview shows the ones the push would create.
      const ledger = await store.getTasks(
        tenantId,
        plan.tasks.map((t) => t.key),
      );
      preview = previewing.finish(
        plan,
        plan.tasks.filter((t) => ledger.get(t.key)?.state !== 'done'),
      );
      await options.checkpoint?.('computed');

      if (!dryRun) {
        // ---- tasks, then the held record writes, then checkpoint. The ask tasks go before the
        // writes that mark people as asked: they are idempotent by key (ledger + connector), while
        // writes first and a crash in between would leave people "asked" (cool-down started) with
        // no ask task. Other writes need no such order (their tasks are re-planned while recent).
        progress({ phase: 'tasks', done: 0, total: plan.tasks.length });
        await pushTasks(deps, plan.tasks, push, options.signal);
        await options.checkpoint?.('tasks');
        // An ask whose task failed did not happen: its person is not marked asked (no write, no
        // ask on record, no cap used) and stays a candidate; the errors keep the tenant dirty.
        const failedTasks = new Set(push.errors.filter((e) => e.object === 'task').map((e) => e.id));
        const asks = plan.tasks.filter((t) => t.kind === 'ask');
        const notAsked = new Set(asks.filter((t) => failedTasks.has(t.key)).map((t) => t.person.id));
        const asked = asks.filter((t) => !failedTasks.has(t.key));
        const asksByOwner: Record<string, number> = {};
        for (const t of asked) {
          if (t.ownerId !== undefined) asksByOwner[t.ownerId] = (asksByOwner[t.ownerId] ?? 0) + 1;
        }
        const last = buffered.concat(
          notAsked.size === 0 ? plan.heldWrites : plan.heldWrites.filter((w) => !notAsked.has(w.plan.id)),
        );
        buffered = [];
        progress({ phase: 'push', done: push.recordsWritten, total: plan.writes });
        await pushWrites(deps, last, push, options.signal);
        progress({ phase: 'push', done: plan.writes, total: plan.writes });
        await options.checkpoint?.('pushed');
        // Codes issued and asks scheduled in this plan are now in the CRM (or will be re-planned
        // identically next run if their record failed: the code stream replays from here).
        await saveCodePosition(store, tenantId, plan.codePosition);
        await consumeAsks(store, tenantId, now, asksByOwner);
        await recordAsks(
          deps,
          asked.map((t) => t.person.id),
          now,
        );
        if (!targeted) {
          await store.saveReport(tenantId, plan.engine.report as unknown as JsonValue);
          await store.setFlag(tenantId, FULL_COMPUTE_FLAG, now.toISOString(), FOREVER_MS);
        }
        const next = plan.engine.nextEvaluationAt;
        if (next === null) await store.clearFlag(tenantId, NEXT_EVALUATION_FLAG);
        else await store.setFlag(tenantId, NEXT_EVALUATION_FLAG, next.toISOString(), FOREVER_MS);
        // Failed records stay planned: keep the tenant dirty so the next run retries them.
        // (A targeted run that failed hands over to the full compute, which retries every plan.)
        if (push.errors.length === 0) await store.clearFlag(tenantId, DIRTY_FLAG);
        else if (targeted) await store.setFlag(tenantId, DIRTY_FLAG, true, DIRTY_TTL_MS);
      }
    }

    const finishedAt = deps.now();
    const status = push.errors.length === 0 ? 'succeeded' : 'partial';
    const summary: SyncSummary = {
      runId,
      tenantId,
      mode: options.mode,
      dryRun,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      pulled,
      computed: plan !== null,
      people: plan?.people ?? 0,
      push: { ...push, errors: push.errors.length },
      plan: preview,
      report: plan?.engine.report ?? null,
      nextEvaluationAt: plan?.engine.nextEvaluationAt?.toISOString() ?? null,
      status,
    };
    const read = Object.values(pulled).reduce((n, c) => n + c.read, 0);
    const changed = Object.values(pulled).reduce((n, c) => n + c.changed, 0);
    await store.saveRun(tenantId, {
      ...run,
      status,
      finishedAt: finishedAt.toISOString(),
      counts: {
        read,
        changed,
        computed: plan?.people ?? 0,
        written: push.recordsWritten,
        planned: plan?.writes ?? 0,
        tasks: push.tasksCreated,
        plannedTasks: plan?.tasks.length ?? 0,
        errors: push.errors.length,
      },
    });
    if (!dryRun) await store.updateTenant(tenantId, { lastSyncAt: finishedAt });
    progress({ phase: 'done', done: 1, total: 1 });
    return summary;
  } catch (error) {
    const appError = isAppError(error)
      ? error
      : new AppError(ERR_SYNC_FAILED, error instanceof Error ? error.message : String(error), {
          cause: error,
        });
    await store
      .saveRun(tenantId, {
        ...run,
        status: options.signal?.aborted === true ? 'cancelled' : 'failed',
        finishedAt: deps.now().toISOString(),
        error: { code: appError.code, message: appError.message },
      })
      .catch(() => undefined);
    deps.logger?.error({ tenantId, runId, code: appError.code }, 'sync failed');
    throw appError;
  }
}

/** Milliseconds since the last real full computation (Infinity if none is on record). */
async function lastFullComputeAge(store: Store, tenantId: string, now: Date): Promise<number> {
  const at = await store.getFlag(tenantId, FULL_COMPUTE_FLAG);
  const t = typeof at === 'string' ? Date.parse(at) : NaN;
  return Number.isNaN(t) ? Infinity : now.getTime() - t;
}
