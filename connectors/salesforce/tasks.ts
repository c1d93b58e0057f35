/**
 * Tasks: `Task` records with WhoId (Contact/Lead), WhatId (Opportunity, else Account), OwnerId,
 * ActivityDate, Status and Priority (SF sforce_api_objects_task). Idempotency key: the engine's
 * deterministic key in `Referral_Task_Key__c`, a custom External ID + Unique text field on Task.
 *
 * Exactly once: keys the pipeline may already have sent (`pendingSince`) are read first (one query
 * per `inClauseMaxIds` keys, fewer when long keys would pass the URI limit: soql.ts `inListChunks`)
 * and left alone, so a retry never resets a task a rep already worked (an upsert would overwrite its
 * Status). The missing ones are created with an upsert on the key field
 * (`PATCH /composite/sobjects/Task/Referral_Task_Key__c`, ≤200, allOrNone false, per-record
 * `created`), so even a retry after a lost response, or two workers racing, ends with one task per
 * key: the second upsert matches the first task instead of inserting another.
 */
import type { RecordError, TaskOutcome, TaskWrite } from '../contract.js';
import { chunk } from '../shared/batch.js';
import type { SalesforceClient } from './connection.js';
import type { SalesforceFacts } from './facts.js';
import { queryMorePath } from './links.js';
import { callFailure, mustStop, recordErrorOf, SaveResultsSchema } from './push.js';
import { parseQueryResult } from './records.js';
import { assertApiName, idList, inListChunks } from './soql.js';

export const TASK_KEY_FIELD = 'Referral_Task_Key__c';

const PRIORITY: Record<TaskWrite['priority'], string> = { low: 'Low', normal: 'Normal', high: 'High' };

/** Salesforce `date` fields take `YYYY-MM-DD`. */
function isoDate(d: Date): string {
  return d.toISOString().slice(0, 10);
}

export function taskRecord(task: TaskWrite, keyField: string): Record<string, unknown> {
  const what = task.deal ?? task.company;
  return {
    attributes: { type: 'Task' },
    [keyField]: task.key,
    Subject: task.subject.slice(0, 255),
    Description: task.body.slice(0, 32000),
    WhoId: task.person.id,
    ...(what === undefined ? {} : { WhatId: what.id }),
    ...(task.ownerId === undefined ? {} : { OwnerId: task.ownerId }),
    ActivityDate: isoDate(task.dueAt),
    Status: 'Not Started',
    Priority: PRIORITY[task.priority],
  };
}

async function existingTasks(
  client: SalesforceClient,
  keys: readonly string[],
  keyField: string,
  inClauseMaxIds: number,
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const part of inListChunks(keys, inClauseMaxIds)) {
    const soql = `SELECT Id, ${keyField} FROM Task WHERE ${keyField} IN (${idList(part)})`;
    let res = parseQueryResult(
      (
        await client.request('query', 'existing tasks', {
          method: 'GET',
          path: `/query?q=${encodeURIComponent(soql)}`,
        })
      ).body,
      'Salesforce Task query',
    );
    for (;;) {
      for (const row of res.records) {
        const key = row[keyField];
        const id = row.Id;
        if (typeof key === 'string' && typeof id === 'string') found.set(key, id);
      }
      if (res.done || res.nextRecordsUrl === undefined) break;
      res = parseQueryResult(
        (
          await client.request('queryMore', 'existing tasks', {
            method: 'GET',
            path: queryMorePath(res.nextRecordsUrl),
          })
        ).body,
        'Salesforce Task query',
      );
    }
  }
  return found;
}

export async function pushTasks(
  client: SalesforceClient,
  facts: SalesforceFacts,
  tasks: readonly TaskWrite[],
  options: { keyField?: string; lookupAlways?: boolean } = {},
): Promise<TaskOutcome[]> {
  const keyField = assertApiName(options.keyField ?? TASK_KEY_FIELD);
  // One write per key even when the engine hands the same key twice in a batch.
  const unique = [...new Map(tasks.map((t) => [t.key, t])).values()];
  const outcomes: TaskOutcome[] = [];
  // Only a key that may already have reached Salesforce (`pendingSince`: a crash between the call
  // and the pipeline's `done` mark) is looked up; a first attempt cannot have a task a rep worked,
  // and its upsert on the key is idempotent anyway (connectors/contract.ts TaskWrite.pendingSince;
  // HubSpot does the same). `lookupAlways` looks every key up, at one query per IN list.
  const toCheck = unique.filter((t) => options.lookupAlways === true || t.pendingSince !== undefined);
  let existing: Map<string, string>;
  try {
    existing = await existingTasks(
      client,
      toCheck.map((t) => t.key),
      keyField,
      facts.query.inClauseMaxIds,
    );
  } catch (error) {
    if (mustStop(error)) throw error;
    const failure = callFailure(error);
    return unique.map((t) => ({ key: t.key, ok: false as const, error: failure }));
  }
  const missing: TaskWrite[] = [];
  for (const t of unique) {
    const id = existing.get(t.key);
    if (id !== undefined) outcomes.push({ key: t.key, ok: true, taskId: id, created: false });
    else missing.push(t);
  }
  for (const batch of chunk(missing, facts.collections.maxRecords)) {
    try {
      const res = await client.request<unknown>('upsert', 'Task upsert', {
        method: 'PATCH',
        path: `/composite/sobjects/Task/${keyField}`,
        body: { allOrNone: false, records: batch.map((t) => taskRecord(t, keyField)) },
      });
      const results = SaveResultsSchema.parse(res.body);
      batch.forEach((t, i) => {
        const r = results[i];
        if (r?.success === true && typeof r.id === 'string') {
          outcomes.push({ key: t.key, ok: true, taskId: r.id, created: r.created ?? true });
        } else {
          const error: RecordError =
            r === undefined
              ? {
                  code: 'MISSING_RESULT',
                  message: 'Salesforce returned no result for this task',
                  retryable: true,
                }
              : recordErrorOf(r);
          outcomes.push({ key: t.key, ok: false, error });
        }
      });
    } catch (error) {
      if (mustStop(error)) throw error;
      const failure = callFailure(error);
      for (const t of batch) outcomes.push({ key: t.key, ok: false, error: failure });
    }
  }
  return outcomes;
}
