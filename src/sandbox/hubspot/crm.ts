/**
 * Record operations of the emulated CRM (create, update, archive, merge, read views), shared by the
 * single-record, batch and seed paths. Keeps the system properties (hs_object_id, createdate,
 * hs_lastmodifieddate / lastmodifieddate for contacts) and the calculated deal properties
 * (hs_is_closed, hs_is_closed_won, hs_deal_stage_probability, derived from the stage's pipeline
 * metadata) in step with every write, and reports each change for webhooks.
 */
import {
  ALWAYS_READ,
  CREATE_DATE,
  DEFAULT_READ_PROPERTIES,
  normalizeValue,
  type PropertyDef,
} from './schema.js';
import type { ChangeSource, HubSpotState } from './state.js';
import type { HsRecord } from './table.js';
import {
  HubSpotHttpError,
  propertyValidationError,
  SINGULAR,
  OBJECT_TYPES,
  type ObjectType,
  type PropertyProblem,
} from './wire.js';

export interface CrmEvent {
  kind: 'creation' | 'propertyChange' | 'deletion' | 'merge' | 'associationChange';
  type: ObjectType;
  id: number;
  occurredAt: number;
  source: ChangeSource;
  propertyName?: string;
  propertyValue?: string;
  primaryObjectId?: number;
  mergedObjectIds?: number[];
  toType?: ObjectType;
  toId?: number;
  associationTypeId?: number;
  associationRemoved?: boolean;
}

export interface CrmContext {
  state: HubSpotState;
  now: () => Date;
  emit: (e: CrmEvent) => void;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** The wire value of one property of a record (system properties derived). */
export function readProp(type: ObjectType, rec: HsRecord | SnapshotView, name: string): string | null {
  if (name === 'hs_object_id') return String(rec.num);
  if (name === CREATE_DATE[type]) return iso(rec.createdMs);
  if (name === 'hs_lastmodifieddate' || (type === 'contacts' && name === 'lastmodifieddate'))
    return iso(rec.updatedMs);
  return rec.props[name] ?? null;
}

/** What search sees of a record: itself, or its pre-write snapshot during the indexing lag. */
export interface SnapshotView {
  num: number;
  props: Record<string, string>;
  createdMs: number;
  updatedMs: number;
}

export interface WireObject {
  id: string;
  properties: Record<string, string | null>;
  propertiesWithHistory?: Record<string, { value: string; timestamp: string; sourceType: string }[]>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  archivedAt?: string;
  associations?: Record<string, { results: { id: string; type: string }[] }>;
}

/** Property names a read asked for (repeated or comma-separated), or undefined for defaults. */
export function requestedProperties(raw: unknown): string[] | undefined {
  const parts = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw])
    .filter((v): v is string => typeof v === 'string')
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  return parts.length === 0 ? undefined : parts;
}

export function toWire(
  ctx: CrmContext,
  type: ObjectType,
  rec: HsRecord | SnapshotView,
  properties: string[] | undefined,
  withHistory?: string[],
): WireObject {
  const defs = ctx.state.properties[type];
  const names =
    properties === undefined ? DEFAULT_READ_PROPERTIES[type] : [...properties, ...ALWAYS_READ[type]];
  const props: Record<string, string | null> = {};
  // Unknown names in a read are ignored, as HubSpot does.
  for (const n of names) if (defs.has(n)) props[n] = readProp(type, rec, n);
  const full = rec as Partial<HsRecord>;
  const out: WireObject = {
    id: String(rec.num),
    properties: props,
    createdAt: iso(rec.createdMs),
    updatedAt: iso(rec.updatedMs),
    archived: full.archived ?? false,
  };
  if (full.archived === true && full.archivedMs !== undefined) out.archivedAt = iso(full.archivedMs);
  if (withHistory !== undefined && withHistory.length > 0) {
    out.propertiesWithHistory = {};
    for (const n of withHistory) {
      const v = defs.has(n) ? readProp(type, rec, n) : null;
      out.propertiesWithHistory[n] =
        v === null ? [] : [{ value: v, timestamp: iso(rec.updatedMs), sourceType: 'API' }];
    }
  }
  return out;
}

/** Resolve an id (following merges) to a live-or-archived record. */
export function findRecord(ctx: CrmContext, type: ObjectType, num: number | undefined): HsRecord | undefined {
  if (num === undefined) return undefined;
  let rec = ctx.state.objects[type].records.get(num);
  for (let hops = 0; rec !== undefined && rec.mergedInto !== 0 && hops < 10; hops++)
    rec = ctx.state.objects[type].records.get(rec.mergedInto);
  return rec;
}

/** Unique-value lookup: contacts' email (case-insensitive) and hasUniqueValue properties. */
export function findByUnique(
  ctx: CrmContext,
  type: ObjectType,
  prop: string,
  value: string,
): HsRecord | undefined {
  if (prop === 'hs_object_id') {
    const rec = findRecord(ctx, type, Number(value));
    return rec?.archived === false ? rec : undefined;
  }
  const id = ctx.state.objects[type].unique.get(prop)?.get(uniqueKey(type, prop, value));
  const rec = findRecord(ctx, type, id);
  return rec?.archived === false ? rec : undefined;
}

function uniqueKey(type: ObjectType, prop: string, value: string): string {
  return type === 'contacts' && prop === 'email' ? value.toLowerCase() : value;
}

export function isUniqueProperty(ctx: CrmContext, type: ObjectType, prop: string): boolean {
  if (prop === 'hs_object_id') return true;
  if (type === 'contacts' && prop === 'email') return true;
  return ctx.state.properties[type].get(prop)?.hasUniqueValue === true;
}

export interface WriteOptions {
  source: ChangeSource;
  /** Seed loading: skip read-only and option checks, log nothing, emit nothing. */
  trusted?: boolean;
}

/**
 * Validate and normalise a property bag for a write. Throws the whole-request 400
 * ("Property values were not valid") when any property is unknown, read-only or badly valued.
 */
export function normalizeProps(
  ctx: CrmContext,
  type: ObjectType,
  input: Record<string, unknown>,
  previous: Record<string, string> | undefined,
  opts: WriteOptions,
): Record<string, string | null> {
  const defs = ctx.state.properties[type];
  const problems: PropertyProblem[] = [];
  const out: Record<string, string | null> = {};
  for (const [name, raw] of Object.entries(input)) {
    const def: PropertyDef | undefined = defs.get(name);
    if (def === undefined || def.archived) {
      problems.push({ name, code: 'PROPERTY_DOESNT_EXIST', message: `Property "${name}" does not exist` });
      continue;
    }
    if (!opts.trusted && def.readOnlyValue) {
      problems.push({
        name,
        code: 'READ_ONLY_VALUE',
        message: `${name} is a read only property; its value cannot be set.`,
      });
      continue;
    }
    if (opts.trusted) {
      out[name] = raw === null || raw === undefined || raw === '' ? null : String(raw);
      continue;
    }
    const r = normalizeValue(def, raw, previous?.[name]);
    if ('problem' in r) problems.push({ name, code: r.problem.code, message: r.problem.message });
    else out[name] = r.value;
  }
  if (problems.length > 0) throw propertyValidationError(problems);
  return out;
}

/** A unique-value clash, as the 409 HubSpot answers ("Contact already exists. Existing ID: 1"). */
export function uniqueConflict(
  ctx: CrmContext,
  type: ObjectType,
  props: Record<string, string | null>,
  selfNum: number | undefined,
  pending?: Map<string, number>,
): HubSpotHttpError | undefined {
  for (const [name, value] of Object.entries(props)) {
    if (value === null || !isUniqueProperty(ctx, type, name) || name === 'hs_object_id') continue;
    const key = `${name}\u0000${uniqueKey(type, name, value)}`;
    const holder = findByUnique(ctx, type, name, value)?.num ?? pending?.get(key);
    if (holder !== undefined && (holder !== selfNum || holder === -1)) {
      const label = SINGULAR[type].charAt(0).toUpperCase() + SINGULAR[type].slice(1);
      // HubSpot's contact/email clash text (issues corpus: HubSpot/hubspot-api-nodejs#545); the same
      // wording is used for hasUniqueValue properties (unverified).
      // -1 = claimed by another new input of the same batch (no id yet).
      const message =
        holder === -1
          ? `Duplicate ${name} value in the same batch: ${value}`
          : `${label} already exists. Existing ID: ${holder}`;
      return new HubSpotHttpError(409, 'CONFLICT', message);
    }
    pending?.set(key, selfNum ?? -1);
  }
  return undefined;
}

function applyCalculated(ctx: CrmContext, type: ObjectType, rec: HsRecord): void {
  if (type !== 'deals') return;
  const stage = ctx.state.stageOf(rec.props.dealstage);
  if (stage === undefined) return;
  const closed = stage.metadata.isClosed === 'true';
  const won = closed && Number(stage.metadata.probability) >= 1;
  rec.props.hs_is_closed = String(closed);
  rec.props.hs_is_closed_won = String(won);
  if (stage.metadata.probability !== undefined)
    rec.props.hs_deal_stage_probability = stage.metadata.probability;
}

function setUniqueIndexes(
  ctx: CrmContext,
  type: ObjectType,
  rec: HsRecord,
  before: Record<string, string>,
): void {
  const table = ctx.state.objects[type];
  for (const name of uniqueNames(ctx, type)) {
    const old = before[name];
    const now = rec.props[name];
    if (old === now) continue;
    const index = table.uniqueIndex(name);
    if (old !== undefined && index.get(uniqueKey(type, name, old)) === rec.num)
      index.delete(uniqueKey(type, name, old));
    if (now !== undefined) index.set(uniqueKey(type, name, now), rec.num);
  }
}

export function uniqueNames(ctx: CrmContext, type: ObjectType): string[] {
  const names = [...ctx.state.properties[type].values()].filter((p) => p.hasUniqueValue).map((p) => p.name);
  if (type === 'contacts') names.push('email');
  return names;
}

function snapshotBeforeWrite(ctx: CrmContext, rec: HsRecord, nowMs: number, isNew: boolean): void {
  const lag = ctx.state.indexingLagMs;
  if (lag <= 0) return;
  if (nowMs >= rec.visibleMs) {
    rec.snapshot = isNew
      ? null
      : { num: rec.num, props: { ...rec.props }, createdMs: rec.createdMs, updatedMs: rec.updatedMs };
  }
  rec.visibleMs = nowMs + lag;
}

function log(
  ctx: CrmContext,
  type: ObjectType,
  rec: HsRecord,
  op: 'create' | 'update' | 'archive' | 'merge',
  props: Record<string, string | null>,
  source: ChangeSource,
  nowMs: number,
): void {
  if (!ctx.state.recordWrites) return;
  ctx.state.written.push({ at: iso(nowMs), type, id: String(rec.num), op, properties: props, source });
}

/**
 * Seed fast path: insert a record whose property bag is already in wire form (taken over, not
 * copied), with its own create/modify times; no log, no events. `uniqueProps` = uniqueNames().
 */
export function insertSeedRecord(
  ctx: CrmContext,
  type: ObjectType,
  props: Record<string, string>,
  createdMs: number,
  updatedMs: number,
  uniqueProps: readonly string[],
): HsRecord {
  const table = ctx.state.objects[type];
  const rec: HsRecord = {
    num: table.allocateId(),
    props,
    createdMs,
    updatedMs,
    archived: false,
    archivedMs: 0,
    mergedInto: 0,
    version: 0,
    visibleMs: 0,
    snapshot: null,
  };
  applyCalculated(ctx, type, rec);
  table.insert(rec);
  for (const name of uniqueProps) {
    const v = props[name];
    if (v !== undefined) table.uniqueIndex(name).set(uniqueKey(type, name, v), rec.num);
  }
  return rec;
}

/** Create one record from already-normalised properties. */
export function createRecord(
  ctx: CrmContext,
  type: ObjectType,
  props: Record<string, string | null>,
  opts: WriteOptions,
): HsRecord {
  const table = ctx.state.objects[type];
  const nowMs = ctx.now().getTime();
  const rec: HsRecord = {
    num: table.allocateId(),
    props: {},
    createdMs: nowMs,
    updatedMs: nowMs,
    archived: false,
    archivedMs: 0,
    mergedInto: 0,
    version: 0,
    visibleMs: 0,
    snapshot: null,
  };
  snapshotBeforeWrite(ctx, rec, nowMs, true);
  const createProp = CREATE_DATE[type];
  for (const [k, v] of Object.entries(props)) {
    if (v === null) continue;
    if (k === createProp) {
      const ms = Date.parse(v);
      if (!Number.isNaN(ms)) rec.createdMs = ms;
      continue;
    }
    if (k === 'hs_lastmodifieddate' || k === 'lastmodifieddate' || k === 'hs_object_id') {
      // Only the seed may backdate the last-modified time.
      const ms = Date.parse(v);
      if (opts.trusted === true && !Number.isNaN(ms)) rec.updatedMs = ms;
      continue;
    }
    rec.props[k] = v;
  }
  applyCalculated(ctx, type, rec);
  table.insert(rec);
  setUniqueIndexes(ctx, type, rec, {});
  if (opts.trusted !== true) {
    log(ctx, type, rec, 'create', props, opts.source, nowMs);
    ctx.emit({ kind: 'creation', type, id: rec.num, occurredAt: nowMs, source: opts.source });
    for (const [k, v] of Object.entries(rec.props))
      ctx.emit({
        kind: 'propertyChange',
        type,
        id: rec.num,
        occurredAt: nowMs,
        source: opts.source,
        propertyName: k,
        propertyValue: v,
      });
  }
  return rec;
}

/** Update one record with already-normalised properties; null clears a value. */
export function updateRecord(
  ctx: CrmContext,
  type: ObjectType,
  rec: HsRecord,
  props: Record<string, string | null>,
  opts: WriteOptions,
): HsRecord {
  const nowMs = ctx.now().getTime();
  snapshotBeforeWrite(ctx, rec, nowMs, false);
  const before = { ...rec.props };
  const createProp = CREATE_DATE[type];
  for (const [k, v] of Object.entries(props)) {
    if (k === createProp) {
      const ms = v === null ? NaN : Date.parse(v);
      if (!Number.isNaN(ms)) rec.createdMs = ms;
      continue;
    }
    if (v === null) delete rec.props[k];
    else rec.props[k] = v;
  }
  applyCalculated(ctx, type, rec);
  // HubSpot bumps hs_lastmodifieddate on every accepted write, changed values or not.
  rec.updatedMs = Math.max(nowMs, rec.updatedMs);
  ctx.state.objects[type].index(rec);
  setUniqueIndexes(ctx, type, rec, before);
  log(ctx, type, rec, 'update', props, opts.source, nowMs);
  for (const [k, v] of Object.entries(rec.props))
    if (before[k] !== v)
      ctx.emit({
        kind: 'propertyChange',
        type,
        id: rec.num,
        occurredAt: nowMs,
        source: opts.source,
        propertyName: k,
        propertyValue: v,
      });
  for (const k of Object.keys(before))
    if (!(k in rec.props))
      ctx.emit({
        kind: 'propertyChange',
        type,
        id: rec.num,
        occurredAt: nowMs,
        source: opts.source,
        propertyName: k,
        propertyValue: '',
      });
  return rec;
}

export function archiveRecord(ctx: CrmContext, type: ObjectType, rec: HsRecord, source: ChangeSource): void {
  if (rec.archived) return;
  const nowMs = ctx.now().getTime();
  snapshotBeforeWrite(ctx, rec, nowMs, false);
  rec.archived = true;
  rec.archivedMs = nowMs;
  const table = ctx.state.objects[type];
  for (const name of uniqueNames(ctx, type)) {
    const v = rec.props[name];
    if (v !== undefined && table.unique.get(name)?.get(uniqueKey(type, name, v)) === rec.num)
      table.unique.get(name)?.delete(uniqueKey(type, name, v));
  }
  log(ctx, type, rec, 'archive', {}, source, nowMs);
  ctx.emit({ kind: 'deletion', type, id: rec.num, occurredAt: nowMs, source });
}

/** Contacts merge: the primary survives with the merged id in hs_merged_object_ids. */
export function mergeRecords(
  ctx: CrmContext,
  type: ObjectType,
  primary: HsRecord,
  merged: HsRecord,
  source: ChangeSource,
): HsRecord {
  const nowMs = ctx.now().getTime();
  const before = { ...primary.props };
  for (const [k, v] of Object.entries(merged.props))
    if (primary.props[k] === undefined && k !== 'hs_merged_object_ids') primary.props[k] = v;
  const ids = [primary.props.hs_merged_object_ids, merged.props.hs_merged_object_ids, String(merged.num)]
    .filter((v): v is string => v !== undefined && v !== '')
    .join(';');
  primary.props.hs_merged_object_ids = ids;
  primary.updatedMs = Math.max(nowMs, primary.updatedMs);
  ctx.state.objects[type].index(primary);
  // The merged record stays resolvable: reads by its id answer with the survivor.
  merged.archived = true;
  merged.archivedMs = nowMs;
  merged.mergedInto = primary.num;
  ctx.state.associations.moveAll(type, merged.num, primary.num, OBJECT_TYPES);
  setUniqueIndexes(ctx, type, primary, before);
  const table = ctx.state.objects[type];
  for (const name of uniqueNames(ctx, type)) {
    const v = merged.props[name];
    if (v !== undefined) table.uniqueIndex(name).set(uniqueKey(type, name, v), primary.num);
  }
  log(ctx, type, primary, 'merge', { hs_merged_object_ids: ids }, source, nowMs);
  ctx.emit({
    kind: 'merge',
    type,
    id: primary.num,
    occurredAt: nowMs,
    source,
    primaryObjectId: primary.num,
    mergedObjectIds: [merged.num],
  });
  return primary;
}
