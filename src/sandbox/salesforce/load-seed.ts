/**
 * Loads a CRM-neutral SeedAccount into the org's wire shape, using SEED_INPUT_FIELDS.salesforce
 * names: owners → User, companies → Account, people → Contact or Lead (leads may be converted:
 * IsConverted + Converted*Id), deals → Opportunity (+ OpportunityContactRole per person, first
 * one primary), tickets → Case. CreatedDate comes from the seed; SystemModstamp = the seed's asOf.
 */
import type { SeedAccount, SeedPerson } from '../seed/types.js';
import { SEED_DEAL_STAGES, SEED_INPUT_FIELDS } from '../seed/types.js';
import type { SalesforceState } from './state.js';
import { formatDateTime } from './wire.js';
import type { Rec, Value } from './wire.js';

export interface SeedIdMap {
  users: Map<string, string>;
  accounts: Map<string, string>;
  people: Map<string, string>;
  deals: Map<string, string>;
  cases: Map<string, string>;
}

const day = (d: Date): string => d.toISOString().slice(0, 10);

function toValue(v: unknown, type: string | undefined): Value {
  if (v === undefined || v === null) return null;
  if (v instanceof Date) return type === 'datetime' ? formatDateTime(v.getTime()) : day(v);
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  return String(v);
}

export function loadSeed(state: SalesforceState, seed: SeedAccount): SeedIdMap {
  const ids: SeedIdMap = {
    users: new Map(),
    accounts: new Map(),
    people: new Map(),
    deals: new Map(),
    cases: new Map(),
  };
  const stamp = seed.asOf.getTime();
  const fields = SEED_INPUT_FIELDS.salesforce;
  const put = (type: string, rec: Rec, createdAt: Date): string => {
    const id = state.insertUnchecked(type, rec, stamp);
    const row = state.table(type)?.records.get(id);
    if (row !== undefined) row.CreatedDate = formatDateTime(createdAt.getTime());
    return id;
  };
  for (const o of seed.owners) {
    ids.users.set(
      o.id,
      put(
        'User',
        {
          Username: o.email,
          Email: o.email,
          FirstName: o.firstName,
          LastName: o.lastName,
          IsActive: o.active,
        },
        seed.asOf,
      ),
    );
  }
  const owner = (seedId: string | undefined): string =>
    seedId === undefined ? state.apiUserId : (ids.users.get(seedId) ?? state.apiUserId);
  for (const c of seed.companies) {
    ids.accounts.set(
      c.id,
      put(
        'Account',
        { Name: c.name, Website: c.domain, OwnerId: owner(c.ownerId), Is_Partner__c: c.isPartner },
        c.createdAt,
      ),
    );
  }
  const personRecord = (p: SeedPerson, map: Record<string, string>, type: string): Rec => {
    const table = state.table(type);
    const rec: Rec = {};
    for (const [key, name] of Object.entries(map)) {
      if (
        name === 'CreatedDate' ||
        name === 'OwnerId' ||
        name === 'AccountId' ||
        name.startsWith('Converted') ||
        name === 'IsConverted'
      )
        continue;
      const f = table?.field(name);
      if (f === undefined || !f.createable) continue;
      const v = toValue((p as unknown as Record<string, unknown>)[key], f.type);
      if (v !== null)
        rec[f.name] =
          f.type === 'string' || f.type === 'email' || f.type === 'textarea'
            ? String(v).slice(0, f.length)
            : v;
    }
    if (rec.LastName === undefined || rec.LastName === null || rec.LastName === '')
      rec.LastName = '[not provided]';
    rec.OwnerId = owner(p.ownerId);
    return rec;
  };
  const companyNames = new Map(seed.companies.map((c) => [c.id, c.name]));
  const leads: SeedPerson[] = [];
  for (const p of seed.people) {
    if (p.kind === 'lead') {
      leads.push(p);
      continue;
    }
    const rec = personRecord(p, fields.Contact, 'Contact');
    if (p.companyId !== undefined) rec.AccountId = ids.accounts.get(p.companyId) ?? null;
    ids.people.set(p.id, put('Contact', rec, p.createdAt));
  }
  for (const d of seed.deals) {
    const stage = SEED_DEAL_STAGES.find((s) => s.id === d.stage);
    ids.deals.set(
      d.id,
      put(
        'Opportunity',
        {
          Name: d.name,
          Amount: d.amount,
          CurrencyIsoCode: d.currency,
          StageName: stage?.label ?? d.stage,
          CloseDate: day(d.closeDate),
          OwnerId: owner(d.ownerId),
          AccountId: d.companyId === undefined ? null : (ids.accounts.get(d.companyId) ?? null),
        },
        d.createdAt,
      ),
    );
  }
  for (const p of leads) {
    const rec = personRecord(p, fields.Lead, 'Lead');
    const companyName = p.companyId === undefined ? undefined : companyNames.get(p.companyId);
    rec.Company = companyName ?? p.email?.split('@')[1] ?? '[not provided]';
    const convertedContact =
      p.convertedContactId === undefined ? undefined : ids.people.get(p.convertedContactId);
    if (convertedContact !== undefined) {
      const contact = state.table('Contact')?.records.get(convertedContact);
      rec.IsConverted = true;
      rec.Status = 'Closed - Converted';
      rec.ConvertedContactId = convertedContact;
      rec.ConvertedAccountId = (contact?.AccountId as string | null | undefined) ?? null;
      rec.ConvertedOpportunityId =
        p.convertedDealId === undefined ? null : (ids.deals.get(p.convertedDealId) ?? null);
      rec.ConvertedDate = day(p.createdAt);
    }
    ids.people.set(p.id, put('Lead', rec, p.createdAt));
  }
  for (const d of seed.deals) {
    const oppId = ids.deals.get(d.id);
    let first = true;
    for (const pid of d.personIds) {
      const contactId = ids.people.get(pid);
      if (oppId === undefined || contactId === undefined || !contactId.startsWith('003')) continue;
      put(
        'OpportunityContactRole',
        {
          OpportunityId: oppId,
          ContactId: contactId,
          IsPrimary: first,
          Role: first ? 'Decision Maker' : 'Influencer',
        },
        d.createdAt,
      );
      first = false;
    }
  }
  for (const t of seed.tickets) {
    const contactId = t.personIds.map((pid) => ids.people.get(pid)).find((id) => id?.startsWith('003'));
    const id = put(
      'Case',
      {
        Subject: t.subject,
        ContactId: contactId ?? null,
        AccountId: t.companyId === undefined ? null : (ids.accounts.get(t.companyId) ?? null),
        Status: t.isOpen ? 'New' : 'Closed',
        Is_Complaint__c: t.isComplaint,
      },
      t.createdAt,
    );
    const row = state.table('Case')?.records.get(id);
    if (row !== undefined && !t.isOpen) row.ClosedDate = formatDateTime((t.closedAt ?? seed.asOf).getTime());
    ids.cases.set(t.id, id);
  }
  return ids;
}
