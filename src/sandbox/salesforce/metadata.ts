/**
 * Metadata API over SOAP: POST /services/Soap/m/{version}, as jsforce's conn.metadata sends it
 * (api/metadata.ts + soap.ts: text/xml, SOAPAction "", SessionHeader/sessionId = access token,
 * ns http://soap.sforce.com/2006/04/metadata, <createMetadata><metadata xsi:type="CustomField">).
 * Results: SaveResult/UpsertResult/DeleteResult {fullName, success, errors?{fields,message,
 * statusCode}, created?}, ReadResult {records}. An expired session is HTTP 500 with faultcode
 * sf:INVALID_SESSION_ID (soap.ts isSessionExpired) — API_FACTS §Metadata API.
 * Supported: CustomField create/update/upsert/read/delete (Checkbox, Number, Currency, Percent,
 * Date, DateTime, Text, TextArea, LongTextArea, Email, Url, Phone, Picklist, MultiselectPicklist),
 * PermissionSet create/update/upsert/read/delete with fieldPermissions.
 * New fields are invisible to the API user until a permission set granting them is assigned.
 * Activity custom fields are created as `Activity.X__c` and show on Task (SF CustomField docs:
 * activity fields belong to Activity); `Task.X__c` is refused (refusal text is the sandbox's).
 */
import express from 'express';
import type { Request, Response, Router } from 'express';
import { XMLParser } from 'fast-xml-parser';
import type { SandboxContext } from './context.js';
import { field } from './schema.js';
import type { FieldDef, FieldType } from './schema.js';

const REPEATED = new Set([
  'metadata',
  'fullNames',
  'fieldPermissions',
  'value',
  'objectPermissions',
  'userPermissions',
]);
const parser = new XMLParser({
  ignoreAttributes: false,
  removeNSPrefix: true,
  parseTagValue: false,
  attributeNamePrefix: '@_',
  isArray: (name) => REPEATED.has(name),
});

type Xml = Record<string, unknown>;

interface MdError {
  statusCode: string;
  message: string;
  fields?: string;
}

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function toXml(name: string, value: unknown): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.map((v) => toXml(name, v)).join('');
  if (value === null) return `<${name} xsi:nil="true"/>`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Xml);
    const attrs = entries
      .filter(([k]) => k.startsWith('@'))
      .map(([k, v]) => ` ${k.slice(1)}="${esc(String(v))}"`)
      .join('');
    const inner = entries
      .filter(([k]) => !k.startsWith('@'))
      .map(([k, v]) => toXml(k, v))
      .join('');
    return `<${name}${attrs}>${inner}</${name}>`;
  }
  return `<${name}>${esc(String(value))}</${name}>`;
}

function envelope(body: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    `<soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`
  );
}

function fault(res: Response, code: string, message: string): void {
  res
    .status(500)
    .type('text/xml')
    .send(
      envelope(
        `<soapenv:Fault><faultcode>sf:${code}</faultcode><faultstring>${esc(`${code}: ${message}`)}</faultstring></soapenv:Fault>`,
      ),
    );
}

const str = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
const bool = (v: unknown): boolean => v === true || v === 'true';
const num = (v: unknown): number | undefined => {
  const s = str(v);
  return s === undefined || s === '' || Number.isNaN(Number(s)) ? undefined : Number(s);
};

const TYPE_MAP: Record<string, FieldType> = {
  Checkbox: 'boolean',
  Number: 'double',
  Currency: 'currency',
  Percent: 'percent',
  Date: 'date',
  DateTime: 'datetime',
  Text: 'string',
  TextArea: 'textarea',
  LongTextArea: 'textarea',
  Email: 'email',
  Url: 'url',
  Phone: 'phone',
  Picklist: 'picklist',
  MultiselectPicklist: 'multipicklist',
};

function picklistValues(md: Xml): { values: string[]; restricted: boolean } {
  const vs = md.valueSet as Xml | undefined;
  const def = vs?.valueSetDefinition as Xml | undefined;
  const values = ((def?.value as Xml[] | undefined) ?? [])
    .map((v) => str(v.fullName) ?? '')
    .filter((v) => v !== '');
  return { values, restricted: bool(vs?.restricted) };
}

/** A CustomField metadata component → field definition, or the error SF would give. */
function fieldFromMetadata(objectName: string, fieldName: string, md: Xml): FieldDef | MdError {
  const type = str(md.type);
  const label = str(md.label);
  if (type === undefined || TYPE_MAP[type] === undefined) {
    return {
      statusCode: 'FIELD_INTEGRITY_EXCEPTION',
      message: `Invalid type: ${type ?? '(none)'}`,
      fields: 'type',
    };
  }
  if (label === undefined || label === '')
    return {
      statusCode: 'REQUIRED_FIELD_MISSING',
      message: 'Required field is missing: label',
      fields: 'label',
    };
  const length = num(md.length);
  const precision = num(md.precision);
  const scale = num(md.scale);
  const visibleLines = num(md.visibleLines);
  const sfType = TYPE_MAP[type] as FieldType;
  if (type === 'Text' && (length === undefined || length < 1 || length > 255)) {
    return {
      statusCode: 'FIELD_INTEGRITY_EXCEPTION',
      message: 'Length must be between 1 and 255',
      fields: 'length',
    };
  }
  if (
    type === 'LongTextArea' &&
    (length === undefined || length < 256 || length > 131072 || visibleLines === undefined)
  ) {
    return {
      statusCode: 'FIELD_INTEGRITY_EXCEPTION',
      message: 'Long text area requires length 256..131072 and visibleLines',
      fields: 'length',
    };
  }
  if (
    ['Number', 'Currency', 'Percent'].includes(type) &&
    (precision === undefined || scale === undefined || precision > 18 || scale > precision)
  ) {
    return {
      statusCode: 'FIELD_INTEGRITY_EXCEPTION',
      message: 'Precision (≤ 18) and scale (≤ precision) are required',
      fields: 'precision',
    };
  }
  if (type === 'Checkbox' && str(md.defaultValue) === undefined) {
    return {
      statusCode: 'FIELD_INTEGRITY_EXCEPTION',
      message: 'Checkbox fields require a default value',
      fields: 'defaultValue',
    };
  }
  const pick = picklistValues(md);
  if ((type === 'MultiselectPicklist' || type === 'Picklist') && pick.values.length === 0) {
    return {
      statusCode: 'FIELD_INTEGRITY_EXCEPTION',
      message: 'Picklist fields require a valueSet',
      fields: 'valueSet',
    };
  }
  if (type === 'MultiselectPicklist' && visibleLines === undefined) {
    return {
      statusCode: 'FIELD_INTEGRITY_EXCEPTION',
      message: 'Multi-select picklists require visibleLines',
      fields: 'visibleLines',
    };
  }
  const defaultValue = type === 'Checkbox' ? str(md.defaultValue) === 'true' : null;
  return field({
    name: fieldName,
    label,
    type: sfType,
    custom: true,
    length: length ?? (sfType === 'textarea' ? 255 : sfType === 'multipicklist' ? 4099 : 255),
    precision: precision ?? 0,
    scale: scale ?? 0,
    externalId: bool(md.externalId),
    unique: bool(md.unique),
    required: bool(md.required),
    nillable: sfType !== 'boolean' && !bool(md.required),
    picklistValues: pick.values,
    restrictedPicklist: pick.restricted,
    defaultValue,
    visibility: 'fls',
    metadata: { ...md },
  });
}

export function metadataRouter(ctx: SandboxContext): Router {
  const { state, sessions } = ctx;
  const router = express.Router();
  const xml = express.text({ type: ['text/xml', 'application/xml', 'application/soap+xml'], limit: '20mb' });

  /** `Contact.X__c` → [table, field]; Activity fields land on Task. */
  const splitName = (fullName: string): { objectName: string; fieldName: string } | undefined => {
    const m = /^([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)$/.exec(fullName);
    if (m === null) return undefined;
    return { objectName: m[1] ?? '', fieldName: m[2] ?? '' };
  };
  const tableForField = (objectName: string) =>
    state.table(objectName.toLowerCase() === 'activity' ? 'Task' : objectName);

  const saveField = (md: Xml, mode: 'create' | 'update' | 'upsert'): Xml => {
    const fullName = str(md.fullName) ?? '';
    const fail = (e: MdError): Xml => ({
      errors: {
        ...(e.fields === undefined ? {} : { fields: e.fields }),
        message: e.message,
        statusCode: e.statusCode,
      },
      fullName,
      success: false,
    });
    const parts = splitName(fullName);
    if (parts === undefined || !parts.fieldName.endsWith('__c')) {
      return fail({
        statusCode: 'INVALID_CROSS_REFERENCE_KEY',
        message: `Invalid fullName ${fullName}: must be Object.Field__c`,
        fields: 'fullName',
      });
    }
    if (parts.objectName.toLowerCase() === 'task' || parts.objectName.toLowerCase() === 'event') {
      return fail({
        statusCode: 'FIELD_INTEGRITY_EXCEPTION',
        message: `Activity custom fields are defined on Activity: use Activity.${parts.fieldName}`,
        fields: 'fullName',
      });
    }
    const table = tableForField(parts.objectName);
    if (table === undefined || !table.customizable) {
      return fail({
        statusCode: 'INVALID_CROSS_REFERENCE_KEY',
        message: `In field: fullName - no CustomObject named ${parts.objectName} found`,
        fields: 'fullName',
      });
    }
    const existing = table.field(parts.fieldName);
    if (existing !== undefined && mode === 'create') {
      return fail({
        statusCode: 'DUPLICATE_DEVELOPER_NAME',
        message: `There is already a field named ${parts.fieldName} on ${table.name}.`,
        fields: 'fullName',
      });
    }
    if (existing === undefined && mode === 'update') {
      return fail({
        statusCode: 'INVALID_CROSS_REFERENCE_KEY',
        message: `In field: fullName - no CustomField named ${fullName} found`,
        fields: 'fullName',
      });
    }
    const def = fieldFromMetadata(parts.objectName, parts.fieldName, md);
    if (!('name' in def)) return fail(def);
    if (existing !== undefined && existing.type !== def.type) {
      // Type conversion rules are long; the sandbox refuses any change (message is the sandbox's).
      return fail({
        statusCode: 'FIELD_INTEGRITY_EXCEPTION',
        message: `Cannot change type of ${fullName} from ${existing.type} to ${def.type}`,
        fields: 'type',
      });
    }
    const created = existing === undefined;
    if (existing !== undefined) {
      table.addField({ ...def, name: existing.name, visibility: existing.visibility });
    } else {
      table.addField(def);
      for (const rec of table.records.values()) rec[def.name] = def.defaultValue;
    }
    return { created: mode === 'upsert' ? created : undefined, fullName, success: true };
  };

  const savePermissionSet = (md: Xml, mode: 'create' | 'update' | 'upsert'): Xml => {
    const fullName = str(md.fullName) ?? '';
    const fail = (e: MdError): Xml => ({
      errors: {
        ...(e.fields === undefined ? {} : { fields: e.fields }),
        message: e.message,
        statusCode: e.statusCode,
      },
      fullName,
      success: false,
    });
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(fullName))
      return fail({
        statusCode: 'FIELD_INTEGRITY_EXCEPTION',
        message: 'The permission set API name is invalid',
        fields: 'fullName',
      });
    const psTable = state.table('PermissionSet');
    if (psTable === undefined) throw new Error('PermissionSet table missing');
    const existing = [...psTable.records.values()].find(
      (r) => r.IsDeleted !== true && String(r.Name).toLowerCase() === fullName.toLowerCase(),
    );
    if (existing !== undefined && mode === 'create')
      return fail({
        statusCode: 'DUPLICATE_DEVELOPER_NAME',
        message: `The API name ${fullName} is already in use`,
        fields: 'fullName',
      });
    if (existing === undefined && mode === 'update')
      return fail({
        statusCode: 'INVALID_CROSS_REFERENCE_KEY',
        message: `no PermissionSet named ${fullName} found`,
        fields: 'fullName',
      });
    const perms = new Map<string, { readable: boolean; editable: boolean }>();
    for (const fp of (md.fieldPermissions as Xml[] | undefined) ?? []) {
      const name = str(fp.field) ?? '';
      const parts = splitName(name);
      const table = parts === undefined ? undefined : tableForField(parts.objectName);
      const f = parts === undefined || table === undefined ? undefined : table.field(parts.fieldName);
      if (f === undefined || parts === undefined) {
        return fail({
          statusCode: 'INVALID_CROSS_REFERENCE_KEY',
          message: `In field: field - no CustomField named ${name} found`,
          fields: 'fieldPermissions',
        });
      }
      const readable = bool(fp.readable);
      const editable = bool(fp.editable);
      if (editable && !readable)
        return fail({
          statusCode: 'FIELD_INTEGRITY_EXCEPTION',
          message: `Permission Edit ${name} depends on permission(s): Read ${name}`,
          fields: 'fieldPermissions',
        });
      perms.set(name.toLowerCase(), { readable, editable });
    }
    const label = str(md.label) ?? fullName;
    let id: string;
    if (existing === undefined) {
      id = state.insertUnchecked('PermissionSet', {
        Name: fullName,
        Label: label,
        Description: str(md.description) ?? null,
        IsOwnedByProfile: false,
        NamespacePrefix: null,
      });
    } else {
      id = existing.Id as string;
      existing.Label = label;
    }
    // Components deployed with fieldPermissions update those entries; others are left as they are.
    const current =
      state.permissionSetFields.get(id) ?? new Map<string, { readable: boolean; editable: boolean }>();
    for (const [k, v] of perms) current.set(k, v);
    state.permissionSetFields.set(id, current);
    state.recomputeGrants();
    return { created: mode === 'upsert' ? existing === undefined : undefined, fullName, success: true };
  };

  const readComponent = (type: string, fullName: string): Xml => {
    if (type === 'CustomField') {
      const parts = splitName(fullName);
      const table = parts === undefined ? undefined : tableForField(parts.objectName);
      const f = parts === undefined || table === undefined ? undefined : table.field(parts.fieldName);
      if (f?.metadata === undefined) return { '@xsi:type': 'CustomField' };
      const { fullName: _ignored, ...rest } = f.metadata;
      return { '@xsi:type': 'CustomField', fullName, ...rest };
    }
    const ps = [...(state.table('PermissionSet')?.records.values() ?? [])].find(
      (r) => r.IsDeleted !== true && String(r.Name).toLowerCase() === fullName.toLowerCase(),
    );
    if (ps === undefined) return { '@xsi:type': type };
    const perms = state.permissionSetFields.get(ps.Id as string) ?? new Map();
    return {
      '@xsi:type': 'PermissionSet',
      fullName: ps.Name,
      fieldPermissions: [...perms.entries()].map(
        ([k, v]: [string, { readable: boolean; editable: boolean }]) => ({
          editable: v.editable,
          field: k,
          readable: v.readable,
        }),
      ),
      hasActivationRequired: false,
      label: ps.Label,
    };
  };

  const deleteComponent = (type: string, fullName: string): Xml => {
    if (type === 'CustomField') {
      const parts = splitName(fullName);
      const table = parts === undefined ? undefined : tableForField(parts.objectName);
      const f = parts === undefined || table === undefined ? undefined : table.field(parts.fieldName);
      if (table === undefined || f === undefined || !f.custom || f.metadata === undefined) {
        return {
          errors: {
            message: `No CustomField named ${fullName} found`,
            statusCode: 'INVALID_CROSS_REFERENCE_KEY',
          },
          fullName,
          success: false,
        };
      }
      table.removeField(f.name);
      for (const perms of state.permissionSetFields.values())
        perms.delete(`${parts?.objectName ?? ''}.${f.name}`.toLowerCase());
      state.recomputeGrants();
      return { fullName, success: true };
    }
    const psTable = state.table('PermissionSet');
    const ps = [...(psTable?.records.values() ?? [])].find(
      (r) => r.IsDeleted !== true && String(r.Name).toLowerCase() === fullName.toLowerCase(),
    );
    if (ps === undefined)
      return {
        errors: {
          message: `No PermissionSet named ${fullName} found`,
          statusCode: 'INVALID_CROSS_REFERENCE_KEY',
        },
        fullName,
        success: false,
      };
    state.softDelete('PermissionSet', ps.Id as string, 'helper');
    state.permissionSetFields.delete(ps.Id as string);
    for (const a of state.table('PermissionSetAssignment')?.records.values() ?? []) {
      if (a.PermissionSetId === ps.Id && a.IsDeleted !== true)
        state.softDelete('PermissionSetAssignment', a.Id as string, 'helper');
    }
    state.recomputeGrants();
    return { fullName, success: true };
  };

  router.post('/services/Soap/m/:version', xml, (req: Request, res: Response) => {
    state.counters.metadata++;
    let doc: Xml;
    try {
      doc = parser.parse(typeof req.body === 'string' ? req.body : '') as Xml;
    } catch {
      return fault(res, 'INVALID_XML', 'could not parse the SOAP envelope');
    }
    const env = doc.Envelope as Xml | undefined;
    const header = env?.Header as Xml | undefined;
    const sessionId = str((header?.SessionHeader as Xml | undefined)?.sessionId);
    let session = sessionId === undefined ? undefined : sessions.check(sessionId);
    if (session !== undefined && sessionId !== undefined && ctx.faults.shouldExpireToken()) {
      sessions.expire(sessionId);
      session = undefined;
    }
    if (session === undefined) {
      state.counters.invalidSession++;
      return fault(res, 'INVALID_SESSION_ID', 'Invalid Session ID found in SessionHeader: Illegal Session');
    }
    const used = state.usage.used();
    if (ctx.config.limitsEnabled && used >= ctx.config.dailyApiLimit) {
      state.counters.requestLimitExceeded++;
      return fault(res, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.');
    }
    state.usage.record();
    state.counters.total++;
    const body = (env?.Body as Xml | undefined) ?? {};
    const [method, args] = Object.entries(body)[0] ?? ['', {}];
    const call = (args ?? {}) as Xml;
    const respond = (results: Xml[] | Xml): void => {
      res.type('text/xml').send(envelope(toXml(`${method}Response`, { result: results })));
    };
    const components = (call.metadata as Xml[] | undefined) ?? [];
    const typeOfComponent = (md: Xml): string => String(md['@_type'] ?? '').replace(/^.*:/, '');
    if (components.length > 10)
      return fault(res, 'LIMIT_EXCEEDED', 'Too many components: at most 10 per call');
    switch (method) {
      case 'createMetadata':
      case 'updateMetadata':
      case 'upsertMetadata': {
        const mode =
          method === 'createMetadata' ? 'create' : method === 'updateMetadata' ? 'update' : 'upsert';
        return respond(
          components.map((md) => {
            const type = typeOfComponent(md);
            if (type === 'CustomField') return saveField(md, mode);
            if (type === 'PermissionSet') return savePermissionSet(md, mode);
            return {
              errors: {
                message: `sandbox: metadata type ${type} is not supported`,
                statusCode: 'UNKNOWN_EXCEPTION',
              },
              fullName: str(md.fullName) ?? '',
              success: false,
            };
          }),
        );
      }
      case 'readMetadata': {
        const type = str(call.type) ?? '';
        const names = ((call.fullNames as unknown[] | undefined) ?? []).map((n) => String(n));
        return respond({ records: names.map((n) => readComponent(type, n)) });
      }
      case 'deleteMetadata': {
        const type = str(call.type) ?? '';
        const names = ((call.fullNames as unknown[] | undefined) ?? []).map((n) => String(n));
        return respond(names.map((n) => deleteComponent(type, n)));
      }
      default:
        return fault(res, 'INVALID_OPERATION', `sandbox: ${method} is not supported`);
    }
  });

  return router;
}
