/**
 * CRM search (`POST /crm/v3/objects/{type}/search`), API_FACTS §CRM v3 Search: filterGroups ANDed
 * inside a group and ORed across groups (max 5 groups × 6 filters, 18 in total), one sort,
 * limit ≤ 200 (default 10), `after` an integer offset string, at most 10,000 results reachable by
 * paging (beyond → 400), archived records never returned, fresh writes visible only after the
 * configured indexing lag.
 */
import { z } from 'zod';
import {
  findByUnique,
  isUniqueProperty,
  readProp,
  toWire,
  type CrmContext,
  type SnapshotView,
  type WireObject,
} from './crm.js';
import { CREATE_DATE, parseDateTime, type PropertyDef } from './schema.js';
import type { HsRecord } from './table.js';
import { objectTypeOf, validationError, type ObjectType } from './wire.js';

export const SEARCH_MAX_LIMIT = 200;
export const SEARCH_RESULT_CAP = 10_000;
export const MAX_FILTER_GROUPS = 5;
export const MAX_FILTERS_PER_GROUP = 6;
export const MAX_FILTERS_TOTAL = 18;
export const MAX_QUERY_LENGTH = 3_000;

const OPERATORS = [
  'EQ',
  'NEQ',
  'LT',
  'LTE',
  'GT',
  'GTE',
  'BETWEEN',
  'IN',
  'NOT_IN',
  'HAS_PROPERTY',
  'NOT_HAS_PROPERTY',
  'CONTAINS_TOKEN',
  'NOT_CONTAINS_TOKEN',
] as const;

const scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String);

const FilterSchema = z.object({
  propertyName: z.string().min(1),
  operator: z.enum(OPERATORS),
  value: scalar.optional(),
  highValue: scalar.optional(),
  values: z.array(scalar).optional(),
});
type Filter = z.infer<typeof FilterSchema>;

const SortSchema = z.union([
  z.object({
    propertyName: z.string().min(1),
    direction: z.enum(['ASCENDING', 'DESCENDING']).default('ASCENDING'),
  }),
  // The SDK README passes sorts as strings ("-createdate" = descending).
  z
    .string()
    .transform((s) =>
      s.startsWith('-')
        ? { propertyName: s.slice(1), direction: 'DESCENDING' as const }
        : { propertyName: s, direction: 'ASCENDING' as const },
    ),
]);

export const SearchRequestSchema = z.object({
  filterGroups: z.array(z.object({ filters: z.array(FilterSchema).default([]) })).default([]),
  sorts: z.array(SortSchema).default([]),
  properties: z.array(z.string()).optional(),
  query: z.string().optional(),
  limit: z.coerce.number().int().min(0).optional(),
  after: z.union([z.string(), z.number()]).optional(),
});
export type SearchRequest = z.infer<typeof SearchRequestSchema>;

export interface SearchResponse {
  total: number;
  results: WireObject[];
  paging?: { next: { after: string } };
}

/** Properties the free-text `query` looks at (HubSpot's default searchable properties). */
const QUERY_PROPS: Record<ObjectType, readonly string[]> = {
  contacts: ['firstname', 'lastname', 'email', 'phone', 'company'],
  companies: ['name', 'domain', 'website', 'phone'],
  deals: ['dealname', 'pipeline', 'dealstage', 'description'],
  tickets: ['subject', 'content', 'hs_pipeline_stage'],
  tasks: ['hs_task_subject', 'hs_task_body'],
};

type View = HsRecord | SnapshotView;

function isNumericType(def: PropertyDef | undefined): boolean {
  return def !== undefined && (def.type === 'number' || def.type === 'date' || def.type === 'datetime');
}

function toNumber(def: PropertyDef | undefined, v: string): number {
  if (def?.type === 'number') return Number(v);
  if (def?.type === 'date' && /^\d{4}-\d{2}-\d{2}$/.test(v)) return Date.parse(`${v}T00:00:00Z`);
  return parseDateTime(v) ?? NaN;
}

function tokens(v: string): string[] {
  return v
    .toLowerCase()
    .split(/[^\p{L}\p{N}_-]+/u)
    .filter((t) => t !== '');
}

function tokenMatch(value: string, pattern: string): boolean {
  const p = pattern.toLowerCase();
  if (p.includes('*')) {
    const re = new RegExp(
      `^${p
        .split('*')
        .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    );
    return re.test(value.toLowerCase()) || tokens(value).some((t) => re.test(t));
  }
  const want = tokens(p);
  const have = new Set(tokens(value));
  return want.length > 0 && want.every((t) => have.has(t));
}

class Matcher {
  constructor(
    private readonly ctx: CrmContext,
    private readonly type: ObjectType,
  ) {}

  private def(name: string): PropertyDef | undefined {
    return this.ctx.state.properties[this.type].get(name);
  }

  private associated(rec: View, name: string, values: string[]): boolean {
    const other = objectTypeOf(name.slice('associations.'.length));
    if (other === undefined) return false;
    return values.some((v) => this.ctx.state.associations.has(this.type, rec.num, other, Number(v)));
  }

  /** Comparable value of one property: number for numeric/date ones, lower case otherwise. */
  sortKey(name: string): (rec: View) => number | string | undefined {
    const type = this.type;
    const def = this.def(name);
    if (name === 'hs_object_id') return (r) => r.num;
    if (name === CREATE_DATE[type]) return (r) => r.createdMs;
    if (name === 'hs_lastmodifieddate' || (type === 'contacts' && name === 'lastmodifieddate'))
      return (r) => r.updatedMs;
    const numeric = isNumericType(def);
    return (r) => {
      const v = r.props[name];
      if (v === undefined || v === '') return undefined;
      return numeric ? toNumber(def, v) : v.toLowerCase();
    };
  }

  /** A filter compiled once per search: values parsed up front, system dates read as numbers. */
  compile(f: Filter): (rec: View) => boolean {
    const name = f.propertyName;
    if (name.startsWith('associations.')) {
      const vals = f.values ?? (f.value === undefined ? [] : [f.value]);
      const negate = f.operator === 'NEQ' || f.operator === 'NOT_IN';
      return (rec) => this.associated(rec, name, vals) !== negate;
    }
    const type = this.type;
    const def = this.def(name);
    const system: ((r: View) => number) | undefined =
      name === 'hs_object_id'
        ? (r) => r.num
        : name === CREATE_DATE[type]
          ? (r) => r.createdMs
          : name === 'hs_lastmodifieddate' || (type === 'contacts' && name === 'lastmodifieddate')
            ? (r) => r.updatedMs
            : undefined;
    const numeric = system !== undefined || isNumericType(def);
    if (f.operator === 'CONTAINS_TOKEN' || f.operator === 'NOT_CONTAINS_TOKEN') {
      const want = f.value ?? '';
      const negate = f.operator === 'NOT_CONTAINS_TOKEN';
      return (rec) => {
        const v = readProp(type, rec, name);
        return v === null || v === '' ? negate : tokenMatch(v, want) !== negate;
      };
    }
    if (f.operator === 'HAS_PROPERTY' || f.operator === 'NOT_HAS_PROPERTY') {
      const want = f.operator === 'HAS_PROPERTY';
      return (rec) => {
        const v = system !== undefined ? 'x' : rec.props[name];
        return (v !== undefined && v !== '') === want;
      };
    }
    // Comparable form of a value: a number for numeric/date properties, lower case otherwise.
    const key = numeric
      ? (x: string): number | string => toNumber(def, x)
      : (x: string): number | string => x.toLowerCase();
    const valueOf = (rec: View): number | string | undefined => {
      if (system !== undefined) return system(rec);
      const v = rec.props[name];
      return v === undefined || v === '' ? undefined : key(v);
    };
    const target = f.value === undefined ? undefined : key(f.value);
    const high = f.highValue === undefined ? undefined : key(f.highValue);
    const set = new Set((f.values ?? []).map(key));
    const lt = (a: number | string, b: number | string | undefined): boolean => b !== undefined && a < b;
    const gt = (a: number | string, b: number | string | undefined): boolean => b !== undefined && a > b;
    switch (f.operator) {
      case 'EQ':
        return (r) => valueOf(r) === target;
      case 'NEQ':
        return (r) => valueOf(r) !== target;
      case 'LT':
        return (r) => {
          const v = valueOf(r);
          return v !== undefined && lt(v, target);
        };
      case 'LTE':
        return (r) => {
          const v = valueOf(r);
          return v !== undefined && !gt(v, target) && target !== undefined;
        };
      case 'GT':
        return (r) => {
          const v = valueOf(r);
          return v !== undefined && gt(v, target);
        };
      case 'GTE':
        return (r) => {
          const v = valueOf(r);
          return v !== undefined && !lt(v, target) && target !== undefined;
        };
      case 'BETWEEN':
        return (r) => {
          const v = valueOf(r);
          return v !== undefined && target !== undefined && high !== undefined && v >= target && v <= high;
        };
      case 'IN':
        return (r) => {
          const v = valueOf(r);
          return v !== undefined && set.has(v);
        };
      case 'NOT_IN':
        return (r) => {
          const v = valueOf(r);
          return v === undefined || !set.has(v);
        };
    }
  }

  query(rec: View, q: string): boolean {
    const needle = q.toLowerCase();
    return QUERY_PROPS[this.type].some((p) =>
      (readProp(this.type, rec, p) ?? '').toLowerCase().includes(needle),
    );
  }
}

/** The lower/upper bound on last-modified shared by every filter group, if any (index use). */
function modifiedRange(type: ObjectType, groups: { filters: Filter[] }[]): [number, number] | undefined {
  if (groups.length === 0) return undefined;
  let lo = Infinity;
  let hi = -Infinity;
  for (const g of groups) {
    let glo = -Infinity;
    let ghi = Infinity;
    for (const f of g.filters) {
      if (
        f.propertyName !== 'hs_lastmodifieddate' &&
        !(type === 'contacts' && f.propertyName === 'lastmodifieddate')
      )
        continue;
      const a = f.value === undefined ? undefined : parseDateTime(f.value);
      const b = f.highValue === undefined ? undefined : parseDateTime(f.highValue);
      if (a === undefined) continue;
      if (f.operator === 'GT') glo = Math.max(glo, a + 1);
      else if (f.operator === 'GTE' || f.operator === 'EQ') glo = Math.max(glo, a);
      else if (f.operator === 'BETWEEN') glo = Math.max(glo, a);
      if (f.operator === 'LT') ghi = Math.min(ghi, a - 1);
      else if (f.operator === 'LTE' || f.operator === 'EQ') ghi = Math.min(ghi, a);
      else if (f.operator === 'BETWEEN' && b !== undefined) ghi = Math.min(ghi, b);
    }
    if (glo === -Infinity) return undefined;
    lo = Math.min(lo, glo);
    hi = Math.max(hi, ghi);
  }
  return [lo, hi === Infinity ? Number.MAX_SAFE_INTEGER : hi];
}

/**
 * When every filter group pins a unique property (email, hs_object_id, hasUniqueValue) with EQ or
 * IN, the candidates are those records: a lookup instead of a scan of a million contacts.
 */
function uniqueCandidates(
  ctx: CrmContext,
  type: ObjectType,
  groups: { filters: Filter[] }[],
): HsRecord[] | undefined {
  if (groups.length === 0) return undefined;
  const out = new Map<number, HsRecord>();
  for (const g of groups) {
    const pin = g.filters.find(
      (f) => (f.operator === 'EQ' || f.operator === 'IN') && isUniqueProperty(ctx, type, f.propertyName),
    );
    if (pin === undefined) return undefined;
    const values = pin.operator === 'EQ' ? (pin.value === undefined ? [] : [pin.value]) : (pin.values ?? []);
    for (const v of values) {
      const rec = findByUnique(ctx, type, pin.propertyName, v);
      if (rec !== undefined) out.set(rec.num, rec);
    }
  }
  return [...out.values()];
}

function validate(req: SearchRequest): { limit: number; offset: number } {
  const groups = req.filterGroups;
  const total = groups.reduce((n, g) => n + g.filters.length, 0);
  if (
    groups.length > MAX_FILTER_GROUPS ||
    groups.some((g) => g.filters.length > MAX_FILTERS_PER_GROUP) ||
    total > MAX_FILTERS_TOTAL
  )
    throw validationError(
      `Too many filters: at most ${MAX_FILTER_GROUPS} filterGroups of ${MAX_FILTERS_PER_GROUP} filters each and ${MAX_FILTERS_TOTAL} filters in total are allowed.`,
    );
  for (const g of groups)
    for (const f of g.filters) {
      const needsValue = [
        'EQ',
        'NEQ',
        'LT',
        'LTE',
        'GT',
        'GTE',
        'BETWEEN',
        'CONTAINS_TOKEN',
        'NOT_CONTAINS_TOKEN',
      ];
      if (needsValue.includes(f.operator) && f.value === undefined)
        throw validationError(`Filter on ${f.propertyName} with operator ${f.operator} needs a value.`);
      if (f.operator === 'BETWEEN' && f.highValue === undefined)
        throw validationError(`Filter on ${f.propertyName} with operator BETWEEN needs a highValue.`);
      if (
        (f.operator === 'IN' || f.operator === 'NOT_IN') &&
        (f.values === undefined || f.values.length === 0)
      )
        throw validationError(`Filter on ${f.propertyName} with operator ${f.operator} needs values.`);
    }
  if (req.sorts.length > 1) throw validationError('Only one sort is allowed.');
  if (req.query !== undefined && req.query.length > MAX_QUERY_LENGTH)
    throw validationError(`query must be at most ${MAX_QUERY_LENGTH} characters.`);
  const limit = req.limit ?? 10;
  if (limit > SEARCH_MAX_LIMIT) throw validationError(`limit must be at most ${SEARCH_MAX_LIMIT}.`);
  const afterRaw = req.after === undefined || req.after === '' ? '0' : String(req.after);
  if (!/^\d+$/.test(afterRaw))
    throw validationError(`after must be an integer offset, got ${JSON.stringify(afterRaw)}.`);
  const offset = Number(afterRaw);
  // API_FACTS §Search: "10,000 total results cap (paging beyond → 400)".
  if (offset + Math.max(limit, 1) > SEARCH_RESULT_CAP)
    throw validationError(
      `The search API can page through at most ${SEARCH_RESULT_CAP} results; after=${offset} with limit=${limit} goes beyond it.`,
    );
  return { limit, offset };
}

export function search(ctx: CrmContext, type: ObjectType, req: SearchRequest): SearchResponse {
  const { limit, offset } = validate(req);
  const m = new Matcher(ctx, type);
  const table = ctx.state.objects[type];
  const nowMs = ctx.now().getTime();
  const lag = ctx.state.indexingLagMs > 0;
  const sort = req.sorts[0];
  const groups = req.filterGroups.filter((g) => g.filters.length > 0);
  const q = req.query?.trim();

  const view = (r: HsRecord): View | undefined => {
    if (lag && nowMs < r.visibleMs) return r.snapshot ?? undefined;
    return r.archived ? undefined : r;
  };
  const compiled = groups.map((g) => g.filters.map((f) => m.compile(f)));
  const matches = (r: View): boolean =>
    (compiled.length === 0 || compiled.some((g) => g.every((test) => test(r)))) &&
    (q === undefined || q === '' || m.query(r, q));

  const range = lag ? undefined : modifiedRange(type, groups);
  const sortsByModified =
    sort !== undefined &&
    (sort.propertyName === 'hs_lastmodifieddate' ||
      (type === 'contacts' && sort.propertyName === 'lastmodifieddate'));

  const page: View[] = [];
  let total = 0;
  if (range !== undefined && sortsByModified) {
    // Fast path for incremental sync: walk the last-modified index from the cursor time.
    for (const r of table.byModified(range[0], range[1], sort.direction === 'DESCENDING')) {
      const v = view(r);
      if (v === undefined || !matches(v)) continue;
      if (total >= offset && page.length < limit) page.push(v);
      total++;
    }
  } else {
    const pinned = lag ? undefined : uniqueCandidates(ctx, type, groups);
    const source: Iterable<HsRecord> =
      pinned ?? (range !== undefined ? table.byModified(range[0], range[1], false) : table.records.values());
    const all: View[] = [];
    for (const r of source) {
      const v = view(r);
      if (v !== undefined && matches(v)) all.push(v);
    }
    if (sort !== undefined) {
      const dir = sort.direction === 'DESCENDING' ? -1 : 1;
      // Decorate once (a number or lower-cased string per record), then sort: no parsing per compare.
      const keyOf = m.sortKey(sort.propertyName);
      const keyed = all.map((v) => ({ v, k: keyOf(v) }));
      keyed.sort((a, b) => {
        const ka = a.k;
        const kb = b.k;
        if (ka === undefined || kb === undefined || Number.isNaN(ka) || Number.isNaN(kb))
          return ka === kb ? a.v.num - b.v.num : ka === undefined || Number.isNaN(ka) ? 1 : -1;
        return ka < kb ? -dir : ka > kb ? dir : a.v.num - b.v.num;
      });
      all.length = 0;
      for (const e of keyed) all.push(e.v);
    } else if (range !== undefined || pinned !== undefined) {
      all.sort((a, b) => a.num - b.num);
    }
    total = all.length;
    page.push(...all.slice(offset, offset + limit));
  }
  const out: SearchResponse = {
    total,
    results: page.map((v) =>
      toWire(ctx, type, v, req.properties && req.properties.length > 0 ? req.properties : undefined),
    ),
  };
  if (offset + page.length < total && page.length > 0)
    out.paging = { next: { after: String(offset + page.length) } };
  return out;
}
