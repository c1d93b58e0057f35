/**
 * Salesforce payloads → `CrmRecord`s, validated at the boundary. REST returns JSON scalars and an
 * `attributes` object per record; Bulk 2.0 returns CSV where every value is a string and an empty
 * cell is null. Datetimes come as `2024-03-01T10:00:00.000+0000`; records carry ISO instants.
 */
import { z } from 'zod';
import type { CrmRecord, WireValue } from '../contract.js';
import { parseOrThrow } from '../../src/validation.js';
import { ERR_SALESFORCE_PAYLOAD } from './errors.js';

const WireScalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const RestRecordSchema = z.looseObject({
  Id: z.string().min(15).max(18),
  SystemModstamp: z.string().min(10),
  IsDeleted: z.union([z.boolean(), z.string()]).optional(),
  MasterRecordId: z.string().nullish(),
});

export const QueryResultSchema = z.looseObject({
  totalSize: z.number().int().min(0),
  done: z.boolean(),
  nextRecordsUrl: z.string().optional(),
  records: z.array(z.looseObject({ attributes: z.unknown().optional() })),
});
export type QueryResult = z.infer<typeof QueryResultSchema>;

export function parseQueryResult(raw: unknown, what: string): QueryResult {
  return parseOrThrow(QueryResultSchema, raw, what, ERR_SALESFORCE_PAYLOAD);
}

/** `…+0000` → ISO `…Z`; anything unparsable is kept as is (the decoder treats it as missing). */
export function toIsoInstant(value: string): string {
  const fixed = /[+-]\d{4}$/.test(value) ? `${value.slice(0, -2)}:${value.slice(-2)}` : value;
  const ms = Date.parse(fixed);
  return Number.isNaN(ms) ? value : new Date(ms).toISOString();
}

function wire(value: unknown): WireValue {
  if (value === undefined) return null;
  const parsed = WireScalar.safeParse(value);
  // Compound fields (address, geolocation) are objects: never mapped, kept out of the record.
  return parsed.success ? parsed.data : null;
}

function csvWire(value: unknown): WireValue {
  if (value === undefined || value === null || value === '') return null;
  if (value === 'true') return true;
  if (value === 'false') return false;
  return typeof value === 'string' ? value : wire(value);
}

export function toCrmRecord(
  object: string,
  raw: unknown,
  fields: readonly string[],
  fromCsv = false,
): CrmRecord {
  const rec = parseOrThrow(RestRecordSchema, raw, `Salesforce ${object} record`, ERR_SALESFORCE_PAYLOAD);
  const source = raw as Record<string, unknown>;
  const out: Record<string, WireValue> = {};
  for (const f of fields) out[f] = fromCsv ? csvWire(source[f]) : wire(source[f]);
  const deleted = rec.IsDeleted === true || rec.IsDeleted === 'true';
  // A merged-away record is deleted with MasterRecordId = the record that remained (SF Object
  // Reference, Contact/Lead/Account MasterRecordId). CSV gives '' for null.
  const master = deleted && typeof rec.MasterRecordId === 'string' ? rec.MasterRecordId : '';
  return {
    object,
    id: rec.Id,
    fields: out,
    modifiedAt: toIsoInstant(rec.SystemModstamp),
    deleted,
    ...(master === '' ? {} : { mergedInto: master }),
    links: {},
  };
}
