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
import { createRecord, type CrmContext } from './crm.js';
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

function wireValue(type: PropertyType | undefined, v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (v instanceof Date) return type === 'date' ? v.toISOString().slice(0, 10) : v.toISOString();
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return String(v);
}

function latest(...dates: (Date | undefined)[]): Date | undefined {
  let best: Date | undefined;
  for (const d of dates) if (d !== undefined && (best === undefined || d > best)) best = d;
  return best;
}

function personProps(
  ctx: CrmContext,
  p: SeedPerson,
  owners: Map<string, string>,
  asOf: Date,
): Record<string, string | null> {
  const defs = ctx.state.properties.contacts;
  const out: Record<string, string | null> = {};
  for (const [field, name] of Object.entries(SEED_INPUT_FIELDS.hubspot.contacts)) {
    let v: unknown = (p as unknown as Record<string, unknown>)[field];
    if (field === 'ownerId') v = owners.get(p.ownerId) ?? undefined;
    if (field === 'lifecycleStage' && v === undefined && p.kind === 'lead') v = 'lead';
    const w = wireValue(defs.get(name)?.type, v);
    if (w !== null) out[name] = w;
  }
  const modified = latest(
    p.createdAt,
    p.lastActiveAt,
    p.lastPurchaseAt,
    p.lastRenewalAt,
    p.lastUpgradeAt,
    p.onboardingCompletedAt,
  );
  out.hs_lastmodifieddate = (
    modified !== undefined && modified <= asOf ? modified : p.createdAt
  ).toISOString();
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
  const trusted = { source: 'INTEGRATION' as const, trusted: true };

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
      const rec = createRecord(
        ctx,
        'companies',
        {
          name: c.name,
          domain: c.domain,
          hubspot_owner_id: ids.owners.get(c.ownerId) ?? null,
          is_partner: c.isPartner ? 'true' : 'false',
          createdate: c.createdAt.toISOString(),
          hs_lastmodifieddate: c.createdAt.toISOString(),
        },
        trusted,
      );
      ids.companies.set(c.id, String(rec.num));
    }

    const converted: SeedPerson[] = [];
    for (const p of account.people) {
      if (p.kind === 'lead' && p.convertedContactId !== undefined) {
        converted.push(p);
        continue;
      }
      const rec = createRecord(ctx, 'contacts', personProps(ctx, p, ids.owners, account.asOf), trusted);
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
      const rec = createRecord(
        ctx,
        'deals',
        {
          dealname: d.name,
          amount: String(d.amount),
          deal_currency_code: d.currency,
          pipeline: 'default',
          dealstage: d.stage,
          closedate: d.closeDate.toISOString(),
          createdate: d.createdAt.toISOString(),
          hubspot_owner_id: ids.owners.get(d.ownerId) ?? null,
          hs_lastmodifieddate: (
            latest(d.createdAt, d.isClosed ? d.closeDate : undefined) ?? d.createdAt
          ).toISOString(),
        },
        trusted,
      );
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
      const rec = createRecord(
        ctx,
        'tickets',
        {
          subject: t.subject,
          hs_pipeline: '0',
          hs_pipeline_stage: t.isOpen ? '1' : '4',
          is_complaint: t.isComplaint ? 'true' : 'false',
          createdate: t.createdAt.toISOString(),
          closed_date: t.closedAt?.toISOString() ?? null,
          hs_lastmodifieddate: (latest(t.createdAt, t.closedAt) ?? t.createdAt).toISOString(),
        },
        trusted,
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
