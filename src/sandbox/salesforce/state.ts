/**
 * The sandbox org's in-memory state: tables, field-level security, sessions, API usage, call
 * counters and a log of every value written — inspectable by tests and resettable.
 */
import { SEED_DEAL_STAGES } from '../seed/types.js';
import { KEY_PREFIXES, makeId, toId18 } from './ids.js';
import { standardObjects } from './schema.js';
import type { FieldDef } from './schema.js';
import { SObjectTable } from './table.js';
import { coerce, formatDateTime } from './wire.js';
import type { Rec, SaveError } from './wire.js';

export interface CallCounters {
  total: number;
  query: number;
  queryMore: number;
  queryAll: number;
  sobject: number;
  collections: number;
  describe: number;
  bulk: number;
  bulkQueryJobs: number;
  bulkIngestJobs: number;
  metadata: number;
  limits: number;
  identity: number;
  oauthToken: number;
  other: number;
  requestLimitExceeded: number;
  invalidSession: number;
}

export type WriteVia = 'rest' | 'collections' | 'bulk' | 'helper';

export interface WriteLogEntry {
  seq: number;
  at: string;
  sobject: string;
  id: string;
  op: 'create' | 'update' | 'delete';
  via: WriteVia;
  values: Rec;
}

export interface WriteOptions {
  via: WriteVia;
  /** Apply the API user's field-level security (false for helpers that act as an admin/user). */
  enforceFls: boolean;
  fromCsv?: boolean;
  /** One timestamp per transaction: records saved in one call share SystemModstamp (ties happen). */
  at?: number;
  actorId?: string;
}

export type Prepared =
  { ok: true; table: SObjectTable; id: string | undefined; values: Rec } | { ok: false; errors: SaveError[] };

const zeroCounters = (): CallCounters => ({
  total: 0,
  query: 0,
  queryMore: 0,
  queryAll: 0,
  sobject: 0,
  collections: 0,
  describe: 0,
  bulk: 0,
  bulkQueryJobs: 0,
  bulkIngestJobs: 0,
  metadata: 0,
  limits: 0,
  identity: 0,
  oauthToken: 0,
  other: 0,
  requestLimitExceeded: 0,
  invalidSession: 0,
});

/** Opportunity stages: the seed's labels plus Salesforce's default sales process. */
export const OPPORTUNITY_STAGES: { label: string; closed: boolean; won: boolean; probability: number }[] = [
  ...SEED_DEAL_STAGES.map((s) => ({
    label: s.label,
    closed: s.closed,
    won: s.won,
    probability: s.probability * 100,
  })),
  { label: 'Prospecting', closed: false, won: false, probability: 10 },
  { label: 'Qualification', closed: false, won: false, probability: 10 },
  { label: 'Needs Analysis', closed: false, won: false, probability: 20 },
  { label: 'Proposal/Price Quote', closed: false, won: false, probability: 75 },
  { label: 'Negotiation/Review', closed: false, won: false, probability: 90 },
];

/** Rolling 24-hour API request count kept in one-minute buckets (SF: "rolling 24-hour period"). */
export class ApiUsage {
  private buckets: { minute: number; count: number }[] = [];
  private sum = 0;
  constructor(private readonly now: () => Date) {}

  private prune(): number {
    const minute = Math.floor(this.now().getTime() / 60_000);
    while (this.buckets.length > 0 && (this.buckets[0]?.minute ?? minute) <= minute - 24 * 60) {
      this.sum -= this.buckets.shift()?.count ?? 0;
    }
    return minute;
  }

  record(n = 1): void {
    const minute = this.prune();
    const last = this.buckets[this.buckets.length - 1];
    if (last !== undefined && last.minute === minute) last.count += n;
    else this.buckets.push({ minute, count: n });
    this.sum += n;
  }

  used(): number {
    this.prune();
    return this.sum;
  }

  reset(): void {
    this.buckets = [];
    this.sum = 0;
  }
}

export class SalesforceState {
  readonly tables = new Map<string, SObjectTable>();
  readonly counters: CallCounters = zeroCounters();
  readonly writes: WriteLogEntry[] = [];
  readonly usage: ApiUsage;
  /** Field keys "Object.Field__c" (lower case) the API user can read / edit through permission sets. */
  readonly readableGrants = new Set<string>();
  readonly editableGrants = new Set<string>();
  /** Permission set id → field key (lower case) → access (from Metadata API PermissionSet). */
  readonly permissionSetFields = new Map<string, Map<string, { readable: boolean; editable: boolean }>>();
  apiUserId = '';
  private idSeq = 0;
  private writeSeq = 0;
  private caseNumber = 0;

  constructor(
    readonly orgId: string,
    readonly now: () => Date,
  ) {
    this.usage = new ApiUsage(now);
    this.reset();
  }

  reset(): void {
    this.schemaVersion++;
    this.tables.clear();
    for (const def of standardObjects()) this.tables.set(def.name.toLowerCase(), new SObjectTable(def));
    Object.assign(this.counters, zeroCounters());
    this.writes.length = 0;
    this.usage.reset();
    this.readableGrants.clear();
    this.editableGrants.clear();
    this.permissionSetFields.clear();
    this.idSeq = 0;
    this.writeSeq = 0;
    this.caseNumber = 0;
    this.apiUserId = this.insertUnchecked('User', {
      Username: 'integration@referral-sync.sandbox',
      Email: 'integration@referral-sync.sandbox',
      FirstName: 'Integration',
      LastName: 'User',
      IsActive: true,
    });
  }

  table(name: string): SObjectTable | undefined {
    return this.tables.get(name) ?? this.tables.get(name.toLowerCase());
  }

  /** Fields the API user can read, in schema order (cached until grants or fields change). */
  readableFields(table: SObjectTable): FieldDef[] {
    const version = this.schemaVersion + table.fieldsVersion * 1_000_000;
    if (table.readableCache?.version !== version) {
      table.readableCache = {
        version,
        fields: [...table.fields.values()].filter((f) => this.canRead(table, f)),
      };
    }
    return table.readableCache.fields;
  }

  newId(prefix: string): string {
    return makeId(prefix, ++this.idSeq);
  }

  /** Can the API user read this field? Standard and pre-existing fields always; new ones via FLS. */
  canRead(table: SObjectTable, f: FieldDef): boolean {
    return f.visibility === 'always' || this.readableGrants.has(`${table.name}.${f.name}`.toLowerCase());
  }

  canEdit(table: SObjectTable, f: FieldDef): boolean {
    return f.visibility === 'always' || this.editableGrants.has(`${table.name}.${f.name}`.toLowerCase());
  }

  /** Recompute the API user's grants from assigned permission sets (after any FLS change). */
  /** Bumped whenever what the API user can see may change (grants, fields): invalidates caches. */
  schemaVersion = 0;

  recomputeGrants(): void {
    this.schemaVersion++;
    this.readableGrants.clear();
    this.editableGrants.clear();
    const assignments = this.table('PermissionSetAssignment');
    if (assignments === undefined) return;
    for (const a of assignments.records.values()) {
      if (a.IsDeleted === true || a.AssigneeId !== this.apiUserId) continue;
      const perms = this.permissionSetFields.get(a.PermissionSetId as string);
      if (perms === undefined) continue;
      for (const [key, p] of perms) {
        // Activity custom fields are granted as Task.X / Event.X / Activity.X; all reach Task here.
        const keys =
          key.startsWith('activity.') || key.startsWith('event.')
            ? [key, `task.${key.split('.')[1] ?? ''}`]
            : [key];
        for (const k of keys) {
          if (p.readable || p.editable) this.readableGrants.add(k);
          if (p.editable) this.editableGrants.add(k);
        }
      }
    }
  }

  /** Insert with no validation (seed loading, sandbox bookkeeping). Returns the new id. */
  insertUnchecked(type: string, values: Rec, at?: number, id?: string): string {
    const table = this.table(type);
    if (table === undefined) throw new Error(`unknown sObject ${type}`);
    const newId = id ?? this.newId(table.keyPrefix);
    const rec = this.baseRecord(table, newId, at ?? this.now().getTime(), this.apiUserId);
    Object.assign(rec, values);
    this.derive(table, rec, undefined, at ?? this.now().getTime());
    table.records.set(newId, rec);
    table.reindex(undefined, rec);
    table.trackStamp(rec);
    return newId;
  }

  private baseRecord(table: SObjectTable, id: string, at: number, actor: string): Rec {
    const stamp = formatDateTime(at);
    const rec: Rec = {};
    for (const f of table.fields.values()) rec[f.name] = f.defaultValue;
    rec.Id = id;
    rec.IsDeleted = false;
    rec.CreatedDate = stamp;
    rec.CreatedById = actor;
    rec.LastModifiedDate = stamp;
    rec.LastModifiedById = actor;
    rec.SystemModstamp = stamp;
    if (table.field('OwnerId') !== undefined) rec.OwnerId = actor;
    return rec;
  }

  /** Derived / system-maintained fields (Name, IsClosed, IsWon, ClosedDate, CaseNumber). */
  private derive(table: SObjectTable, rec: Rec, before: Rec | undefined, at: number): void {
    switch (table.name) {
      case 'Contact':
      case 'Lead':
      case 'User':
        rec.Name = [rec.FirstName, rec.LastName].filter((v) => typeof v === 'string' && v !== '').join(' ');
        break;
      case 'Opportunity': {
        const stage = OPPORTUNITY_STAGES.find((s) => s.label === rec.StageName);
        rec.IsClosed = stage?.closed ?? false;
        rec.IsWon = stage?.won ?? false;
        if (before === undefined || before.StageName !== rec.StageName) {
          if (stage !== undefined && (before === undefined ? rec.Probability === null : true))
            rec.Probability = stage.probability;
        }
        break;
      }
      case 'Case': {
        const closed = rec.Status === 'Closed';
        if (closed && before?.IsClosed !== true && rec.ClosedDate === null)
          rec.ClosedDate = formatDateTime(at);
        if (!closed) rec.ClosedDate = null;
        rec.IsClosed = closed;
        if (rec.CaseNumber === null || rec.CaseNumber === undefined)
          rec.CaseNumber = String(++this.caseNumber).padStart(8, '0');
        break;
      }
      case 'Task':
        rec.IsClosed = rec.Status === 'Completed';
        break;
      default:
        break;
    }
  }

  /**
   * Validate one record write the way the REST API does, without changing anything: returns the
   * coerced values or the per-record errors (the `errors` of a SaveResult).
   */
  prepare(
    typeName: string,
    input: Record<string, unknown>,
    mode: 'create' | 'update',
    id: string | undefined,
    opts: WriteOptions,
  ): Prepared {
    const table = this.table(typeName);
    if (table === undefined) {
      return {
        ok: false,
        errors: [
          { statusCode: 'INVALID_TYPE', message: `sObject type '${typeName}' is not supported.`, fields: [] },
        ],
      };
    }
    let existing: Rec | undefined;
    let id18: string | undefined;
    if (mode === 'update') {
      id18 = id === undefined ? undefined : toId18(id);
      if (id18 === undefined || !id18.startsWith(table.keyPrefix)) {
        return {
          ok: false,
          errors: [
            {
              statusCode: 'MALFORMED_ID',
              message: `${table.label} ID: id value of incorrect type: ${String(id)}`,
              fields: ['Id'],
            },
          ],
        };
      }
      existing = table.records.get(id18);
      if (existing === undefined) {
        return {
          ok: false,
          errors: [
            { statusCode: 'INVALID_CROSS_REFERENCE_KEY', message: 'invalid cross reference id', fields: [] },
          ],
        };
      }
      if (existing.IsDeleted === true) {
        return {
          ok: false,
          errors: [{ statusCode: 'ENTITY_IS_DELETED', message: 'entity is deleted', fields: [] }],
        };
      }
      if (table.name === 'Lead' && existing.IsConverted === true) {
        return {
          ok: false,
          errors: [
            {
              statusCode: 'CANNOT_UPDATE_CONVERTED_LEAD',
              message: 'cannot reference converted lead',
              fields: [],
            },
          ],
        };
      }
    }
    const values: Rec = {};
    const errors: SaveError[] = [];
    const readOnly: string[] = [];
    for (const [key, raw] of Object.entries(input)) {
      if (key === 'attributes' || (key.toLowerCase() === 'id' && mode === 'update')) continue;
      const f = table.field(key);
      if (f === undefined || (opts.enforceFls && !this.canRead(table, f))) {
        errors.push({
          statusCode: 'INVALID_FIELD',
          message: `No such column '${key}' on sobject of type ${table.name}`,
          fields: [],
        });
        continue;
      }
      const allowed = mode === 'create' ? f.createable : f.updateable;
      if (!allowed || (opts.enforceFls && !this.canEdit(table, f))) {
        readOnly.push(f.name);
        continue;
      }
      const c = coerce(f, raw, opts.fromCsv === true);
      if ('error' in c) {
        errors.push(c.error);
        continue;
      }
      if (f.type === 'reference' && c.value !== null) {
        const refError = this.checkReference(f, String(c.value));
        if (typeof refError !== 'string') {
          errors.push(refError);
          continue;
        }
        c.value = refError;
      }
      values[f.name] = c.value;
    }
    if (readOnly.length > 0) {
      errors.push({
        statusCode: 'INVALID_FIELD_FOR_INSERT_UPDATE',
        message: `Unable to ${mode} fields: ${readOnly.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
        fields: readOnly,
      });
    }
    if (errors.length > 0) return { ok: false, errors };
    if (table.name === 'PermissionSetAssignment' && mode === 'create') {
      const dup = [...table.records.values()].find(
        (a) =>
          a.IsDeleted !== true &&
          a.AssigneeId === values.AssigneeId &&
          a.PermissionSetId === values.PermissionSetId,
      );
      if (dup !== undefined) {
        return {
          ok: false,
          errors: [
            {
              statusCode: 'DUPLICATE_VALUE',
              message: `Duplicate PermissionSetAssignment. Assignee: ${String(values.AssigneeId)}; Permission Set: ${String(values.PermissionSetId)}`,
              fields: [],
            },
          ],
        };
      }
    }
    const missing = [...table.fields.values()]
      .filter(
        (f) =>
          f.required &&
          (mode === 'create'
            ? values[f.name] === undefined || values[f.name] === null
            : values[f.name] === null),
      )
      .map((f) => f.name);
    if (missing.length > 0) {
      return {
        ok: false,
        errors: [
          {
            statusCode: 'REQUIRED_FIELD_MISSING',
            message: `Required fields are missing: [${missing.join(', ')}]`,
            fields: missing,
          },
        ],
      };
    }
    for (const f of table.fields.values()) {
      if (!f.unique) continue;
      const v = values[f.name];
      if (v === undefined || v === null) continue;
      const other = table.uniqueIndex(f).get(String(v).toLowerCase());
      if (other !== undefined && other !== id18) {
        return {
          ok: false,
          errors: [
            {
              statusCode: 'DUPLICATE_VALUE',
              message: `duplicate value found: ${f.name} duplicates value on record with id: ${other}`,
              fields: [f.name],
            },
          ],
        };
      }
    }
    return { ok: true, table, id: id18, values };
  }

  /** A reference must be an id of one of the allowed objects that exists (18-char normalised). */
  private checkReference(f: FieldDef, raw: string): string | SaveError {
    const id = toId18(raw);
    const target =
      id === undefined
        ? undefined
        : f.referenceTo.map((t) => this.table(t)).find((t) => t !== undefined && id.startsWith(t.keyPrefix));
    if (id === undefined || target === undefined) {
      return {
        statusCode: 'MALFORMED_ID',
        message: `${f.label}: id value of incorrect type: ${raw}`,
        fields: [f.name],
      };
    }
    const rec = target.records.get(id);
    if (rec === undefined || rec.IsDeleted === true) {
      return {
        statusCode: 'INVALID_CROSS_REFERENCE_KEY',
        message: `${f.label}: invalid cross reference id`,
        fields: [f.name],
      };
    }
    return id;
  }

  /** Apply a prepared write; returns the record id. */
  commit(p: Extract<Prepared, { ok: true }>, opts: WriteOptions): string {
    const at = opts.at ?? this.now().getTime();
    const actor = opts.actorId ?? this.apiUserId;
    const stamp = formatDateTime(at);
    const { table } = p;
    if (p.id === undefined) {
      const id = this.newId(table.keyPrefix);
      const rec = this.baseRecord(table, id, at, actor);
      Object.assign(rec, p.values);
      this.derive(table, rec, undefined, at);
      table.records.set(id, rec);
      table.reindex(undefined, rec);
      table.trackStamp(rec);
      this.log(table.name, id, 'create', opts.via, stamp, p.values);
      if (table.name === 'PermissionSetAssignment') this.recomputeGrants();
      return id;
    }
    const rec = table.records.get(p.id);
    if (rec === undefined) throw new Error(`record ${p.id} vanished`);
    const before = { ...rec };
    Object.assign(rec, p.values);
    rec.LastModifiedDate = stamp;
    rec.LastModifiedById = actor;
    rec.SystemModstamp = stamp;
    this.derive(table, rec, before, at);
    table.reindex(before, rec);
    table.trackStamp(rec);
    this.log(table.name, p.id, 'update', opts.via, stamp, p.values);
    return p.id;
  }

  /** Soft delete into the recycle bin: IsDeleted=true, still returned by queryAll. */
  softDelete(typeName: string, id: string, via: WriteVia, at?: number): SaveError | undefined {
    const table = this.table(typeName);
    const id18 = toId18(id);
    const rec = table === undefined || id18 === undefined ? undefined : table.records.get(id18);
    if (table === undefined || rec === undefined) {
      return { statusCode: 'INVALID_CROSS_REFERENCE_KEY', message: 'invalid cross reference id', fields: [] };
    }
    if (rec.IsDeleted === true)
      return { statusCode: 'ENTITY_IS_DELETED', message: 'entity is deleted', fields: [] };
    const before = { ...rec };
    const stamp = formatDateTime(at ?? this.now().getTime());
    rec.IsDeleted = true;
    rec.SystemModstamp = stamp;
    rec.LastModifiedDate = stamp;
    table.reindex(before, rec);
    table.trackStamp(rec);
    this.log(table.name, rec.Id as string, 'delete', via, stamp, {});
    if (table.name === 'PermissionSetAssignment') this.recomputeGrants();
    return undefined;
  }

  private log(
    sobject: string,
    id: string,
    op: WriteLogEntry['op'],
    via: WriteVia,
    at: string,
    values: Rec,
  ): void {
    this.writes.push({ seq: ++this.writeSeq, at, sobject, id, op, via, values });
  }

  /** Find one record by id across tables (18- or 15-char). */
  findById(id: string): { table: SObjectTable; rec: Rec } | undefined {
    const id18 = toId18(id);
    if (id18 === undefined) return undefined;
    for (const table of this.tables.values()) {
      if (!id18.startsWith(table.keyPrefix)) continue;
      const rec = table.records.get(id18);
      if (rec !== undefined) return { table, rec };
    }
    return undefined;
  }

  /** Count of live records per sObject (for tests and the CLI banner). */
  recordCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const t of this.tables.values()) {
      let n = 0;
      for (const r of t.records.values()) if (r.IsDeleted !== true) n++;
      out[t.name] = n;
    }
    return out;
  }
}

export const ORG_KEY_PREFIX = KEY_PREFIXES.Organization;
