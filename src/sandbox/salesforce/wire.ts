/**
 * Salesforce wire shapes shared by the REST, Bulk 2.0 and SOAP handlers: error bodies, date
 * formats and value coercion from JSON/CSV into stored field values.
 * - REST errors: JSON array `[{"message","errorCode","fields"?}]` (API_FACTS §2 REST basics,
 *   SF api_rest errorcodes.htm); jsforce turns a one-element array into HttpApiError{errorCode}.
 * - Per-record save errors: `{statusCode,message,fields}` (SF resources_composite_sobjects_collections).
 * - REST datetimes are `2024-01-15T10:20:30.000+0000`, dates `2024-01-15` (SF "Valid Date and
 *   DateTime Formats"); Bulk 2.0 CSV datetimes are `2024-01-15T10:20:30.000Z`.
 */
import type { Response } from 'express';
import type { FieldDef } from './schema.js';

export type Value = string | number | boolean | null;
export type Rec = Record<string, Value>;

export interface SaveError {
  statusCode: string;
  message: string;
  fields: string[];
}

export function sendError(
  res: Response,
  status: number,
  errorCode: string,
  message: string,
  fields?: string[],
): void {
  const body: Record<string, unknown> = { message, errorCode };
  if (fields !== undefined) body.fields = fields;
  res.status(status).json([body]);
}

let lastMs = NaN;
let lastText = '';
/** REST datetime text; the last value is reused (one transaction stamps many records). */
export function formatDateTime(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastText = new Date(ms).toISOString().replace('Z', '+0000');
  }
  return lastText;
}

/** Parse any ISO-8601 datetime SF accepts (Z, ±hh:mm, ±hhmm, optional millis) → epoch ms. */
export function parseDateTime(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|[+-]\d{2}:?\d{2})?$/.exec(
    text,
  );
  if (m === null) return undefined;
  const zone = m[8] ?? 'Z';
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${(m[7] ?? '0').padEnd(3, '0')}${
    zone === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(-2)}`
  }`;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}

export function isDate(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(Date.parse(`${text}T00:00:00Z`));
}

/** Stored datetime (REST form) → Bulk 2.0 CSV form. */
export function toCsvDateTime(stored: string): string {
  return stored.replace(/\+0000$/, 'Z');
}

const invalid = (f: FieldDef, raw: unknown, what: string): SaveError => ({
  statusCode: 'INVALID_TYPE_ON_FIELD_IN_RECORD',
  message: `${f.label}: value not of required type: ${String(raw)}${what ? ` (${what})` : ''}`,
  fields: [f.name],
});

/**
 * Coerce an incoming JSON (or CSV string) value into the stored form of the field.
 * `fromCsv`: Bulk 2.0 sends everything as text, with `#N/A` for null (jsforce bulk2 nullValue).
 */
export function coerce(f: FieldDef, raw: unknown, fromCsv = false): { value: Value } | { error: SaveError } {
  if (raw === null || raw === undefined || (fromCsv && raw === '#N/A'))
    return { value: f.type === 'boolean' ? false : null };
  if (fromCsv && raw === '') return { value: f.type === 'boolean' ? false : null };
  switch (f.type) {
    case 'boolean':
      if (typeof raw === 'boolean') return { value: raw };
      if (typeof raw === 'string' && /^(true|false)$/i.test(raw))
        return { value: raw.toLowerCase() === 'true' };
      return { error: invalid(f, raw, '') };
    case 'int':
    case 'double':
    case 'currency':
    case 'percent': {
      const n =
        typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (!Number.isFinite(n)) return { error: invalid(f, raw, '') };
      const intDigits = Math.trunc(Math.abs(n)).toString().length;
      if (f.precision > 0 && intDigits > f.precision - f.scale) {
        return {
          error: {
            statusCode: 'NUMBER_OUTSIDE_VALID_RANGE',
            message: `${f.label}: value outside of valid range on numeric field: ${n}`,
            fields: [f.name],
          },
        };
      }
      return { value: f.scale >= 0 && f.type !== 'double' ? Number(n.toFixed(f.scale)) : n };
    }
    case 'date': {
      if (typeof raw !== 'string') return { error: invalid(f, raw, '') };
      if (isDate(raw)) return { value: raw };
      const ms = parseDateTime(raw);
      if (ms === undefined) return { error: invalid(f, raw, '') };
      return { value: new Date(ms).toISOString().slice(0, 10) };
    }
    case 'datetime': {
      if (typeof raw !== 'string') return { error: invalid(f, raw, '') };
      const ms = isDate(raw) ? Date.parse(`${raw}T00:00:00Z`) : parseDateTime(raw);
      if (ms === undefined) return { error: invalid(f, raw, '') };
      return { value: formatDateTime(ms) };
    }
    default: {
      if (typeof raw === 'object') return { error: invalid(f, JSON.stringify(raw), '') };
      const text = String(raw);
      if (f.length > 0 && text.length > f.length) {
        return {
          error: {
            statusCode: 'STRING_TOO_LONG',
            message: `${f.label}: data value too large: ${text.slice(0, 20)}... (max length=${f.length})`,
            fields: [f.name],
          },
        };
      }
      if (f.type === 'picklist' && f.restrictedPicklist === true && !f.picklistValues.includes(text)) {
        return {
          error: {
            statusCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
            message: `${f.label}: bad value for restricted picklist field: ${text}`,
            fields: [f.name],
          },
        };
      }
      if (f.type === 'multipicklist' && f.restrictedPicklist === true) {
        const bad = text.split(';').find((v) => v !== '' && !f.picklistValues.includes(v));
        if (bad !== undefined) {
          return {
            error: {
              statusCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
              message: `${f.label}: bad value for restricted picklist field: ${bad}`,
              fields: [f.name],
            },
          };
        }
      }
      return { value: text === '' ? null : text };
    }
  }
}
