/**
 * The "map" step of pull → map → compute: a CRM record (wire shape, already validated by the
 * connector's zod schema) becomes a canonical object through the tenant's mapping, and computed
 * owned values go the other way as `RecordUpdate`s. CRM-agnostic: everything CRM-specific is in
 * the mapping (field names) and in `CrmDefinition.encode` (wire formats).
 *
 * Objects are built directly rather than re-parsed with the canonical zod schemas: the mapper only
 * ever produces values of the declared canonical types (decode.ts), and at 1M records a second
 * validation pass would double the cost of the step.
 */
import { createHash } from 'node:crypto';
import type { CrmDefinition, CrmRecord, RecordUpdate, WireValue } from '../../connectors/contract.js';
import { CANONICAL_INPUTS, OWNED_FIELDS } from '../engine/model.js';
import type {
  CanonicalValueType,
  Company,
  CurrentValues,
  Deal,
  OwnedFieldType,
  OwnedKind,
  OwnedValue,
  Owner,
  Person,
  Ticket,
} from '../engine/model.js';
import { decodeBoolean, decodeCanonical, decodeMoney, decodeOwned, decodeString } from './decode.js';
import type { InputSource, Mapping, ObjectMapping, WritePolicy } from './mapping.js';

export type Canonical =
  | { kind: 'person'; value: Person }
  | { kind: 'company'; value: Company }
  | { kind: 'deal'; value: Deal }
  | { kind: 'ticket'; value: Ticket }
  | { kind: 'owner'; value: Owner };

/** The CRM fields a pull must read for one object: mapped inputs, money currencies and owned fields. */
export function fieldsToRead(om: ObjectMapping): string[] {
  const fields = new Set<string>();
  for (const source of Object.values(om.inputs)) {
    if (typeof source === 'string') fields.add(source);
    else if ('field' in source) {
      fields.add(source.field);
      if ('currencyField' in source && source.currencyField !== undefined) fields.add(source.currencyField);
    }
  }
  for (const owned of Object.values(om.owned)) fields.add(owned.name);
  for (const mirror of om.mirrors) fields.add(mirror.field);
  return [...fields].sort();
}

function inputType(kind: ObjectMapping['kind'], path: string): CanonicalValueType | 'ids' {
  if (path === 'personIds') return 'ids';
  const table = CANONICAL_INPUTS[kind] as Record<string, CanonicalValueType>;
  return table[path] ?? 'string';
}

function readSource(
  record: CrmRecord,
  source: InputSource,
  type: CanonicalValueType | 'ids',
  defaultCurrency: string,
): unknown {
  if (typeof source === 'string') {
    const wire = record.fields[source];
    if (type === 'ids') return decodeString(wire) === undefined ? [] : [String(wire)];
    if (type === 'money') return decodeMoney(wire, undefined, defaultCurrency);
    return decodeCanonical(type, wire);
  }
  if ('link' in source) {
    const ids = record.links[source.link] ?? [];
    return type === 'ids' ? [...ids] : ids[0];
  }
  if ('const' in source) {
    return type === 'money' || type === 'ids' ? undefined : decodeCanonical(type, source.const);
  }
  if ('in' in source) {
    const v = decodeString(record.fields[source.field]);
    return v === undefined ? undefined : source.in.some((x) => x.toLowerCase() === v.toLowerCase());
  }
  if ('equals' in source) {
    const wire = record.fields[source.field];
    if (wire === undefined || wire === null) return undefined;
    if (typeof source.equals === 'boolean') return decodeBoolean(wire) === source.equals;
    return String(wire).trim().toLowerCase() === String(source.equals).toLowerCase();
  }
  // { field, currencyField?, currency? }
  const wire = record.fields[source.field];
  if (type === 'money') {
    const currency =
      source.currencyField !== undefined
        ? decodeString(record.fields[source.currencyField])
        : source.currency;
    return decodeMoney(wire, currency ?? source.currency, defaultCurrency);
  }
  if (type === 'ids') return decodeString(wire) === undefined ? [] : [String(wire)];
  return decodeCanonical(type, wire);
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  if (value === undefined) return;
  const dot = path.indexOf('.');
  if (dot === -1) {
    target[path] = value;
    return;
  }
  const head = path.slice(0, dot);
  const nested = (target[head] ??= {}) as Record<string, unknown>;
  nested[path.slice(dot + 1)] = value;
}

/** Current values of the fields we own, keyed by canonical owned-field id. */
export function readCurrentValues(record: CrmRecord, om: ObjectMapping): CurrentValues {
  const current: CurrentValues = {};
  const kind = om.kind as OwnedKind;
  const types = OWNED_FIELDS[kind] as Record<string, OwnedFieldType> | undefined;
  if (types === undefined) return current;
  for (const [id, def] of Object.entries(om.owned)) {
    const type = types[id];
    if (type === undefined) continue;
    const value = decodeOwned(type, record.fields[def.name]);
    if (value !== undefined) current[id] = value;
  }
  return current;
}

/** CRM record → canonical object. `null` for objects the mapping does not know. */
export function mapRecord(record: CrmRecord, mapping: Mapping): Canonical | null {
  const om = mapping.objects[record.object];
  if (om === undefined) return null;
  const out: Record<string, unknown> = { id: record.id };
  for (const [path, source] of Object.entries(om.inputs)) {
    setPath(out, path, readSource(record, source, inputType(om.kind, path), mapping.defaultCurrency));
  }
  switch (om.kind) {
    case 'person':
      out.kind = om.personKind ?? 'contact';
      out.current = readCurrentValues(record, om);
      return { kind: 'person', value: out as Person };
    case 'company':
      out.current = readCurrentValues(record, om);
      return { kind: 'company', value: out as Company };
    case 'deal':
      out.personIds ??= [];
      out.current = readCurrentValues(record, om);
      return { kind: 'deal', value: out as Deal };
    case 'ticket':
      out.personIds ??= [];
      out.isOpen ??= out.closedAt === undefined;
      return { kind: 'ticket', value: out as Ticket };
    case 'owner':
      out.active ??= true;
      return { kind: 'owner', value: out as Owner };
  }
}

/**
 * A stable hash of everything the engine reads from a record except the values we wrote ourselves.
 * Our writes bump the CRM's modification stamp; if the hash is unchanged since we last computed,
 * the record costs no recomputation and no write (no write-back loop).
 */
export function inputHash(canonical: Canonical): string {
  const { current: _ignored, ...inputs } = canonical.value as { current?: unknown } & Record<string, unknown>;
  return createHash('sha1').update(stableStringify(inputs)).digest('base64url').slice(0, 16);
}

export function stableStringify(value: unknown): string {
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Owned-value changes (canonical ids) → one CRM update, encoded for the wire. Mirrors (admin-mapped
 * fields we don't own) get the value of their source field under their write policy.
 */
export function toRecordUpdate(
  object: string,
  id: string,
  changes: Readonly<Record<string, OwnedValue>>,
  om: ObjectMapping,
  definition: Pick<CrmDefinition, 'encode'>,
  mirrorCurrent: Readonly<Record<string, WireValue>> = {},
): RecordUpdate | null {
  const kind = om.kind as OwnedKind;
  const types = OWNED_FIELDS[kind] as Record<string, OwnedFieldType> | undefined;
  if (types === undefined) return null;
  const fields: Record<string, WireValue> = {};
  for (const [canonicalId, value] of Object.entries(changes)) {
    const def = om.owned[canonicalId];
    const type = types[canonicalId];
    if (def === undefined || type === undefined) continue; // not mapped for this CRM object
    fields[def.name] = definition.encode(type, value);
    for (const mirror of om.mirrors) {
      if (mirror.from !== canonicalId || !mirrorAllows(mirror.policy, mirrorCurrent[mirror.field])) continue;
      fields[mirror.field] = definition.encode(type, value);
    }
  }
  return Object.keys(fields).length === 0 ? null : { object, id, fields };
}

function mirrorAllows(policy: WritePolicy, current: WireValue | undefined): boolean {
  if (policy === 'never') return false;
  if (policy === 'always') return true;
  return current === undefined || current === null || String(current).trim() === '';
}
