/**
 * Lead conversion carry-over. Referred people usually arrive as Leads; when a rep converts one,
 * Salesforce copies custom Lead fields into the new Contact/Opportunity only through the admin's
 * lead field mapping and only into empty fields — so our attribution would stay behind on the Lead.
 *
 * Division of labour:
 *  - pull: a converted Lead carries `links.Contact` / `links.Opportunity` / `links.Account` (from
 *    ConvertedContactId / ConvertedOpportunityId / ConvertedAccountId) and the mapping exposes
 *    `convertedToId`; a Contact pulled with the `Lead` link carries the Leads converted into it
 *    (`convertedFromId`), so the engine treats Lead and Contact as one person;
 *  - engine/pipeline: decide attribution (who referred whom) on the person as usual and write our
 *    owned fields on the Lead;
 *  - connector (`carryLeadConversions`): copy the Lead's attribution fields onto the converted
 *    Contact and Opportunity — only into empty fields by default (an existing Contact keeps its
 *    own first referral: first valid referral wins), reading the targets' current values in bulk.
 */
import type { CrmRecord, RecordUpdate, WireValue } from '../contract.js';
import type { SalesforceClient } from './connection.js';
import { parseQueryResult } from './records.js';
import { assertApiName, idList, inListChunks } from './soql.js';
import { queryMorePath } from './links.js';

/** Lead field → field on the converted record. */
export interface ConversionFieldMap {
  Contact: Readonly<Record<string, string>>;
  Opportunity: Readonly<Record<string, string>>;
}

export const DEFAULT_CONVERSION_FIELDS: ConversionFieldMap = {
  Contact: {
    Referral_Code_Used__c: 'Referral_Code_Used__c',
    Referred_By_Contact_Id__c: 'Referred_By_Contact_Id__c',
    Referred_By_Name__c: 'Referred_By_Name__c',
    Referral_Attribution_Method__c: 'Referral_Attribution_Method__c',
  },
  Opportunity: {
    Referral_Code_Used__c: 'Referral_Code_Used__c',
    Referred_By_Contact_Id__c: 'Referred_By_Contact_Id__c',
    Referred_By_Name__c: 'Referred_By_Name__c',
  },
};

export type CarryPolicy = 'only-if-empty' | 'always';

function isEmpty(v: WireValue | undefined): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

/** Converted targets of a page of Leads: which record ids to read per object. */
export function conversionTargets(leads: readonly CrmRecord[]): { Contact: string[]; Opportunity: string[] } {
  const out = { Contact: new Set<string>(), Opportunity: new Set<string>() };
  for (const lead of leads) {
    if (lead.object !== 'Lead' || lead.deleted) continue;
    const c = lead.fields.ConvertedContactId ?? lead.links.Contact?.[0];
    const o = lead.fields.ConvertedOpportunityId ?? lead.links.Opportunity?.[0];
    if (typeof c === 'string' && c !== '') out.Contact.add(c);
    if (typeof o === 'string' && o !== '') out.Opportunity.add(o);
  }
  return { Contact: [...out.Contact], Opportunity: [...out.Opportunity] };
}

/** Pure: the updates that carry each Lead's values onto its converted records. */
export function conversionUpdates(
  leads: readonly CrmRecord[],
  current: ReadonlyMap<string, Readonly<Record<string, WireValue>>>,
  map: ConversionFieldMap = DEFAULT_CONVERSION_FIELDS,
  policy: CarryPolicy = 'only-if-empty',
): RecordUpdate[] {
  const updates = new Map<string, RecordUpdate>();
  for (const lead of leads) {
    if (lead.object !== 'Lead' || lead.deleted) continue;
    const targets: [keyof ConversionFieldMap, WireValue | undefined][] = [
      ['Contact', lead.fields.ConvertedContactId ?? lead.links.Contact?.[0]],
      ['Opportunity', lead.fields.ConvertedOpportunityId ?? lead.links.Opportunity?.[0]],
    ];
    for (const [object, targetId] of targets) {
      if (typeof targetId !== 'string' || targetId === '') continue;
      const now = current.get(targetId) ?? {};
      for (const [from, to] of Object.entries(map[object])) {
        const value = lead.fields[from];
        if (isEmpty(value) || now[to] === value) continue;
        if (policy === 'only-if-empty' && !isEmpty(now[to])) continue;
        const u = updates.get(targetId) ?? { object, id: targetId, fields: {} };
        u.fields[to] = value ?? null;
        updates.set(targetId, u);
      }
    }
  }
  return [...updates.values()];
}

/** Current values of the target fields of the converted records, read in bulk. */
export async function readConversionTargets(
  client: SalesforceClient,
  leads: readonly CrmRecord[],
  map: ConversionFieldMap,
  inClauseMaxIds: number,
): Promise<Map<string, Record<string, WireValue>>> {
  const current = new Map<string, Record<string, WireValue>>();
  const targets = conversionTargets(leads);
  for (const object of ['Contact', 'Opportunity'] as const) {
    const fields = [...new Set(Object.values(map[object]).map((f) => assertApiName(f)))];
    if (fields.length === 0) continue;
    for (const ids of inListChunks(targets[object], inClauseMaxIds)) {
      const soql = `SELECT Id, ${fields.join(', ')} FROM ${object} WHERE Id IN (${idList(ids)})`;
      let res = parseQueryResult(
        (
          await client.request('query', `${object} conversion targets`, {
            method: 'GET',
            path: `/query?q=${encodeURIComponent(soql)}`,
          })
        ).body,
        'Salesforce conversion targets',
      );
      for (;;) {
        for (const row of res.records) {
          if (typeof row.Id !== 'string') continue;
          const values: Record<string, WireValue> = {};
          for (const f of fields) {
            const v = row[f];
            values[f] = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : null;
          }
          current.set(row.Id, values);
        }
        if (res.done || res.nextRecordsUrl === undefined) break;
        res = parseQueryResult(
          (
            await client.request('queryMore', `${object} conversion targets`, {
              method: 'GET',
              path: queryMorePath(res.nextRecordsUrl),
            })
          ).body,
          'Salesforce conversion targets',
        );
      }
    }
  }
  return current;
}
