/**
 * Pull one object as pages, incremental by the compound `(SystemModstamp, Id)` cursor:
 *   WHERE (SystemModstamp > :t OR (SystemModstamp = :t AND Id > :id)) AND SystemModstamp <= :ceiling
 *   (sent as `SystemModstamp >= :t AND (SystemModstamp > :t OR Id > :id) AND …`, the same set; soql.ts)
 *   ORDER BY SystemModstamp, Id
 * through `queryAll` (soft-deleted rows arrive with IsDeleted = true → `deleted: true`), paged by
 * `queryMore`. `ceiling` = run start minus a safety margin: the cursor never bookmarks past it.
 *
 * Size switch: the first REST page's `totalSize` is the COUNT() of the whole query (REST query
 * resource), so it decides for free: above `bulkQueryThreshold` the rest of the stream continues as a
 * Bulk API 2.0 `queryAll` job from the first page's last record; if that job fails the stream falls
 * back to REST from where the bulk phase began (duplicates are harmless: the pipeline upserts by id
 * and hashes inputs).
 *
 * The cursor (opaque JSON) also carries the open query locator or the bulk job + results locator,
 * so a run that crashes mid-stream resumes where its last processed page ended.
 */
import { z } from 'zod';
import type { CrmRecord, JsonValue, PullOptions, PullPage } from '../contract.js';
import { AppError, isAppError } from '../../src/errors.js';
import { parseOrThrow } from '../../src/validation.js';
import { chunk } from '../shared/batch.js';
import { fetchBulkResults, runBulkQuery } from './bulk.js';
import type { SalesforceClient } from './connection.js';
import {
  ERR_AUTH_REVOKED,
  ERR_SALESFORCE_BUDGET_PAUSED,
  ERR_SALESFORCE_SESSION_REJECTED,
  ERR_SALESFORCE_UNKNOWN_OBJECT,
} from './errors.js';
import type { SalesforceFacts, SalesforceSettings } from './facts.js';
import { assertLinksSupported, linkFields, prefetchLinks, queryMorePath, resolveLinks } from './links.js';
import type { PrefetchedLinks } from './links.js';
import { parseQueryResult, toCrmRecord } from './records.js';
import type { QueryResult } from './records.js';
import { assertApiName, comparePoints, cursorWhere } from './soql.js';
import type { CursorPoint } from './soql.js';

export const ERR_SALESFORCE_CURSOR = 'ERR_SALESFORCE_CURSOR';

const Point = z.strictObject({ t: z.string().nullable(), id: z.string().nullable() });

export const SalesforceCursorSchema = z.strictObject({
  v: z.literal(1),
  t: z.string().nullable(),
  id: z.string().nullable(),
  ceiling: z.string().optional(),
  rest: z.strictObject({ locator: z.string().min(1) }).optional(),
  bulk: z
    .strictObject({
      jobId: z.string().min(1).nullable(),
      locator: z.string().min(1).nullable(),
      skip: z.number().int().min(0),
      max: Point,
      from: Point,
    })
    .optional(),
});
export type SalesforceCursor = z.infer<typeof SalesforceCursorSchema>;

/** Errors that must stop the stream instead of triggering the REST fallback. */
const STOP_CODES = new Set([ERR_SALESFORCE_BUDGET_PAUSED, ERR_AUTH_REVOKED, ERR_SALESFORCE_SESSION_REJECTED]);

export interface PullContext {
  client: SalesforceClient;
  facts: SalesforceFacts;
  settings: SalesforceSettings;
  /** Counts the REST fallbacks after a failed bulk job (for the admin and tests). */
  onBulkFallback?: (object: string, error: unknown) => void;
}

function point(c: { t: string | null; id: string | null }): CursorPoint {
  return { t: c.t, id: c.id };
}

function cursorJson(c: SalesforceCursor): JsonValue {
  return JSON.parse(JSON.stringify(c)) as JsonValue;
}

/** What a read of `object` selects: the object's facts, its columns, and the record's own fields. */
export interface ObjectColumns {
  spec: SalesforceFacts['objects'][string];
  /** SELECT list: bookkeeping columns, then the mapped fields and the link columns. */
  select: string[];
  /**
   * Columns that become record fields. Bookkeeping ones (Id, SystemModstamp, IsDeleted,
   * MasterRecordId) live on the record itself (`deleted`, `mergedInto`), not in `fields`.
   */
  recordFields: string[];
}

/** The columns a pull or a by-id read of `object` selects (`verb` names the read in errors). */
export function objectColumns(
  pc: PullContext,
  object: string,
  options: Pick<PullOptions, 'fields' | 'links'>,
  verb: string,
): ObjectColumns {
  const spec = pc.facts.objects[assertApiName(object, 'object')];
  if (spec === undefined) {
    throw new AppError(ERR_SALESFORCE_UNKNOWN_OBJECT, `the Salesforce connector does not ${verb} ${object}`, {
      details: { object },
    });
  }
  assertLinksSupported(object, options.links);
  const links = linkFields(object, options.links);
  const select = new Set<string>(['Id', 'SystemModstamp']);
  if (spec.hasIsDeleted) select.add('IsDeleted');
  // Merges: the merged-away rows come back through queryAll as deleted with MasterRecordId set.
  if (spec.hasMasterRecordId) select.add('MasterRecordId');
  for (const f of options.fields) select.add(assertApiName(f));
  for (const f of links) select.add(f);
  return { spec, select: [...select], recordFields: [...new Set([...options.fields, ...links])] };
}

export async function* pullObject(
  pc: PullContext,
  object: string,
  options: PullOptions,
): AsyncGenerator<PullPage> {
  const { spec, select: fields, recordFields } = objectColumns(pc, object, options, 'pull');
  const cursor: SalesforceCursor =
    options.cursor === null
      ? { v: 1, t: null, id: null }
      : parseOrThrow(
          SalesforceCursorSchema,
          options.cursor,
          `Salesforce ${object} cursor`,
          ERR_SALESFORCE_CURSOR,
        );
  if (options.mode === 'full' && cursor.rest === undefined && cursor.bulk === undefined) {
    cursor.t = null;
    cursor.id = null;
  }
  const ceiling =
    cursor.ceiling ??
    new Date(options.runStartedAt.getTime() - pc.settings.cursorSafetyMarginMs).toISOString();
  const stream: Stream = { pc, object, options, fields, recordFields, scanAll: spec.hasIsDeleted, ceiling };
  if (cursor.bulk !== undefined) {
    yield* bulkPhase(stream, cursor.bulk);
    return;
  }
  yield* restPhase(stream, point(cursor), cursor.rest?.locator, true);
}

interface Stream {
  pc: PullContext;
  object: string;
  options: PullOptions;
  fields: string[];
  recordFields: string[];
  scanAll: boolean;
  /** Links read once for a whole Bulk 2.0 range (contact roles). */
  prefetched?: PrefetchedLinks | undefined;
  ceiling: string;
}

async function toRecords(s: Stream, raw: readonly unknown[], fromCsv: boolean): Promise<CrmRecord[]> {
  const records = raw.map((r) => toCrmRecord(s.object, r, s.recordFields, fromCsv));
  if (s.options.links.length > 0) {
    // REST pages are ordered by (SystemModstamp, Id); Bulk 2.0 rows are not.
    const ordered = !fromCsv;
    await resolveLinks(
      s.pc.client,
      s.object,
      s.options.links,
      records,
      s.pc.facts.query.inClauseMaxIds,
      ordered,
      fromCsv ? s.prefetched : undefined,
    );
  }
  return records;
}

function restSoql(s: Stream, from: CursorPoint, ordered: boolean): string {
  return (
    // REST reads up to now (a change made a second ago syncs in this run); the safety margin
    // bounds the saved bookmark instead (see `capped`), so the next run re-reads that window.
    `SELECT ${s.fields.join(', ')} FROM ${s.object} WHERE ${cursorWhere(from, null)}` +
    (ordered ? ' ORDER BY SystemModstamp ASC, Id ASC' : '')
  );
}

async function firstRestPage(s: Stream, from: CursorPoint): Promise<QueryResult> {
  const resource = s.scanAll ? 'queryAll' : 'query';
  const res = await s.pc.client.request('query', `${s.object} query`, {
    method: 'GET',
    path: `/${resource}?q=${encodeURIComponent(restSoql(s, from, true))}`,
    // Sforce-Query-Options batchSize: 200..2000, a hint (API_FACTS §2 Query).
    headers: { 'Sforce-Query-Options': `batchSize=${s.pc.settings.queryBatchSize}` },
  });
  return parseQueryResult(res.body, `Salesforce ${s.object} query`);
}

async function nextRestPage(s: Stream, locator: string): Promise<QueryResult> {
  const res = await s.pc.client.request('queryMore', `${s.object} queryMore`, {
    method: 'GET',
    path: queryMorePath(locator),
    headers: { 'Sforce-Query-Options': `batchSize=${s.pc.settings.queryBatchSize}` },
  });
  return parseQueryResult(res.body, `Salesforce ${s.object} queryMore`);
}

function isExpiredLocator(error: unknown): boolean {
  return isAppError(error) && error.details?.salesforceCode === 'INVALID_QUERY_LOCATOR';
}

async function* restPhase(
  s: Stream,
  start: CursorPoint,
  locator: string | undefined,
  allowBulk: boolean,
): AsyncGenerator<PullPage> {
  let from = start;
  let page: QueryResult;
  let first = locator === undefined;
  if (locator !== undefined) {
    try {
      page = await nextRestPage(s, locator);
    } catch (error) {
      // Query locators expire (15 min idle); the cursor point is enough to start over.
      if (!isExpiredLocator(error)) throw error;
      page = await firstRestPage(s, from);
      first = true;
    }
  } else {
    page = await firstRestPage(s, from);
  }
  for (;;) {
    const records = await toRecords(s, page.records, false);
    const last = records.at(-1);
    if (last !== undefined) from = { t: last.modifiedAt, id: last.id };
    const more = !page.done && page.nextRecordsUrl !== undefined;
    const goBulk =
      first && more && allowBulk && page.totalSize > s.pc.settings.bulkQueryThreshold && bulkSupported(s);
    if (!more) {
      yield { records, cursor: cursorJson(capped(from, s.ceiling)) };
      return;
    }
    if (goBulk) {
      const bulk = { jobId: null, locator: null, skip: 0, max: from, from };
      yield { records, cursor: cursorJson({ v: 1, t: from.t, id: from.id, ceiling: s.ceiling, bulk }) };
      yield* bulkPhase(s, bulk);
      return;
    }
    const next = page.nextRecordsUrl as string;
    yield {
      records,
      cursor: cursorJson({ v: 1, t: from.t, id: from.id, ceiling: s.ceiling, rest: { locator: next } }),
    };
    first = false;
    page = await nextRestPage(s, next);
  }
}

/**
 * The bookmark never passes run start minus the safety margin: records committed late with an
 * earlier SystemModstamp (long transactions, airbyte#27146) are re-read by the next run.
 */
function capped(from: CursorPoint, ceiling: string): { v: 1; t: string | null; id: string | null } {
  if (from.t === null || Date.parse(from.t) <= Date.parse(ceiling)) return { v: 1, t: from.t, id: from.id };
  return { v: 1, t: new Date(Date.parse(ceiling) - 1).toISOString(), id: null };
}

function bulkSupported(s: Stream): boolean {
  return Number.parseInt(s.pc.facts.apiVersion, 10) >= s.pc.facts.bulk.minApiVersion;
}

type BulkState = NonNullable<SalesforceCursor['bulk']>;

async function* bulkPhase(s: Stream, state: BulkState): AsyncGenerator<PullPage> {
  const { client, settings } = s.pc;
  const from = point(state.from);
  let max = point(state.max);
  let jobId = state.jobId;
  let locator = state.locator;
  let skip = state.skip;
  try {
    const poll = {
      intervalMs: settings.bulkPollIntervalMs,
      timeoutMs: settings.bulkPollTimeoutMs,
      maxIntervalMs: settings.bulkPollMaxIntervalMs,
    };
    // Children first: read before the parents' job, the prefetch is complete for every parent the
    // job returns (a parent changed in between has a stamp past the ceiling and is not returned).
    s.prefetched = await prefetchLinks(
      client,
      s.object,
      s.options.links,
      (relationship, idColumn) => cursorWhere(from, s.ceiling, `${relationship}.SystemModstamp`, idColumn),
      { poll, pageSize: settings.bulkResultsPageSize },
      jobId === null,
    );
    if (jobId === null) jobId = await runBulkQuery(client, restSoql(s, from, false), s.scanAll, poll);
    for (;;) {
      const res = await fetchBulkResults(client, jobId, locator, settings.bulkResultsPageSize);
      const rows = res.rows.slice(skip);
      const pages = chunk(rows, settings.queryBatchSize);
      if (pages.length === 0) pages.push([]);
      for (let i = 0; i < pages.length; i++) {
        const records = await toRecords(s, pages[i] ?? [], true);
        for (const r of records) {
          const p = { t: r.modifiedAt, id: r.id };
          if (comparePoints(p, max) > 0) max = p;
        }
        skip += records.length;
        const lastOfChunk = i === pages.length - 1;
        if (lastOfChunk && res.next === null) {
          yield { records, cursor: cursorJson({ v: 1, t: max.t, id: max.id }) };
          return;
        }
        const bulk: BulkState = lastOfChunk
          ? { jobId, locator: res.next, skip: 0, max, from }
          : { jobId, locator, skip, max, from };
        yield { records, cursor: cursorJson({ v: 1, t: from.t, id: from.id, ceiling: s.ceiling, bulk }) };
      }
      locator = res.next;
      skip = 0;
    }
  } catch (error) {
    if (isAppError(error) && STOP_CODES.has(error.code)) throw error;
    client.bulkFallbacks++;
    s.pc.onBulkFallback?.(s.object, error);
    s.pc.client.log.warn(
      { object: s.object, err: error instanceof Error ? error.message : String(error) },
      'salesforce pull: Bulk 2.0 job failed, continuing with REST queryAll',
    );
    yield* restPhase(s, from, undefined, false);
  }
}
