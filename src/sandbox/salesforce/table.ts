/**
 * One sObject's records and field metadata. Records are plain objects keyed by the field's
 * canonical API name; lookups by name are case-insensitive like SOQL and the REST API.
 * Unique / External ID fields keep a value → id index (case-insensitive, like SF text external ids).
 */
import type { FieldDef, SObjectDef } from './schema.js';
import type { Rec } from './wire.js';

export class SObjectTable {
  readonly name: string;
  readonly label: string;
  readonly keyPrefix: string;
  readonly customizable: boolean;
  readonly fields = new Map<string, FieldDef>();
  readonly records = new Map<string, Rec>();
  private readonly uniqueIndexes = new Map<string, Map<string, string>>();

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
    this.fields.set(f.name.toLowerCase(), f);
    this.uniqueIndexes.delete(f.name.toLowerCase());
  }

  removeField(name: string): void {
    const f = this.field(name);
    if (f === undefined) return;
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

  clearIndexes(): void {
    this.uniqueIndexes.clear();
  }
}
