/**
 * Compiles a parsed SOQL query against the org's schema (field-level security applied: fields
 * the API user cannot see are INVALID_FIELD, exactly like a missing column) and runs it.
 * Runs once per query: filter O(n), then a full sort or, with a LIMIT, a bounded top-k, so paging
 * through a 200k-row result costs one sort; pages are slices of the cached rows (see cursors.ts).
 */
import { toId18 } from './ids.js';
import type { FieldDef } from './schema.js';
import { parseSoql, SoqlError, soqlErrorMessage } from './soql.js';
import type { Cond, FieldRef, Literal, SoqlQuery } from './soql.js';
import type { SalesforceState } from './state.js';
import type { SObjectTable, StampEntry } from './table.js';
import { formatDateTime } from './wire.js';
import type { Rec, Value } from './wire.js';

export interface Column {
  /** Path as written in canonical case, e.g. ['Owner', 'Email']. */
  path: string[];
  /** Header for Bulk CSV: canonical dotted name. */
  name: string;
  field: FieldDef;
  /** For relationship columns: the relationship (reference) field and target table. */
  via?: { field: FieldDef; target: SObjectTable };
  get(rec: Rec): Value;
}

export interface CompiledQuery {
  soql: string;
  query: SoqlQuery;
  table: SObjectTable;
  columns: Column[];
}

export interface QueryResult {
  compiled: CompiledQuery;
  rows: Rec[];
}

type Getter = (rec: Rec) => Value;

function noSuchColumn(soql: string, ref: FieldRef, table: SObjectTable): never {
  throw new SoqlError(
    'INVALID_FIELD',
    soqlErrorMessage(
      soql,
      ref.col,
      `No such column '${ref.path[ref.path.length - 1] ?? ref.text}' on entity '${table.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
    ),
  );
}

function resolveColumn(state: SalesforceState, soql: string, table: SObjectTable, ref: FieldRef): Column {
  if (ref.path.length === 1) {
    const f = table.field(ref.text);
    if (f === undefined || !state.canRead(table, f)) noSuchColumn(soql, ref, table);
    const name = f.name;
    return { path: [name], name, field: f, get: (rec) => rec[name] ?? null };
  }
  const [relName = '', fieldName = ''] = ref.path;
  const relField = [...table.fields.values()].find(
    (f) => f.relationshipName?.toLowerCase() === relName.toLowerCase(),
  );
  if (relField === undefined || !state.canRead(table, relField)) {
    throw new SoqlError(
      'INVALID_FIELD',
      soqlErrorMessage(
        soql,
        ref.col,
        `Didn't understand relationship '${relName}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.`,
      ),
    );
  }
  const targets = relField.referenceTo
    .map((t) => state.table(t))
    .filter((t): t is SObjectTable => t !== undefined);
  const target = targets[0];
  const f = target?.field(fieldName);
  if (target === undefined || f === undefined || !state.canRead(target, f))
    noSuchColumn(soql, ref, target ?? table);
  const refName = relField.name;
  const name = f.name;
  const get: Getter = (rec) => {
    const id = rec[refName];
    if (typeof id !== 'string') return null;
    for (const t of targets) {
      if (!id.startsWith(t.keyPrefix)) continue;
      return t.records.get(id)?.[name] ?? null;
    }
    return null;
  };
  return {
    path: [relField.relationshipName ?? relName, name],
    name: `${relField.relationshipName ?? relName}.${name}`,
    field: f,
    via: { field: relField, target },
    get,
  };
}

const TEXT_TYPES = new Set(['string', 'email', 'picklist', 'multipicklist', 'textarea', 'url', 'phone']);
const NUMBER_TYPES = new Set(['int', 'double', 'currency', 'percent']);

function startOfDayUtc(ms: number, addDays = 0): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + addDays);
}

/** Range [from, to) in ms for a date literal (UTC: the API user's time zone is GMT here). */
function dateLiteralRange(lit: Extract<Literal, { t: 'dateLiteral' }>, now: number): [number, number] {
  switch (lit.name) {
    case 'TODAY':
      return [startOfDayUtc(now), startOfDayUtc(now, 1)];
    case 'YESTERDAY':
      return [startOfDayUtc(now, -1), startOfDayUtc(now)];
    case 'TOMORROW':
      return [startOfDayUtc(now, 1), startOfDayUtc(now, 2)];
    case 'LAST_N_DAYS':
      return [startOfDayUtc(now, -lit.n), startOfDayUtc(now, 1)];
    case 'NEXT_N_DAYS':
      return [startOfDayUtc(now, 1), startOfDayUtc(now, lit.n + 1)];
    default:
      return [startOfDayUtc(now, -lit.n), startOfDayUtc(now, -lit.n + 1)];
  }
}

/** Turn a literal into the stored representation of the column's type, or refuse like SF does. */
function literalFor(soql: string, col: Column, ref: FieldRef, lit: Literal): Value {
  const f = col.field;
  const wrong = (expected: string, quoted: boolean): never => {
    throw new SoqlError(
      'INVALID_FIELD',
      soqlErrorMessage(
        soql,
        ref.col,
        `value of filter criterion for field '${f.name}' must be of type ${expected} and should ${quoted ? '' : 'not '}be enclosed in quotes`,
      ),
    );
  };
  if (lit.t === 'null') return null;
  switch (f.type) {
    case 'datetime':
      if (lit.t !== 'datetime') return wrong('dateTime', false);
      return formatDateTime(lit.v);
    case 'date':
      if (lit.t !== 'date') return wrong('date', false);
      return lit.v;
    case 'boolean':
      if (lit.t !== 'bool') return wrong('boolean', false);
      return lit.v;
    case 'id':
    case 'reference': {
      if (lit.t !== 'string') return wrong('string', true);
      const id = toId18(lit.v);
      if (id === undefined) {
        throw new SoqlError('INVALID_FIELD', soqlErrorMessage(soql, ref.col, `invalid ID field: ${lit.v}`));
      }
      return id;
    }
    default:
      if (NUMBER_TYPES.has(f.type)) {
        if (lit.t !== 'number') return wrong('number', false);
        return lit.v;
      }
      if (lit.t !== 'string') return wrong('string', true);
      return lit.v;
  }
}

function compareValues(a: Value, b: Value, text: boolean): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return a ? 1 : -1;
  const sa = text ? String(a).toLowerCase() : String(a);
  const sb = text ? String(b).toLowerCase() : String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

function likeRegex(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? '';
    if (c === '\\' && (pattern[i + 1] === '%' || pattern[i + 1] === '_')) {
      re += `\\${pattern[i + 1] ?? ''}`;
      i++;
    } else if (c === '%') re += '.*';
    else if (c === '_') re += '.';
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'is');
}

function compileCond(
  state: SalesforceState,
  soql: string,
  table: SObjectTable,
  cond: Cond,
): (rec: Rec) => boolean {
  switch (cond.kind) {
    case 'and': {
      const parts = cond.items.map((c) => compileCond(state, soql, table, c));
      return (rec) => parts.every((p) => p(rec));
    }
    case 'or': {
      const parts = cond.items.map((c) => compileCond(state, soql, table, c));
      return (rec) => parts.some((p) => p(rec));
    }
    case 'not': {
      const inner = compileCond(state, soql, table, cond.item);
      return (rec) => !inner(rec);
    }
    case 'like': {
      const col = resolveColumn(state, soql, table, cond.field);
      const re = likeRegex(cond.pattern);
      return (rec) => {
        const v = col.get(rec);
        return v !== null && re.test(String(v));
      };
    }
    case 'includes': {
      const col = resolveColumn(state, soql, table, cond.field);
      const wanted = cond.values.map((v) => v.split(';').map((x) => x.toLowerCase()));
      return (rec) => {
        const v = col.get(rec);
        const have = new Set(typeof v === 'string' ? v.toLowerCase().split(';') : []);
        const hit = wanted.some((all) => all.every((x) => have.has(x)));
        return cond.not ? !hit : hit;
      };
    }
    case 'in': {
      const col = resolveColumn(state, soql, table, cond.field);
      const text = TEXT_TYPES.has(col.field.type);
      const values = new Set(
        cond.values.map((l) => {
          const v = literalFor(soql, col, cond.field, l);
          return text && typeof v === 'string' ? v.toLowerCase() : v;
        }),
      );
      return (rec) => {
        let v = col.get(rec);
        if (text && typeof v === 'string') v = v.toLowerCase();
        const hit = values.has(v);
        return cond.not ? !hit && v !== null : hit;
      };
    }
    case 'cmp': {
      const col = resolveColumn(state, soql, table, cond.field);
      const text = TEXT_TYPES.has(col.field.type);
      const lit = cond.value;
      if (lit.t === 'dateLiteral') {
        if (col.field.type !== 'date' && col.field.type !== 'datetime') {
          throw new SoqlError(
            'INVALID_FIELD',
            soqlErrorMessage(
              soql,
              cond.field.col,
              `value of filter criterion for field '${col.field.name}' must be of type ${col.field.type} and should not be enclosed in quotes`,
            ),
          );
        }
        const [from, to] = dateLiteralRange(lit, state.now().getTime());
        const asValue = (ms: number): string =>
          col.field.type === 'date' ? new Date(ms).toISOString().slice(0, 10) : formatDateTime(ms);
        const lo = asValue(from);
        const hi = asValue(to);
        const test: Record<string, (v: string) => boolean> = {
          '=': (v) => v >= lo && v < hi,
          '!=': (v) => v < lo || v >= hi,
          '<': (v) => v < lo,
          '<=': (v) => v < hi,
          '>': (v) => v >= hi,
          '>=': (v) => v >= lo,
        };
        const t = test[cond.op] ?? (() => false);
        return (rec) => {
          const v = col.get(rec);
          return typeof v === 'string' && t(v);
        };
      }
      const value = literalFor(soql, col, cond.field, lit);
      if (value === null) {
        if (cond.op !== '=' && cond.op !== '!=')
          throw new SoqlError(
            'MALFORMED_QUERY',
            soqlErrorMessage(soql, cond.field.col, 'null can only be compared with = or !='),
          );
        return cond.op === '=' ? (rec) => col.get(rec) === null : (rec) => col.get(rec) !== null;
      }
      const op = cond.op;
      return (rec) => {
        const v = col.get(rec);
        if (v === null) return op === '!=';
        const c = compareValues(v, value, text);
        switch (op) {
          case '=':
            return c === 0;
          case '!=':
            return c !== 0;
          case '<':
            return c < 0;
          case '<=':
            return c <= 0;
          case '>':
            return c > 0;
          default:
            return c >= 0;
        }
      };
    }
  }
}

export function compileQuery(
  state: SalesforceState,
  soql: string,
): CompiledQuery & { where: (rec: Rec) => boolean; order: ((a: Rec, b: Rec) => number) | undefined } {
  const query = parseSoql(soql);
  const table = state.table(query.from);
  if (table === undefined) {
    throw new SoqlError(
      'INVALID_TYPE',
      soqlErrorMessage(
        soql,
        query.fromCol,
        `sObject type '${query.from}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
      ),
    );
  }
  const columns = query.fields.map((ref) => resolveColumn(state, soql, table, ref));
  const where = query.where === undefined ? () => true : compileCond(state, soql, table, query.where);
  let order: ((a: Rec, b: Rec) => number) | undefined;
  if (query.orderBy.length > 0) {
    const keys = query.orderBy.map((o) => {
      const col = resolveColumn(state, soql, table, o.field);
      return { get: col.get, text: TEXT_TYPES.has(col.field.type), desc: o.desc, nullsLast: o.nullsLast };
    });
    order = (a, b) => {
      for (const k of keys) {
        const va = k.get(a);
        const vb = k.get(b);
        if (va === vb) continue;
        if (va === null) return k.nullsLast ? 1 : -1;
        if (vb === null) return k.nullsLast ? -1 : 1;
        const c = compareValues(va, vb, k.text);
        if (c !== 0) return k.desc ? -c : c;
      }
      return 0;
    };
  }
  return { soql, query, table, columns, where, order };
}

/** Bounded top-k selection: O(n log k) comparisons, keeps the first k rows in order. */
function topK(rows: Iterable<Rec>, k: number, cmp: (a: Rec, b: Rec) => number): Rec[] {
  const best: Rec[] = [];
  for (const r of rows) {
    if (best.length === k) {
      const last = best[k - 1];
      if (last === undefined || cmp(r, last) >= 0) continue;
    }
    let lo = 0;
    let hi = best.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cmp(best[mid] as Rec, r) <= 0) lo = mid + 1;
      else hi = mid;
    }
    best.splice(lo, 0, r);
    if (best.length > k) best.pop();
  }
  return best;
}

/**
 * Lowest SystemModstamp (stored text) a row can have to satisfy the WHERE clause, when the clause
 * implies one (`SystemModstamp > t`, `>= t`, `= t`, through AND and OR): lets the indexed path
 * start with a binary search instead of scanning from the oldest row.
 */
function stampLowerBound(cond: Cond | undefined): string | undefined {
  if (cond === undefined) return undefined;
  switch (cond.kind) {
    case 'cmp': {
      const onStamp = cond.field.path.length === 1 && cond.field.text.toLowerCase() === 'systemmodstamp';
      if (!onStamp || cond.value.t !== 'datetime' || !['>', '>=', '='].includes(cond.op)) return undefined;
      return formatDateTime(cond.value.v);
    }
    case 'and': {
      const bounds = cond.items.map(stampLowerBound).filter((b): b is string => b !== undefined);
      return bounds.length === 0 ? undefined : bounds.reduce((a, b) => (a > b ? a : b));
    }
    case 'or': {
      const bounds = cond.items.map(stampLowerBound);
      if (bounds.some((b) => b === undefined)) return undefined;
      return (bounds as string[]).reduce((a, b) => (a < b ? a : b));
    }
    default:
      return undefined;
  }
}

/** ORDER BY SystemModstamp [ASC] [, Id [ASC]]: the order the table's stamp index keeps. */
function ordersByStamp(query: SoqlQuery): boolean {
  const [first, second, ...rest] = query.orderBy;
  if (first === undefined || rest.length > 0) return false;
  const is = (o: typeof first, name: string): boolean =>
    !o.desc && o.field.path.length === 1 && o.field.text.toLowerCase() === name;
  return is(first, 'systemmodstamp') && (second === undefined || is(second, 'id'));
}

/** Run a query: `scanAll` (queryAll) includes soft-deleted rows, as SF's queryAll does. */
export function runQuery(state: SalesforceState, soql: string, scanAll: boolean): QueryResult {
  const c = compileQuery(state, soql);
  const { where, order, query } = c;
  const wanted = query.limit === undefined ? Infinity : query.limit + (query.offset ?? 0);
  let rows: Rec[];
  if (ordersByStamp(query)) {
    // Indexed path: walk the (SystemModstamp, Id) order from the WHERE's lower bound; stop at LIMIT.
    const entries = c.table.orderedByStamp();
    const bound = stampLowerBound(query.where);
    let lo = 0;
    if (bound !== undefined) {
      let hi = entries.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((entries[mid]?.stamp ?? '') < bound) lo = mid + 1;
        else hi = mid;
      }
    }
    rows = [];
    for (let i = lo; i < entries.length && rows.length < wanted; i++) {
      const rec = (entries[i] as StampEntry).rec;
      if (!scanAll && rec.IsDeleted === true) continue;
      if (where(rec)) rows.push(rec);
    }
  } else {
    const filtered = function* (): Generator<Rec> {
      for (const rec of c.table.records.values()) {
        if (!scanAll && rec.IsDeleted === true) continue;
        if (where(rec)) yield rec;
      }
    };
    if (order !== undefined && wanted <= 5000) {
      rows = topK(filtered(), wanted, order);
    } else {
      rows = [...filtered()];
      if (order !== undefined) rows.sort(order);
    }
  }
  const start = query.offset ?? 0;
  const end = query.limit === undefined ? undefined : start + query.limit;
  if (start > 0 || end !== undefined) rows = rows.slice(start, end);
  return { compiled: c, rows };
}
