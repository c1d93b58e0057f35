/**
 * Bulk API 2.0, driven one request at a time so each request is budgeted, counted and retried like
 * any other (jsforce's `bulk2.query()` would buffer every result page and poll on its own).
 * Wire facts (API_FACTS §2 "Bulk API 2.0"; SF "Understanding Bulk API 2.0 Query"):
 *  - query jobs: `POST /jobs/query {operation: "queryAll", query}`; no ORDER BY, LIMIT or COUNT()
 *    in the SOQL; poll `GET /jobs/query/{id}` until `JobComplete` (or `Failed`/`Aborted`);
 *    `GET /jobs/query/{id}/results?maxRecords=&locator=` returns CSV and the next locator in the
 *    `Sforce-Locator` header, the literal string `null` on the last page;
 *  - ingest jobs: `POST /jobs/ingest` → `PUT …/batches` (CSV) → `PATCH {state: UploadComplete}` →
 *    poll → `successfulResults` / `failedResults` (`sf__Id`, `sf__Error`) / `unprocessedrecords`.
 *
 * API cost: every HTTP request of the Bulk APIs counts against the org's daily API allowance
 * ("Each HTTP request counts as one call", Bulk API limits,
 * https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/asynch_api_concepts_limits.htm).
 * So an update job costs create + upload + close + status polls, and nothing more when the final
 * status says every record was processed and none failed: success is then implied for every
 * uploaded row, and `failedResults` / `unprocessedrecords` are fetched only when the counts say
 * there is something in them. Polls back off (interval doubling up to `maxIntervalMs`) so a long
 * job costs a few status calls, not one per interval.
 */
import { stringify } from 'csv-stringify/sync';
import { z } from 'zod';
import type { WireValue } from '../contract.js';
import { AppError } from '../../src/errors.js';
import { parseOrThrow } from '../../src/validation.js';
import type { SalesforceClient } from './connection.js';
import { ERR_SALESFORCE_PAYLOAD } from './errors.js';

export const ERR_SALESFORCE_BULK_JOB = 'ERR_SALESFORCE_BULK_JOB';

const JobInfoSchema = z.looseObject({
  id: z.string().min(1),
  state: z.string().min(1),
  errorMessage: z.string().nullish(),
  numberRecordsProcessed: z.number().nullish(),
  numberRecordsFailed: z.number().nullish(),
});
type JobInfo = z.infer<typeof JobInfoSchema>;

function jobInfo(raw: unknown): JobInfo {
  return parseOrThrow(JobInfoSchema, raw, 'Salesforce Bulk 2.0 job', ERR_SALESFORCE_PAYLOAD);
}

export interface PollOptions {
  intervalMs: number;
  timeoutMs: number;
  /** Backoff ceiling between two status calls (default: 15 × intervalMs). */
  maxIntervalMs?: number;
}

/** Waits before each status call: interval, 2×, 4×, … capped (a job rarely ends within ms). */
export function pollDelays(poll: PollOptions): () => number {
  const cap = Math.max(poll.intervalMs, poll.maxIntervalMs ?? poll.intervalMs * 15);
  let next = poll.intervalMs;
  return () => {
    const wait = next;
    next = Math.min(cap, next * 2);
    return wait;
  };
}

async function pollJob(
  client: SalesforceClient,
  kind: 'bulkQuery' | 'bulkIngest',
  path: string,
  poll: PollOptions,
): Promise<JobInfo> {
  const started = Date.now();
  const delay = pollDelays(poll);
  for (;;) {
    // Wait first: polling right after create/close only sees InProgress and burns a call.
    await client.sleep(delay());
    const info = jobInfo((await client.request(kind, 'Bulk 2.0 job status', { method: 'GET', path })).body);
    if (info.state === 'JobComplete') return info;
    if (info.state === 'Failed' || info.state === 'Aborted') {
      throw new AppError(
        ERR_SALESFORCE_BULK_JOB,
        `Bulk 2.0 job ${info.id} ${info.state}: ${info.errorMessage ?? ''}`,
        {
          details: { jobId: info.id, state: info.state },
          retryable: true,
        },
      );
    }
    if (Date.now() - started > poll.timeoutMs) {
      throw new AppError(
        ERR_SALESFORCE_BULK_JOB,
        `Bulk 2.0 job ${info.id} still ${info.state} after ${poll.timeoutMs} ms`,
        {
          details: { jobId: info.id, state: info.state },
          retryable: true,
        },
      );
    }
  }
}

/** Create a queryAll job and wait for it; returns the job id. */
export async function runBulkQuery(
  client: SalesforceClient,
  soql: string,
  scanAll: boolean,
  poll: PollOptions,
): Promise<string> {
  const created = jobInfo(
    (
      await client.request('bulkQuery', 'Bulk 2.0 query job', {
        method: 'POST',
        path: '/jobs/query',
        body: { operation: scanAll ? 'queryAll' : 'query', query: soql, contentType: 'CSV' },
      })
    ).body,
  );
  await pollJob(client, 'bulkQuery', `/jobs/query/${encodeURIComponent(created.id)}`, poll);
  return created.id;
}

export interface BulkResultsPage {
  rows: Record<string, unknown>[];
  /** Locator of the next page, or null when this was the last one. */
  next: string | null;
}

export async function fetchBulkResults(
  client: SalesforceClient,
  jobId: string,
  locator: string | null,
  maxRecords: number,
): Promise<BulkResultsPage> {
  const qs = new URLSearchParams({ maxRecords: String(maxRecords) });
  if (locator !== null) qs.set('locator', locator);
  const res = await client.request<unknown>('bulkQuery', 'Bulk 2.0 query results', {
    method: 'GET',
    path: `/jobs/query/${encodeURIComponent(jobId)}/results?${qs.toString()}`,
    headers: { Accept: 'text/csv' },
  });
  const rows = Array.isArray(res.body) ? (res.body as Record<string, unknown>[]) : [];
  const header = res.headers['sforce-locator'];
  if (header === undefined) {
    // Without the header jsforce would loop forever (API_FACTS §2); we stop and say why.
    throw new AppError(ERR_SALESFORCE_BULK_JOB, `Bulk 2.0 results of ${jobId} came without Sforce-Locator`, {
      details: { jobId },
      retryable: true,
    });
  }
  return { rows, next: header === 'null' || header === '' ? null : header };
}

/** Bulk 2.0 wants `#N/A` to null a field; booleans and numbers as text. */
function csvCell(value: WireValue | undefined): string {
  if (value === null) return '#N/A';
  if (value === undefined) return '';
  return String(value);
}

export interface IngestResult {
  successIds: Set<string>;
  failed: Map<string, string>;
  unprocessed: Set<string>;
}

/** One update job for records of one object (ids in column `Id`). */
export async function runBulkUpdate(
  client: SalesforceClient,
  object: string,
  rows: readonly { id: string; fields: Record<string, WireValue> }[],
  poll: PollOptions,
): Promise<IngestResult> {
  const csv = updateCsv(rows);
  const job = jobInfo(
    (
      await client.request('bulkIngest', 'Bulk 2.0 ingest job', {
        method: 'POST',
        path: '/jobs/ingest',
        body: { object, operation: 'update', contentType: 'CSV', lineEnding: 'LF' },
      })
    ).body,
  );
  const base = `/jobs/ingest/${encodeURIComponent(job.id)}`;
  await client.request('bulkIngest', 'Bulk 2.0 upload', {
    method: 'PUT',
    path: `${base}/batches`,
    text: csv,
  });
  await client.request('bulkIngest', 'Bulk 2.0 close', {
    method: 'PATCH',
    path: base,
    body: { state: 'UploadComplete' },
  });
  const done = await pollJob(client, 'bulkIngest', base, poll);
  const result: IngestResult = { successIds: new Set(), failed: new Map(), unprocessed: new Set() };
  const processed = done.numberRecordsProcessed;
  const failedCount = done.numberRecordsFailed;
  if (failedCount !== 0) {
    const bad = await client.request<unknown>('bulkIngest', 'Bulk 2.0 failed results', {
      method: 'GET',
      path: `${base}/failedResults`,
      headers: { Accept: 'text/csv' },
    });
    for (const row of asRows(bad.body)) {
      const id = typeof row.Id === 'string' && row.Id !== '' ? row.Id : row.sf__Id;
      if (typeof id === 'string')
        result.failed.set(id, typeof row.sf__Error === 'string' ? row.sf__Error : 'failed');
    }
  }
  if (typeof processed !== 'number' || processed < rows.length) {
    const rest = await client.request<unknown>('bulkIngest', 'Bulk 2.0 unprocessed records', {
      method: 'GET',
      path: `${base}/unprocessedrecords`,
      headers: { Accept: 'text/csv' },
    });
    for (const row of asRows(rest.body)) if (typeof row.Id === 'string') result.unprocessed.add(row.Id);
  }
  // Success is implied for the other rows only when the job's own counts add up to them; if not
  // (missing counts, results we could not match), ask for the successful rows explicitly.
  const implied = rows.length - result.failed.size - result.unprocessed.size;
  const reconciled =
    typeof processed === 'number' &&
    typeof failedCount === 'number' &&
    result.failed.size === failedCount &&
    processed - failedCount === implied;
  if (reconciled) {
    for (const r of rows)
      if (!result.failed.has(r.id) && !result.unprocessed.has(r.id)) result.successIds.add(r.id);
    return result;
  }
  const ok = await client.request<unknown>('bulkIngest', 'Bulk 2.0 successful results', {
    method: 'GET',
    path: `${base}/successfulResults`,
    headers: { Accept: 'text/csv' },
  });
  for (const row of asRows(ok.body)) if (typeof row.sf__Id === 'string') result.successIds.add(row.sf__Id);
  return result;
}

/** The upload: `Id` then the union of the rows' fields, sorted (one header for the whole job). */
export function updateCsv(rows: readonly { id: string; fields: Record<string, WireValue> }[]): string {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r.fields)))].sort();
  return stringify(
    rows.map((r) => [r.id, ...columns.map((c) => csvCell(r.fields[c]))]),
    { header: true, columns: ['Id', ...columns], record_delimiter: 'unix' },
  );
}

/**
 * Upper bound of one row's share of the upload (cell text + quotes + delimiter per cell): used to
 * split a large write into as few jobs as the job data limit allows.
 */
export function csvRowBytes(row: { id: string; fields: Record<string, WireValue> }): number {
  let n = Buffer.byteLength(row.id) + 3;
  for (const v of Object.values(row.fields)) {
    const text = csvCell(v);
    // A quoted cell doubles its quotes.
    n += Buffer.byteLength(text) + (text.match(/"/g)?.length ?? 0) + 3;
  }
  return n + 1;
}

function asRows(body: unknown): Record<string, unknown>[] {
  return Array.isArray(body) ? (body as Record<string, unknown>[]) : [];
}
