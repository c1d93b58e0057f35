/**
 * Push phase: the plan's changed values in the connector's batches, then tasks, each recorded so a
 * crash or retry converges without a lost write or a duplicate task.
 *
 * - A record written successfully gets its full owned values saved (`written`) and its snapshot's
 *   `current` updated: the next compute diffs against what the CRM now holds, so nothing is
 *   rewritten, and the echo of our write (new modification stamp, webhook) is recognised.
 * - A failed record keeps its old snapshot: the next compute plans it again (retry), and its error
 *   is kept with the reason for the admin until it succeeds.
 * - Tasks: keys already `done` are skipped; the rest are marked `pending` BEFORE the CRM call and
 *   `done` after, and a pending key is handed to the connector with `pendingSince` so it looks the
 *   task up before creating it (the connectors' task push is idempotent per key as well).
 */
import type { CrmConnector, RecordError, TaskWrite, WriteOutcome } from '../../connectors/contract.js';
import type { SnapshotCache } from '../store/snapshot-cache.js';
import { decodeSnapshot, encodeSnapshot } from '../store/snapshot-cache.js';
import type { RecordErrorInput, Store } from '../store/types.js';
import type { OwnedValue } from '../engine/index.js';
import type { PlannedWrite } from './compute.js';
import { valuesAfterWrite } from './compute.js';

export interface PushDeps {
  tenantId: string;
  store: Store;
  snapshots: SnapshotCache;
  connector: CrmConnector;
  now: () => Date;
}

export interface PushCounts {
  recordsWritten: number;
  recordsFailed: number;
  fieldsWritten: Record<string, number>;
  tasksCreated: number;
  tasksExisting: number;
  tasksFailed: number;
  errors: RecordErrorInput[];
}

export function emptyPushCounts(): PushCounts {
  return {
    recordsWritten: 0,
    recordsFailed: 0,
    fieldsWritten: {},
    tasksCreated: 0,
    tasksExisting: 0,
    tasksFailed: 0,
    errors: [],
  };
}

/**
 * Updates per call to the connector, which batches further (HubSpot 100, Salesforce 200 per CRM
 * call, or a Bulk 2.0 ingest job above its threshold): a common multiple of the batch sizes, and
 * large enough that the connector sees a big write as big and switches to its bulk path.
 */
export const PUSH_CHUNK = 50_000;

/** Updates per `pushUpdates` call for this connector. */
export function writeBatchOf(connector: Pick<CrmConnector, 'writeBatch'>): number {
  return connector.writeBatch ?? PUSH_CHUNK;
}

export async function pushWrites(
  deps: PushDeps,
  writes: readonly PlannedWrite[],
  counts: PushCounts,
  signal?: AbortSignal,
): Promise<void> {
  const size = writeBatchOf(deps.connector);
  for (let i = 0; i < writes.length; i += size) {
    signal?.throwIfAborted();
    const chunk = writes.slice(i, i + size);
    const outcomes = await deps.connector.pushUpdates(chunk.map((w) => w.update));
    await recordOutcomes(deps, chunk, outcomes, counts);
  }
}

async function recordOutcomes(
  deps: PushDeps,
  chunk: readonly PlannedWrite[],
  outcomes: readonly WriteOutcome[],
  counts: PushCounts,
): Promise<void> {
  const byRef = new Map(outcomes.map((o) => [`${o.object}\0${o.id}`, o]));
  const okByObject = new Map<string, PlannedWrite[]>();
  const errors: RecordErrorInput[] = [];
  for (const w of chunk) {
    const outcome = byRef.get(`${w.object}\0${w.plan.id}`);
    if (outcome?.ok === true) {
      counts.recordsWritten++;
      for (const field of Object.keys(w.plan.changes))
        counts.fieldsWritten[field] = (counts.fieldsWritten[field] ?? 0) + 1;
      const list = okByObject.get(w.object);
      if (list === undefined) okByObject.set(w.object, [w]);
      else list.push(w);
    } else {
      counts.recordsFailed++;
      const error: RecordError =
        outcome?.ok === false
          ? outcome.error
          : {
              code: 'ERR_SYNC_NO_OUTCOME',
              message: 'the connector returned no outcome for this record',
              retryable: true,
            };
      errors.push({ object: w.object, id: w.plan.id, ...error });
    }
  }
  for (const [object, ok] of okByObject) {
    const ids = ok.map((w) => w.plan.id);
    await deps.store.putRecordStates(
      deps.tenantId,
      object,
      ok.map((w) => ({
        id: w.plan.id,
        written: valuesAfterWrite(w.plan, w.before) as Record<string, OwnedValue>,
      })),
    );
    const cached = await deps.snapshots.get(deps.tenantId, object, ids);
    const entries: { id: string; json: string }[] = [];
    for (const w of ok) {
      const json = cached.get(w.plan.id);
      if (json === undefined) continue;
      const value = decodeSnapshot<{ current?: Record<string, unknown> }>(json);
      value.current = valuesAfterWrite(w.plan, value.current ?? {});
      entries.push({ id: w.plan.id, json: encodeSnapshot(value) });
    }
    await deps.snapshots.put(deps.tenantId, object, entries);
    await deps.store.clearErrors(
      deps.tenantId,
      ids.map((id) => ({ object, id })),
    );
  }
  if (errors.length > 0) {
    counts.errors.push(...errors);
    await deps.store.recordErrors(deps.tenantId, errors, deps.now());
  }
}

export async function pushTasks(
  deps: PushDeps,
  tasks: readonly TaskWrite[],
  counts: PushCounts,
  signal?: AbortSignal,
): Promise<void> {
  for (let i = 0; i < tasks.length; i += PUSH_CHUNK) {
    signal?.throwIfAborted();
    const chunk = tasks.slice(i, i + PUSH_CHUNK);
    const ledger = await deps.store.getTasks(
      deps.tenantId,
      chunk.map((t) => t.key),
    );
    const todo: TaskWrite[] = [];
    for (const t of chunk) {
      const entry = ledger.get(t.key);
      if (entry?.state === 'done') {
        counts.tasksExisting++;
        continue;
      }
      todo.push(entry?.state === 'pending' ? { ...t, pendingSince: new Date(entry.at) } : t);
    }
    if (todo.length === 0) continue;
    await deps.store.markTasksPending(
      deps.tenantId,
      todo.filter((t) => t.pendingSince === undefined).map((t) => t.key),
      deps.now(),
    );
    const outcomes = await deps.connector.pushTasks(todo);
    const done: { key: string; taskId: string }[] = [];
    const errors: RecordErrorInput[] = [];
    for (const o of outcomes) {
      if (o.ok) {
        done.push({ key: o.key, taskId: o.taskId });
        if (o.created) counts.tasksCreated++;
        else counts.tasksExisting++;
      } else {
        counts.tasksFailed++;
        errors.push({ object: 'task', id: o.key, ...o.error });
      }
    }
    await deps.store.markTasksDone(deps.tenantId, done);
    if (done.length > 0)
      await deps.store.clearErrors(
        deps.tenantId,
        done.map((d) => ({ object: 'task', id: d.key })),
      );
    if (errors.length > 0) {
      counts.errors.push(...errors);
      await deps.store.recordErrors(deps.tenantId, errors, deps.now());
    }
  }
}
