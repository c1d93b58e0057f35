/**
 * SOQL building. Every identifier comes from the mapping (which a tenant may override), so names
 * are checked against the API-name grammar before they reach a query, and values are quoted with
 * SOQL's escapes (SOQL reference "Quoted String Escape Sequences": `\\` and `\'`).
 */
import { AppError, ERR_INVALID_INPUT } from '../../src/errors.js';

const API_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

export function assertApiName(name: string, what = 'field'): string {
  if (!API_NAME.test(name) || name.length > 80) {
    throw new AppError(ERR_INVALID_INPUT, `"${name}" is not a valid Salesforce ${what} API name`, {
      details: { name },
    });
  }
  return name;
}

export function soqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** SOQL datetime literal (unquoted) for an ISO instant; keeps milliseconds only when present. */
export function soqlDateTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) {
    throw new AppError(ERR_INVALID_INPUT, `"${iso}" is not an instant`, { details: { value: iso } });
  }
  const s = d.toISOString();
  return s.endsWith('.000Z') ? `${s.slice(0, -5)}Z` : s;
}

export function idList(ids: readonly string[]): string {
  return ids.map((id) => soqlString(id)).join(',');
}

/**
 * Room for an `IN (…)` list in a GET `/query?q=` URL, URL-encoded. Salesforce rejects a request
 * whose URI + headers pass 16,384 bytes (SF Help 000386264; Node's own HTTP servers stop at 16 KiB
 * of headers too), and the rest of the query, the host and the auth header need their share.
 */
export const IN_LIST_MAX_ENCODED = 10_000;

/**
 * `values` in slices for `IN (…)` lists: at most `maxCount` each, and each list's URL-encoded text
 * within `maxEncoded`. Ids are short and fixed-size, but keys (e.g. task keys) are not: 300 of them
 * can pass the URI limit where 300 ids do not.
 */
export function inListChunks(
  values: readonly string[],
  maxCount: number,
  maxEncoded = IN_LIST_MAX_ENCODED,
): string[][] {
  const out: string[][] = [];
  let current: string[] = [];
  let size = 0;
  for (const v of values) {
    const n = encodeURIComponent(soqlString(v)).length + 3; // + encoded comma
    if (current.length > 0 && (current.length >= maxCount || size + n > maxEncoded)) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(v);
    size += n;
  }
  if (current.length > 0) out.push(current);
  return out;
}

export interface CursorPoint {
  t: string | null;
  id: string | null;
}

/**
 * The compound `(SystemModstamp, Id)` cursor: timestamps tie under bulk updates, so the Id breaks
 * the tie (supaglue#532; SYNC_LESSONS §3.4). `ceiling` bounds the run: never past run start minus
 * a margin, so rows committed late with an earlier stamp are read by the next run.
 */
export function cursorWhere(
  from: CursorPoint,
  ceiling: string | null,
  stamp = 'SystemModstamp',
  idColumn = 'Id',
): string {
  const parts: string[] = [];
  if (from.t !== null) {
    const t = soqlDateTime(from.t);
    // `t >= T AND (t > T OR Id > I)` is `(t > T) OR (t = T AND Id > I)` written so the indexed
    // SystemModstamp range leads (selective filter), with no AND nested inside the OR.
    parts.push(
      from.id === null
        ? `${stamp} > ${t}`
        : `${stamp} >= ${t} AND (${stamp} > ${t} OR ${idColumn} > ${soqlString(from.id)})`,
    );
  }
  if (ceiling !== null) parts.push(`${stamp} <= ${soqlDateTime(ceiling)}`);
  // An unbounded first run still needs a WHERE-less-looking clause to stay valid SOQL.
  return parts.length === 0 ? `${stamp} != null` : parts.join(' AND ');
}

/** Compare two cursor points: by instant, then by Id (Salesforce orders Ids as strings). */
export function comparePoints(a: CursorPoint, b: CursorPoint): number {
  const ta = a.t === null ? -Infinity : Date.parse(a.t);
  const tb = b.t === null ? -Infinity : Date.parse(b.t);
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ia = a.id ?? '';
  const ib = b.id ?? '';
  return ia === ib ? 0 : ia < ib ? -1 : 1;
}
