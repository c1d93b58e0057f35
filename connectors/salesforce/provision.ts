/**
 * Provisioning through the Metadata API (SOAP CRUD: readMetadata / createMetadata / updateMetadata,
 * ≤10 components per call; API_FACTS §2 "Metadata API"): our custom fields on Contact, Lead,
 * Account, Opportunity (from the mapping) and the task key field on Task, then a permission set
 * granting read/edit on all of them, assigned to the integration user — a new custom field is
 * invisible to the API (missing from describe, INVALID_FIELD in SOQL) until field-level security
 * grants it (simple-salesforce #621/#681, restforce #353).
 *
 * Idempotent: everything is read first; a second run finds every field, option, permission and
 * the assignment in place and makes no write call. A same-named field of an incompatible type is
 * reported as a conflict and never touched.
 */
import { z } from 'zod';
import type { OwnedFieldDefinition, ProvisionReport } from '../contract.js';
import type { OwnedFieldType } from '../../src/engine/model.js';
import { AppError } from '../../src/errors.js';
import { chunk } from '../shared/batch.js';
import type { SalesforceClient } from './connection.js';
import { ERR_SALESFORCE_INTEGRATION_USER, ERR_SALESFORCE_PROVISION } from './errors.js';
import type { SalesforceFacts } from './facts.js';
import { parseQueryResult } from './records.js';
import { assertApiName, soqlString } from './soql.js';
import { TASK_KEY_FIELD } from './tasks.js';

/** The Salesforce field type we create for each owned type. */
export const SALESFORCE_FIELD_TYPE: Record<OwnedFieldType, string> = {
  boolean: 'Checkbox',
  number: 'Number',
  currency: 'Currency',
  string: 'Text',
  text: 'LongTextArea',
  multi: 'MultiselectPicklist',
  date: 'Date',
  datetime: 'DateTime',
};

/** Existing types we can write our values into without loss. */
const COMPATIBLE: Record<OwnedFieldType, readonly string[]> = {
  boolean: ['Checkbox'],
  number: ['Number', 'Currency', 'Percent'],
  currency: ['Currency', 'Number'],
  string: ['Text', 'TextArea', 'LongTextArea'],
  text: ['LongTextArea', 'TextArea', 'Text'],
  multi: ['MultiselectPicklist'],
  date: ['Date'],
  datetime: ['DateTime'],
};

/** Marks the fields we created (in their description), so uninstall never deletes a customer's field. */
export const OWNED_MARKER = '[referral-sync]';

export const TEXT_LENGTH = 255;
export const LONG_TEXT_LENGTH = 32768;

export const TASK_KEY_DEFINITION: OwnedFieldDefinition = {
  object: 'Task',
  name: TASK_KEY_FIELD,
  label: 'Referral task key',
  type: 'string',
  unique: true,
  description: 'Idempotency key of tasks created by referral-sync (one task per key).',
};

/**
 * Task and Event custom fields belong to the Activity object in the Metadata API (SF CustomField:
 * "activity custom fields are defined on Activity"); `Task.X__c` is refused there.
 */
export function metadataObject(object: string): string {
  return object === 'Task' || object === 'Event' ? 'Activity' : object;
}

export function fullName(def: Pick<OwnedFieldDefinition, 'object' | 'name'>): string {
  return `${metadataObject(def.object)}.${def.name}`;
}

/** Describe's field types (REST) in Metadata API terms, to judge fields readMetadata did not show. */
const DESCRIBE_TO_METADATA: Record<string, string> = {
  boolean: 'Checkbox',
  double: 'Number',
  int: 'Number',
  currency: 'Currency',
  percent: 'Percent',
  date: 'Date',
  datetime: 'DateTime',
  string: 'Text',
  textarea: 'LongTextArea',
  email: 'Email',
  url: 'Url',
  phone: 'Phone',
  picklist: 'Picklist',
  multipicklist: 'MultiselectPicklist',
};

const DescribeFieldsSchema = z.looseObject({
  fields: z.array(
    z.looseObject({
      name: z.string(),
      type: z.string(),
      picklistValues: z.array(z.looseObject({ value: z.string() })).optional(),
    }),
  ),
});

/**
 * Fields readMetadata did not return may still exist (fields an org created long ago; the
 * sandbox's seeded fields): one describe per object settles it before we try to create them.
 */
async function describeMissing(
  client: SalesforceClient,
  missing: readonly OwnedFieldDefinition[],
  existing: Map<string, Meta>,
): Promise<void> {
  const objects = [...new Set(missing.map((d) => d.object))];
  for (const object of objects) {
    const res = await client.request('describe', `${object} describe`, {
      method: 'GET',
      path: `/sobjects/${object}/describe`,
    });
    const parsed = DescribeFieldsSchema.safeParse(res.body);
    if (!parsed.success) continue;
    const byName = new Map(parsed.data.fields.map((f) => [f.name.toLowerCase(), f]));
    for (const def of missing.filter((d) => d.object === object)) {
      const f = byName.get(def.name.toLowerCase());
      if (f === undefined) continue;
      existing.set(fullName(def).toLowerCase(), {
        fullName: fullName(def),
        label: def.label,
        type: DESCRIBE_TO_METADATA[f.type] ?? f.type,
        valueSet: valueSet((f.picklistValues ?? []).map((p) => p.value)),
      });
    }
  }
}

type Meta = Record<string, unknown>;

export function customFieldMetadata(def: OwnedFieldDefinition): Meta {
  const type = SALESFORCE_FIELD_TYPE[def.type];
  const base: Meta = {
    fullName: fullName(def),
    label: def.label.slice(0, 40),
    type,
    description: `${(def.description ?? 'Managed by referral-sync.').slice(0, 980)} ${OWNED_MARKER}`,
  };
  switch (type) {
    case 'Checkbox':
      return { ...base, defaultValue: 'false' };
    case 'Number':
    case 'Currency':
      return { ...base, precision: 18, scale: 2 };
    case 'Text':
      return def.unique === true
        ? { ...base, length: TEXT_LENGTH, externalId: true, unique: true, caseSensitive: false }
        : { ...base, length: TEXT_LENGTH };
    case 'LongTextArea':
      return { ...base, length: LONG_TEXT_LENGTH, visibleLines: 5 };
    case 'MultiselectPicklist':
      return { ...base, visibleLines: 4, valueSet: valueSet(def.options ?? []) };
    default:
      return base;
  }
}

function valueSet(values: readonly string[]): Meta {
  return {
    restricted: false,
    valueSetDefinition: {
      sorted: false,
      value: values.map((v) => ({ fullName: v, default: false, label: v })),
    },
  };
}

function asArray<T>(v: T | T[] | undefined | null): T[] {
  return v === undefined || v === null ? [] : Array.isArray(v) ? v : [v];
}

function existingOptions(field: Meta): string[] {
  const vs = field.valueSet as { valueSetDefinition?: { value?: unknown } } | undefined;
  return asArray(vs?.valueSetDefinition?.value as Meta | Meta[] | undefined)
    .map((v) => v.fullName)
    .filter((v): v is string => typeof v === 'string');
}

interface SaveResultLike {
  fullName?: string;
  success?: boolean | string;
  errors?: unknown;
}

function failures(results: unknown): { fullName: string; message: string; code: string }[] {
  const out: { fullName: string; message: string; code: string }[] = [];
  for (const r of asArray(results as SaveResultLike | SaveResultLike[])) {
    if (r.success === true || r.success === 'true') continue;
    const err = asArray(r.errors as Meta | Meta[])[0] ?? {};
    out.push({
      fullName: String(r.fullName ?? ''),
      message: String(err.message ?? 'failed'),
      code: String(err.statusCode ?? 'UNKNOWN'),
    });
  }
  return out;
}

export interface ProvisionOptions {
  permissionSetName: string;
  integrationUserId: string | undefined;
}

export async function provision(
  client: SalesforceClient,
  facts: SalesforceFacts,
  requested: readonly OwnedFieldDefinition[],
  options: ProvisionOptions,
): Promise<ProvisionReport> {
  const defs = dedupe([...requested, TASK_KEY_DEFINITION]);
  for (const d of defs) {
    assertApiName(d.object, 'object');
    assertApiName(d.name);
  }
  const report: ProvisionReport = { created: [], updated: [], unchanged: [], conflicts: [], writeCalls: 0 };
  const max = facts.metadata.maxComponentsPerCall;

  const existing = new Map<string, Meta>();
  for (const names of chunk(defs.map(fullName), max)) {
    const read = await client.call('metadata', 'read custom fields', (conn) =>
      conn.metadata.read('CustomField', names),
    );
    for (const f of asArray(read as unknown as Meta | Meta[])) {
      if (typeof f.fullName === 'string' && f.fullName !== '' && typeof f.type === 'string') {
        existing.set(f.fullName.toLowerCase(), f);
      }
    }
  }
  const notRead = defs.filter((d) => !existing.has(fullName(d).toLowerCase()));
  if (notRead.length > 0) await describeMissing(client, notRead, existing);

  const toCreate: Meta[] = [];
  const toUpdate: Meta[] = [];
  const granted: string[] = [];
  for (const def of defs) {
    const name = fullName(def);
    const found = existing.get(name.toLowerCase());
    if (found === undefined) {
      toCreate.push(customFieldMetadata(def));
      granted.push(name);
      continue;
    }
    const type = String(found.type);
    if (!COMPATIBLE[def.type].includes(type)) {
      report.conflicts.push({
        object: def.object,
        name: def.name,
        reason: `exists as ${type}; referral-sync needs ${SALESFORCE_FIELD_TYPE[def.type]} — rename or delete the existing field, or map another name`,
      });
      continue;
    }
    granted.push(name);
    if (def.type === 'multi') {
      const have = existingOptions(found);
      const missing = (def.options ?? []).filter((o) => !have.includes(o));
      if (missing.length > 0) {
        // updateMetadata replaces the definition: send every existing value plus the new ones.
        toUpdate.push({
          ...customFieldMetadata(def),
          label: found.label ?? def.label,
          valueSet: valueSet([...have, ...missing]),
        });
        report.updated.push(name);
        continue;
      }
    }
    report.unchanged.push(name);
  }

  for (const batch of chunk(toCreate, max)) {
    report.writeCalls++;
    const res = await client.call('metadata', 'create custom fields', (conn) =>
      conn.metadata.create('CustomField', batch as never[]),
    );
    for (const f of failures(res)) {
      // Created meanwhile by a concurrent run: the field is there, which is what we wanted.
      if (f.code !== 'DUPLICATE_DEVELOPER_NAME' && !/already (exists|in use)/i.test(f.message)) {
        throw new AppError(
          ERR_SALESFORCE_PROVISION,
          `creating ${f.fullName} failed: ${f.code}: ${f.message}`,
          {
            details: { field: f.fullName, salesforceCode: f.code },
          },
        );
      }
    }
    for (const m of batch) report.created.push(String(m.fullName));
  }
  for (const batch of chunk(toUpdate, max)) {
    report.writeCalls++;
    const res = await client.call('metadata', 'update picklist values', (conn) =>
      conn.metadata.update('CustomField', batch as never[]),
    );
    const bad = failures(res)[0];
    if (bad !== undefined) {
      throw new AppError(
        ERR_SALESFORCE_PROVISION,
        `updating ${bad.fullName} failed: ${bad.code}: ${bad.message}`,
        {
          details: { field: bad.fullName, salesforceCode: bad.code },
        },
      );
    }
  }

  report.writeCalls += await grantFieldAccess(client, options, granted);
  return report;
}

function dedupe(defs: readonly OwnedFieldDefinition[]): OwnedFieldDefinition[] {
  return [...new Map(defs.map((d) => [fullName(d), d])).values()];
}

/** Permission set with read/edit on every field we own, assigned to the integration user. */
async function grantFieldAccess(
  client: SalesforceClient,
  options: ProvisionOptions,
  fields: readonly string[],
): Promise<number> {
  let writes = 0;
  const psName = assertApiName(options.permissionSetName, 'permission set');
  const current = (await client.call('metadata', 'read permission set', (conn) =>
    conn.metadata.read('PermissionSet', psName),
  )) as unknown as Meta | undefined;
  const exists =
    current !== undefined &&
    current !== null &&
    typeof current.fullName === 'string' &&
    current.fullName !== '';
  const perms = new Map<string, Meta>();
  for (const p of asArray((exists ? current.fieldPermissions : undefined) as Meta | Meta[] | undefined)) {
    if (typeof p.field === 'string') perms.set(p.field.toLowerCase(), p);
  }
  const isTrue = (v: unknown): boolean => v === true || v === 'true';
  const missing = fields.filter((f) => {
    const p = perms.get(f.toLowerCase());
    return p === undefined || !isTrue(p.readable) || !isTrue(p.editable);
  });
  if (!exists || missing.length > 0) {
    for (const f of missing) perms.set(f.toLowerCase(), { field: f, readable: true, editable: true });
    const body: Meta = {
      fullName: psName,
      label: 'Referral Sync fields',
      description: 'Read and edit access to the fields referral-sync writes (created by referral-sync).',
      fieldPermissions: [...perms.values()],
    };
    writes++;
    const res = await client.call(
      'metadata',
      exists ? 'update permission set' : 'create permission set',
      (conn) =>
        exists
          ? conn.metadata.update('PermissionSet', body as never)
          : conn.metadata.create('PermissionSet', body as never),
    );
    const bad = failures(res)[0];
    if (bad !== undefined) {
      throw new AppError(ERR_SALESFORCE_PROVISION, `permission set ${psName}: ${bad.code}: ${bad.message}`, {
        details: { permissionSet: psName, salesforceCode: bad.code },
      });
    }
  }

  const userId = options.integrationUserId;
  if (userId === undefined) {
    throw new AppError(
      ERR_SALESFORCE_INTEGRATION_USER,
      'the integration user is unknown: set integrationUserId',
      {},
    );
  }
  const psId = await singleId(client, `SELECT Id FROM PermissionSet WHERE Name = ${soqlString(psName)}`);
  if (psId === undefined) {
    throw new AppError(ERR_SALESFORCE_PROVISION, `permission set ${psName} is not visible to SOQL`, {
      details: { permissionSet: psName },
      retryable: true,
    });
  }
  const assigned = await singleId(
    client,
    `SELECT Id FROM PermissionSetAssignment WHERE PermissionSetId = ${soqlString(psId)} AND AssigneeId = ${soqlString(userId)}`,
  );
  if (assigned === undefined) {
    writes++;
    await client.request('sobject', 'assign permission set', {
      method: 'POST',
      path: '/sobjects/PermissionSetAssignment',
      body: { AssigneeId: userId, PermissionSetId: psId },
    });
  }
  return writes;
}

async function singleId(client: SalesforceClient, soql: string): Promise<string | undefined> {
  const res = await client.request('query', 'provisioning lookup', {
    method: 'GET',
    path: `/query?q=${encodeURIComponent(soql)}`,
  });
  const id = parseQueryResult(res.body, 'Salesforce provisioning lookup').records[0]?.Id;
  return typeof id === 'string' ? id : undefined;
}

/** Uninstall option: delete the fields we created and our permission set (assignment first). */
export async function deprovision(
  client: SalesforceClient,
  facts: SalesforceFacts,
  requested: readonly OwnedFieldDefinition[],
  permissionSetName: string,
): Promise<void> {
  const psName = assertApiName(permissionSetName, 'permission set');
  const psId = await singleId(client, `SELECT Id FROM PermissionSet WHERE Name = ${soqlString(psName)}`);
  if (psId !== undefined) {
    const res = await client.request('query', 'permission set assignments', {
      method: 'GET',
      path: `/query?q=${encodeURIComponent(`SELECT Id FROM PermissionSetAssignment WHERE PermissionSetId = ${soqlString(psId)}`)}`,
    });
    for (const row of parseQueryResult(res.body, 'assignments').records) {
      if (typeof row.Id !== 'string') continue;
      await client.request('sobject', 'remove permission set assignment', {
        method: 'DELETE',
        path: `/sobjects/PermissionSetAssignment/${encodeURIComponent(row.Id)}`,
      });
    }
    await client.call('metadata', 'delete permission set', (conn) =>
      conn.metadata.delete('PermissionSet', psName),
    );
  }
  // Only fields we created carry our marker; a mapped field the customer had before stays.
  const defs = dedupe([...requested, TASK_KEY_DEFINITION]);
  const ours: string[] = [];
  for (const names of chunk(defs.map(fullName), facts.metadata.maxComponentsPerCall)) {
    const read = await client.call('metadata', 'read custom fields', (conn) =>
      conn.metadata.read('CustomField', names),
    );
    for (const f of asArray(read as unknown as Meta | Meta[])) {
      if (typeof f.fullName === 'string' && String(f.description ?? '').includes(OWNED_MARKER))
        ours.push(f.fullName);
    }
  }
  for (const names of chunk(ours, facts.metadata.maxComponentsPerCall)) {
    const res = await client.call('metadata', 'delete custom fields', (conn) =>
      conn.metadata.delete('CustomField', names),
    );
    const bad = failures(res).find(
      (f) => !/not found|INVALID_CROSS_REFERENCE_KEY/i.test(`${f.code} ${f.message}`),
    );
    if (bad !== undefined) {
      throw new AppError(
        ERR_SALESFORCE_PROVISION,
        `deleting ${bad.fullName} failed: ${bad.code}: ${bad.message}`,
        {
          details: { field: bad.fullName, salesforceCode: bad.code },
        },
      );
    }
  }
}
