/**
 * Field definitions of the standard sObjects the sandbox serves, with the describe attributes the
 * connector reads (type, createable/updateable, nillable, externalId, unique, referenceTo).
 * Field lists follow the SF Object Reference pages (sforce_api_objects_contact/lead/account/
 * opportunity/opportunitycontactrole/case/task/user/permissionset/permissionsetassignment),
 * limited to what referral-sync touches. Custom fields of the seeded org come from
 * SEED_INPUT_FIELDS.salesforce; fields created later through the Metadata API are added at run time.
 */
import { SEED_INPUT_FIELDS } from '../seed/types.js';
import { KEY_PREFIXES } from './ids.js';

/** describe `type` values (SF "Field Types" / DescribeSObjectResult.fields.type). */
export type FieldType =
  | 'id'
  | 'string'
  | 'email'
  | 'boolean'
  | 'int'
  | 'double'
  | 'currency'
  | 'percent'
  | 'date'
  | 'datetime'
  | 'reference'
  | 'picklist'
  | 'multipicklist'
  | 'textarea'
  | 'url'
  | 'phone';

export interface FieldDef {
  name: string;
  label: string;
  type: FieldType;
  custom: boolean;
  createable: boolean;
  updateable: boolean;
  nillable: boolean;
  /** Required on create with no default (REQUIRED_FIELD_MISSING). */
  required: boolean;
  externalId: boolean;
  unique: boolean;
  length: number;
  precision: number;
  scale: number;
  referenceTo: string[];
  relationshipName: string | null;
  picklistValues: string[];
  defaultValue: string | number | boolean | null;
  /**
   * 'always': visible to the API user (standard fields, the org's existing custom fields);
   * 'fls': only when an assigned permission set grants read (fields created via Metadata API).
   */
  visibility: 'always' | 'fls';
  /** valueSet.restricted: values outside picklistValues are refused. */
  restrictedPicklist?: boolean;
  /** Metadata API definition (CustomField) for fields created through it. */
  metadata?: Record<string, unknown>;
}

export interface SObjectDef {
  name: string;
  label: string;
  keyPrefix: string;
  fields: FieldDef[];
  /** Custom fields may be added through the Metadata API (CustomField Object.Name__c). */
  customizable: boolean;
}

type FieldInput = Partial<FieldDef> & { name: string; type: FieldType };

export function field(input: FieldInput): FieldDef {
  const system = [
    'Id',
    'IsDeleted',
    'CreatedDate',
    'CreatedById',
    'LastModifiedDate',
    'LastModifiedById',
    'SystemModstamp',
  ];
  const isSystem = system.includes(input.name);
  const lengths: Partial<Record<FieldType, number>> = {
    id: 18,
    reference: 18,
    string: 255,
    email: 80,
    picklist: 255,
    multipicklist: 4099,
    textarea: 255,
    url: 255,
    phone: 40,
  };
  return {
    label: input.name.replace(/__c$/, '').replace(/_/g, ' '),
    custom: input.name.endsWith('__c'),
    createable: !isSystem,
    updateable: !isSystem,
    nillable: input.type !== 'boolean' && !isSystem,
    required: false,
    externalId: false,
    unique: false,
    length: lengths[input.type] ?? 0,
    precision: input.type === 'double' || input.type === 'currency' ? 18 : 0,
    scale: input.type === 'currency' ? 2 : 0,
    referenceTo: [],
    relationshipName: null,
    picklistValues: [],
    defaultValue: input.type === 'boolean' ? false : null,
    visibility: 'always',
    ...input,
  };
}

const ref = (name: string, to: string[], relationshipName: string, extra: Partial<FieldDef> = {}): FieldDef =>
  field({ name, type: 'reference', referenceTo: to, relationshipName, ...extra });
const readOnly = { createable: false, updateable: false } as const;

function systemFields(): FieldDef[] {
  return [
    field({ name: 'Id', type: 'id', nillable: false }),
    field({ name: 'IsDeleted', type: 'boolean' }),
    field({ name: 'CreatedDate', type: 'datetime' }),
    ref('CreatedById', ['User'], 'CreatedBy', readOnly),
    field({ name: 'LastModifiedDate', type: 'datetime' }),
    ref('LastModifiedById', ['User'], 'LastModifiedBy', readOnly),
    field({ name: 'SystemModstamp', type: 'datetime' }),
  ];
}

const owner = (): FieldDef => ref('OwnerId', ['User'], 'Owner');

/** Task.Status picklist ([SF:sforce_api_objects_task]); "Completed" closes the task. */
export const TASK_STATUSES = [
  'Not Started',
  'In Progress',
  'Completed',
  'Waiting on someone else',
  'Deferred',
];
export const CASE_STATUSES = ['New', 'Working', 'Escalated', 'Closed'];
export const LEAD_STATUSES = [
  'Open - Not Contacted',
  'Working - Contacted',
  'Closed - Converted',
  'Closed - Not Converted',
];

/** Types of the org's pre-existing custom fields (SEED_INPUT_FIELDS names ending in __c). */
const SEED_CUSTOM_TYPES: Record<string, FieldType> = {
  Lifecycle_Stage__c: 'string',
  Email_Opens__c: 'double',
  Email_Clicks__c: 'double',
  NPS_Score__c: 'double',
  CSAT_Score__c: 'double',
  Last_Purchase_Date__c: 'date',
  Last_Renewal_Date__c: 'date',
  Last_Upgrade_Date__c: 'date',
  Onboarding_Completed_Date__c: 'date',
  Purchase_Count__c: 'double',
  Total_Spend__c: 'currency',
  Active_Days_Last_30__c: 'double',
  Active_Days_Prev_30__c: 'double',
  Features_Used__c: 'double',
  Last_Active_Date__c: 'date',
  Left_Review__c: 'boolean',
  Shared_Content__c: 'boolean',
  Gave_Testimonial__c: 'boolean',
  Customer_Since__c: 'date',
  Is_Employee__c: 'boolean',
  Referral_Code_Used__c: 'string',
  Referral_Click_Id__c: 'string',
  Referrer_Email__c: 'email',
  How_Did_You_Hear__c: 'textarea',
  Is_Partner__c: 'boolean',
  Is_Complaint__c: 'boolean',
};

function seedCustomFields(object: keyof typeof SEED_INPUT_FIELDS.salesforce): FieldDef[] {
  const names = Object.values(SEED_INPUT_FIELDS.salesforce[object] as Record<string, string>);
  return names
    .filter((n) => n.endsWith('__c'))
    .map((n) => field({ name: n, type: SEED_CUSTOM_TYPES[n] ?? 'string', precision: 18, scale: 0 }))
    .map((f) => (f.type === 'currency' ? { ...f, scale: 2 } : f));
}

const person = (): FieldDef[] => [
  field({ name: 'FirstName', type: 'string', length: 40 }),
  field({ name: 'LastName', type: 'string', length: 80, nillable: false, required: true }),
  field({ name: 'Name', type: 'string', length: 121, ...readOnly }),
  field({ name: 'Email', type: 'email' }),
  field({ name: 'Phone', type: 'phone' }),
  field({ name: 'Title', type: 'string', length: 128 }),
  field({ name: 'LeadSource', type: 'picklist' }),
  field({ name: 'HasOptedOutOfEmail', type: 'boolean' }),
  field({ name: 'DoNotCall', type: 'boolean' }),
  owner(),
];

export function standardObjects(): SObjectDef[] {
  return [
    {
      name: 'Account',
      label: 'Account',
      keyPrefix: KEY_PREFIXES.Account,
      customizable: true,
      fields: [
        ...systemFields(),
        field({ name: 'Name', type: 'string', nillable: false, required: true }),
        field({ name: 'Website', type: 'url' }),
        field({ name: 'Industry', type: 'picklist' }),
        field({ name: 'Type', type: 'picklist' }),
        owner(),
        ref('MasterRecordId', ['Account'], 'MasterRecord', readOnly),
        ...seedCustomFields('Account'),
      ],
    },
    {
      name: 'Contact',
      label: 'Contact',
      keyPrefix: KEY_PREFIXES.Contact,
      customizable: true,
      fields: [
        ...systemFields(),
        ...person(),
        ref('AccountId', ['Account'], 'Account'),
        ref('MasterRecordId', ['Contact'], 'MasterRecord', readOnly),
        ...seedCustomFields('Contact'),
      ],
    },
    {
      name: 'Lead',
      label: 'Lead',
      keyPrefix: KEY_PREFIXES.Lead,
      customizable: true,
      fields: [
        ...systemFields(),
        ...person(),
        field({ name: 'Company', type: 'string', nillable: false, required: true }),
        field({
          name: 'Status',
          type: 'picklist',
          picklistValues: LEAD_STATUSES,
          defaultValue: 'Open - Not Contacted',
          nillable: false,
        }),
        field({ name: 'IsConverted', type: 'boolean', ...readOnly }),
        field({ name: 'ConvertedDate', type: 'date', ...readOnly }),
        ref('ConvertedAccountId', ['Account'], 'ConvertedAccount', readOnly),
        ref('ConvertedContactId', ['Contact'], 'ConvertedContact', readOnly),
        ref('ConvertedOpportunityId', ['Opportunity'], 'ConvertedOpportunity', readOnly),
        ref('MasterRecordId', ['Lead'], 'MasterRecord', readOnly),
        ...seedCustomFields('Lead').filter((f) => !['IsConverted'].includes(f.name)),
      ],
    },
    {
      name: 'Opportunity',
      label: 'Opportunity',
      keyPrefix: KEY_PREFIXES.Opportunity,
      customizable: true,
      fields: [
        ...systemFields(),
        field({ name: 'Name', type: 'string', length: 120, nillable: false, required: true }),
        ref('AccountId', ['Account'], 'Account'),
        field({ name: 'StageName', type: 'picklist', nillable: false, required: true }),
        field({ name: 'Amount', type: 'currency' }),
        field({ name: 'CurrencyIsoCode', type: 'picklist', length: 3, defaultValue: 'USD', nillable: false }),
        field({ name: 'CloseDate', type: 'date', nillable: false, required: true }),
        field({ name: 'Probability', type: 'percent', precision: 3 }),
        field({ name: 'IsClosed', type: 'boolean', ...readOnly }),
        field({ name: 'IsWon', type: 'boolean', ...readOnly }),
        field({ name: 'LeadSource', type: 'picklist' }),
        owner(),
      ],
    },
    {
      name: 'OpportunityContactRole',
      label: 'Opportunity Contact Role',
      keyPrefix: KEY_PREFIXES.OpportunityContactRole,
      customizable: false,
      fields: [
        ...systemFields(),
        ref('ContactId', ['Contact'], 'Contact', { nillable: false, required: true }),
        ref('OpportunityId', ['Opportunity'], 'Opportunity', {
          nillable: false,
          required: true,
          updateable: false,
        }),
        field({ name: 'IsPrimary', type: 'boolean' }),
        field({ name: 'Role', type: 'picklist' }),
      ],
    },
    {
      name: 'Case',
      label: 'Case',
      keyPrefix: KEY_PREFIXES.Case,
      customizable: true,
      fields: [
        ...systemFields(),
        field({ name: 'CaseNumber', type: 'string', length: 30, ...readOnly }),
        field({ name: 'Subject', type: 'string' }),
        field({ name: 'Description', type: 'textarea', length: 32000 }),
        ref('ContactId', ['Contact'], 'Contact'),
        ref('AccountId', ['Account'], 'Account'),
        field({ name: 'Status', type: 'picklist', picklistValues: CASE_STATUSES, defaultValue: 'New' }),
        field({ name: 'Priority', type: 'picklist', defaultValue: 'Medium' }),
        field({ name: 'Origin', type: 'picklist' }),
        field({ name: 'IsClosed', type: 'boolean', ...readOnly }),
        field({ name: 'ClosedDate', type: 'datetime', ...readOnly }),
        owner(),
        ...seedCustomFields('Case'),
      ],
    },
    {
      name: 'Task',
      label: 'Task',
      keyPrefix: KEY_PREFIXES.Task,
      customizable: true,
      fields: [
        ...systemFields(),
        ref('WhoId', ['Contact', 'Lead'], 'Who'),
        ref('WhatId', ['Account', 'Opportunity', 'Case'], 'What'),
        owner(),
        field({ name: 'Subject', type: 'string' }),
        field({ name: 'ActivityDate', type: 'date' }),
        field({
          name: 'Status',
          type: 'picklist',
          picklistValues: TASK_STATUSES,
          defaultValue: 'Not Started',
          nillable: false,
        }),
        field({
          name: 'Priority',
          type: 'picklist',
          picklistValues: ['High', 'Normal', 'Low'],
          defaultValue: 'Normal',
          nillable: false,
        }),
        field({ name: 'Description', type: 'textarea', length: 32000 }),
        field({ name: 'IsClosed', type: 'boolean', ...readOnly }),
        field({ name: 'TaskSubtype', type: 'picklist', defaultValue: 'Task' }),
      ],
    },
    {
      name: 'User',
      label: 'User',
      keyPrefix: KEY_PREFIXES.User,
      customizable: false,
      fields: [
        ...systemFields(),
        field({ name: 'Username', type: 'string', length: 80, nillable: false }),
        field({ name: 'Email', type: 'email', nillable: false }),
        field({ name: 'FirstName', type: 'string', length: 40 }),
        field({ name: 'LastName', type: 'string', length: 80, nillable: false }),
        field({ name: 'Name', type: 'string', length: 121, ...readOnly }),
        field({ name: 'IsActive', type: 'boolean' }),
      ],
    },
    {
      name: 'PermissionSet',
      label: 'Permission Set',
      keyPrefix: KEY_PREFIXES.PermissionSet,
      customizable: false,
      fields: [
        ...systemFields(),
        field({ name: 'Name', type: 'string', length: 80, nillable: false, required: true }),
        field({ name: 'Label', type: 'string', length: 80, nillable: false, required: true }),
        field({ name: 'Description', type: 'textarea' }),
        field({ name: 'IsOwnedByProfile', type: 'boolean', ...readOnly }),
        field({ name: 'NamespacePrefix', type: 'string', length: 15, ...readOnly }),
      ],
    },
    {
      name: 'PermissionSetAssignment',
      label: 'Permission Set Assignment',
      keyPrefix: KEY_PREFIXES.PermissionSetAssignment,
      customizable: false,
      fields: [
        ...systemFields(),
        ref('AssigneeId', ['User'], 'Assignee', { nillable: false, required: true, updateable: false }),
        ref('PermissionSetId', ['PermissionSet'], 'PermissionSet', {
          nillable: false,
          required: true,
          updateable: false,
        }),
      ],
    },
  ];
}
