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
}

async function pollJob(
  client: SalesforceClient,
  kind: 'bulkQuery' | 'bulkIngest',
  path: string,
  poll: PollOptions,
): Promise<JobInfo> {
  const started = Date.now();
  for (;;) {
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
    await client.sleep(poll.intervalMs);
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
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r.fields)))].sort();
  const csv = stringify(
    rows.map((r) => [r.id, ...columns.map((c) => csvCell(r.fields[c]))]),
    { header: true, columns: ['Id', ...columns], record_delimiter: 'unix' },
  );
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
  await pollJob(client, 'bulkIngest', base, poll);
  const result: IngestResult = { successIds: new Set(), failed: new Map(), unprocessed: new Set() };
  const ok = await client.request<unknown>('bulkIngest', 'Bulk 2.0 successful results', {
    method: 'GET',
    path: `${base}/successfulResults`,
    headers: { Accept: 'text/csv' },
  });
  for (const row of asRows(ok.body)) if (typeof row.sf__Id === 'string') result.successIds.add(row.sf__Id);
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
  if (result.successIds.size + result.failed.size < rows.length) {
    const rest = await client.request<unknown>('bulkIngest', 'Bulk 2.0 unprocessed records', {
      method: 'GET',
      path: `${base}/unprocessedrecords`,
      headers: { Accept: 'text/csv' },
    });
    for (const row of asRows(rest.body)) if (typeof row.Id === 'string') result.unprocessed.add(row.Id);
  }
  return result;
}

function asRows(body: unknown): Record<string, unknown>[] {
  return Array.isArray(body) ? (body as Record<string, unknown>[]) : [];
}
