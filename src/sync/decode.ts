/**
 * Wire value → canonical value, for both CRMs. HubSpot sends every property as a string (numbers
 * "12.5", booleans "true", dates "2024-03-01" or epoch-ms "1709251200000", datetimes ISO); Salesforce
 * sends JSON scalars (numbers, booleans, "2024-03-01", "2024-03-01T10:00:00.000+0000"). Anything that
 * does not parse is treated as missing (the data-quality report counts it) — never as zero or false.
 */
import type { CanonicalValueType, Money, OwnedFieldType, OwnedValue } from '../engine/model.js';
import type { WireValue } from '../../connectors/contract.js';

const TRUE = new Set(['true', '1', 'yes', 'y', 'on', 'checked']);
const FALSE = new Set(['false', '0', 'no', 'n', 'off', 'unchecked']);

export function decodeString(wire: WireValue | undefined): string | undefined {
  if (wire === null || wire === undefined) return undefined;
  const s = String(wire).trim();
  return s === '' ? undefined : s;
}

export function decodeNumber(wire: WireValue | undefined): number | undefined {
  if (typeof wire === 'number') return Number.isFinite(wire) ? wire : undefined;
  const s = decodeString(wire);
  if (s === undefined || typeof wire === 'boolean') return undefined;
  // Tolerate thousands separators and currency symbols typed by hand ("$1,200.50").
  const cleaned = s.replace(/[\s,$€£]/g, '');
  if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(cleaned)) return undefined;
  const n = Number(cleaned);
  return Number.isFinite(n) ? n : undefined;
}

export function decodeBoolean(wire: WireValue | undefined): boolean | undefined {
  if (typeof wire === 'boolean') return wire;
  if (typeof wire === 'number') return wire !== 0;
  const s = decodeString(wire)?.toLowerCase();
  if (s === undefined) return undefined;
  if (TRUE.has(s)) return true;
  if (FALSE.has(s)) return false;
  return undefined;
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
// Salesforce writes offsets without a colon ("+0000"); Date.parse needs "+00:00".
const SF_OFFSET = /([+-]\d{2})(\d{2})$/;

export function decodeDate(wire: WireValue | undefined): Date | undefined {
  if (typeof wire === 'number') return Number.isFinite(wire) ? new Date(wire) : undefined;
  const s = decodeString(wire);
  if (s === undefined || typeof wire === 'boolean') return undefined;
  let ms: number;
  if (/^\d{10,14}$/.test(s))
    ms = Number(s); // HubSpot epoch milliseconds
  else if (DATE_ONLY.test(s)) ms = Date.parse(`${s}T00:00:00.000Z`);
  else ms = Date.parse(SF_OFFSET.test(s) && s.includes('T') ? s.replace(SF_OFFSET, '$1:$2') : s);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

export function decodeCanonical(
  type: CanonicalValueType,
  wire: WireValue | undefined,
): string | number | boolean | Date | undefined {
  switch (type) {
    case 'string':
      return decodeString(wire);
    case 'number':
      return decodeNumber(wire);
    case 'integer': {
      const n = decodeNumber(wire);
      return n === undefined ? undefined : Math.round(n);
    }
    case 'boolean':
      return decodeBoolean(wire);
    case 'date':
    case 'datetime':
      return decodeDate(wire);
    case 'money':
      return decodeNumber(wire); // the currency is attached by the mapper
  }
}

export function decodeMoney(
  amount: WireValue | undefined,
  currency: string | undefined,
  fallback: string,
): Money | undefined {
  const n = decodeNumber(amount);
  if (n === undefined) return undefined;
  const c = currency?.trim().toUpperCase();
  return { amount: n, currency: c !== undefined && /^[A-Z]{3}$/.test(c) ? c : fallback };
}

/** Current value of a field we own, as read back from the CRM (so the engine can diff). */
export function decodeOwned(type: OwnedFieldType, wire: WireValue | undefined): OwnedValue | undefined {
  switch (type) {
    case 'boolean':
      return decodeBoolean(wire);
    case 'number':
    case 'currency':
      return decodeNumber(wire);
    case 'date':
    case 'datetime':
      return decodeDate(wire);
    case 'multi': {
      const s = decodeString(wire);
      if (s === undefined) return undefined;
      return s
        .split(';')
        .map((v) => v.trim())
        .filter((v) => v !== '');
    }
    case 'string':
    case 'text':
      return decodeString(wire);
  }
}
