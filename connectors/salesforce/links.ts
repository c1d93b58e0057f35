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
import type { SalesforceClient } from './connection.js';
import { parseQueryResult } from './records.js';
import { idList } from './soql.js';

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
}

/** Links that need a query per page. */
export const QUERY_LINKS: Readonly<Record<string, Readonly<Record<string, QueryLink>>>> = {
  Opportunity: {
    Contact: {
      soql: 'SELECT OpportunityId, ContactId FROM OpportunityContactRole WHERE OpportunityId IN (:ids)',
      pageIdColumn: 'OpportunityId',
      linkedIdColumn: 'ContactId',
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
export async function resolveLinks(
  client: SalesforceClient,
  object: string,
  links: readonly string[],
  records: CrmRecord[],
  inClauseMaxIds: number,
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
    const live = records.filter((r) => !r.deleted);
    const byId = new Map(records.map((r) => [r.id, r]));
    for (const r of records) r.links[link] ??= [];
    for (const ids of chunk(
      live.map((r) => r.id),
      inClauseMaxIds,
    )) {
      const soql = q.soql.replace(':ids', idList(ids));
      let res = parseQueryResult(
        (
          await client.request('query', `${object} → ${link} links`, {
            method: 'GET',
            path: `/query?q=${encodeURIComponent(soql)}`,
          })
        ).body,
        'Salesforce link query',
      );
      for (;;) {
        for (const row of res.records) {
          const from = row[q.pageIdColumn];
          const to = row[q.linkedIdColumn];
          if (typeof from === 'string' && typeof to === 'string') {
            const target = byId.get(from);
            if (target !== undefined) addLink(target, link, to);
          }
        }
        if (res.done || res.nextRecordsUrl === undefined) break;
        res = parseQueryResult(
          (
            await client.request('queryMore', `${object} → ${link} links`, {
              method: 'GET',
              path: queryMorePath(res.nextRecordsUrl),
            })
          ).body,
          'Salesforce link query',
        );
      }
    }
  }
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
