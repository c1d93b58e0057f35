/**
 * The seeded account generator: `generateSeedAccount({ seed, contacts })` builds the same
 * realistic CRM account every time for the same seed (one mulberry32 stream, fixed pass order),
 * from 100 to 1,000,000 people. Both emulators load it (`hubspot/`, `salesforce/`), so tests and
 * the demo see one company's data through either CRM's API.
 *
 * `contacts` counts every person record: ≈15% of them are leads (Salesforce Lead objects; HubSpot
 * contacts at the lead stage), 20% of which were converted into a contact (also in `people`).
 */
import { z } from 'zod';
import { parseOrThrow } from '../../validation.js';
import type { SeedContext } from './context.js';
import { generateDeals } from './deals.js';
import { addDuplicates } from './duplicates.js';
import { companyCountsFor, generateCompanies, generateOwners, ownerCountFor } from './org.js';
import { generatePeople } from './people.js';
import { SeedRandom } from './random.js';
import { addHowHeardNoise, assignReferralCodes, assignReferrals } from './referrals.js';
import { generateTickets } from './tickets.js';
import type { SeedAccount } from './types.js';

export const ERR_SANDBOX_SEED_OPTIONS = 'ERR_SANDBOX_SEED_OPTIONS';

/** A fixed default "now" keeps a seed's account identical across days; pass `asOf` for fresh data. */
export const SEED_DEFAULT_AS_OF = new Date('2026-01-01T00:00:00.000Z');
export const SEED_MIN_CONTACTS = 100;
export const SEED_MAX_CONTACTS = 1_000_000;

export const GenerateSeedOptionsSchema = z.strictObject({
  seed: z.number().int(),
  contacts: z.number().int().min(SEED_MIN_CONTACTS).max(SEED_MAX_CONTACTS),
  asOf: z.date().optional(),
});
export type GenerateSeedOptions = z.input<typeof GenerateSeedOptionsSchema>;

export function generateSeedAccount(options: GenerateSeedOptions): SeedAccount {
  const {
    seed,
    contacts,
    asOf = SEED_DEFAULT_AS_OF,
  } = parseOrThrow(GenerateSeedOptionsSchema, options, 'seed options', ERR_SANDBOX_SEED_OPTIONS);
  const random = new SeedRandom(seed);
  const owners = generateOwners(random, ownerCountFor(contacts));
  const ctx: SeedContext = {
    random,
    asOfMs: asOf.getTime(),
    owners,
    ownerById: new Map(owners.map((o) => [o.id, o])),
    activeOwners: owners.filter((o) => o.active),
    inactiveOwners: owners.filter((o) => !o.active),
    companies: [],
    customerCompanyCount: 0,
    people: [],
    emailsInUse: new Set(),
    days: new Map(),
  };
  const counts = companyCountsFor(contacts);
  ctx.companies = generateCompanies(ctx, counts.customers, counts.prospects);
  ctx.customerCompanyCount = counts.customers;

  // Order matters for determinism and for the truth: duplicates and codes before referrals (a
  // duplicate record is never the referrer or the referred of record), deals after referrals
  // (referred people's deals are mostly won inside the attribution window).
  generatePeople(ctx, contacts);
  addDuplicates(ctx);
  assignReferralCodes(ctx);
  const referralClicks = assignReferrals(ctx);
  addHowHeardNoise(ctx);
  const deals = generateDeals(ctx);
  const tickets = generateTickets(ctx);

  return {
    seed,
    asOf: new Date(ctx.asOfMs),
    owners,
    companies: ctx.companies,
    people: ctx.people,
    deals,
    tickets,
    referralClicks,
  };
}
