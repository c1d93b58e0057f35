/**
 * Field updates, decided per object within one call:
 *  - an object with more than `bulkIngestThreshold` records in the call goes through Bulk API 2.0:
 *    one update job carrying all of them, split only where the upload would pass the job data limit
 *    (`bulk.ingestMaxJobBytes`, under the 150 MB per job of "Bulk API and Bulk API 2.0 Limits and
 *    Allocations", https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_bulkapi.htm);
 *    a job costs 4 calls whatever its size (bulk.ts);
 *  - the rest, all objects together, through sObject Collections `PATCH /composite/sobjects` with
 *    `allOrNone: false`, ≤200 records per call, one result per record in request order (API_FACTS §2
 *    "Collections / Composite").
 * The default threshold (2,000) is Salesforce's own line: "Any data operation that includes more
 * than 2,000 records is a good candidate for Bulk API 2.0 … Jobs with fewer than 2,000 records
 * should involve bulkified synchronous calls in REST (for example, Composite)"
 * (https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/ "Introduction to
 * Bulk API 2.0"). Partial failures never throw: each input gets an outcome, retryable or permanent.
 * Budget pauses and a revoked session do throw — nothing else can be written either.
 */
import { z } from 'zod';
import type { RecordError, RecordUpdate, WireValue, WriteOutcome } from '../contract.js';
import { isAppError } from '../../src/errors.js';
import { chunk } from '../shared/batch.js';
import { csvRowBytes, runBulkUpdate } from './bulk.js';
import type { SalesforceClient } from './connection.js';
import {
  ERR_AUTH_REVOKED,
  ERR_SALESFORCE_BUDGET_PAUSED,
  ERR_SALESFORCE_SESSION_REJECTED,
  isTransientCode,
} from './errors.js';
import type { SalesforceFacts, SalesforceSettings } from './facts.js';
import { assertApiName } from './soql.js';

const SaveResultSchema = z.looseObject({
  id: z.string().nullish(),
  success: z.boolean(),
  created: z.boolean().optional(),
  errors: z
    .array(z.looseObject({ statusCode: z.string().optional(), message: z.string().optional() }))
    .default([]),
});
export const SaveResultsSchema = z.array(SaveResultSchema);
export type SaveResult = z.infer<typeof SaveResultSchema>;

const STOP_CODES = new Set([ERR_SALESFORCE_BUDGET_PAUSED, ERR_AUTH_REVOKED, ERR_SALESFORCE_SESSION_REJECTED]);

export function mustStop(error: unknown): boolean {
  return isAppError(error) && STOP_CODES.has(error.code);
}

export function recordErrorOf(result: SaveResult): RecordError {
  const first = result.errors[0];
  const code = first?.statusCode ?? 'UNKNOWN_ERROR';
  return {
    code,
    message: first?.message ?? 'Salesforce rejected the record',
    retryable: isTransientCode(code),
  };
}

export function callFailure(error: unknown): RecordError {
  const code = isAppError(error) ? String(error.details?.salesforceCode ?? error.code) : 'ERR_SALESFORCE_API';
  const retryable = isAppError(error) ? error.retryable || isTransientCode(code) : true;
  return { code, message: error instanceof Error ? error.message : String(error), retryable };
}

/** Same record twice in one batch: later values win (Collections would reject the duplicate id). */
function merge(updates: readonly RecordUpdate[]): RecordUpdate[] {
  const byKey = new Map<string, RecordUpdate>();
  for (const u of updates) {
    const key = `${u.object}\u0000${u.id}`;
    const prev = byKey.get(key);
    byKey.set(
      key,
      prev === undefined
        ? { ...u, fields: { ...u.fields } }
        : { ...u, fields: { ...prev.fields, ...u.fields } },
    );
  }
  // Grouped by object: Collections accepts mixed types but in at most 10 chunks of one type each.
  return [...byKey.values()].sort((a, b) => (a.object < b.object ? -1 : a.object > b.object ? 1 : 0));
}

export async function pushUpdates(
  client: SalesforceClient,
  facts: SalesforceFacts,
  settings: SalesforceSettings,
  updates: readonly RecordUpdate[],
): Promise<WriteOutcome[]> {
  const merged = merge(updates.filter((u) => Object.keys(u.fields).length > 0));
  for (const u of merged) {
    assertApiName(u.object, 'object');
    for (const f of Object.keys(u.fields)) assertApiName(f);
  }
  const byObject = new Map<string, RecordUpdate[]>();
  for (const u of merged) {
    const list = byObject.get(u.object);
    if (list === undefined) byObject.set(u.object, [u]);
    else list.push(u);
  }
  const outcomes: WriteOutcome[] = [];
  const small: RecordUpdate[] = [];
  for (const [object, list] of byObject) {
    if (list.length <= settings.bulkIngestThreshold) {
      small.push(...list);
      continue;
    }
    for (const part of jobParts(list, facts.bulk.ingestMaxJobBytes))
      outcomes.push(...(await bulkUpdate(client, settings, object, part)));
  }
  // `merge` sorted by object: Collections accepts mixed types in at most 10 runs of one type.
  for (const batch of chunk(small, facts.collections.maxRecords)) {
    outcomes.push(...(await collectionsUpdate(client, batch)));
  }
  return outcomes;
}

/** Consecutive slices whose uploads each stay within `maxBytes` (header row included). */
export function jobParts(list: readonly RecordUpdate[], maxBytes: number): RecordUpdate[][] {
  const header = 1024;
  const parts: RecordUpdate[][] = [];
  let current: RecordUpdate[] = [];
  let bytes = header;
  for (const u of list) {
    const n = csvRowBytes({ id: u.id, fields: u.fields as Record<string, WireValue> });
    if (current.length > 0 && bytes + n > maxBytes) {
      parts.push(current);
      current = [];
      bytes = header;
    }
    current.push(u);
    bytes += n;
  }
  if (current.length > 0) parts.push(current);
  return parts;
}

async function collectionsUpdate(
  client: SalesforceClient,
  batch: readonly RecordUpdate[],
): Promise<WriteOutcome[]> {
  let results: SaveResult[];
  try {
    const res = await client.request<unknown>('collections', 'sObject Collections update', {
      method: 'PATCH',
      path: '/composite/sobjects',
      body: {
        allOrNone: false,
        records: batch.map((u) => ({ attributes: { type: u.object }, id: u.id, ...u.fields })),
      },
    });
    results = SaveResultsSchema.parse(res.body);
  } catch (error) {
    if (mustStop(error)) throw error;
    const failure = callFailure(error);
    return batch.map((u) => ({ object: u.object, id: u.id, ok: false as const, error: failure }));
  }
  return batch.map((u, i): WriteOutcome => {
    const r = results[i];
    if (r === undefined) {
      return {
        object: u.object,
        id: u.id,
        ok: false,
        error: {
          code: 'MISSING_RESULT',
          message: 'Salesforce returned no result for this record',
          retryable: true,
        },
      };
    }
    return r.success
      ? { object: u.object, id: u.id, ok: true }
      : { object: u.object, id: u.id, ok: false, error: recordErrorOf(r) };
  });
}

/** `sf__Error` is `CODE:message:fields` (Bulk API 2.0 failedResults). */
function bulkError(raw: string): RecordError {
  const [code = 'UNKNOWN_ERROR', ...rest] = raw.split(':');
  return { code, message: rest.join(':') || raw, retryable: isTransientCode(code) };
}

async function bulkUpdate(
  client: SalesforceClient,
  settings: SalesforceSettings,
  object: string,
  list: readonly RecordUpdate[],
): Promise<WriteOutcome[]> {
  try {
    const result = await runBulkUpdate(
      client,
      object,
      list.map((u) => ({ id: u.id, fields: u.fields as Record<string, WireValue> })),
      {
        intervalMs: settings.bulkPollIntervalMs,
        timeoutMs: settings.bulkPollTimeoutMs,
        maxIntervalMs: settings.bulkPollMaxIntervalMs,
      },
    );
    return list.map((u): WriteOutcome => {
      const failed = result.failed.get(u.id) ?? result.failed.get(u.id.slice(0, 15));
      if (failed !== undefined) return { object, id: u.id, ok: false, error: bulkError(failed) };
      if (result.successIds.has(u.id) || result.successIds.has(u.id.slice(0, 15)))
        return { object, id: u.id, ok: true };
      return {
        object,
        id: u.id,
        ok: false,
        error: { code: 'UNPROCESSED', message: 'Bulk 2.0 did not process this record', retryable: true },
      };
    });
  } catch (error) {
    if (mustStop(error)) throw error;
    // A failed job wrote nothing we can trust per record: Collections decide record by record
    // (re-writing an already written value is harmless: same value, same result).
    client.log.warn(
      { object, err: String(error) },
      'salesforce push: Bulk 2.0 ingest failed, using Collections',
    );
    client.bulkFallbacks++;
    const out: WriteOutcome[] = [];
    for (const batch of chunk(list, 200)) out.push(...(await collectionsUpdate(client, batch)));
    return out;
  }
}
