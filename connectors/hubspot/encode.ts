/**
 * Canonical owned values → HubSpot wire strings (API_FACTS §Properties & owners):
 * bool "true"/"false"; number as a decimal string; date as YYYY-MM-DD (a date property holds
 * midnight UTC); datetime as ISO 8601 with milliseconds (the API takes ms epoch or ISO);
 * multi-checkbox enumeration as "a;b"; currency as its amount (the record's currency field says
 * which currency). `null` clears the value.
 */
import type { OwnedFieldType } from '../../src/engine/model.js';
import type { WireValue } from '../contract.js';
import { AppError } from '../../src/errors.js';

export const ERR_HUBSPOT_ENCODE = 'ERR_HUBSPOT_ENCODE';

/** HubSpot string properties hold at most 65,536 characters. */
const MAX_STRING = 65_536;

function fail(type: OwnedFieldType, value: unknown): never {
  throw new AppError(ERR_HUBSPOT_ENCODE, `cannot encode ${typeof value} as a HubSpot ${type} value`, {
    details: { type, valueType: Array.isArray(value) ? 'array' : typeof value },
  });
}

function toDate(type: OwnedFieldType, value: unknown): Date {
  const d =
    value instanceof Date
      ? value
      : typeof value === 'string' || typeof value === 'number'
        ? new Date(value)
        : null;
  if (d === null || Number.isNaN(d.getTime())) fail(type, value);
  return d;
}

function toNumber(type: OwnedFieldType, value: unknown): number {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'object' && value !== null && 'amount' in value
        ? Number((value as { amount: unknown }).amount)
        : typeof value === 'string' && value.trim() !== ''
          ? Number(value)
          : NaN;
  if (!Number.isFinite(n)) fail(type, value);
  return n;
}

export function encodeHubSpot(type: OwnedFieldType, value: unknown): WireValue {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'boolean':
      if (typeof value !== 'boolean') fail(type, value);
      return value ? 'true' : 'false';
    case 'number':
      return String(toNumber(type, value));
    case 'currency':
      return String(Math.round(toNumber(type, value) * 100) / 100);
    case 'date':
      return toDate(type, value).toISOString().slice(0, 10);
    case 'datetime':
      return toDate(type, value).toISOString();
    case 'multi': {
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) fail(type, value);
      const parts = [
        ...new Set((value as string[]).map((v) => v.replaceAll(';', ' ').trim()).filter((v) => v !== '')),
      ];
      return parts.join(';');
    }
    case 'string':
    case 'text':
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean')
        fail(type, value);
      return String(value).slice(0, MAX_STRING);
  }
}
