/**
 * Loads a CRM-neutral SeedAccount into the HubSpot emulator's wire shape: owners, companies,
 * contacts (leads become contacts with lifecycle stage "lead"; converted leads are their contact),
 * deals in the default pipeline, tickets in the support pipeline, and the associations between
 * them (contact↔company primary 1 + unlabeled 279, contact↔deal 4/3, deal→company 341 + primary 5,
 * ticket→contact 16, ticket→company 339). The account's own input properties
 * (SEED_INPUT_FIELDS.hubspot) that HubSpot does not define are created first, with fitting types,
 * in a customer-owned "customer_data" group.
 */
import type { SeedAccount, SeedPerson } from '../seed/types.js';
import { SEED_INPUT_FIELDS } from '../seed/types.js';
import { insertSeedRecord, uniqueNames, type CrmContext } from './crm.js';
import { createGroup, createProperty } from './routes/properties.js';
import type { PropertyType } from './schema.js';
import type { ObjectType } from './wire.js';

export const SEED_GROUP = 'customer_data';

/** Types of the account's custom input fields (names from SEED_INPUT_FIELDS.hubspot). */
const CUSTOM_TYPES: Record<string, { type: PropertyType; fieldType: string }> = {
  nps_score: { type: 'number', fieldType: 'number' },
  csat_score: { type: 'number', fieldType: 'number' },
  purchase_count: { type: 'number', fieldType: 'number' },
  total_spend: { type: 'number', fieldType: 'number' },
  active_days_last_30: { type: 'number', fieldType: 'number' },
  active_days_prev_30: { type: 'number', fieldType: 'number' },
  features_used: { type: 'number', fieldType: 'number' },
  last_purchase_date: { type: 'date', fieldType: 'date' },
  last_renewal_date: { type: 'date', fieldType: 'date' },
  last_upgrade_date: { type: 'date', fieldType: 'date' },
  onboarding_completed_date: { type: 'date', fieldType: 'date' },
  customer_since: { type: 'date', fieldType: 'date' },
  last_active_date: { type: 'datetime', fieldType: 'date' },
  left_review: { type: 'bool', fieldType: 'booleancheckbox' },
  shared_content: { type: 'bool', fieldType: 'booleancheckbox' },
  gave_testimonial: { type: 'bool', fieldType: 'booleancheckbox' },
  marketing_opt_out: { type: 'bool', fieldType: 'booleancheckbox' },
  do_not_contact: { type: 'bool', fieldType: 'booleancheckbox' },
  is_employee: { type: 'bool', fieldType: 'booleancheckbox' },
  is_partner: { type: 'bool', fieldType: 'booleancheckbox' },
  is_complaint: { type: 'bool', fieldType: 'booleancheckbox' },
  referral_code_used: { type: 'string', fieldType: 'text' },
  referral_click_id: { type: 'string', fieldType: 'text' },
  referrer_email: { type: 'string', fieldType: 'text' },
  how_did_you_hear: { type: 'string', fieldType: 'textarea' },
};

export interface SeedIdMap {
  owners: Map<string, string>;
  companies: Map<string, string>;
  people: Map<string, string>;
  deals: Map<string, string>;
  tickets: Map<string, string>;
}

function ensureInputProperties(ctx: CrmContext): void {
  const groups: Record<string, ObjectType> = {
    contacts: 'contacts',
    companies: 'companies',
    deals: 'deals',
    tickets: 'tickets',
  };
  for (const [key, type] of Object.entries(groups)) {
    const fields = SEED_INPUT_FIELDS.hubspot[key as keyof typeof SEED_INPUT_FIELDS.hubspot];
    for (const name of Object.values(fields) as string[]) {
      if (ctx.state.properties[type].has(name)) continue;
      const spec = CUSTOM_TYPES[name] ?? { type: 'string' as const, fieldType: 'text' };
      if (!ctx.state.groups[type].has(SEED_GROUP))
        createGroup(ctx, type, { name: SEED_GROUP, label: 'Customer data' });
      createProperty(ctx, type, { name, label: name.replace(/_/g, ' '), groupName: SEED_GROUP, ...spec });
    }
  }
}

function latestMs(...dates: (Date | undefined)[]): number {
  let best = -Infinity;
  for (const d of dates) if (d !== undefined && d.getTime() > best) best = d.getTime();
  return best;
}

type FieldKind = 'date' | 'datetime' | 'bool' | 'other';
interface FieldSpec {
  field: string;
  name: string;
  kind: FieldKind;
}

/** The contact field list with wire kinds, computed once per load (1M people go through it). */
function contactFieldSpecs(ctx: CrmContext): FieldSpec[] {
  const defs = ctx.state.properties.contacts;
  return Object.entries(SEED_INPUT_FIELDS.hubspot.contacts)
    .filter(([field]) => field !== 'createdAt')
    .map(([field, name]) => {
      const t = defs.get(name)?.type;
      return {
        field,
        name,
        kind: t === 'date' ? 'date' : t === 'datetime' ? 'datetime' : t === 'bool' ? 'bool' : 'other',
      };
    });
}

function personProps(specs: FieldSpec[], p: SeedPerson, owners: Map<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  const bag = p as unknown as Record<string, unknown>;
  for (const { field, name, kind } of specs) {
    let v = bag[field];
    if (field === 'ownerId') v = owners.get(p.ownerId);
    else if (field === 'lifecycleStage' && v === undefined && p.kind === 'lead') v = 'lead';
    if (v === undefined || v === null) continue;
    if (v instanceof Date) out[name] = kind === 'date' ? v.toISOString().slice(0, 10) : v.toISOString();
    else if (typeof v === 'boolean') out[name] = v ? 'true' : 'false';
    else out[name] = String(v);
  }
  return out;
}

function compact(props: Record<string, string | null | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(props)) if (v !== null && v !== undefined) out[k] = v;
  return out;
}

/** Replace the account's data with `account` (the caller resets state first). */
export function loadSeedAccount(ctx: CrmContext, account: SeedAccount): SeedIdMap {
  const { state } = ctx;
  ensureInputProperties(ctx);
  const ids: SeedIdMap = {
    owners: new Map(),
    companies: new Map(),
    people: new Map(),
    deals: new Map(),
    tickets: new Map(),
  };
  const asOfMs = account.asOf.getTime();
  const specs = contactFieldSpecs(ctx);
  const unique = {
    contacts: uniqueNames(ctx, 'contacts'),
    companies: uniqueNames(ctx, 'companies'),
    deals: uniqueNames(ctx, 'deals'),
    tickets: uniqueNames(ctx, 'tickets'),
  };

  account.owners.forEach((o, i) => {
    const id = String(10_000_001 + i);
    ids.owners.set(o.id, id);
    state.owners.push({
      id,
      email: o.email,
      firstName: o.firstName,
      lastName: o.lastName,
      userId: 20_000_001 + i,
      archived: !o.active,
      createdAt: account.asOf.toISOString(),
      updatedAt: account.asOf.toISOString(),
    });
  });

  for (const t of ['contacts', 'companies', 'deals', 'tickets'] as const) state.objects[t].beginBulk();
  try {
    for (const c of account.companies) {
      const props = compact({
        name: c.name,
        domain: c.domain,
        hubspot_owner_id: ids.owners.get(c.ownerId),
        is_partner: c.isPartner ? 'true' : 'false',
      });
      const ms = c.createdAt.getTime();
      const rec = insertSeedRecord(ctx, 'companies', props, ms, ms, unique.companies);
      ids.companies.set(c.id, String(rec.num));
    }

    const converted: SeedPerson[] = [];
    for (const p of account.people) {
      if (p.kind === 'lead' && p.convertedContactId !== undefined) {
        converted.push(p);
        continue;
      }
      const created = p.createdAt.getTime();
      const modified = latestMs(
        p.createdAt,
        p.lastActiveAt,
        p.lastPurchaseAt,
        p.lastRenewalAt,
        p.lastUpgradeAt,
        p.onboardingCompletedAt,
      );
      const updated = modified <= asOfMs ? modified : created;
      const rec = insertSeedRecord(
        ctx,
        'contacts',
        personProps(specs, p, ids.owners),
        created,
        updated,
        unique.contacts,
      );
      ids.people.set(p.id, String(rec.num));
      const company = p.companyId === undefined ? undefined : ids.companies.get(p.companyId);
      if (company !== undefined) {
        state.associations.add('contacts', rec.num, 'companies', Number(company), 1);
        state.associations.add('contacts', rec.num, 'companies', Number(company), 279);
      }
    }
    // A converted lead and its contact are one HubSpot record.
    for (const p of converted) {
      const into = ids.people.get(p.convertedContactId ?? '');
      if (into !== undefined) ids.people.set(p.id, into);
    }

    const currency = state.properties.deals.get('deal_currency_code');
    for (const d of account.deals) {
      if (currency !== undefined && !currency.options.some((o) => o.value === d.currency))
        currency.options.push({
          label: d.currency,
          value: d.currency,
          displayOrder: currency.options.length,
          hidden: false,
        });
      const props = compact({
        dealname: d.name,
        amount: String(d.amount),
        deal_currency_code: d.currency,
        pipeline: 'default',
        dealstage: d.stage,
        closedate: d.closeDate.toISOString(),
        hubspot_owner_id: ids.owners.get(d.ownerId),
      });
      const created = d.createdAt.getTime();
      const closed = d.isClosed ? Math.min(d.closeDate.getTime(), asOfMs) : created;
      const rec = insertSeedRecord(ctx, 'deals', props, created, Math.max(created, closed), unique.deals);
      ids.deals.set(d.id, String(rec.num));
      for (const pid of d.personIds) {
        const c = ids.people.get(pid);
        if (c !== undefined) state.associations.add('deals', rec.num, 'contacts', Number(c), 3);
      }
      const company = d.companyId === undefined ? undefined : ids.companies.get(d.companyId);
      if (company !== undefined) {
        state.associations.add('deals', rec.num, 'companies', Number(company), 5);
        state.associations.add('deals', rec.num, 'companies', Number(company), 341);
      }
    }

    for (const t of account.tickets) {
      const props = compact({
        subject: t.subject,
        hs_pipeline: '0',
        hs_pipeline_stage: t.isOpen ? '1' : '4',
        is_complaint: t.isComplaint ? 'true' : 'false',
        closed_date: t.closedAt?.toISOString(),
      });
      const rec = insertSeedRecord(
        ctx,
        'tickets',
        props,
        t.createdAt.getTime(),
        latestMs(t.createdAt, t.closedAt),
        unique.tickets,
      );
      ids.tickets.set(t.id, String(rec.num));
      for (const pid of t.personIds) {
        const c = ids.people.get(pid);
        if (c !== undefined) state.associations.add('tickets', rec.num, 'contacts', Number(c), 16);
      }
      const company = t.companyId === undefined ? undefined : ids.companies.get(t.companyId);
      if (company !== undefined)
        state.associations.add('tickets', rec.num, 'companies', Number(company), 339);
    }
  } finally {
    for (const t of ['contacts', 'companies', 'deals', 'tickets'] as const) state.objects[t].endBulk();
  }
  return ids;
}
