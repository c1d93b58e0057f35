/**
 * Read exactly the records the pipeline names (`CrmConnector.pullByIds`):
 *   SELECT <the incremental pull's columns> FROM <object> WHERE Id IN ('…', …)
 * through `queryAll` where the pull uses it (objects with IsDeleted), so a soft-deleted id comes
 * back with IsDeleted = true (→ `deleted`) and a merged-away one with its MasterRecordId
 * (→ `mergedInto`), exactly as the cursor pull sees them (records.ts). Ids Salesforce does not
 * return at all (hard-deleted, emptied from the recycle bin, or not an Id) are left out of the
 * pages: the contract's "absent = gone".
 *
 * Sizing: the query goes in the GET URL, so, as the task lookups after an HTTP 431, the `IN` lists
 * are sized by their URL-encoded length: the whole URI + headers must stay within
 * `query.requestUriMaxBytes` (16,384 bytes, SF Help 000386264) less `query.requestReserveBytes` for
 * host, API path and headers, and the statement within `query.soqlMaxChars` (100,000, SOQL
 * limits); at most `query.inClauseMaxIds` ids per query. Ids have a fixed shape (15/18
 * alphanumerics), so the room left by the SELECT gives an exact id count per query. A long SELECT
 * (many mapped fields) leaves fewer ids per query, never a longer URL.
 *
 * The survivor of a merge is read as well: it took over the merged record's children (contact
 * roles, converted leads), and the cursor pull would see it in the same window (the merge bumps its
 * SystemModstamp).
 */
import type { CrmRecord, PullByIdsOptions, PullByIdsPage } from '../contract.js';
import { AppError } from '../../src/errors.js';
import { queryMorePath, resolveLinks } from './links.js';
import type { PullContext } from './pull.js';
import { objectColumns } from './pull.js';
import { parseQueryResult, toCrmRecord } from './records.js';
import type { QueryResult } from './records.js';
import { chunk } from '../shared/batch.js';
import { idList, soqlString } from './soql.js';

/** The SELECT alone (many mapped fields) leaves no room for even one id in the URL. */
export const ERR_SALESFORCE_QUERY_TOO_LONG = 'ERR_SALESFORCE_QUERY_TOO_LONG';

/** 15- or 18-character Salesforce record Id; anything else cannot name a record. */
const SF_ID = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/;

interface ByIdsQuery {
  pc: PullContext;
  object: string;
  options: PullByIdsOptions;
  /** `SELECT … FROM … WHERE Id IN (` */
  head: string;
  recordFields: string[];
  resource: 'query' | 'queryAll';
  /** Ids per query that keep the URI and the statement within the facts. */
  idsPerQuery: number;
}

export async function* pullByIds(
  pc: PullContext,
  object: string,
  ids: readonly string[],
  options: PullByIdsOptions,
): AsyncGenerator<PullByIdsPage> {
  const { spec, select: fields, recordFields } = objectColumns(pc, object, options, 'read');
  const head = `SELECT ${fields.join(', ')} FROM ${object} WHERE Id IN (`;
  const resource = spec.hasIsDeleted ? 'queryAll' : 'query';
  const q = pc.facts.query;
  const fixed = uriEncodedLength(`/${resource}?q=${head})`);
  const roomEncoded = q.requestUriMaxBytes - q.requestReserveBytes - fixed;
  const roomChars = q.soqlMaxChars - head.length - 1;
  // One 18-character id, quoted, plus its comma: encoded and raw.
  const sample = `${soqlString('000000000000000AAA')},`;
  const idsPerQuery = Math.min(
    q.inClauseMaxIds,
    Math.floor(roomEncoded / uriEncodedLength(sample)),
    Math.floor(roomChars / sample.length),
  );
  if (idsPerQuery < 1) {
    throw new AppError(
      ERR_SALESFORCE_QUERY_TOO_LONG,
      `the ${object} SELECT is too long for a by-id query (${fields.length} columns)`,
      { details: { object, columns: fields.length, encodedBytes: fixed } },
    );
  }
  const s: ByIdsQuery = {
    pc,
    object,
    options,
    head,
    recordFields,
    resource,
    idsPerQuery,
  };

  const asked = new Set(ids.filter((id) => SF_ID.test(id)));
  const seen = new Set<string>();
  const survivors = new Set<string>();
  for await (const records of read(s, [...asked])) {
    for (const r of records) {
      seen.add(r.id);
      if (r.mergedInto !== undefined) survivors.add(r.mergedInto);
    }
    yield { records };
  }
  const more = [...survivors].filter((id) => !seen.has(id) && !asked.has(id));
  // One level: a survivor is live (merging into a merged-away record is not possible).
  for await (const records of read(s, more)) yield { records };
}

/**
 * Length of `text` once in the request URL: `encodeURIComponent`, plus the quote, which it leaves
 * alone but the WHATWG URL parser (fetch/undici) percent-encodes in a query (special-query set).
 */
export function uriEncodedLength(text: string): number {
  return encodeURIComponent(text).replace(/'/g, '%27').length;
}

async function* read(s: ByIdsQuery, ids: readonly string[]): AsyncGenerator<CrmRecord[]> {
  for (const part of chunk(ids, s.idsPerQuery)) {
    s.options.signal?.throwIfAborted();
    const soql = `${s.head}${idList(part)})`;
    let page = await first(s, soql);
    for (;;) {
      yield await toRecords(s, page.records);
      if (page.done || page.nextRecordsUrl === undefined) break;
      s.options.signal?.throwIfAborted();
      page = await next(s, page.nextRecordsUrl);
    }
  }
}

function queryHeaders(s: ByIdsQuery): Record<string, string> {
  // Sforce-Query-Options batchSize: 200..2000, a hint (API_FACTS §2 Query).
  return { 'Sforce-Query-Options': `batchSize=${s.pc.settings.queryBatchSize}` };
}

async function first(s: ByIdsQuery, soql: string): Promise<QueryResult> {
  const res = await s.pc.client.request('query', `${s.object} by-id query`, {
    method: 'GET',
    path: `/${s.resource}?q=${encodeURIComponent(soql)}`,
    headers: queryHeaders(s),
  });
  return parseQueryResult(res.body, `Salesforce ${s.object} by-id query`);
}

async function next(s: ByIdsQuery, locator: string): Promise<QueryResult> {
  const res = await s.pc.client.request('queryMore', `${s.object} by-id queryMore`, {
    method: 'GET',
    path: queryMorePath(locator),
    headers: queryHeaders(s),
  });
  return parseQueryResult(res.body, `Salesforce ${s.object} by-id queryMore`);
}

async function toRecords(s: ByIdsQuery, raw: readonly unknown[]): Promise<CrmRecord[]> {
  const records = raw.map((r) => toCrmRecord(s.object, r, s.recordFields));
  if (s.options.links.length > 0) {
    // Unordered by stamp: links by id lists (`ordered = false`), never a stamp window.
    await resolveLinks(
      s.pc.client,
      s.object,
      s.options.links,
      records,
      s.pc.facts.query.inClauseMaxIds,
      false,
    );
  }
  return records;
}
