/** What the generator's passes share while building one account (dropped when it is done). */
import { DAY_MS, type SeedRandom } from './random.js';
import type { SeedCompany, SeedOwner, SeedPerson } from './types.js';

export interface SeedContext {
  random: SeedRandom;
  asOfMs: number;
  owners: SeedOwner[];
  ownerById: Map<string, SeedOwner>;
  /** Owners new records are assigned to (inactive owners only keep old records). */
  activeOwners: SeedOwner[];
  inactiveOwners: SeedOwner[];
  companies: SeedCompany[];
  /** Companies [0, customerCompanyCount) have customers; the rest are prospects that leads name. */
  customerCompanyCount: number;
  people: SeedPerson[];
  /** Every email handed out so far (normalised), so only deliberate duplicates repeat one. */
  emailsInUse: Set<string>;
  /** Interned midnight-UTC dates by day number (see `dayOf`). */
  days: Map<number, Date>;
}

/**
 * The calendar day (midnight UTC) of an instant, as a Date shared by every record of that day.
 * Date-only fields (purchase, renewal, tenure, survey days, close dates) are days in both CRMs
 * (HubSpot `date` properties are midnight UTC; Salesforce Date fields carry no time), and sharing
 * them saves ~100 bytes per field: at 1M people that is most of the account's memory.
 */
export function dayOf(ctx: SeedContext, ms: number): Date {
  const day = Math.floor(ms / DAY_MS);
  let date = ctx.days.get(day);
  if (date === undefined) {
    date = new Date(day * DAY_MS);
    ctx.days.set(day, date);
  }
  return date;
}

export const DAYS_IN_TWO_YEARS = 730;

/** The person's company domain when the email is at that company (not a free-mail address). */
export function emailDomain(email: string | undefined): string | undefined {
  if (email === undefined) return undefined;
  const at = email.lastIndexOf('@');
  return at < 0
    ? undefined
    : email
        .slice(at + 1)
        .trim()
        .toLowerCase();
}

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function isCustomerStage(stage: string | undefined): boolean {
  return stage === 'customer' || stage === 'evangelist';
}

/** People ids are `p<n>` with n = index + 1, so lookups need no map. */
export function personById(ctx: SeedContext, id: string): SeedPerson | undefined {
  const person = ctx.people[Number(id.slice(1)) - 1];
  return person?.id === id ? person : undefined;
}
