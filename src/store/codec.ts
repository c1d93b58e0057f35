/**
 * Compact encodings of stored values, shared by `RedisStore` and `MemoryStore` (so both stores
 * round-trip exactly the same way). Arrays instead of objects and epoch milliseconds instead of
 * ISO strings keep a 1M-record tenant small (see bench/redis-memory.ts).
 */
import { createHash } from 'node:crypto';
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

/**
 * Short aliases of the owned-field ids for the last-written-values blob: the long canonical names
 * (`referral_readiness_reasons`, …) were ~55% of its bytes (bench/redis-memory.ts).
 * APPEND-ONLY: an alias, once released, is stored data; never renumber or reuse one.
 */
const FIELD_ALIASES: readonly string[] = [
  'referral_ready',
  'referral_readiness_score',
  'referral_readiness_reasons',
  'referral_tags',
  'referral_segment',
  'referral_trigger_event',
  'referral_code',
  'referral_link',
  'referral_variant',
  'referral_last_asked_at',
  'referral_next_eligible_at',
  'referral_code_used',
  'referred_by_contact_id',
  'referred_by_name',
  'referral_attribution_method',
  'referral_count',
  'referral_converted_count',
  'referral_revenue',
  'referrer_tier',
  'referral_reward_balance',
  'referral_rewards_due',
  'referral_attributed',
  'referral_source_type',
  'partner_referrals_sent',
  'partner_referrals_received',
  'partner_referral_revenue',
];
const ALIAS_OF = new Map(FIELD_ALIASES.map((name, i) => [name, i.toString(36)]));

/** Stored key of a field: its alias, or its name (escaped with `~` if it could read as an alias). */
function fieldKey(name: string): string {
  const alias = ALIAS_OF.get(name);
  if (alias !== undefined) return alias;
  return /^[0-9a-z]{1,2}$/.test(name) || name.startsWith('~') ? `~${name}` : name;
}

function fieldName(key: string): string {
  if (key.startsWith('~')) return key.slice(1);
  if (/^[0-9a-z]{1,2}$/.test(key)) {
    const name = FIELD_ALIASES[parseInt(key, 36)];
    if (name === undefined) throw corrupt('written values');
    return name;
  }
  return key;
}

/**
 * Owned values as compact JSON: aliased keys, and a Date as `[ms]` (an array holding a number,
 * which no owned value is: multi values are arrays of strings).
 */
export function encodeWritten(values: Readonly<Record<string, OwnedValue>>): string {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) out[fieldKey(k)] = v instanceof Date ? [v.getTime()] : v;
  return JSON.stringify(out);
}

export function decodeWritten(raw: string): Record<string, OwnedValue> {
  const parsed = parseJson(raw, 'written values');
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw corrupt('written values');
  const out: Record<string, OwnedValue> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'number') out[fieldName(k)] = new Date(v[0]);
    else if (Array.isArray(v)) out[fieldName(k)] = v.map(String);
    else if (v !== null && typeof v === 'object') throw corrupt('written values');
    else out[fieldName(k)] = v as OwnedValue;
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

/**
 * The stored form of a normalised index key: short keys (referral codes) as they are; longer ones
 * (emails, click ids) as a 96-bit digest, which is smaller and keeps e-mail addresses (personal
 * data) out of Redis. Collisions at 96 bits are negligible for any account size.
 */
export function storedIndexKey(normalised: string): string {
  if (normalised.length <= 16 && !normalised.startsWith('#')) return normalised;
  return `#${createHash('sha256').update(normalised).digest('base64url').slice(0, 16)}`;
}

export { parseJson };
