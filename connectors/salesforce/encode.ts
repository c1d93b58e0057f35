/**
 * Canonical owned value → Salesforce wire value (REST JSON / Bulk CSV cell):
 * Checkbox boolean (never null: a checkbox has no empty state), Number/Currency number,
 * Date `YYYY-MM-DD`, DateTime ISO-8601 UTC, MultiselectPicklist `"a;b"`, Text ≤255 and
 * LongTextArea ≤32,768 characters (longer values would be rejected with STRING_TOO_LONG).
 */
import type { WireValue } from '../contract.js';
import type { OwnedFieldType } from '../../src/engine/model.js';
import { AppError, ERR_INVALID_INPUT } from '../../src/errors.js';
import { LONG_TEXT_LENGTH, TEXT_LENGTH } from './provision.js';

function toDate(value: unknown): Date | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value;
  if (typeof value === 'string' || typeof value === 'number') {
    const d = new Date(
      typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value,
    );
    return Number.isNaN(d.getTime()) ? undefined : d;
  }
  return undefined;
}

function bad(type: OwnedFieldType, value: unknown): AppError {
  return new AppError(ERR_INVALID_INPUT, `cannot encode ${typeof value} as a Salesforce ${type} value`, {
    details: { type },
  });
}

export function encodeSalesforce(type: OwnedFieldType, value: unknown): WireValue {
  if (type === 'boolean') return value === true || value === 'true';
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'number':
    case 'currency': {
      const n = typeof value === 'number' ? value : Number(value);
      if (!Number.isFinite(n)) throw bad(type, value);
      return type === 'currency' ? Math.round(n * 100) / 100 : n;
    }
    case 'date': {
      const d = toDate(value);
      if (d === undefined) throw bad(type, value);
      return d.toISOString().slice(0, 10);
    }
    case 'datetime': {
      const d = toDate(value);
      if (d === undefined) throw bad(type, value);
      return d.toISOString();
    }
    case 'multi': {
      const list = Array.isArray(value) ? value.map(String) : String(value).split(';');
      const clean = [...new Set(list.map((v) => v.trim()).filter((v) => v !== ''))];
      return clean.length === 0 ? null : clean.join(';');
    }
    case 'string': {
      const s = String(value);
      return s === '' ? null : s.slice(0, TEXT_LENGTH);
    }
    case 'text': {
      const s = String(value);
      return s === '' ? null : s.slice(0, LONG_TEXT_LENGTH);
    }
  }
}
