/**
 * Bulk API 2.0 query and ingest jobs under /services/data/vXX.X/jobs (API_FACTS §Bulk API 2.0,
 * SF query_create_job / query_get_job_results / create_job / upload_job_data / close_job,
 * jsforce api/bulk2.js):
 * - query: POST /jobs/query {operation: query|queryAll, query} → state UploadComplete; GET /jobs/
 *   query/{id} → InProgress|JobComplete|Failed; GET …/results[?locator&maxRecords] → CSV with
 *   Sforce-NumberOfRecords and Sforce-Locator, the literal "null" on the last page (jsforce loops
 *   `while (locator !== 'null')`); results need the job's API version (409) and JobComplete (412).
 * - ingest: POST /jobs/ingest → Open; PUT …/batches text/csv → 201; PATCH {state:UploadComplete}
 *   → processed; poll numberRecordsProcessed/numberRecordsFailed; successfulResults (sf__Id,
 *   sf__Created, …), failedResults (sf__Id, sf__Error, …), unprocessedrecords CSV. `#N/A` = null
 *   (jsforce nullValue). Records are saved in chunks of 200 with per-record results, like SF's
 *   internal batches; injected record faults apply per row.
 * - failure: `failNextBulkJob(kind)` makes the next job end Failed with errorMessage.
 */
import express from 'express';
import type { Request, Response, Router } from 'express';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { z } from 'zod';
import { versionOf } from './context.js';
import type { SandboxContext } from './context.js';
import { KEY_PREFIXES, makeId, toId18 } from './ids.js';
import { runQuery } from './query-exec.js';
import type { QueryResult } from './query-exec.js';
import { versionGuard } from './rest.js';
import { saveMany } from './save.js';
import type { SaveItem } from './save.js';
import { SoqlError } from './soql.js';
import { formatDateTime, sendError, toCsvDateTime } from './wire.js';
import type { Value } from './wire.js';

const DELIMITERS: Record<string, string> = {
  COMMA: ',',
  TAB: '\t',
  PIPE: '|',
  SEMICOLON: ';',
  CARET: '^',
  BACKQUOTE: '`',
};

interface JobBase {
  id: string;
  operation: string;
  object: string;
  createdById: string;
  createdDate: string;
  systemModstamp: string;
  state: 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';
  apiVersion: string;
  lineEnding: 'LF' | 'CRLF';
  columnDelimiter: string;
  polls: number;
  errorMessage: string | undefined;
}

interface QueryJob extends JobBase {
  result: QueryResult | undefined;
}

interface IngestJob extends JobBase {
  externalIdFieldName: string | undefined;
  csv: string[];
  header: string[];
  processed: number;
  failed: number;
  successful: Record<string, string>[];
  failures: Record<string, string>[];
  unprocessed: Record<string, string>[];
}

export class BulkJobs {
  readonly query = new Map<string, QueryJob>();
  readonly ingest = new Map<string, IngestJob>();
  readonly failNext: { query: string[]; ingest: string[] } = { query: [], ingest: [] };
  seq = 0;

  clear(): void {
    this.query.clear();
    this.ingest.clear();
    this.failNext.query.length = 0;
    this.failNext.ingest.length = 0;
  }
}

const QueryJobBody = z.object({
  operation: z.enum(['query', 'queryAll']),
  query: z.string().min(1),
  columnDelimiter: z.enum(['COMMA', 'TAB', 'PIPE', 'SEMICOLON', 'CARET', 'BACKQUOTE']).optional(),
  lineEnding: z.enum(['LF', 'CRLF']).optional(),
  contentType: z.literal('CSV').optional(),
});

const IngestJobBody = z.object({
  object: z.string().min(1),
  operation: z.enum(['insert', 'update', 'upsert', 'delete', 'hardDelete']),
  externalIdFieldName: z.string().optional(),
  columnDelimiter: z.enum(['COMMA', 'TAB', 'PIPE', 'SEMICOLON', 'CARET', 'BACKQUOTE']).optional(),
  lineEnding: z.enum(['LF', 'CRLF']).optional(),
  contentType: z.literal('CSV').optional(),
  assignmentRuleId: z.string().optional(),
});

function csvValue(v: Value): string {
  if (v === null) return '';
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T.*\+0000$/.test(v)) return toCsvDateTime(v);
  return String(v);
}

function toCsv(header: string[], rows: string[][], job: JobBase): string {
  return stringify([header, ...rows], {
    delimiter: DELIMITERS[job.columnDelimiter] ?? ',',
    record_delimiter: job.lineEnding === 'CRLF' ? 'windows' : 'unix',
    quoted: true,
  });
}

function jobInfo(job: JobBase, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: job.id,
    operation: job.operation,
    object: job.object,
    createdById: job.createdById,
    createdDate: job.createdDate,
    systemModstamp: job.systemModstamp,
    state: job.state,
    concurrencyMode: 'Parallel',
    contentType: 'CSV',
    apiVersion: Number(job.apiVersion),
    lineEnding: job.lineEnding,
    columnDelimiter: job.columnDelimiter,
    ...extra,
    ...(job.errorMessage === undefined ? {} : { errorMessage: job.errorMessage }),
  };
}

export function registerBulk2(router: Router, ctx: SandboxContext, jobs: BulkJobs): void {
  const { state, config } = ctx;
  const csvBody = express.text({ type: ['text/csv', 'text/plain'], limit: '150mb' });
  const stamp = (): string => formatDateTime(config.now().getTime());
  const count = (): void => {
    state.counters.bulk++;
  };
  const badRequest = (res: Response, message: string, errorCode = 'INVALIDJOB'): void =>
    sendError(res, 400, errorCode, message);

  /** Advance a job on poll: InProgress for `bulkPollsBeforeComplete` polls, then done. */
  const advance = (job: JobBase): void => {
    if (job.state !== 'UploadComplete' && job.state !== 'InProgress') return;
    if (job.polls < config.bulkPollsBeforeComplete) {
      job.polls++;
      job.state = 'InProgress';
      return;
    }
    job.state = job.errorMessage === undefined ? 'JobComplete' : 'Failed';
    job.systemModstamp = stamp();
  };

  const newJob = (
    req: Request,
    operation: string,
    object: string,
    body: { lineEnding?: 'LF' | 'CRLF' | undefined; columnDelimiter?: string | undefined },
  ): JobBase => ({
    id: makeId(KEY_PREFIXES.BulkJob, ++jobs.seq),
    operation,
    object,
    createdById: req.sfUserId ?? state.apiUserId,
    createdDate: stamp(),
    systemModstamp: stamp(),
    state: 'Open',
    apiVersion: versionOf(req),
    lineEnding: body.lineEnding ?? 'LF',
    columnDelimiter: body.columnDelimiter ?? 'COMMA',
    polls: 0,
    errorMessage: undefined,
  });

  // --- query jobs ---------------------------------------------------------------------------
  router.post('/:version/jobs/query', versionGuard(47), (req, res) => {
    count();
    const parsed = QueryJobBody.safeParse(req.body);
    if (!parsed.success)
      return badRequest(
        res,
        `Invalid query job request: ${parsed.error.issues[0]?.message ?? ''}`,
        'INVALIDJOB',
      );
    let result: QueryResult;
    try {
      result = runQuery(state, parsed.data.query, parsed.data.operation === 'queryAll');
    } catch (err) {
      if (err instanceof SoqlError) return sendError(res, 400, err.errorCode, err.message);
      throw err;
    }
    if (result.compiled.query.count)
      return badRequest(res, 'Aggregate queries are not supported by Bulk API 2.0', 'INVALIDJOB');
    state.counters.bulkQueryJobs++;
    const base = newJob(req, parsed.data.operation, result.compiled.table.name, parsed.data);
    const job: QueryJob = { ...base, state: 'UploadComplete', result };
    const failure = jobs.failNext.query.shift();
    if (failure !== undefined) job.errorMessage = failure;
    jobs.query.set(job.id, job);
    res.json(jobInfo(job));
  });

  const queryJobOr404 = (req: Request, res: Response): QueryJob | undefined => {
    const job = jobs.query.get(toId18(String(req.params.id)) ?? '');
    if (job === undefined) sendError(res, 404, 'NOT_FOUND', 'The requested resource does not exist');
    return job;
  };

  router.get('/:version/jobs/query', versionGuard(47), (_req, res) => {
    count();
    res.json({ done: true, records: [...jobs.query.values()].map((j) => jobInfo(j)), nextRecordsUrl: null });
  });

  router.get('/:version/jobs/query/:id', versionGuard(47), (req, res) => {
    count();
    const job = queryJobOr404(req, res);
    if (job === undefined) return;
    advance(job);
    const done = job.state === 'JobComplete';
    res.json(
      jobInfo(job, {
        numberRecordsProcessed: done ? (job.result?.rows.length ?? 0) : 0,
        retries: 0,
        totalProcessingTime: done ? 120 : 0,
        isPkChunkingSupported: true,
      }),
    );
  });

  router.get('/:version/jobs/query/:id/results', versionGuard(47), (req, res) => {
    count();
    const job = queryJobOr404(req, res);
    if (job === undefined) return;
    if (versionOf(req) !== job.apiVersion)
      return sendError(
        res,
        409,
        'INVALIDJOBSTATE',
        `Use API version ${job.apiVersion} to get the results of this job`,
      );
    if (job.state !== 'JobComplete' || job.result === undefined)
      return sendError(res, 412, 'JOB_NOT_COMPLETE', 'The job is not complete; results are not available');
    const offset =
      typeof req.query.locator === 'string' && req.query.locator !== ''
        ? Number(Buffer.from(req.query.locator, 'base64').toString())
        : 0;
    if (!Number.isInteger(offset) || offset < 0)
      return sendError(res, 400, 'INVALID_LOCATOR', 'invalid locator');
    const max =
      typeof req.query.maxRecords === 'string' ? Number(req.query.maxRecords) : config.bulkResultPageSize;
    if (!Number.isInteger(max) || max < 1)
      return sendError(res, 400, 'INVALIDJOB', 'maxRecords must be a positive integer');
    const { rows, compiled } = job.result;
    const end = Math.min(rows.length, offset + max);
    const out: string[][] = [];
    for (let i = offset; i < end; i++) {
      const rec = rows[i];
      if (rec !== undefined) out.push(compiled.columns.map((c) => csvValue(c.get(rec))));
    }
    // Locators are opaque; SF's look like base64 of the offset ("MjAwMDA=" ...).
    res.setHeader('Sforce-Locator', end < rows.length ? Buffer.from(String(end)).toString('base64') : 'null');
    res.setHeader('Sforce-NumberOfRecords', String(out.length));
    res.type('text/csv').send(
      toCsv(
        compiled.columns.map((c) => c.name),
        out,
        job,
      ),
    );
  });

  const abortOrDelete = (kind: 'query' | 'ingest') => {
    return (req: Request, res: Response) => {
      count();
      const map: Map<string, JobBase> = kind === 'query' ? jobs.query : jobs.ingest;
      const id = toId18(String(req.params.id)) ?? '';
      const job = map.get(id);
      if (job === undefined) return sendError(res, 404, 'NOT_FOUND', 'The requested resource does not exist');
      if (req.method === 'DELETE') {
        map.delete(id);
        return res.status(204).end();
      }
      const wanted = (req.body as { state?: unknown } | undefined)?.state;
      if (wanted === 'Aborted') {
        if (job.state === 'JobComplete' || job.state === 'Failed')
          return badRequest(res, `Job is in state ${job.state} and cannot be aborted`, 'INVALIDJOBSTATE');
        job.state = 'Aborted';
        return res.json(jobInfo(job));
      }
      if (kind === 'ingest' && wanted === 'UploadComplete') return closeIngest(job as IngestJob, res);
      badRequest(res, `Invalid state transition to ${String(wanted)}`, 'INVALIDJOBSTATE');
    };
  };
  router.patch('/:version/jobs/query/:id', versionGuard(47), abortOrDelete('query'));
  router.delete('/:version/jobs/query/:id', versionGuard(47), abortOrDelete('query'));

  // --- ingest jobs --------------------------------------------------------------------------
  router.post('/:version/jobs/ingest', versionGuard(41), (req, res) => {
    count();
    const parsed = IngestJobBody.safeParse(req.body);
    if (!parsed.success)
      return badRequest(res, `Invalid ingest job request: ${parsed.error.issues[0]?.message ?? ''}`);
    const table = state.table(parsed.data.object);
    if (table === undefined)
      return badRequest(
        res,
        `Entity '${parsed.data.object}' is not supported by the Bulk API.`,
        'INVALIDENTITY',
      );
    if (parsed.data.operation === 'upsert' && parsed.data.externalIdFieldName === undefined) {
      return badRequest(
        res,
        'External ID was blank for upsert. An External ID field is required.',
        'INVALIDJOB',
      );
    }
    state.counters.bulkIngestJobs++;
    const base = newJob(req, parsed.data.operation, table.name, parsed.data);
    const job: IngestJob = {
      ...base,
      externalIdFieldName: parsed.data.externalIdFieldName,
      csv: [],
      header: [],
      processed: 0,
      failed: 0,
      successful: [],
      failures: [],
      unprocessed: [],
    };
    const failure = jobs.failNext.ingest.shift();
    if (failure !== undefined) job.errorMessage = failure;
    jobs.ingest.set(job.id, job);
    res.json(
      jobInfo(job, {
        ...(job.externalIdFieldName === undefined ? {} : { externalIdFieldName: job.externalIdFieldName }),
        contentUrl: `services/data/v${job.apiVersion}/jobs/ingest/${job.id}/batches`,
      }),
    );
  });

  const ingestJobOr404 = (req: Request, res: Response): IngestJob | undefined => {
    const job = jobs.ingest.get(toId18(String(req.params.id)) ?? '');
    if (job === undefined) sendError(res, 404, 'NOT_FOUND', 'The requested resource does not exist');
    return job;
  };

  router.put('/:version/jobs/ingest/:id/batches', versionGuard(41), csvBody, (req, res) => {
    count();
    const job = ingestJobOr404(req, res);
    if (job === undefined) return;
    if (job.state !== 'Open')
      return sendError(
        res,
        409,
        'INVALIDJOBSTATE',
        `Job is in state ${job.state}; data can be uploaded only to an Open job`,
      );
    if (typeof req.body !== 'string' || req.body.trim() === '')
      return badRequest(res, 'No content to upload', 'INVALIDJOB');
    job.csv.push(req.body);
    res.status(201).end();
  });

  const closeIngest = (job: IngestJob, res: Response): void => {
    if (job.state !== 'Open') {
      badRequest(res, `Job is in state ${job.state} and cannot be closed`, 'INVALIDJOBSTATE');
      return;
    }
    const delimiter = DELIMITERS[job.columnDelimiter] ?? ',';
    let rows: Record<string, string>[] = [];
    try {
      for (const chunk of job.csv) {
        const parsed = parse(chunk, {
          columns: true,
          delimiter,
          skip_empty_lines: true,
          bom: true,
          relax_column_count: false,
        }) as Record<string, string>[];
        if (job.header.length === 0 && parsed[0] !== undefined) job.header = Object.keys(parsed[0]);
        rows = rows.concat(parsed);
      }
    } catch (err) {
      job.errorMessage = `InvalidBatch : ${(err as Error).message}`;
    }
    job.state = 'UploadComplete';
    job.systemModstamp = stamp();
    if (job.errorMessage !== undefined) {
      job.unprocessed = rows;
      res.json(jobInfo(job));
      return;
    }
    const op = job.operation;
    for (let i = 0; i < rows.length; i += 200) {
      const chunk = rows.slice(i, i + 200);
      if (op === 'delete' || op === 'hardDelete') {
        for (const row of chunk) {
          const id = row.Id ?? row.id ?? '';
          const err = ctx.faults.shouldFailRecord()
            ? {
                statusCode: 'UNABLE_TO_LOCK_ROW',
                message: 'unable to obtain exclusive access to this record',
                fields: [],
              }
            : state.softDelete(job.object, id, 'bulk');
          record(
            job,
            row,
            err === undefined
              ? { id: toId18(id) ?? id, success: true, errors: [], created: false }
              : { success: false, errors: [err] },
          );
        }
        continue;
      }
      const items: (SaveItem | { error: string })[] = chunk.map((row) => {
        if (op === 'insert') return { type: job.object, input: row, mode: 'create', id: undefined };
        if (op === 'update') {
          const key = Object.keys(row).find((k) => k.toLowerCase() === 'id');
          return {
            type: job.object,
            input: row,
            mode: 'update',
            id: key === undefined ? undefined : row[key],
          };
        }
        const ext = job.externalIdFieldName ?? 'Id';
        const key = Object.keys(row).find((k) => k.toLowerCase() === ext.toLowerCase());
        const value = key === undefined ? undefined : row[key];
        const table = state.table(job.object);
        const f = table?.field(ext);
        if (value === undefined || value === '' || value === '#N/A' || table === undefined || f === undefined)
          return { error: `MISSING_ARGUMENT:${ext} not specified:--` };
        const existing = f.name === 'Id' ? toId18(value) : table.uniqueIndex(f).get(value.toLowerCase());
        if (existing !== undefined && table.records.has(existing)) {
          const input = { ...row };
          if (f.name === 'Id' && key !== undefined) delete input[key];
          return { type: job.object, input, mode: 'update', id: existing, upsert: true };
        }
        return { type: job.object, input: row, mode: 'create', id: undefined, upsert: true };
      });
      const valid = items.filter((x): x is SaveItem => 'mode' in x);
      const results = saveMany(ctx, valid, false, 'bulk', true);
      let k = 0;
      chunk.forEach((row, j) => {
        const item = items[j];
        if (item === undefined || !('mode' in item)) {
          job.processed++;
          job.failed++;
          job.failures.push({ sf__Id: '', sf__Error: item?.error ?? 'UNKNOWN_EXCEPTION', ...row });
          return;
        }
        const r = results[k++];
        if (r !== undefined) record(job, row, { ...r, created: item.mode === 'create' });
      });
    }
    res.json(jobInfo(job));
  };

  const record = (
    job: IngestJob,
    row: Record<string, string>,
    r: {
      id?: string;
      success: boolean;
      errors: { statusCode: string; message: string; fields: string[] }[];
      created?: boolean;
    },
  ): void => {
    job.processed++;
    if (r.success) {
      job.successful.push({ sf__Id: r.id ?? '', sf__Created: String(r.created === true), ...row });
      return;
    }
    job.failed++;
    const e = r.errors[0];
    const text =
      e === undefined ? 'UNKNOWN_EXCEPTION' : `${e.statusCode}:${e.message}:${e.fields.join(',')} --`;
    job.failures.push({ sf__Id: r.id ?? '', sf__Error: text, ...row });
  };

  router.get('/:version/jobs/ingest', versionGuard(41), (_req, res) => {
    count();
    res.json({ done: true, records: [...jobs.ingest.values()].map((j) => jobInfo(j)), nextRecordsUrl: null });
  });

  router.get('/:version/jobs/ingest/:id', versionGuard(41), (req, res) => {
    count();
    const job = ingestJobOr404(req, res);
    if (job === undefined) return;
    advance(job);
    const done = job.state === 'JobComplete';
    res.json(
      jobInfo(job, {
        ...(job.externalIdFieldName === undefined ? {} : { externalIdFieldName: job.externalIdFieldName }),
        numberRecordsProcessed: done ? job.processed : 0,
        numberRecordsFailed: done ? job.failed : 0,
        retries: 0,
        totalProcessingTime: done ? 200 : 0,
        apiActiveProcessingTime: done ? 150 : 0,
        apexProcessingTime: 0,
      }),
    );
  });

  const resultCsv = (kind: 'successful' | 'failed' | 'unprocessed') => (req: Request, res: Response) => {
    count();
    const job = ingestJobOr404(req, res);
    if (job === undefined) return;
    const lead =
      kind === 'successful' ? ['sf__Id', 'sf__Created'] : kind === 'failed' ? ['sf__Id', 'sf__Error'] : [];
    const header = [...lead, ...job.header];
    const done = job.state === 'JobComplete';
    const source =
      kind === 'successful'
        ? done
          ? job.successful
          : []
        : kind === 'failed'
          ? done
            ? job.failures
            : []
          : job.state === 'Failed' || job.state === 'Aborted'
            ? job.unprocessed
            : [];
    res.type('text/csv').send(
      toCsv(
        header,
        source.map((r) => header.map((h) => r[h] ?? '')),
        job,
      ),
    );
  };
  router.get('/:version/jobs/ingest/:id/successfulResults', versionGuard(41), resultCsv('successful'));
  router.get('/:version/jobs/ingest/:id/failedResults', versionGuard(41), resultCsv('failed'));
  router.get('/:version/jobs/ingest/:id/unprocessedrecords', versionGuard(41), resultCsv('unprocessed'));
  router.patch('/:version/jobs/ingest/:id', versionGuard(41), abortOrDelete('ingest'));
  router.delete('/:version/jobs/ingest/:id', versionGuard(41), abortOrDelete('ingest'));
}
