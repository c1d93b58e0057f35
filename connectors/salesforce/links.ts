/**
 * Associations read into `CrmRecord.links`, per page and in bulk (never one call per record):
 *  - lookups on the record itself (Lead → converted Contact/Opportunity/Account, Case → Contact,
 *    Contact/Opportunity/Case → Account) cost nothing: the lookup field is added to the SELECT;
 *  - Opportunity → Contact goes through `OpportunityContactRole`, one query per
 *    `inClauseMaxIds` opportunities of the page (URI + headers ≤ 16,384 bytes, SF Help 000386264);
 *  - Contact → Lead (the Leads converted into this Contact) likewise, from `Lead.ConvertedContactId`.
 * Opportunities are linked to people through contact roles AND their Account (`links.Account`),
 * so the pipeline can fall back to the account's people when a deal has no contact role.
 */
import type { CrmRecord } from '../contract.js';
import { AppError, ERR_INVALID_INPUT } from '../../src/errors.js';
import { chunk } from '../shared/batch.js';
import { fetchBulkResults, runBulkQuery } from './bulk.js';
import type { SalesforceClient } from './connection.js';
import { parseQueryResult } from './records.js';
import { idList, soqlDateTime, soqlString } from './soql.js';

/** Links answered by a lookup field of the record itself. */
export const FIELD_LINKS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  Lead: {
    Contact: 'ConvertedContactId',
    Opportunity: 'ConvertedOpportunityId',
    Account: 'ConvertedAccountId',
  },
  Contact: { Account: 'AccountId' },
  Opportunity: { Account: 'AccountId' },
  Case: { Contact: 'ContactId', Account: 'AccountId' },
  Task: { Contact: 'WhoId', Opportunity: 'WhatId' },
};

interface QueryLink {
  /** SOQL with `:ids` where the page's ids go; selects the page id column and the linked id column. */
  soql: string;
  pageIdColumn: string;
  linkedIdColumn: string;
  /** Parent relationship whose SystemModstamp orders the page (window query for ordered pages). */
  window?: { relationship: string };
}

/** Links that need a query per page. */
export const QUERY_LINKS: Readonly<Record<string, Readonly<Record<string, QueryLink>>>> = {
  Opportunity: {
    Contact: {
      soql: 'SELECT OpportunityId, ContactId FROM OpportunityContactRole WHERE OpportunityId IN (:ids)',
      pageIdColumn: 'OpportunityId',
      linkedIdColumn: 'ContactId',
      window: { relationship: 'Opportunity' },
    },
  },
  Contact: {
    Lead: {
      soql: 'SELECT Id, ConvertedContactId FROM Lead WHERE IsConverted = true AND ConvertedContactId IN (:ids)',
      pageIdColumn: 'ConvertedContactId',
      linkedIdColumn: 'Id',
    },
  },
};

export function assertLinksSupported(object: string, links: readonly string[]): void {
  for (const link of links) {
    if (FIELD_LINKS[object]?.[link] === undefined && QUERY_LINKS[object]?.[link] === undefined) {
      throw new AppError(ERR_INVALID_INPUT, `Salesforce ${object} has no link to ${link}`, {
        details: { object, link },
      });
    }
  }
}

/** Lookup fields to add to the SELECT for the requested links. */
export function linkFields(object: string, links: readonly string[]): string[] {
  const out: string[] = [];
  for (const link of links) {
    const f = FIELD_LINKS[object]?.[link];
    if (f !== undefined) out.push(f);
  }
  return out;
}

function addLink(record: CrmRecord, link: string, id: string): void {
  const list = (record.links[link] ??= []);
  if (!list.includes(id)) list.push(id);
}

/** Fill `links` on a page of records (mutates them), with as few queries as the page allows. */
/**
 * Resolve links for a page of records (mutates them), with as few queries as the page allows.
 * `ordered`: the page came from a REST query ordered by (SystemModstamp, Id). Then a link with a
 * `window` reads the children of exactly that range of parents in ONE query (plus queryMore), e.g.
 * contact roles WHERE Opportunity.SystemModstamp/OpportunityId lie between the page's first and
 * last (stamp, id). A parent that got no child rows (none exist, or it changed since the page was
 * read and left the window) is re-asked by id, so a race can never drop its links.
 */
export async function resolveLinks(
  client: SalesforceClient,
  object: string,
  links: readonly string[],
  records: CrmRecord[],
  inClauseMaxIds: number,
  ordered = false,
  prefetched?: PrefetchedLinks,
): Promise<void> {
  for (const link of links) {
    const field = FIELD_LINKS[object]?.[link];
    if (field !== undefined) {
      for (const r of records) {
        r.links[link] ??= [];
        const v = r.fields[field];
        if (typeof v === 'string' && v !== '') addLink(r, link, v);
      }
      continue;
    }
    const q = QUERY_LINKS[object]?.[link];
    if (q === undefined) continue;
    for (const r of records) r.links[link] ??= [];
    const live = records.filter((r) => !r.deleted);
    if (live.length === 0) continue;
    const byId = new Map(records.map((r) => [r.id, r]));
    const answered = new Set<string>();
    const first = records[0];
    const last = records.at(-1);
    const known = prefetched?.links.get(link);
    if (known !== undefined) {
      for (const r of live) {
        const ids = known.get(r.id);
        if (ids !== undefined) for (const id of ids) addLink(r, link, id);
        // Authoritative prefetch (read before the parents): no entry means no children.
        if (ids !== undefined || prefetched?.authoritative === true) answered.add(r.id);
      }
    } else if (ordered && q.window !== undefined && first !== undefined && last !== undefined) {
      await runLinkQuery(
        client,
        `${object} → ${link} links`,
        windowSoql(q, q.window, first, last),
        q,
        byId,
        answered,
        link,
      );
    }
    const rest = live.filter((r) => !answered.has(r.id)).map((r) => r.id);
    for (const ids of chunk(rest, inClauseMaxIds)) {
      const soql = q.soql.replace(':ids', idList(ids));
      await runLinkQuery(client, `${object} → ${link} links`, soql, q, byId, answered, link);
    }
  }
}

function windowSoql(
  q: QueryLink,
  w: NonNullable<QueryLink['window']>,
  first: CrmRecord,
  last: CrmRecord,
): string {
  const t0 = soqlDateTime(first.modifiedAt);
  const t1 = soqlDateTime(last.modifiedAt);
  const stamp = `${w.relationship}.SystemModstamp`;
  // (stamp, id) between (t0, id0) and (t1, id1), written without AND nested inside OR.
  return (
    `${q.soql.slice(0, q.soql.indexOf(' WHERE '))} WHERE ${stamp} >= ${t0} AND ${stamp} <= ${t1}` +
    ` AND (${stamp} > ${t0} OR ${q.pageIdColumn} >= ${soqlString(first.id)})` +
    ` AND (${stamp} < ${t1} OR ${q.pageIdColumn} <= ${soqlString(last.id)})`
  );
}

async function runLinkQuery(
  client: SalesforceClient,
  what: string,
  soql: string,
  q: QueryLink,
  byId: ReadonlyMap<string, CrmRecord>,
  answered: Set<string>,
  link: string,
): Promise<void> {
  let res = parseQueryResult(
    (await client.request('query', what, { method: 'GET', path: `/query?q=${encodeURIComponent(soql)}` }))
      .body,
    'Salesforce link query',
  );
  for (;;) {
    for (const row of res.records) {
      const from = row[q.pageIdColumn];
      const to = row[q.linkedIdColumn];
      if (typeof from !== 'string' || typeof to !== 'string') continue;
      const target = byId.get(from);
      if (target === undefined) continue;
      addLink(target, link, to);
      answered.add(from);
    }
    if (res.done || res.nextRecordsUrl === undefined) return;
    res = parseQueryResult(
      (await client.request('queryMore', what, { method: 'GET', path: queryMorePath(res.nextRecordsUrl) }))
        .body,
      'Salesforce link query',
    );
  }
}

/** Children of every parent in a bulk range, read once (Bulk 2.0) instead of per page. */
export interface PrefetchedLinks {
  /** link → parent id → linked ids. */
  links: Map<string, Map<string, string[]>>;
  /** Read before the parents' own bulk job: a parent without an entry has no children. */
  authoritative: boolean;
}

/**
 * For a Bulk 2.0 pull of parents in `where` (a clause on the parent's own SystemModstamp/Id),
 * read the window-able links (contact roles) with one Bulk 2.0 query of the children filtered
 * by the parent's fields, e.g. `Opportunity.SystemModstamp` (child-to-parent filters are
 * supported in Bulk 2.0 queries). Memory: one entry per parent that has children.
 */
export async function prefetchLinks(
  client: SalesforceClient,
  object: string,
  links: readonly string[],
  parentWhere: (relationship: string, idColumn: string) => string,
  bulk: { poll: { intervalMs: number; timeoutMs: number }; pageSize: number },
  authoritative: boolean,
): Promise<PrefetchedLinks | undefined> {
  const out: PrefetchedLinks = { links: new Map(), authoritative };
  for (const link of links) {
    const q = QUERY_LINKS[object]?.[link];
    if (q?.window === undefined) continue;
    const select = q.soql.slice(0, q.soql.indexOf(' WHERE '));
    const soql = `${select} WHERE ${parentWhere(q.window.relationship, q.pageIdColumn)}`;
    const jobId = await runBulkQuery(client, soql, false, bulk.poll);
    const map = new Map<string, string[]>();
    let locator: string | null = null;
    do {
      const page = await fetchBulkResults(client, jobId, locator, bulk.pageSize);
      for (const row of page.rows) {
        const from = row[q.pageIdColumn];
        const to = row[q.linkedIdColumn];
        if (typeof from !== 'string' || typeof to !== 'string' || from === '' || to === '') continue;
        const list = map.get(from);
        if (list === undefined) map.set(from, [to]);
        else if (!list.includes(to)) list.push(to);
      }
      locator = page.next;
    } while (locator !== null);
    out.links.set(link, map);
  }
  return out.links.size === 0 ? undefined : out;
}

/**
 * jsforce keeps only the locator (last path segment of `nextRecordsUrl`) and asks
 * `/services/data/v{version}/query/{locator}`, even after a queryAll (API_FACTS §2 Query,
 * [JSF] query.ts locatorToUrl). We do the same so the path never depends on the server's version.
 */
export function queryMorePath(nextRecordsUrlOrLocator: string): string {
  const locator = nextRecordsUrlOrLocator.split('/').pop() ?? nextRecordsUrlOrLocator;
  return `/query/${encodeURIComponent(locator)}`;
}
