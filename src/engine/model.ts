/**
 * The canonical model: what the engine reasons about, with no CRM names in it. Connectors pull
 * CRM records in their wire shape; `src/sync/map.ts` turns them into these through
 * `mappings/<crm>.json`. Every input is optional (PRODUCT.md F-READ): a field the admin did not map
 * is simply absent, and the data-quality report counts it.
 *
 * Dates are real instants (`Date`), money is a number with a currency. Ids are the CRM's own ids
 * (opaque strings), unique per tenant and object kind.
 */
import { z } from 'zod';

export const MoneySchema = z.object({
  amount: z.number().finite(),
  currency: z.string().length(3),
});
export type Money = z.infer<typeof MoneySchema>;

/** A value of a field we own (or an admin-mapped field), as the engine reads and writes it. */
export const OwnedValueSchema = z.union([
  z.boolean(),
  z.number().finite(),
  z.string(),
  z.array(z.string()),
  z.date(),
  z.null(),
]);
export type OwnedValue = z.infer<typeof OwnedValueSchema>;

/**
 * Current CRM values of the fields we own on a record, keyed by the canonical owned-field id
 * (the PRODUCT.md default names, e.g. `referral_ready`). Absent key = field empty / never written.
 */
export const CurrentValuesSchema = z.record(z.string(), OwnedValueSchema);
export type CurrentValues = z.infer<typeof CurrentValuesSchema>;

/** Referral capture fields filled by forms on new leads/contacts (and sometimes on deals). */
export const ReferralCaptureSchema = z.object({
  codeUsed: z.string().optional(),
  clickId: z.string().optional(),
  referrerEmail: z.string().optional(),
  /** Free text "how did you hear about us"; may contain a referrer's name. */
  howHeard: z.string().optional(),
  capturedAt: z.date().optional(),
});
export type ReferralCapture = z.infer<typeof ReferralCaptureSchema>;

export const ScoredAtSchema = z.object({ at: z.date(), score: z.number().finite() });

export const PersonSchema = z.object({
  id: z.string().min(1),
  /** Salesforce Leads are people too; HubSpot has contacts only. */
  kind: z.enum(['contact', 'lead']),
  email: z.string().optional(),
  firstName: z.string().optional(),
  lastName: z.string().optional(),
  companyId: z.string().optional(),
  ownerId: z.string().optional(),
  createdAt: z.date().optional(),
  lifecycleStage: z.string().optional(),
  /** True when the CRM says this person is a paying customer (lifecycle stage, flag, or won deal). */
  isCustomer: z.boolean().optional(),
  isEmployee: z.boolean().optional(),

  // Feedback
  nps: z.number().min(0).max(10).optional(),
  npsHistory: z.array(ScoredAtSchema).optional(),
  csat: z.number().min(1).max(5).optional(),

  // Purchases and positive events (the "right moment to ask")
  lastPurchaseAt: z.date().optional(),
  lastRenewalAt: z.date().optional(),
  lastUpgradeAt: z.date().optional(),
  onboardingCompletedAt: z.date().optional(),
  lastSupportWinAt: z.date().optional(),
  purchaseCount: z.number().int().min(0).optional(),
  totalSpend: MoneySchema.optional(),

  // Product usage and engagement
  activeDaysLast30: z.number().min(0).max(31).optional(),
  activeDaysPrev30: z.number().min(0).max(31).optional(),
  featuresUsed: z.number().int().min(0).optional(),
  lastActiveAt: z.date().optional(),
  emailOpens: z.number().int().min(0).optional(),
  emailClicks: z.number().int().min(0).optional(),

  // Advocacy
  leftReview: z.boolean().optional(),
  sharedContent: z.boolean().optional(),
  gaveTestimonial: z.boolean().optional(),
  referredBefore: z.boolean().optional(),

  customerSince: z.date().optional(),

  // Consent
  optedOut: z.boolean().optional(),
  doNotContact: z.boolean().optional(),

  capture: ReferralCaptureSchema.optional(),

  /** Lead conversion: on a Lead, the Contact it became; on a Contact, the Lead it came from. */
  convertedToId: z.string().optional(),
  convertedFromId: z.string().optional(),
  /** HubSpot merge: ids merged into this record (the survivor keeps their history). */
  mergedIds: z.array(z.string()).optional(),

  /** When we asked this person for a referral (from our ledger; newest last). */
  asks: z.array(z.date()).optional(),

  current: CurrentValuesSchema.default({}),
});
export type Person = z.infer<typeof PersonSchema>;
export type PersonInput = z.input<typeof PersonSchema>;

export const CompanySchema = z.object({
  id: z.string().min(1),
  name: z.string().optional(),
  domain: z.string().optional(),
  ownerId: z.string().optional(),
  /** A partner company refers customers and receives referrals. */
  isPartner: z.boolean().optional(),
  current: CurrentValuesSchema.default({}),
});
export type Company = z.infer<typeof CompanySchema>;

export const DealSchema = z.object({
  id: z.string().min(1),
  name: z.string().optional(),
  amount: MoneySchema.optional(),
  stage: z.string().optional(),
  isClosed: z.boolean().optional(),
  isWon: z.boolean().optional(),
  closeDate: z.date().optional(),
  createdAt: z.date().optional(),
  ownerId: z.string().optional(),
  personIds: z.array(z.string()).default([]),
  companyId: z.string().optional(),
  capture: ReferralCaptureSchema.optional(),
  current: CurrentValuesSchema.default({}),
});
export type Deal = z.infer<typeof DealSchema>;

export const TicketSchema = z.object({
  id: z.string().min(1),
  personIds: z.array(z.string()).default([]),
  companyId: z.string().optional(),
  isOpen: z.boolean(),
  /** A complaint is an exclusion even when closed recently (mapping decides what counts). */
  isComplaint: z.boolean().optional(),
  createdAt: z.date().optional(),
  closedAt: z.date().optional(),
});
export type Ticket = z.infer<typeof TicketSchema>;

export const OwnerSchema = z.object({
  id: z.string().min(1),
  email: z.string().optional(),
  name: z.string().optional(),
  active: z.boolean().default(true),
});
export type Owner = z.infer<typeof OwnerSchema>;

/** Canonical object kinds. A CRM object maps to exactly one of these. */
export const CANONICAL_KINDS = ['person', 'company', 'deal', 'ticket', 'owner'] as const;
export type CanonicalKind = (typeof CANONICAL_KINDS)[number];

/**
 * The canonical input paths a mapping may fill, per kind, with the value type the mapper must
 * produce. `src/sync/map.ts` converts wire values to these types; the data-quality report counts
 * how many records lack each.
 */
export const CANONICAL_INPUTS = {
  person: {
    email: 'string',
    firstName: 'string',
    lastName: 'string',
    companyId: 'string',
    ownerId: 'string',
    createdAt: 'datetime',
    lifecycleStage: 'string',
    isCustomer: 'boolean',
    isEmployee: 'boolean',
    nps: 'number',
    csat: 'number',
    lastPurchaseAt: 'datetime',
    lastRenewalAt: 'datetime',
    lastUpgradeAt: 'datetime',
    onboardingCompletedAt: 'datetime',
    lastSupportWinAt: 'datetime',
    purchaseCount: 'integer',
    totalSpend: 'money',
    activeDaysLast30: 'number',
    activeDaysPrev30: 'number',
    featuresUsed: 'integer',
    lastActiveAt: 'datetime',
    emailOpens: 'integer',
    emailClicks: 'integer',
    leftReview: 'boolean',
    sharedContent: 'boolean',
    gaveTestimonial: 'boolean',
    referredBefore: 'boolean',
    customerSince: 'datetime',
    optedOut: 'boolean',
    doNotContact: 'boolean',
    'capture.codeUsed': 'string',
    'capture.clickId': 'string',
    'capture.referrerEmail': 'string',
    'capture.howHeard': 'string',
    'capture.capturedAt': 'datetime',
    convertedToId: 'string',
    convertedFromId: 'string',
  },
  company: {
    name: 'string',
    domain: 'string',
    ownerId: 'string',
    isPartner: 'boolean',
  },
  deal: {
    name: 'string',
    amount: 'money',
    stage: 'string',
    isClosed: 'boolean',
    isWon: 'boolean',
    closeDate: 'datetime',
    createdAt: 'datetime',
    ownerId: 'string',
    companyId: 'string',
    'capture.codeUsed': 'string',
    'capture.clickId': 'string',
    'capture.referrerEmail': 'string',
  },
  ticket: {
    companyId: 'string',
    isOpen: 'boolean',
    isComplaint: 'boolean',
    createdAt: 'datetime',
    closedAt: 'datetime',
  },
  owner: {
    email: 'string',
    name: 'string',
    active: 'boolean',
  },
} as const satisfies Record<CanonicalKind, Record<string, CanonicalValueType>>;

export type CanonicalValueType = 'string' | 'number' | 'integer' | 'boolean' | 'datetime' | 'date' | 'money';

/**
 * Fields we own and write back (PRODUCT.md "Default written fields"), keyed by canonical id, which
 * is the HubSpot default internal name. Automations depend on these names: never rename one.
 * `type` is the canonical value type; connectors choose the CRM field type from it.
 */
export const OWNED_FIELDS = {
  person: {
    referral_ready: 'boolean',
    referral_readiness_score: 'number',
    referral_readiness_reasons: 'text',
    referral_tags: 'multi',
    referral_segment: 'string',
    referral_trigger_event: 'string',
    referral_code: 'string',
    referral_link: 'string',
    referral_variant: 'string',
    referral_last_asked_at: 'datetime',
    referral_next_eligible_at: 'datetime',
    referral_code_used: 'string',
    referred_by_contact_id: 'string',
    referred_by_name: 'string',
    referral_attribution_method: 'string',
    referral_count: 'number',
    referral_converted_count: 'number',
    referral_revenue: 'currency',
    referrer_tier: 'string',
    referral_reward_balance: 'currency',
    referral_rewards_due: 'number',
  },
  deal: {
    referral_attributed: 'boolean',
    referral_source_type: 'string',
    referred_by_contact_id: 'string',
    referred_by_name: 'string',
    referral_code_used: 'string',
  },
  company: {
    partner_referrals_sent: 'number',
    partner_referrals_received: 'number',
    partner_referral_revenue: 'currency',
  },
} as const;

export type OwnedFieldType =
  'boolean' | 'number' | 'currency' | 'string' | 'text' | 'multi' | 'date' | 'datetime';
export type OwnedKind = keyof typeof OWNED_FIELDS;
export type OwnedFieldId<K extends OwnedKind = OwnedKind> = keyof (typeof OWNED_FIELDS)[K] & string;
