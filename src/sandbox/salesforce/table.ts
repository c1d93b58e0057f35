/**
 * One sObject's records and field metadata. Records are plain objects keyed by the field's
 * canonical API name; lookups by name are case-insensitive like SOQL and the REST API.
 * Unique / External ID fields keep a value → id index (case-insensitive, like SF text external ids).
 */
import type { FieldDef, SObjectDef } from './schema.js';
import type { Rec } from './wire.js';

/** One position in the (SystemModstamp, Id) order; stale once the record's stamp moves on. */
export interface StampEntry {
  stamp: string;
  id: string;
  rec: Rec;
}

const byStampThenId = (a: StampEntry, b: StampEntry): number =>
  a.stamp < b.stamp ? -1 : a.stamp > b.stamp ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

export class SObjectTable {
  readonly name: string;
  readonly label: string;
  readonly keyPrefix: string;
  readonly customizable: boolean;
  readonly fields = new Map<string, FieldDef>();
  readonly records = new Map<string, Rec>();
  private readonly uniqueIndexes = new Map<string, Map<string, string>>();
  /** Bumped when fields are added or removed. */
  fieldsVersion = 0;
  readableCache: { version: number; fields: FieldDef[] } | undefined;
  /**
   * Records in (SystemModstamp, Id) order for incremental-sync queries: writes append an entry
   * (the old one goes stale); a query sorts only the appended tail and merges, so paging a
   * 200k-row table by SystemModstamp never re-sorts the whole table.
   */
  private stampEntries: StampEntry[] = [];
  private readonly currentEntry = new Map<string, StampEntry>();
  private sortedUpTo = 0;
  private staleEntries = 0;

  constructor(def: SObjectDef) {
    this.name = def.name;
    this.label = def.label;
    this.keyPrefix = def.keyPrefix;
    this.customizable = def.customizable;
    for (const f of def.fields) this.fields.set(f.name.toLowerCase(), f);
  }

  field(name: string): FieldDef | undefined {
    return this.fields.get(name.toLowerCase());
  }

  addField(f: FieldDef): void {
    this.fieldsVersion++;
    this.fields.set(f.name.toLowerCase(), f);
    this.uniqueIndexes.delete(f.name.toLowerCase());
  }

  removeField(name: string): void {
    const f = this.field(name);
    if (f === undefined) return;
    this.fieldsVersion++;
    this.fields.delete(name.toLowerCase());
    this.uniqueIndexes.delete(name.toLowerCase());
    for (const rec of this.records.values()) delete rec[f.name];
  }

  /** value → record id for a unique or External ID field, built on first use and kept current. */
  uniqueIndex(f: FieldDef): Map<string, string> {
    const key = f.name.toLowerCase();
    let index = this.uniqueIndexes.get(key);
    if (index === undefined) {
      index = new Map();
      for (const rec of this.records.values()) {
        const v = rec[f.name];
        if (v !== null && v !== undefined && rec.IsDeleted !== true)
          index.set(String(v).toLowerCase(), rec.Id as string);
      }
      this.uniqueIndexes.set(key, index);
    }
    return index;
  }

  /** Keep unique indexes current after a record's values change. */
  reindex(before: Rec | undefined, after: Rec): void {
    for (const [key, index] of this.uniqueIndexes) {
      const f = this.fields.get(key);
      if (f === undefined) continue;
      const old = before?.[f.name];
      if (old !== null && old !== undefined) index.delete(String(old).toLowerCase());
      const now = after[f.name];
      if (now !== null && now !== undefined && after.IsDeleted !== true)
        index.set(String(now).toLowerCase(), after.Id as string);
    }
  }

  /** Call after a record's SystemModstamp was set (insert, update, delete). */
  trackStamp(rec: Rec): void {
    const id = rec.Id as string;
    const stamp = rec.SystemModstamp as string;
    const old = this.currentEntry.get(id);
    if (old !== undefined) {
      if (old.stamp === stamp) return;
      this.staleEntries++;
    }
    const entry = { stamp, id, rec };
    this.stampEntries.push(entry);
    this.currentEntry.set(id, entry);
  }

  /** Live entries in (SystemModstamp, Id) order. */
  orderedByStamp(): StampEntry[] {
    if (this.sortedUpTo === this.stampEntries.length && this.staleEntries === 0) return this.stampEntries;
    const live = (e: StampEntry): boolean => this.currentEntry.get(e.id) === e;
    let head = this.stampEntries.slice(0, this.sortedUpTo);
    if (this.staleEntries > 0) head = head.filter(live);
    const tail = this.stampEntries.slice(this.sortedUpTo).filter(live).sort(byStampThenId);
    const lastHead = head[head.length - 1];
    const firstTail = tail[0];
    let merged: StampEntry[];
    if (lastHead === undefined || firstTail === undefined || byStampThenId(lastHead, firstTail) <= 0) {
      merged = head.concat(tail);
    } else {
      merged = new Array<StampEntry>(head.length + tail.length);
      let i = 0;
      let j = 0;
      let k = 0;
      while (i < head.length && j < tail.length) {
        merged[k++] =
          byStampThenId(head[i] as StampEntry, tail[j] as StampEntry) <= 0
            ? (head[i++] as StampEntry)
            : (tail[j++] as StampEntry);
      }
      while (i < head.length) merged[k++] = head[i++] as StampEntry;
      while (j < tail.length) merged[k++] = tail[j++] as StampEntry;
    }
    this.stampEntries = merged;
    this.sortedUpTo = merged.length;
    this.staleEntries = 0;
    return merged;
  }

  clearIndexes(): void {
    this.uniqueIndexes.clear();
  }
}
