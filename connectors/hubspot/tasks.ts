/**
 * Tasks, created once per idempotency key.
 *
 * Choice (documented in README.md): HubSpot tasks get NO unique-value custom property here. Batch
 * upsert with `idProperty` needs a `hasUniqueValue` property (≤ 10 per object; API_FACTS
 * §Properties), and the tasks docs list only HubSpot's own task properties (hs_timestamp,
 * hs_task_subject, hs_task_body, hs_task_status, hs_task_priority, hs_task_type,
 * hubspot_owner_id: developers.hubspot.com/docs/api-reference/latest/crm/activities/tasks/guide);
 * we found no documentation that activities accept unique-value properties. Instead:
 *  - every task carries a deterministic marker of its key (`rsk-<sha256(key)[0..32]>`) in
 *    `hs_task_body` and as `objectWriteTraceId` (which maps 207 errors back to inputs);
 *  - the task is created WITH its associations in the same call, so it is immediately reachable
 *    from its contact through associations (no search index involved: search lags);
 *  - the pipeline's task ledger marks a key `pending` before this call and `done` after; a key
 *    that comes back with `pendingSince` (crash between the call and the mark) is first looked up
 *    through the contact's task associations (v4 batch read) + a batch read of those tasks'
 *    bodies for the marker — found = no second create;
 *  - a create call that fails ambiguously (5xx, dropped connection: maybe executed) is never
 *    blindly retried: the same lookup runs first, and only the missing tasks are sent again.
 */
import { createHash } from 'node:crypto';
import type { RecordError, TaskOutcome, TaskWrite } from '../contract.js';
import { chunk } from '../shared/batch.js';
import { recordErrorOf, toAppError } from './errors.js';
import { associationTypeId } from './facts.js';
import type { HubSpotFacts } from './facts.js';
import type { HubSpotHttp } from './http.js';
import { readLinks } from './links.js';
import { batchRecordError, idsOfBatchError, mustStop } from './push.js';
import { BatchResultSchema, parseWire } from './wire.js';

const PRIORITY: Record<TaskWrite['priority'], string> = { low: 'LOW', normal: 'MEDIUM', high: 'HIGH' };
const MARKER_RE = /rsk-[0-9a-f]{32}/g;

export function taskMarker(key: string): string {
  return `rsk-${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

export function taskProperties(task: TaskWrite): Record<string, string> {
  return {
    hs_timestamp: task.dueAt.toISOString(),
    hs_task_subject: task.subject.slice(0, 255),
    hs_task_body: `${task.body}\n\n[ref: ${taskMarker(task.key)}]`,
    hs_task_status: 'NOT_STARTED',
    hs_task_priority: PRIORITY[task.priority],
    hs_task_type: 'TODO',
    ...(task.ownerId === undefined ? {} : { hubspot_owner_id: task.ownerId }),
  };
}

export function taskAssociations(
  task: TaskWrite,
  facts: HubSpotFacts,
): { to: { id: string }; types: { associationCategory: string; associationTypeId: number }[] }[] {
  const targets = [task.person, task.deal, task.company].filter((t) => t !== undefined);
  return targets.flatMap((t) => {
    const typeId = associationTypeId(facts, 'tasks', t.object);
    return typeId === undefined
      ? []
      : [
          {
            to: { id: t.id },
            types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: typeId }],
          },
        ];
  });
}

export interface TaskDeps {
  http: HubSpotHttp;
  facts: HubSpotFacts;
  /** Look every key up before creating (not only `pendingSince` ones). */
  reconcileAlways: boolean;
}

/** Marker → existing task id, found through the persons' task associations. */
export async function findExistingTasks(
  deps: TaskDeps,
  tasks: readonly TaskWrite[],
  signal?: AbortSignal,
): Promise<Map<string, string>> {
  const wanted = new Set(tasks.map((t) => taskMarker(t.key)));
  const found = new Map<string, string>();
  const byObject = new Map<string, Set<string>>();
  for (const t of tasks) {
    const set = byObject.get(t.person.object) ?? new Set<string>();
    set.add(t.person.id);
    byObject.set(t.person.object, set);
  }
  const taskIds = new Set<string>();
  for (const [object, ids] of byObject) {
    const links = await readLinks(deps.http, deps.facts, object, 'tasks', [...ids], signal);
    for (const list of links.values()) for (const id of list) taskIds.add(id);
  }
  for (const ids of chunk([...taskIds], deps.facts.batch.maxInputs)) {
    const raw = await deps.http.call(
      'read',
      'batch read tasks',
      (c, o) =>
        c.crm.objects.batchApi.read(
          'tasks',
          {
            inputs: ids.map((id) => ({ id })),
            properties: ['hs_task_body'],
            propertiesWithHistory: [],
          },
          undefined,
          o,
        ),
      signal,
    );
    for (const task of parseWire(BatchResultSchema, raw, 'batch read tasks').results) {
      for (const marker of (task.properties.hs_task_body ?? '').match(MARKER_RE) ?? []) {
        if (!wanted.has(marker)) continue;
        const prev = found.get(marker);
        if (prev === undefined || Number(task.id) < Number(prev)) found.set(marker, task.id);
      }
    }
  }
  return found;
}

type CreateResult = { ok: true; taskId: string } | { ok: false; error: RecordError; ambiguous: boolean };

async function createBatch(
  deps: TaskDeps,
  batch: readonly TaskWrite[],
  signal?: AbortSignal,
): Promise<Map<string, CreateResult>> {
  const out = new Map<string, CreateResult>();
  const inputs = batch.map((t) => ({
    properties: taskProperties(t),
    associations: taskAssociations(t, deps.facts),
    objectWriteTraceId: taskMarker(t.key),
  }));
  let body: unknown;
  try {
    body = (
      await deps.http.call(
        'write',
        'batch create tasks',
        (c) =>
          deps.http.requestJson(c, {
            method: 'POST',
            path: '/crm/v3/objects/tasks/batch/create',
            body: { inputs },
          }),
        signal,
        false,
      )
    ).body;
  } catch (error) {
    const app = toAppError(error, 'batch create tasks');
    if (mustStop(app)) throw app;
    // 5xx / dropped connection: the tasks may exist. Permanent 4xx: nothing was created.
    const ambiguous = app.retryable && app.code !== 'ERR_HUBSPOT_RATE_LIMITED';
    if (!ambiguous && !app.retryable && batch.length > 1) {
      const half = Math.ceil(batch.length / 2);
      const left = await createBatch(deps, batch.slice(0, half), signal);
      const right = await createBatch(deps, batch.slice(half), signal);
      return new Map([...left, ...right]);
    }
    for (const t of batch) out.set(t.key, { ok: false, error: recordErrorOf(app), ambiguous });
    return out;
  }
  const result = parseWire(BatchResultSchema, body, 'batch create tasks');
  const byMarker = new Map(batch.map((t) => [taskMarker(t.key), t.key]));
  for (const e of result.errors ?? []) {
    for (const id of idsOfBatchError(e)) {
      const key = byMarker.get(id);
      if (key !== undefined) out.set(key, { ok: false, error: batchRecordError(e), ambiguous: false });
    }
  }
  for (const r of result.results) {
    const marker =
      r.objectWriteTraceId ??
      (r.properties.hs_task_body ?? '').match(MARKER_RE)?.find((m) => byMarker.has(m));
    const key = marker === undefined || marker === null ? undefined : byMarker.get(marker);
    if (key !== undefined) out.set(key, { ok: true, taskId: r.id });
  }
  for (const t of batch) {
    if (!out.has(t.key))
      out.set(t.key, {
        ok: false,
        error: { code: 'UNCONFIRMED', message: 'HubSpot did not report this task', retryable: true },
        ambiguous: true,
      });
  }
  return out;
}

export async function pushTasks(
  deps: TaskDeps,
  tasks: readonly TaskWrite[],
  signal?: AbortSignal,
): Promise<TaskOutcome[]> {
  const unique = new Map<string, TaskWrite>();
  for (const t of tasks) if (!unique.has(t.key)) unique.set(t.key, t);
  const outcomes = new Map<string, TaskOutcome>();

  const toCheck = [...unique.values()].filter((t) => deps.reconcileAlways || t.pendingSince !== undefined);
  if (toCheck.length > 0) {
    const existing = await findExistingTasks(deps, toCheck, signal);
    for (const t of toCheck) {
      const id = existing.get(taskMarker(t.key));
      if (id !== undefined) outcomes.set(t.key, { key: t.key, ok: true, taskId: id, created: false });
    }
  }

  const toCreate = [...unique.values()].filter((t) => !outcomes.has(t.key));
  for (const batch of chunk(toCreate, deps.facts.batch.maxInputs)) {
    const results = await createBatch(deps, batch, signal);
    const ambiguous = batch.filter((t) => {
      const r = results.get(t.key);
      return r !== undefined && !r.ok && r.ambiguous;
    });
    if (ambiguous.length > 0) {
      // Maybe created: look before sending them again.
      const existing = await findExistingTasks(deps, ambiguous, signal);
      const retry = ambiguous.filter((t) => !existing.has(taskMarker(t.key)));
      for (const t of ambiguous) {
        const id = existing.get(taskMarker(t.key));
        if (id !== undefined) results.set(t.key, { ok: true, taskId: id });
      }
      if (retry.length > 0) for (const [k, v] of await createBatch(deps, retry, signal)) results.set(k, v);
    }
    for (const t of batch) {
      const r = results.get(t.key);
      if (r === undefined) continue;
      outcomes.set(
        t.key,
        r.ok
          ? { key: t.key, ok: true, taskId: r.taskId, created: true }
          : { key: t.key, ok: false, error: r.error },
      );
    }
  }
  return tasks.map(
    (t) =>
      outcomes.get(t.key) ?? {
        key: t.key,
        ok: false,
        error: { code: 'UNCONFIRMED', message: 'no outcome', retryable: true },
      },
  );
}
