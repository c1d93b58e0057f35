/**
 * A CRM-neutral seeded account: what a real company's CRM holds before referral-sync is installed.
 * `generate.ts` makes one deterministically from a seed; each emulator loads it into its own wire
 * shape (`hubspot/load-seed.ts`, `salesforce/load-seed.ts`) using the field names below, which are
 * also the defaults in `mappings/<crm>.json`.
 */

export interface SeedOwner {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  active: boolean;
}

export interface SeedCompany {
  id: string;
  name: string;
  domain: string;
  ownerId: string;
  isPartner: boolean;
  createdAt: Date;
}

export interface SeedPerson {
  id: string;
  /** Salesforce loads leads as Lead; HubSpot loads them as contacts with lifecycle stage "lead". */
  kind: 'contact' | 'lead';
  email?: string;
  firstName?: string;
  lastName?: string;
  companyId?: string;
  ownerId: string;
  createdAt: Date;
  /** HubSpot-style lifecycle stage: subscriber|lead|marketingqualifiedlead|salesqualifiedlead|opportunity|customer|evangelist. */
  lifecycleStage?: string;
  nps?: number;
  npsHistory?: { at: Date; score: number }[];
  csat?: number;
  lastPurchaseAt?: Date;
  lastRenewalAt?: Date;
  lastUpgradeAt?: Date;
  onboardingCompletedAt?: Date;
  purchaseCount?: number;
  totalSpend?: number;
  activeDaysLast30?: number;
  activeDaysPrev30?: number;
  featuresUsed?: number;
  lastActiveAt?: Date;
  emailOpens?: number;
  emailClicks?: number;
  leftReview?: boolean;
  sharedContent?: boolean;
  gaveTestimonial?: boolean;
  customerSince?: Date;
  optedOut?: boolean;
  doNotContact?: boolean;
  isEmployee?: boolean;
  /** Referral capture on referred people (codes may carry typos; emails may be the person's own). */
  codeUsed?: string;
  clickId?: string;
  referrerEmail?: string;
  howHeard?: string;
  /** Seed-time truth for tests: who really referred this person (seed id), if anyone. */
  trueReferrerId?: string;
  /**
   * Leads only: converted into this contact (seed id) and opportunity (seed deal id). That contact
   * is in `people` too (same name and email); HubSpot, which has no separate lead object, can load
   * only the contact.
   */
  convertedContactId?: string;
  convertedDealId?: string;
  /**
   * Advocates only: a code an earlier referral program issued, already in the CRM's
   * `referral_code` field, in the engine's scheme (`src/engine/codes.ts`), so the engine keeps them.
   */
  referralCode?: string;
  /** Seed-time truth for tests: this record repeats the email of an earlier person (seed id). */
  duplicateOfId?: string;
  /** Seed-time truth for tests: how this person's referral capture was made (see SeedCaptureKind). */
  trueCapture?: SeedCaptureKind;
}

/**
 * How a referred person's capture was made, for attribution tests:
 * `code` exact code (maybe lower-case / spaced / dashed), `code-typo` one wrong character,
 * `code-swap` two adjacent characters swapped, `click` a click id from `SeedAccount.referralClicks`,
 * `email` the referrer's email (maybe odd case, spaces, or "Name <email>"), `name` / `name-fuzzy`
 * the referrer's name in the "how did you hear" text (exact / misspelt), `same-domain` a colleague
 * at the person's own company domain, `self` the person's own email (no true referrer).
 */
export type SeedCaptureKind =
  'code' | 'code-typo' | 'code-swap' | 'click' | 'email' | 'name' | 'name-fuzzy' | 'same-domain' | 'self';

/** A referral link click as the link tracker logged it; referred people carry its `clickId`. */
export interface SeedReferralClick {
  clickId: string;
  /** Seed id of the advocate whose link was clicked. */
  referrerId: string;
  at: Date;
}

export interface SeedDeal {
  id: string;
  name: string;
  amount: number;
  currency: string;
  /** One of SEED_DEAL_STAGES' ids. */
  stage: string;
  isClosed: boolean;
  isWon: boolean;
  closeDate: Date;
  createdAt: Date;
  ownerId: string;
  personIds: string[];
  companyId?: string;
}

export interface SeedTicket {
  id: string;
  subject: string;
  personIds: string[];
  companyId?: string;
  isOpen: boolean;
  isComplaint: boolean;
  createdAt: Date;
  closedAt?: Date;
}

export interface SeedAccount {
  seed: number;
  /** The instant the data is "as of"; all dates are before it, except open deals' expected close dates. */
  asOf: Date;
  owners: SeedOwner[];
  companies: SeedCompany[];
  people: SeedPerson[];
  deals: SeedDeal[];
  tickets: SeedTicket[];
  /** The link tracker's log of referral link clicks (absent on accounts made before it existed). */
  referralClicks?: SeedReferralClick[];
}

/** Deal pipeline stages (HubSpot default sales pipeline ids; Salesforce loads their labels). */
export const SEED_DEAL_STAGES = [
  { id: 'appointmentscheduled', label: 'Appointment Scheduled', closed: false, won: false, probability: 0.2 },
  { id: 'qualifiedtobuy', label: 'Qualified To Buy', closed: false, won: false, probability: 0.4 },
  {
    id: 'presentationscheduled',
    label: 'Presentation Scheduled',
    closed: false,
    won: false,
    probability: 0.6,
  },
  {
    id: 'decisionmakerboughtin',
    label: 'Decision Maker Bought-In',
    closed: false,
    won: false,
    probability: 0.8,
  },
  { id: 'contractsent', label: 'Contract Sent', closed: false, won: false, probability: 0.9 },
  { id: 'closedwon', label: 'Closed Won', closed: true, won: true, probability: 1 },
  { id: 'closedlost', label: 'Closed Lost', closed: true, won: false, probability: 0 },
] as const;

/**
 * The account's own (pre-existing, customer-created) input fields, per CRM, as the seeded sandbox
 * defines them and the default mappings read them. Standard CRM fields are used where they exist.
 */
export const SEED_INPUT_FIELDS = {
  hubspot: {
    contacts: {
      email: 'email',
      firstName: 'firstname',
      lastName: 'lastname',
      ownerId: 'hubspot_owner_id',
      createdAt: 'createdate',
      lifecycleStage: 'lifecyclestage',
      emailOpens: 'hs_email_open',
      emailClicks: 'hs_email_click',
      nps: 'nps_score',
      csat: 'csat_score',
      lastPurchaseAt: 'last_purchase_date',
      lastRenewalAt: 'last_renewal_date',
      lastUpgradeAt: 'last_upgrade_date',
      onboardingCompletedAt: 'onboarding_completed_date',
      purchaseCount: 'purchase_count',
      totalSpend: 'total_spend',
      activeDaysLast30: 'active_days_last_30',
      activeDaysPrev30: 'active_days_prev_30',
      featuresUsed: 'features_used',
      lastActiveAt: 'last_active_date',
      leftReview: 'left_review',
      sharedContent: 'shared_content',
      gaveTestimonial: 'gave_testimonial',
      customerSince: 'customer_since',
      optedOut: 'marketing_opt_out',
      doNotContact: 'do_not_contact',
      isEmployee: 'is_employee',
      codeUsed: 'referral_code_used',
      clickId: 'referral_click_id',
      referrerEmail: 'referrer_email',
      howHeard: 'how_did_you_hear',
    },
    companies: { name: 'name', domain: 'domain', ownerId: 'hubspot_owner_id', isPartner: 'is_partner' },
    deals: {
      name: 'dealname',
      amount: 'amount',
      currency: 'deal_currency_code',
      stage: 'dealstage',
      closeDate: 'closedate',
      createdAt: 'createdate',
      ownerId: 'hubspot_owner_id',
      isWon: 'hs_is_closed_won',
      isClosed: 'hs_is_closed',
    },
    tickets: {
      subject: 'subject',
      stage: 'hs_pipeline_stage',
      createdAt: 'createdate',
      closedAt: 'closed_date',
      isComplaint: 'is_complaint',
    },
  },
  salesforce: {
    Contact: {
      email: 'Email',
      firstName: 'FirstName',
      lastName: 'LastName',
      companyId: 'AccountId',
      ownerId: 'OwnerId',
      createdAt: 'CreatedDate',
      optedOut: 'HasOptedOutOfEmail',
      doNotContact: 'DoNotCall',
      lifecycleStage: 'Lifecycle_Stage__c',
      emailOpens: 'Email_Opens__c',
      emailClicks: 'Email_Clicks__c',
      nps: 'NPS_Score__c',
      csat: 'CSAT_Score__c',
      lastPurchaseAt: 'Last_Purchase_Date__c',
      lastRenewalAt: 'Last_Renewal_Date__c',
      lastUpgradeAt: 'Last_Upgrade_Date__c',
      onboardingCompletedAt: 'Onboarding_Completed_Date__c',
      purchaseCount: 'Purchase_Count__c',
      totalSpend: 'Total_Spend__c',
      activeDaysLast30: 'Active_Days_Last_30__c',
      activeDaysPrev30: 'Active_Days_Prev_30__c',
      featuresUsed: 'Features_Used__c',
      lastActiveAt: 'Last_Active_Date__c',
      leftReview: 'Left_Review__c',
      sharedContent: 'Shared_Content__c',
      gaveTestimonial: 'Gave_Testimonial__c',
      customerSince: 'Customer_Since__c',
      isEmployee: 'Is_Employee__c',
      codeUsed: 'Referral_Code_Used__c',
      clickId: 'Referral_Click_Id__c',
      referrerEmail: 'Referrer_Email__c',
      howHeard: 'How_Did_You_Hear__c',
    },
    Lead: {
      email: 'Email',
      firstName: 'FirstName',
      lastName: 'LastName',
      ownerId: 'OwnerId',
      createdAt: 'CreatedDate',
      optedOut: 'HasOptedOutOfEmail',
      doNotContact: 'DoNotCall',
      company: 'Company',
      status: 'Status',
      isConverted: 'IsConverted',
      convertedContactId: 'ConvertedContactId',
      convertedOpportunityId: 'ConvertedOpportunityId',
      convertedAccountId: 'ConvertedAccountId',
      codeUsed: 'Referral_Code_Used__c',
      clickId: 'Referral_Click_Id__c',
      referrerEmail: 'Referrer_Email__c',
      howHeard: 'How_Did_You_Hear__c',
    },
    Account: { name: 'Name', domain: 'Website', ownerId: 'OwnerId', isPartner: 'Is_Partner__c' },
    Opportunity: {
      name: 'Name',
      amount: 'Amount',
      currency: 'CurrencyIsoCode',
      stage: 'StageName',
      closeDate: 'CloseDate',
      createdAt: 'CreatedDate',
      ownerId: 'OwnerId',
      companyId: 'AccountId',
      isWon: 'IsWon',
      isClosed: 'IsClosed',
    },
    Case: {
      subject: 'Subject',
      contactId: 'ContactId',
      companyId: 'AccountId',
      isClosed: 'IsClosed',
      createdAt: 'CreatedDate',
      closedAt: 'ClosedDate',
      isComplaint: 'Is_Complaint__c',
    },
  },
} as const;
