/**
 * Saving records the way sObject Collections and the sObject resource answer: per-record
 * SaveResults in request order (`{id, success, errors:[{statusCode,message,fields}]}`), failed
 * creates without id; allOrNone=true rolls everything back and marks the valid records
 * ALL_OR_NONE_OPERATION_ROLLED_BACK (SF resources_composite_sobjects_collections_*; the rollback
 * text is unverified). Injected per-record failures answer UNABLE_TO_LOCK_ROW, the transient
 * error SF gives under lock contention.
 */
import type { SandboxContext } from './context.js';
import type { Prepared, WriteVia } from './state.js';
import type { SaveError } from './wire.js';

export interface SaveItem {
  type: string;
  input: Record<string, unknown>;
  mode: 'create' | 'update';
  id: string | undefined;
  /** Upserts report `created`. */
  upsert?: boolean;
}

export interface SaveResult {
  id?: string;
  success: boolean;
  errors: SaveError[];
  created?: boolean;
}

export const ROLLED_BACK: SaveError = {
  statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
  message: 'Record rolled back because not all records were valid and the request was using AllOrNone header',
  fields: [],
};

export function saveMany(
  ctx: SandboxContext,
  items: SaveItem[],
  allOrNone: boolean,
  via: WriteVia,
  fromCsv = false,
): SaveResult[] {
  const { state, faults } = ctx;
  const at = ctx.config.now().getTime();
  const opts = { via, enforceFls: true, at, fromCsv };
  const prepared: Prepared[] = items.map((item) => {
    if (faults.shouldFailRecord()) {
      return {
        ok: false,
        errors: [
          {
            statusCode: 'UNABLE_TO_LOCK_ROW',
            message: `unable to obtain exclusive access to this record or 1 records: ${item.id ?? ''}`.trim(),
            fields: [],
          },
        ],
      };
    }
    return state.prepare(item.type, item.input, item.mode, item.id, opts);
  });
  const failed = prepared.some((p) => !p.ok);
  const idOnFailure = (item: SaveItem, errors: SaveError[]): { id?: string } =>
    item.mode === 'update' && item.id !== undefined && errors[0]?.statusCode !== 'MALFORMED_ID'
      ? { id: item.id }
      : {};
  return prepared.map((p, i) => {
    const item = items[i] as SaveItem;
    const created = item.upsert === true ? { created: item.mode === 'create' } : {};
    if (!p.ok) return { ...idOnFailure(item, p.errors), success: false, errors: p.errors, ...created };
    if (allOrNone && failed)
      return { ...idOnFailure(item, [ROLLED_BACK]), success: false, errors: [ROLLED_BACK], ...created };
    const id = state.commit(p, opts);
    return { id, success: true, errors: [], ...created };
  });
}

/** An upsert item: update the record matching the external id, else create it. */
export function upsertItem(
  ctx: SandboxContext,
  type: string,
  extField: string,
  input: Record<string, unknown>,
): SaveItem | SaveError {
  const table = ctx.state.table(type);
  if (table === undefined)
    return { statusCode: 'INVALID_TYPE', message: `sObject type '${type}' is not supported.`, fields: [] };
  const f = table.field(extField);
  if (f === undefined || !ctx.state.canRead(table, f) || !(f.externalId || f.name === 'Id')) {
    return {
      statusCode: 'INVALID_FIELD',
      message: `Field ${extField} is not an External ID or Id field`,
      fields: [extField],
    };
  }
  const key = Object.keys(input).find((k) => k.toLowerCase() === f.name.toLowerCase());
  const value = key === undefined ? undefined : input[key];
  if (value === undefined || value === null || value === '') {
    return { statusCode: 'MISSING_ARGUMENT', message: `${f.name} not specified`, fields: [] };
  }
  const existing = f.name === 'Id' ? String(value) : table.uniqueIndex(f).get(String(value).toLowerCase());
  if (existing !== undefined && table.records.get(existing)?.IsDeleted !== true) {
    const rest = { ...input };
    if (f.name === 'Id' && key !== undefined) delete rest[key];
    return { type: table.name, input: rest, mode: 'update', id: existing, upsert: true };
  }
  return { type: table.name, input, mode: 'create', id: undefined, upsert: true };
}
