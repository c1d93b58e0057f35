/**
 * One object shape per record kind. A person only has the fields that apply to it, but if each
 * person got its own subset of properties, V8 would build many hidden classes and every reader
 * (this generator, each emulator's loader) would run megamorphic property lookups: measured at
 * 400k people, generation took ~35% more CPU that way. So every person is created with the common
 * fields, absent ones holding `undefined` (read fields with `=== undefined`, not `in`; deep
 * equality in tests is unaffected). The referral fields (capture, codes, truth, conversion links)
 * stay out of the shared shape: only ~10% of people carry any, and 10 empty slots on everyone
 * would cost 80 MB at 1M people.
 */
import type { SeedDeal, SeedPerson, SeedTicket } from './types.js';

export function blankPerson(
  id: string,
  kind: SeedPerson['kind'],
  ownerId: string,
  createdAt: Date,
): SeedPerson {
  const person = {
    id,
    kind,
    email: undefined,
    firstName: undefined,
    lastName: undefined,
    companyId: undefined,
    ownerId,
    createdAt,
    lifecycleStage: undefined,
    nps: undefined,
    npsHistory: undefined,
    csat: undefined,
    lastPurchaseAt: undefined,
    lastRenewalAt: undefined,
    lastUpgradeAt: undefined,
    onboardingCompletedAt: undefined,
    purchaseCount: undefined,
    totalSpend: undefined,
    activeDaysLast30: undefined,
    activeDaysPrev30: undefined,
    featuresUsed: undefined,
    lastActiveAt: undefined,
    emailOpens: undefined,
    emailClicks: undefined,
    leftReview: undefined,
    sharedContent: undefined,
    gaveTestimonial: undefined,
    customerSince: undefined,
    optedOut: undefined,
    doNotContact: undefined,
    isEmployee: undefined,
  };
  return person as unknown as SeedPerson;
}

export function blankDeal(fields: Omit<SeedDeal, 'companyId'>): SeedDeal {
  const deal = {
    id: fields.id,
    name: fields.name,
    amount: fields.amount,
    currency: fields.currency,
    stage: fields.stage,
    isClosed: fields.isClosed,
    isWon: fields.isWon,
    closeDate: fields.closeDate,
    createdAt: fields.createdAt,
    ownerId: fields.ownerId,
    personIds: fields.personIds,
    companyId: undefined,
  };
  return deal as unknown as SeedDeal;
}

export function blankTicket(fields: Omit<SeedTicket, 'companyId' | 'closedAt'>): SeedTicket {
  const ticket = {
    id: fields.id,
    subject: fields.subject,
    personIds: fields.personIds,
    companyId: undefined,
    isOpen: fields.isOpen,
    isComplaint: fields.isComplaint,
    createdAt: fields.createdAt,
    closedAt: undefined,
  };
  return ticket as unknown as SeedTicket;
}
