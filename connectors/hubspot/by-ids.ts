/**
 * Read exactly the records a webhook named: `POST /crm/v3/objects/{type}/batch/read` with ≤ 100 ids
 * per call (facts.batch.maxInputs; API_FACTS §CRM v3 objects), the same properties as the pull and
 * the links from the v4 association batch read — all in the default (10-second) budget, none in
 * the 5/s search bucket, and no time window to re-read.
 * https://developers.hubspot.com/docs/api-reference/crm-contacts-v3/batch/post-crm-v3-objects-contacts-batch-read
 *
 * Ids HubSpot no longer has come back as `OBJECT_NOT_FOUND` batch errors (207); they are left out
 * of the page (the contract's "absent = gone"). Any other batch error is a real failure and throws.
 * A merged-away contact id answers with its survivor, whose `hs_merged_object_ids` yields the
 * `mergedInto` tombstone (records.ts).
 */
import type { PullByIdsOptions, PullByIdsPage } from '../contract.js';
import { AppError, isAppError } from '../../src/errors.js';
import { chunk } from '../shared/batch.js';
import { ERR_HUBSPOT_NOT_FOUND, ERR_HUBSPOT_UNKNOWN_OBJECT } from './errors.js';
import { PULL_OBJECTS } from './pull.js';
import type { PullDeps } from './pull.js';
import { propertiesToRead, toRecords } from './records.js';
import { BatchResultSchema, parseWire } from './wire.js';
import type { HubSpotObject } from './wire.js';

/** A batch read answered errors other than "not found" for some ids (retried by the next run). */
export const ERR_HUBSPOT_BATCH_READ = 'ERR_HUBSPOT_BATCH_READ';

const NOT_FOUND = 'OBJECT_NOT_FOUND';

export async function* pullByIds(
  deps: PullDeps,
  object: string,
  ids: readonly string[],
  options: PullByIdsOptions,
): AsyncGenerator<PullByIdsPage> {
  if (!(PULL_OBJECTS as readonly string[]).includes(object)) {
    throw new AppError(ERR_HUBSPOT_UNKNOWN_OBJECT, `HubSpot object "${object}" cannot be read by id`, {
      details: { object, supported: [...PULL_OBJECTS] },
    });
  }
  const props = propertiesToRead(object, options.fields, deps.facts);
  for (const batch of chunk([...new Set(ids)], deps.facts.batch.maxInputs)) {
    options.signal?.throwIfAborted();
    const results = await readBatch(deps, object, batch, props, options.signal);
    const records = await toRecords(
      deps,
      object,
      results,
      options.fields,
      options.links,
      false,
      options.signal,
    );
    yield { records };
  }
}

async function readBatch(
  deps: PullDeps,
  object: string,
  ids: readonly string[],
  props: string[],
  signal?: AbortSignal,
): Promise<HubSpotObject[]> {
  let raw: unknown;
  try {
    raw = await deps.http.call(
      'read',
      `batch read ${object}`,
      (c, o) =>
        c.crm.objects.batchApi.read(
          object,
          { inputs: ids.map((id) => ({ id })), properties: props, propertiesWithHistory: [] },
          false,
          o,
        ),
      signal,
    );
  } catch (error) {
    // Every id of the batch gone: HubSpot may answer the whole batch with 404.
    if (isAppError(error, ERR_HUBSPOT_NOT_FOUND)) return [];
    throw error;
  }
  const page = parseWire(BatchResultSchema, raw, `batch read ${object}`);
  const other = (page.errors ?? []).filter((e) => e.category !== NOT_FOUND);
  if (other.length > 0) {
    throw new AppError(ERR_HUBSPOT_BATCH_READ, `HubSpot batch read ${object} failed for some ids`, {
      details: {
        object,
        errors: other.map((e) => ({ category: e.category ?? null, message: e.message ?? null })),
      },
      retryable: true,
    });
  }
  return page.results;
}
