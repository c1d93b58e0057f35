/**
 * Compact encodings of stored values, shared by `RedisStore` and `MemoryStore` (so both stores
 * round-trip exactly the same way). Arrays instead of objects and epoch milliseconds instead of
 * ISO strings keep a 1M-record tenant small (see bench/redis-memory.ts).
 */
import type { OwnedValue } from '../engine/model.js';
import { AppError } from '../errors.js';
import type { ReferralEntry, StoredRecordError, TaskLedgerEntry } from './types.js';
import { ERR_STORE_CORRUPT } from './types.js';

function corrupt(what: string, cause?: unknown): AppError {
  return new AppError(ERR_STORE_CORRUPT, `stored ${what} is unreadable`, { cause });
}

function parseJson(raw: string, what: string): unknown {
  try {
    return JSON.parse(raw);
  } catch (error) {
    throw corrupt(what, error);
  }
}

/** Owned values: JSON where a Date becomes `{"d":ms}` (owned values are never objects). */
export function encodeWritten(values: Readonly<Record<string, OwnedValue>>): string {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) out[k] = v instanceof Date ? { d: v.getTime() } : v;
  return JSON.stringify(out);
}

export function decodeWritten(raw: string): Record<string, OwnedValue> {
  const parsed = parseJson(raw, 'written values');
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw corrupt('written values');
  const out: Record<string, OwnedValue> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const ms = (v as { d?: unknown }).d;
      if (typeof ms !== 'number') throw corrupt('written values');
      out[k] = new Date(ms);
    } else {
      out[k] = v as OwnedValue;
    }
  }
  return out;
}

/** Ledger entry as `[referrerId, method, atMs, dealIds, revenue]` (referred id is the hash field). */
export function encodeReferral(e: ReferralEntry): string {
  return JSON.stringify([e.referrerId, e.method, Date.parse(e.at), e.creditedDealIds, e.revenue]);
}

export function decodeReferral(referredId: string, raw: string): ReferralEntry {
  const v = parseJson(raw, 'referral ledger entry');
  if (!Array.isArray(v) || v.length !== 5) throw corrupt('referral ledger entry');
  const [referrerId, method, at, deals, revenue] = v as [unknown, unknown, unknown, unknown, unknown];
  if (typeof referrerId !== 'string' || typeof method !== 'string' || typeof at !== 'number') {
    throw corrupt('referral ledger entry');
  }
  return {
    referredId,
    referrerId,
    method,
    at: new Date(at).toISOString(),
    creditedDealIds: Array.isArray(deals) ? deals.map(String) : [],
    revenue: typeof revenue === 'number' ? revenue : 0,
  };
}

/** Task ledger value: `p<ms>` (pending since) or `d<crm task id>` (done). */
export function encodeTaskPending(at: Date): string {
  return `p${at.getTime()}`;
}
export function encodeTaskDone(taskId: string): string {
  return `d${taskId}`;
}
export function decodeTask(raw: string): TaskLedgerEntry {
  if (raw.startsWith('d')) return { state: 'done', taskId: raw.slice(1) };
  if (raw.startsWith('p')) return { state: 'pending', at: new Date(Number(raw.slice(1))).toISOString() };
  throw corrupt('task ledger entry');
}

/** Hash field of a per-record error: `object/id` (object names never contain "/"). */
export function errorField(object: string, id: string): string {
  return `${object}/${id}`;
}

/** `[code, message, retryable, attempts, firstSeenMs, lastSeenMs]`. */
export function encodeRecordError(e: StoredRecordError): string {
  return JSON.stringify([
    e.code,
    e.message,
    e.retryable ? 1 : 0,
    e.attempts,
    Date.parse(e.firstSeen),
    Date.parse(e.lastSeen),
  ]);
}

export function decodeRecordError(field: string, raw: string): StoredRecordError {
  const slash = field.indexOf('/');
  const v = parseJson(raw, 'record error');
  if (slash < 0 || !Array.isArray(v) || v.length !== 6) throw corrupt('record error');
  const [code, message, retryable, attempts, first, last] = v as unknown[];
  return {
    object: field.slice(0, slash),
    id: field.slice(slash + 1),
    code: String(code),
    message: String(message),
    retryable: retryable === 1,
    attempts: Number(attempts),
    firstSeen: new Date(Number(first)).toISOString(),
    lastSeen: new Date(Number(last)).toISOString(),
  };
}

/** The next state of a record error given the previous one (attempts counted, firstSeen kept). */
export function nextRecordError(
  previous: StoredRecordError | undefined,
  input: { object: string; id: string; code: string; message: string; retryable: boolean },
  at: Date,
): StoredRecordError {
  return {
    object: input.object,
    id: input.id,
    code: input.code,
    // Messages come from the CRM: keep them bounded (the admin page shows them).
    message: input.message.slice(0, 500),
    retryable: input.retryable,
    attempts: (previous?.attempts ?? 0) + 1,
    firstSeen: previous?.firstSeen ?? at.toISOString(),
    lastSeen: at.toISOString(),
  };
}

export function normaliseIndexKey(key: string): string {
  return key.trim().toLowerCase();
}

export { parseJson };
