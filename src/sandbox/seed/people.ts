/**
 * Contacts and leads with everything the readiness rules read: lifecycle stage, NPS history skewed
 * positive (with detractors), CSAT, purchases / renewals / upgrades over two years with a slice in
 * the last 30 days, usage (falling for some), email engagement, advocacy, tenure, consent flags.
 * Objects are plain and only carry the fields that apply, so a 1M-contact account stays lean.
 */
import { dayOf, isCustomerStage, normaliseEmail, type SeedContext } from './context.js';
import { asStoredEmail, asTypedName, emailLocalPart, firstNameFor, lastNameFor } from './dirty.js';
import { ACCOUNT_DOMAIN, FREE_MAIL_DOMAINS } from './names.js';
import { pickOwner } from './org.js';
import { blankPerson } from './shapes.js';
import { DAY_MS } from './random.js';
import type { SeedPerson } from './types.js';

/** Share of people who are leads (Salesforce Lead objects). */
export const LEAD_SHARE = 0.15;
/** Share of leads converted into a contact (and an opportunity). */
export const CONVERTED_LEAD_SHARE = 0.2;

const CONTACT_STAGES = [
  'subscriber',
  'lead',
  'marketingqualifiedlead',
  'salesqualifiedlead',
  'opportunity',
  'customer',
  'evangelist',
] as const;
const CONTACT_STAGE_WEIGHTS = [7, 8, 10, 7, 8, 55, 5];
const LEAD_STAGES = ['lead', 'marketingqualifiedlead', 'salesqualifiedlead'] as const;
const LEAD_STAGE_WEIGHTS = [70, 20, 10];
/** NPS 0..10; promoters dominate but detractors (0-6) are ~20%. */
const NPS_WEIGHTS = [2, 1, 1, 1.5, 2, 4, 6.5, 10, 15, 25, 32];
const CSAT_WEIGHTS = [3, 5, 12, 35, 45];

export function generatePeople(ctx: SeedContext, total: number): void {
  const { random, people } = ctx;
  while (people.length < total) {
    if (random.chance(LEAD_SHARE)) {
      const lead = makeLead(ctx);
      people.push(lead);
      if (people.length < total && random.chance(CONVERTED_LEAD_SHARE)) {
        const contact = convertedContactOf(ctx, lead);
        lead.convertedContactId = contact.id;
        people.push(contact);
      }
    } else {
      people.push(makeContact(ctx));
    }
  }
}

function nextId(ctx: SeedContext): string {
  return `p${ctx.people.length + 1}`;
}

function makeContact(ctx: SeedContext): SeedPerson {
  const { random, asOfMs } = ctx;
  if (random.chance(0.01)) return makeEmployee(ctx);
  const stage = CONTACT_STAGES[random.weightedIndex(CONTACT_STAGE_WEIGHTS)] ?? 'customer';
  const customer = isCustomerStage(stage);
  const companyIndex = random.chance(0.88) ? random.int(0, ctx.customerCompanyCount - 1) : -1;
  const companyRecord = companyIndex >= 0 ? ctx.companies[companyIndex] : undefined;
  const owner =
    companyRecord !== undefined && random.chance(0.7)
      ? (ctx.ownerById.get(companyRecord.ownerId) ?? pickOwner(ctx, 0.05))
      : pickOwner(ctx, 0.05);
  const customerSince = customer ? dayOf(ctx, random.msAgo(asOfMs, 5, 5 * 365)) : undefined;
  // A customer's record was created before they became one (a trial, a demo request...).
  const createdAt =
    customerSince !== undefined
      ? new Date(Math.floor(customerSince.getTime() - (random.float() * 90 + 0.01) * DAY_MS))
      : random.daysAgo(asOfMs, 0, 730);
  const person = blankPerson(nextId(ctx), 'contact', owner.id, createdAt);
  addName(ctx, person, companyRecord?.domain, 0.02);
  if (companyRecord !== undefined) person.companyId = companyRecord.id;
  person.lifecycleStage = stage;
  addEngagement(ctx, person, customer ? 20 : 6);
  if (customerSince !== undefined) addCustomerHistory(ctx, person, customerSince);
  else if (random.chance(0.08)) person.nps = random.weightedIndex(NPS_WEIGHTS);
  addConsent(ctx, person);
  return person;
}

function makeEmployee(ctx: SeedContext): SeedPerson {
  const { random, asOfMs } = ctx;
  const owner = pickOwner(ctx, 0);
  const person = blankPerson(nextId(ctx), 'contact', owner.id, random.daysAgo(asOfMs, 10, 4 * 365));
  addName(ctx, person, ACCOUNT_DOMAIN, 0);
  person.isEmployee = true;
  addEngagement(ctx, person, 10);
  return person;
}

function makeLead(ctx: SeedContext): SeedPerson {
  const { random, asOfMs } = ctx;
  const prospects = ctx.companies.length - ctx.customerCompanyCount;
  const companyRecord =
    prospects > 0 && random.chance(0.65)
      ? ctx.companies[ctx.customerCompanyCount + random.int(0, prospects - 1)]
      : undefined;
  const person = blankPerson(nextId(ctx), 'lead', pickOwner(ctx, 0.03).id, random.daysAgo(asOfMs, 0, 365));
  addName(ctx, person, companyRecord?.domain, 0.03);
  if (companyRecord !== undefined) person.companyId = companyRecord.id;
  person.lifecycleStage = LEAD_STAGES[random.weightedIndex(LEAD_STAGE_WEIGHTS)] ?? 'lead';
  addEngagement(ctx, person, 3);
  addConsent(ctx, person);
  return person;
}

/** The contact a converted lead became (Salesforce keeps both; same person, same email). */
function convertedContactOf(ctx: SeedContext, lead: SeedPerson): SeedPerson {
  const { random, asOfMs } = ctx;
  const convertedAt = Math.min(asOfMs - 3_600_000, lead.createdAt.getTime() + random.int(1, 30) * DAY_MS);
  const contact = blankPerson(nextId(ctx), 'contact', lead.ownerId, new Date(convertedAt));
  if (lead.email !== undefined) contact.email = lead.email;
  if (lead.firstName !== undefined) contact.firstName = lead.firstName;
  if (lead.lastName !== undefined) contact.lastName = lead.lastName;
  if (lead.companyId !== undefined) contact.companyId = lead.companyId;
  // Deals settle the final stage (customer when the opportunity is won).
  contact.lifecycleStage = 'opportunity';
  if (lead.emailOpens !== undefined) contact.emailOpens = lead.emailOpens;
  if (lead.emailClicks !== undefined) contact.emailClicks = lead.emailClicks;
  return contact;
}

function addName(
  ctx: SeedContext,
  person: SeedPerson,
  companyDomain: string | undefined,
  missingEmail: number,
): void {
  const { random } = ctx;
  const firstName = firstNameFor(random);
  const lastName = lastNameFor(random);
  if (!random.chance(0.03)) person.firstName = asTypedName(firstName, random);
  if (!random.chance(0.015)) person.lastName = asTypedName(lastName, random);
  if (random.chance(missingEmail)) return;
  const domain =
    companyDomain !== undefined && (companyDomain === ACCOUNT_DOMAIN || random.chance(0.85))
      ? companyDomain
      : random.pick(FREE_MAIL_DOMAINS);
  const base = emailLocalPart(firstName, lastName, random);
  let email = `${base}@${domain}`;
  for (let n = 2; ctx.emailsInUse.has(email); n++) email = `${base}${n}@${domain}`;
  ctx.emailsInUse.add(email);
  person.email = asStoredEmail(email, random);
}

function addEngagement(ctx: SeedContext, person: SeedPerson, meanOpens: number): void {
  const { random } = ctx;
  if (random.chance(0.1)) return; // never received or tracked marketing email
  const opens = random.geometric(meanOpens) - 1;
  person.emailOpens = opens;
  person.emailClicks = Math.floor(opens * random.float() * 0.3);
}

function addConsent(ctx: SeedContext, person: SeedPerson): void {
  const { random } = ctx;
  if (random.chance(0.06)) person.optedOut = true;
  if (random.chance(0.03)) person.doNotContact = true;
}

function addCustomerHistory(ctx: SeedContext, person: SeedPerson, customerSince: Date): void {
  const { random, asOfMs } = ctx;
  const tenureDays = (asOfMs - customerSince.getTime()) / DAY_MS;
  const historyDays = Math.min(tenureDays, 730);
  person.customerSince = customerSince;
  if (random.chance(0.85)) {
    const onboarded = customerSince.getTime() + random.int(3, 60) * DAY_MS;
    if (onboarded < asOfMs) person.onboardingCompletedAt = dayOf(ctx, onboarded);
  }

  const purchases = Math.min(40, random.geometric(3));
  person.purchaseCount = purchases;
  person.totalSpend = Math.round(purchases * random.logNormal(1_200, 0.8) * 100) / 100;
  if (random.chance(0.92)) {
    // A slice (~9%) bought in the last 30 days; the rest spread over two years of tenure.
    person.lastPurchaseAt =
      random.chance(0.09) || historyDays <= 30
        ? dayOf(ctx, random.msAgo(asOfMs, 0, Math.min(30, historyDays)))
        : dayOf(ctx, random.msAgo(asOfMs, 30, historyDays));
  }
  if (tenureDays > 365 && random.chance(0.6)) person.lastRenewalAt = dayOf(ctx, random.msAgo(asOfMs, 0, 365));
  if (random.chance(0.25)) person.lastUpgradeAt = dayOf(ctx, random.msAgo(asOfMs, 0, historyDays));

  if (random.chance(0.65)) addNps(ctx, person, historyDays);
  if (random.chance(0.45)) {
    const base = 1 + random.weightedIndex(CSAT_WEIGHTS);
    person.csat = Math.min(5, Math.max(1, Math.round((base + (random.float() - 0.5) * 0.8) * 10) / 10));
  }
  addUsage(ctx, person);

  if (random.chance(0.08)) person.leftReview = true;
  if (random.chance(0.05)) person.sharedContent = true;
  if (random.chance(0.02)) person.gaveTestimonial = true;
}

function addNps(ctx: SeedContext, person: SeedPerson, historyDays: number): void {
  const { random, asOfMs } = ctx;
  const current = random.weightedIndex(NPS_WEIGHTS);
  person.nps = current;
  const answers = Math.min(6, random.geometric(1.8));
  if (answers === 1 && random.chance(0.5)) return; // a single answer, no history kept
  const history: { at: Date; score: number }[] = [];
  const spanDays = Math.max(1, historyDays);
  for (let k = answers - 1; k >= 0; k--) {
    // Older answers drift around the current one; the newest answer is the current score.
    const score = k === 0 ? current : Math.min(10, Math.max(0, current + random.int(-2, 2)));
    const at = dayOf(ctx, asOfMs - ((k + random.float()) / answers) * spanDays * DAY_MS);
    history.push({ at, score });
  }
  person.npsHistory = history;
}

function addUsage(ctx: SeedContext, person: SeedPerson): void {
  const { random, asOfMs } = ctx;
  const r = random.float();
  let prev: number;
  let last: number;
  if (r < 0.07) {
    prev = 0; // dormant
    last = 0;
  } else if (r < 0.18) {
    prev = random.int(15, 30); // falling usage: the churn signal
    last = random.int(0, Math.floor(prev / 3));
  } else {
    prev = random.int(2, 30);
    last = Math.min(30, Math.max(0, prev + random.int(-4, 4)));
  }
  person.activeDaysPrev30 = prev;
  person.activeDaysLast30 = last;
  person.featuresUsed = last === 0 ? random.int(0, 3) : random.int(1, 25);
  person.lastActiveAt = dayOf(
    ctx,
    last > 0 ? random.msAgo(asOfMs, 0, 30 - last) : random.msAgo(asOfMs, 31, 200),
  );
}

/** Normalised form of a person's email, for lookups by generator passes. */
export function emailKey(person: SeedPerson): string | undefined {
  return person.email === undefined ? undefined : normaliseEmail(person.email);
}
