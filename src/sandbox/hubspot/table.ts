/**
 * One object type's records, sized for 1,000,000 contacts: records live in a Map keyed by numeric
 * id (HubSpot ids are numeric strings), property bags are plain objects holding only set values,
 * and the system properties (hs_object_id, createdate, hs_lastmodifieddate) are derived on read
 * from fields of the record instead of being stored as strings on every record.
 *
 * A last-modified index (append-only for a monotonic clock, lazily compacted) lets the incremental
 * search `hs_lastmodifieddate > X` start at X instead of scanning every record.
 */
import type { ObjectType } from './wire.js';

export interface HsRecord {
  num: number;
  props: Record<string, string>;
  createdMs: number;
  updatedMs: number;
  archived: boolean;
  archivedMs: number;
  /** Merged contacts: the surviving record's id. */
  mergedInto: number;
  /** Bumped on each write; index entries of older versions are stale. */
  version: number;
  /** Indexing lag: when this version becomes visible to search, and what search saw before. */
  visibleMs: number;
  snapshot: SearchSnapshot | null;
}

export interface SearchSnapshot {
  num: number;
  props: Record<string, string>;
  createdMs: number;
  updatedMs: number;
}

/** Distinct id ranges per type so an id of one type never silently resolves as another. */
const ID_BASE: Record<ObjectType, number> = {
  contacts: 1,
  companies: 200_000_001,
  deals: 300_000_001,
  tickets: 400_000_001,
  tasks: 500_000_001,
};

export class ObjectTable {
  readonly records = new Map<number, HsRecord>();
  /** Every id ever created, ascending (ids are allocated monotonically). */
  private readonly ids: number[] = [];
  private nextId: number;
  /** Last-modified index: parallel arrays sorted by ms. */
  private idxMs: number[] = [];
  private idxRec: HsRecord[] = [];
  private idxVer: number[] = [];
  private stale = 0;
  /** While bulk-loading, the last-modified index is rebuilt once at the end instead of per insert. */
  private bulk = false;
  /** Unique-value indexes: property → value → id. */
  readonly unique = new Map<string, Map<string, number>>();

  constructor(readonly type: ObjectType) {
    this.nextId = ID_BASE[type];
  }

  get size(): number {
    return this.records.size;
  }

  allocateId(): number {
    return this.nextId++;
  }

  insert(rec: HsRecord): void {
    this.records.set(rec.num, rec);
    this.ids.push(rec.num);
    this.index(rec);
  }

  beginBulk(): void {
    this.bulk = true;
  }

  endBulk(): void {
    this.bulk = false;
    const recs = [...this.records.values()].sort((a, b) => a.updatedMs - b.updatedMs);
    this.idxRec = recs;
    this.idxMs = recs.map((r) => r.updatedMs);
    this.idxVer = recs.map((r) => r.version);
    this.stale = 0;
  }

  /** Record a new version of `rec` in the last-modified index. */
  index(rec: HsRecord): void {
    if (rec.version > 0) this.stale++;
    rec.version++;
    if (this.bulk) return;
    const ms = rec.updatedMs;
    const n = this.idxMs.length;
    if (n === 0 || (this.idxMs[n - 1] ?? 0) <= ms) {
      this.idxMs.push(ms);
      this.idxRec.push(rec);
      this.idxVer.push(rec.version);
    } else {
      const at = this.lowerBound(ms + 1);
      this.idxMs.splice(at, 0, ms);
      this.idxRec.splice(at, 0, rec);
      this.idxVer.splice(at, 0, rec.version);
    }
    if (this.stale > 1024 && this.stale > this.idxMs.length / 2) this.compact();
  }

  private compact(): void {
    const ms: number[] = [];
    const recs: HsRecord[] = [];
    const vers: number[] = [];
    for (let i = 0; i < this.idxMs.length; i++) {
      const r = this.idxRec[i];
      if (r !== undefined && r.version === this.idxVer[i]) {
        ms.push(this.idxMs[i] ?? 0);
        recs.push(r);
        vers.push(r.version);
      }
    }
    this.idxMs = ms;
    this.idxRec = recs;
    this.idxVer = vers;
    this.stale = 0;
  }

  /** First index position whose ms ≥ `ms`. */
  private lowerBound(ms: number): number {
    let lo = 0;
    let hi = this.idxMs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.idxMs[mid] ?? 0) < ms) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Current records with updatedMs in [fromMs, toMs], in last-modified order. */
  *byModified(fromMs: number, toMs: number, descending: boolean): Generator<HsRecord> {
    const start = this.lowerBound(fromMs);
    const end = this.lowerBound(toMs + 1);
    if (!descending) {
      for (let i = start; i < end; i++) {
        const r = this.idxRec[i];
        if (r !== undefined && r.version === this.idxVer[i]) yield r;
      }
    } else {
      for (let i = end - 1; i >= start; i--) {
        const r = this.idxRec[i];
        if (r !== undefined && r.version === this.idxVer[i]) yield r;
      }
    }
  }

  /** Records in id order starting at the first id ≥ `fromId`. */
  *byId(fromId: number): Generator<HsRecord> {
    let lo = 0;
    let hi = this.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.ids[mid] ?? 0) < fromId) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.ids.length; i++) {
      const r = this.records.get(this.ids[i] ?? 0);
      if (r !== undefined) yield r;
    }
  }

  uniqueIndex(prop: string): Map<string, number> {
    let m = this.unique.get(prop);
    if (m === undefined) {
      m = new Map();
      this.unique.set(prop, m);
    }
    return m;
  }
}

export function parseId(id: unknown): number | undefined {
  if (typeof id === 'number') return Number.isSafeInteger(id) && id > 0 ? id : undefined;
  if (typeof id !== 'string' || !/^\d{1,15}$/.test(id)) return undefined;
  const n = Number(id);
  return n > 0 ? n : undefined;
}
