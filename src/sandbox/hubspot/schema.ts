/**
 * Property definitions and value rules of the emulated HubSpot account: the HubSpot-defined
 * properties referral-sync touches, custom properties created through the API, and the wire
 * normalisation of values (everything is a string or null on the wire).
 *
 * Sources: API_FACTS §Properties (type→fieldType pairs; bool "true"/"false"; enumeration checkbox
 * values "a;b" with a leading ";" appending; date = midnight-UTC ms or ISO day; datetime = ms or
 * ISO; hasUniqueValue enables idProperty), §CRM v3 Tasks (hs_timestamp, hs_task_* enums).
 */
import type { ObjectType } from './wire.js';
import { SEED_DEAL_STAGES } from '../seed/types.js';

export type PropertyType =
  'string' | 'number' | 'bool' | 'enumeration' | 'date' | 'datetime' | 'phone_number';

export interface PropertyOption {
  label: string;
  value: string;
  displayOrder: number;
  hidden: boolean;
  description?: string;
}

export interface PropertyDef {
  name: string;
  label: string;
  type: PropertyType;
  fieldType: string;
  groupName: string;
  description: string;
  options: PropertyOption[];
  displayOrder: number;
  hasUniqueValue: boolean;
  hidden: boolean;
  formField: boolean;
  calculated: boolean;
  hubspotDefined: boolean;
  /** The API cannot write the value (calculated or system-maintained). */
  readOnlyValue: boolean;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
}

export interface PropertyGroupDef {
  name: string;
  label: string;
  displayOrder: number;
  archived: boolean;
}

const EPOCH = '2020-01-01T00:00:00Z';

type Spec = [
  name: string,
  type: PropertyType,
  fieldType: string,
  extra?: Partial<PropertyDef> & { opts?: string[] },
];

function def(groupName: string, [name, type, fieldType, extra = {}]: Spec, order: number): PropertyDef {
  const { opts, ...rest } = extra;
  const options =
    opts?.map((v, i) => ({ label: v, value: v, displayOrder: i, hidden: false })) ??
    (type === 'bool'
      ? [
          { label: 'Yes', value: 'true', displayOrder: 0, hidden: false },
          { label: 'No', value: 'false', displayOrder: 1, hidden: false },
        ]
      : []);
  return {
    name,
    label: name,
    type,
    fieldType,
    groupName,
    description: '',
    options,
    displayOrder: order,
    hasUniqueValue: false,
    hidden: false,
    formField: false,
    calculated: false,
    hubspotDefined: true,
    readOnlyValue: false,
    createdAt: EPOCH,
    updatedAt: EPOCH,
    archived: false,
    ...rest,
  };
}

const RO = { readOnlyValue: true } as const;
const CALC = { readOnlyValue: true, calculated: true } as const;

const LIFECYCLE = [
  'subscriber',
  'lead',
  'marketingqualifiedlead',
  'salesqualifiedlead',
  'opportunity',
  'customer',
  'evangelist',
  'other',
];
const CURRENCIES = ['USD', 'EUR', 'GBP', 'CAD', 'AUD', 'JPY', 'CHF', 'SEK', 'NOK', 'DKK', 'INR', 'BRL'];

/** Ticket pipeline "0" stages (HubSpot's default support pipeline ids). */
export const TICKET_STAGES = [
  { id: '1', label: 'New', closed: false },
  { id: '2', label: 'Waiting on contact', closed: false },
  { id: '3', label: 'Waiting on us', closed: false },
  { id: '4', label: 'Closed', closed: true },
] as const;

const STANDARD: Record<ObjectType, { group: string; specs: Spec[] }> = {
  contacts: {
    group: 'contactinformation',
    specs: [
      ['email', 'string', 'text'],
      ['firstname', 'string', 'text'],
      ['lastname', 'string', 'text'],
      ['phone', 'string', 'phonenumber'],
      ['company', 'string', 'text'],
      ['jobtitle', 'string', 'text'],
      ['lifecyclestage', 'enumeration', 'radio', { opts: LIFECYCLE }],
      ['hubspot_owner_id', 'enumeration', 'select'],
      ['createdate', 'datetime', 'date'],
      ['lastmodifieddate', 'datetime', 'date', RO],
      ['hs_lastmodifieddate', 'datetime', 'date', RO],
      ['hs_object_id', 'number', 'number', RO],
      ['hs_email_open', 'number', 'number', CALC],
      ['hs_email_click', 'number', 'number', CALC],
      ['hs_merged_object_ids', 'enumeration', 'checkbox', CALC],
    ],
  },
  companies: {
    group: 'companyinformation',
    specs: [
      ['name', 'string', 'text'],
      ['domain', 'string', 'text'],
      ['website', 'string', 'text'],
      ['industry', 'string', 'text'],
      ['hubspot_owner_id', 'enumeration', 'select'],
      ['createdate', 'datetime', 'date'],
      ['hs_lastmodifieddate', 'datetime', 'date', RO],
      ['hs_object_id', 'number', 'number', RO],
    ],
  },
  deals: {
    group: 'dealinformation',
    specs: [
      ['dealname', 'string', 'text'],
      ['amount', 'number', 'number'],
      ['deal_currency_code', 'enumeration', 'select', { opts: CURRENCIES }],
      ['pipeline', 'enumeration', 'select', { opts: ['default'] }],
      ['dealstage', 'enumeration', 'radio', { opts: SEED_DEAL_STAGES.map((s) => s.id) }],
      ['closedate', 'datetime', 'date'],
      ['hubspot_owner_id', 'enumeration', 'select'],
      ['createdate', 'datetime', 'date'],
      ['hs_is_closed_won', 'bool', 'booleancheckbox', CALC],
      ['hs_is_closed', 'bool', 'booleancheckbox', CALC],
      ['hs_deal_stage_probability', 'number', 'number', CALC],
      ['hs_lastmodifieddate', 'datetime', 'date', RO],
      ['hs_object_id', 'number', 'number', RO],
    ],
  },
  tickets: {
    group: 'ticketinformation',
    specs: [
      ['subject', 'string', 'text'],
      ['content', 'string', 'textarea'],
      ['hs_pipeline', 'enumeration', 'select', { opts: ['0'] }],
      ['hs_pipeline_stage', 'enumeration', 'select', { opts: TICKET_STAGES.map((s) => s.id) }],
      ['hs_ticket_priority', 'enumeration', 'select', { opts: ['LOW', 'MEDIUM', 'HIGH', 'URGENT'] }],
      ['hubspot_owner_id', 'enumeration', 'select'],
      ['createdate', 'datetime', 'date'],
      ['closed_date', 'datetime', 'date'],
      ['hs_lastmodifieddate', 'datetime', 'date', RO],
      ['hs_object_id', 'number', 'number', RO],
    ],
  },
  tasks: {
    group: 'taskinformation',
    specs: [
      ['hs_timestamp', 'datetime', 'date'],
      ['hs_task_subject', 'string', 'text'],
      ['hs_task_body', 'string', 'html'],
      [
        'hs_task_status',
        'enumeration',
        'select',
        { opts: ['NOT_STARTED', 'IN_PROGRESS', 'WAITING', 'COMPLETED', 'DEFERRED'] },
      ],
      ['hs_task_priority', 'enumeration', 'select', { opts: ['NONE', 'LOW', 'MEDIUM', 'HIGH'] }],
      ['hs_task_type', 'enumeration', 'select', { opts: ['EMAIL', 'CALL', 'TODO', 'LINKED_IN'] }],
      ['hs_task_reminders', 'string', 'text'],
      ['hubspot_owner_id', 'enumeration', 'select'],
      ['hs_createdate', 'datetime', 'date'],
      ['hs_lastmodifieddate', 'datetime', 'date', RO],
      ['hs_object_id', 'number', 'number', RO],
    ],
  },
};

/** Properties returned when a read names none (HubSpot's per-object defaults). */
export const DEFAULT_READ_PROPERTIES: Record<ObjectType, readonly string[]> = {
  contacts: ['firstname', 'lastname', 'email', 'createdate', 'lastmodifieddate', 'hs_object_id'],
  companies: ['name', 'domain', 'createdate', 'hs_lastmodifieddate', 'hs_object_id'],
  deals: [
    'dealname',
    'amount',
    'closedate',
    'pipeline',
    'dealstage',
    'createdate',
    'hs_lastmodifieddate',
    'hs_object_id',
  ],
  tickets: [
    'subject',
    'content',
    'hs_pipeline',
    'hs_pipeline_stage',
    'hs_ticket_priority',
    'createdate',
    'hs_lastmodifieddate',
    'hs_object_id',
  ],
  tasks: ['hs_createdate', 'hs_lastmodifieddate', 'hs_object_id'],
};

/** Always present in a read, requested or not (system properties). */
export const ALWAYS_READ: Record<ObjectType, readonly string[]> = {
  contacts: ['createdate', 'lastmodifieddate', 'hs_object_id'],
  companies: ['createdate', 'hs_lastmodifieddate', 'hs_object_id'],
  deals: ['createdate', 'hs_lastmodifieddate', 'hs_object_id'],
  tickets: ['createdate', 'hs_lastmodifieddate', 'hs_object_id'],
  tasks: ['hs_createdate', 'hs_lastmodifieddate', 'hs_object_id'],
};

/** Name of the create-date property per type (tasks use hs_createdate). */
export const CREATE_DATE: Record<ObjectType, string> = {
  contacts: 'createdate',
  companies: 'createdate',
  deals: 'createdate',
  tickets: 'createdate',
  tasks: 'hs_createdate',
};

export function standardProperties(type: ObjectType): PropertyDef[] {
  const { group, specs } = STANDARD[type];
  return specs.map((s, i) => def(group, s, i));
}

export function standardGroups(type: ObjectType): PropertyGroupDef[] {
  return [{ name: STANDARD[type].group, label: `${STANDARD[type].group}`, displayOrder: 0, archived: false }];
}

/** Valid (type, fieldType) pairs (API_FACTS §Properties). */
export const FIELD_TYPES: Record<PropertyType, readonly string[]> = {
  string: ['text', 'textarea', 'file', 'html', 'phonenumber'],
  number: ['number', 'calculation_equation'],
  bool: ['booleancheckbox', 'calculation_equation'],
  enumeration: ['checkbox', 'select', 'radio', 'booleancheckbox', 'calculation_equation'],
  date: ['date'],
  datetime: ['date'],
  phone_number: ['phonenumber'],
};

export interface ValueProblem {
  code: string;
  message: string;
}

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;
/** HubSpot's limit on a single-line/multi-line text value. */
export const MAX_STRING_LENGTH = 65_536;

/**
 * Normalise one written value to its wire string (null = cleared), or report why it is invalid.
 * `previous` is the stored value (for the ";"-prefixed checkbox append).
 */
export function normalizeValue(
  prop: PropertyDef,
  raw: unknown,
  previous: string | undefined,
): { value: string | null } | { problem: ValueProblem } {
  if (raw === null || raw === undefined || raw === '') return { value: null };
  if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
    return { problem: { code: 'INVALID_VALUE', message: `${JSON.stringify(raw)} is not a valid value` } };
  }
  const s = String(raw);
  switch (prop.type) {
    case 'string':
    case 'phone_number':
      if (s.length > MAX_STRING_LENGTH)
        return {
          problem: {
            code: 'INVALID_STRING_LENGTH',
            message: `value exceeds ${MAX_STRING_LENGTH} characters`,
          },
        };
      return { value: s };
    case 'number': {
      const n = Number(s.trim());
      if (s.trim() === '' || !Number.isFinite(n))
        return { problem: { code: 'INVALID_LONG', message: `${JSON.stringify(s)} is not a valid number` } };
      return { value: s.trim() };
    }
    case 'bool': {
      const l = s.toLowerCase();
      if (l !== 'true' && l !== 'false')
        return {
          problem: {
            code: 'INVALID_OPTION',
            message: `${s} was not one of the allowed options: [true, false]`,
          },
        };
      return { value: l };
    }
    case 'date': {
      if (DAY_RE.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`))) return { value: s };
      const ms = /^-?\d+$/.test(s) ? Number(s) : NaN;
      if (!Number.isFinite(ms) || ms % 86_400_000 !== 0)
        return {
          problem: {
            code: 'INVALID_DATE',
            message: `${s} is not a valid date (expect midnight UTC ms or YYYY-MM-DD)`,
          },
        };
      return { value: new Date(ms).toISOString().slice(0, 10) };
    }
    case 'datetime': {
      const ms = parseDateTime(s);
      if (ms === undefined)
        return { problem: { code: 'INVALID_DATE', message: `${s} is not a valid datetime` } };
      return { value: new Date(ms).toISOString() };
    }
    case 'enumeration': {
      // Owner ids have no option list in the property definition; any id is accepted here.
      if (prop.options.length === 0) return { value: s };
      const multi = prop.fieldType === 'checkbox';
      const append = multi && s.startsWith(';');
      const wanted = multi ? s.split(';').filter((v) => v !== '') : [s];
      const allowed = new Set(prop.options.map((o) => o.value));
      const bad = wanted.find((v) => !allowed.has(v));
      if (bad !== undefined)
        return {
          problem: {
            code: 'INVALID_OPTION',
            message: `${bad} was not one of the allowed options: [${[...allowed].join(', ')}]`,
          },
        };
      if (append && previous !== undefined && previous !== '') {
        const merged = [...previous.split(';'), ...wanted.filter((v) => !previous.split(';').includes(v))];
        return { value: merged.join(';') };
      }
      return { value: wanted.join(';') };
    }
  }
}

/** ms epoch (number or digits) or ISO 8601 → ms; undefined when unparseable. */
export function parseDateTime(s: string): number | undefined {
  if (/^-?\d+$/.test(s)) {
    const n = Number(s);
    return Number.isFinite(n) ? n : undefined;
  }
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? undefined : ms;
}
