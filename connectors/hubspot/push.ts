/**
 * Property write-back: batch update calls of ≤ 100 inputs (API_FACTS §CRM v3 "Batch … max 100"),
 * only the changed values the pipeline passes. Each input carries `objectWriteTraceId` (= its
 * record id) so a 207 answer's errors map back to records (`context.objectWriteTraceId`, else
 * `context.ids`/`id`); the records that succeeded are kept. A whole call that fails with a
 * permanent 4xx is bisected so one bad record cannot sink 99 good ones; a transient failure (after
 * the HTTP layer's own retries) marks its records retryable for the next run.
 */
import type { RecordError, RecordUpdate, WireValue, WriteOutcome } from '../contract.js';
import { chunk } from '../shared/batch.js';
import type { AppError } from '../../src/errors.js';
import {
  ERR_AUTH_REVOKED,
  ERR_HUBSPOT_DAILY_LIMIT,
  ERR_HUBSPOT_MISSING_SCOPES,
  ERR_HUBSPOT_UNAUTHORIZED,
  recordErrorFromBatch,
  recordErrorOf,
  toAppError,
} from './errors.js';
import type { HubSpotFacts } from './facts.js';
import type { HubSpotHttp } from './http.js';
import type { BatchError } from './wire.js';
import { BatchResultSchema, parseWire } from './wire.js';

/** Failures that concern the whole portal, not a record: stop the run instead of reporting 10,000 errors. */
const STOP_CODES = new Set([
  ERR_AUTH_REVOKED,
  ERR_HUBSPOT_DAILY_LIMIT,
  ERR_HUBSPOT_UNAUTHORIZED,
  ERR_HUBSPOT_MISSING_SCOPES,
  'ERR_RATE_LIMIT_PAUSED',
]);

export function mustStop(error: AppError): boolean {
  return STOP_CODES.has(error.code);
}

/** HubSpot takes every property value as a string; "" clears a value. */
export function wireString(v: WireValue): string {
  if (v === null) return '';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return String(v);
}

/** The ids (or trace ids) one 207 error entry is about. */
export function idsOfBatchError(e: BatchError): string[] {
  const ctx = e.context ?? {};
  const ids = [...(ctx.objectWriteTraceId ?? []), ...(ctx.ids ?? []), ...(ctx.id ?? [])];
  if (e.id !== undefined && e.id !== null) ids.push(e.id);
  return [...new Set(ids)];
}

export function batchRecordError(e: BatchError): RecordError {
  const sub = e.errors?.[0];
  return recordErrorFromBatch({
    category: e.category,
    message: e.message ?? sub?.message,
    subCode: sub?.code,
  });
}

async function updateBatch(
  http: HubSpotHttp,
  object: string,
  batch: readonly RecordUpdate[],
  signal: AbortSignal | undefined,
): Promise<WriteOutcome[]> {
  const inputs = batch.map((u) => ({
    id: u.id,
    objectWriteTraceId: u.id,
    properties: Object.fromEntries(Object.entries(u.fields).map(([k, v]) => [k, wireString(v)])),
  }));
  let raw: unknown;
  try {
    raw = await http.call(
      'write',
      `batch update ${object}`,
      (c, o) => c.crm.objects.batchApi.update(object, { inputs }, o),
      signal,
    );
  } catch (error) {
    const app = toAppError(error, `batch update ${object}`);
    if (mustStop(app)) throw app;
    if (!app.retryable && batch.length > 1) {
      // A permanent 400 for the whole batch: isolate the offending record(s).
      const half = Math.ceil(batch.length / 2);
      return [
        ...(await updateBatch(http, object, batch.slice(0, half), signal)),
        ...(await updateBatch(http, object, batch.slice(half), signal)),
      ];
    }
    const err = recordErrorOf(app);
    return batch.map((u) => ({ object, id: u.id, ok: false as const, error: err }));
  }
  const result = parseWire(BatchResultSchema, raw, `batch update ${object}`);
  const failed = new Map<string, RecordError>();
  for (const e of result.errors ?? [])
    for (const id of idsOfBatchError(e)) failed.set(id, batchRecordError(e));
  const succeeded = new Set(result.results.map((r) => r.id));
  return batch.map((u): WriteOutcome => {
    const error = failed.get(u.id);
    if (error !== undefined) return { object, id: u.id, ok: false, error };
    if (succeeded.has(u.id)) return { object, id: u.id, ok: true };
    return {
      object,
      id: u.id,
      ok: false,
      error: { code: 'UNCONFIRMED', message: 'HubSpot did not report this record', retryable: true },
    };
  });
}

export async function pushUpdates(
  http: HubSpotHttp,
  facts: HubSpotFacts,
  updates: readonly RecordUpdate[],
  signal?: AbortSignal,
): Promise<WriteOutcome[]> {
  const byObject = new Map<string, Map<string, RecordUpdate>>();
  for (const u of updates) {
    if (Object.keys(u.fields).length === 0) continue;
    // One input per id per call (HubSpot rejects duplicate ids in a batch): merge their fields.
    const merged = byObject.get(u.object) ?? new Map<string, RecordUpdate>();
    const prev = merged.get(u.id);
    merged.set(u.id, prev === undefined ? u : { ...prev, fields: { ...prev.fields, ...u.fields } });
    byObject.set(u.object, merged);
  }
  const outcomes = new Map<string, WriteOutcome>();
  for (const [object, merged] of byObject) {
    for (const batch of chunk([...merged.values()], facts.batch.maxInputs)) {
      for (const o of await updateBatch(http, object, batch, signal))
        outcomes.set(`${o.object}\u0000${o.id}`, o);
    }
  }
  // One outcome per input, as the contract asks (an input with nothing to write is a success).
  return updates.map(
    (u) => outcomes.get(`${u.object}\u0000${u.id}`) ?? { object: u.object, id: u.id, ok: true as const },
  );
}
