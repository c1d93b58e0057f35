/**
 * Pull: full backfill with the list endpoint, incremental with search.
 *
 * Full: `GET /crm/v3/objects/{type}` 100 per page with only the mapped properties and the linked
 * objects as `associations=` (one call reads 100 records and their links), then the
 * `archived=true` pages (emitted as `deleted`). A record whose inline association list is paged
 * is completed with a v4 batch read (≤ 1,000 ids per call) for the page, never per record.
 *
 * Incremental: search on `hs_lastmodifieddate` ascending, keyset-paged, never with `after` offsets:
 *  - an `after` offset into a result set that shifts (a record read early is modified again and
 *    leaves the window) would skip records, and offsets stop at the 10,000-result cap
 *    (API_FACTS §Search "paging beyond → 400");
 *  - instead each page is a new query `modified >= m` from the last page's highest stamp `m`
 *    (ids already emitted at `m` are remembered and skipped); a page entirely at one instant
 *    (> 200 records with the same stamp) is drained by `hs_object_id` ascending (the tie-break).
 *    No query ever reads past its first page, so the cap is never reached and nothing is skipped.
 *  - each run re-reads an overlap window (search indexes late) and never bookmarks past the run's
 *    start minus a margin (facts.sync).
 */
import type { CrmRecord, PullOptions, PullPage } from '../contract.js';
import { AppError } from '../../src/errors.js';
import { cursorJson, parseCursor } from './cursor.js';
import type { PullCursor } from './cursor.js';
import { ERR_HUBSPOT_UNKNOWN_OBJECT } from './errors.js';
import type { HubSpotFacts } from './facts.js';
import type { HubSpotHttp } from './http.js';
import { pullOwners } from './owners.js';
import type { PipelineStages } from './pipelines.js';
import { modifiedMs, propertiesToRead, toRecords } from './records.js';
import type { HubSpotObject } from './wire.js';
import { ListPageSchema, SearchPageSchema, parseWire } from './wire.js';

export const PULL_OBJECTS = ['contacts', 'companies', 'deals', 'tickets'] as const;

export interface PullDeps {
  http: HubSpotHttp;
  facts: HubSpotFacts;
  pipelines: PipelineStages;
}

export async function* pullObject(
  deps: PullDeps,
  object: string,
  options: PullOptions,
): AsyncGenerator<PullPage> {
  if (object === 'owners') {
    yield* pullOwners(deps.http, deps.facts, parseCursor(options.cursor), options.signal);
    return;
  }
  if (!(PULL_OBJECTS as readonly string[]).includes(object)) {
    throw new AppError(ERR_HUBSPOT_UNKNOWN_OBJECT, `HubSpot object "${object}" is not pulled`, {
      details: { object, supported: [...PULL_OBJECTS, 'owners'] },
    });
  }
  const cursor = parseCursor(options.cursor);
  const upper = Math.max(0, options.runStartedAt.getTime() - deps.facts.sync.bookmarkMarginMs);
  if (
    cursor?.phase === 'full' ||
    (options.mode === 'full' && cursor?.phase !== 'range' && cursor?.phase !== 'tie')
  ) {
    const start: PullCursor & { phase: 'full' } =
      cursor?.phase === 'full'
        ? cursor
        : cursor === null
          ? { v: 1, phase: 'full', archived: false, after: null, bookmark: upper, first: true }
          : { v: 1, phase: 'full', archived: false, after: null, bookmark: upper };
    yield* pullFull(deps, object, options, start);
    return;
  }
  let start: PullCursor;
  if (cursor === null) start = { v: 1, phase: 'range', ms: 0, inclusive: true, seen: [], hi: upper };
  else if (cursor.phase === 'idle')
    start = {
      v: 1,
      phase: 'range',
      ms: Math.max(0, cursor.bookmark - deps.facts.sync.incrementalOverlapMs),
      inclusive: true,
      seen: [],
      hi: Math.max(upper, cursor.bookmark),
    };
  else start = cursor;
  yield* pullIncremental(deps, object, options, start);
}

async function* pullFull(
  deps: PullDeps,
  object: string,
  options: PullOptions,
  start: PullCursor & { phase: 'full' },
): AsyncGenerator<PullPage> {
  const props = propertiesToRead(object, options.fields, deps.facts);
  const pageSize = deps.facts.batch.listPageSize;
  // Associations come inline with each list page (`associations=`): one call per 100 records
  // reads records and links; v4 batch reads complete only records with paged association lists.
  const inlineLinks = options.links.length > 0 ? [...options.links] : undefined;
  const pagesPerYield = 1;
  let state = start;
  for (;;) {
    const buffer: HubSpotObject[] = [];
    const archived = state.archived;
    let after = state.after;
    let pages = 0;
    do {
      const raw = await deps.http.call(
        'read',
        `list ${object}`,
        (c, o) =>
          c.crm.objects.basicApi.getPage(
            object,
            pageSize,
            after ?? undefined,
            props,
            undefined,
            archived ? undefined : inlineLinks,
            archived,
            o,
          ),
        options.signal,
      );
      const page = parseWire(ListPageSchema, raw, `list ${object}`);
      buffer.push(...page.results);
      after = page.paging?.next?.after ?? null;
      pages++;
    } while (after !== null && pages < pagesPerYield);
    const records = await toRecords(
      deps,
      object,
      buffer,
      options.fields,
      options.links,
      archived,
      options.signal,
      true,
    );
    if (after !== null) {
      state = { ...state, after };
      yield { records, cursor: cursorJson(state) };
    } else if (!archived && state.first !== true) {
      state = { ...state, archived: true, after: null };
      yield { records, cursor: cursorJson(state) };
    } else {
      yield { records, cursor: cursorJson({ v: 1, phase: 'idle', bookmark: state.bookmark }) };
      return;
    }
  }
}

interface SearchFilter {
  propertyName: string;
  operator: 'EQ' | 'GT' | 'GTE' | 'LTE';
  value: string;
}

async function search(
  deps: PullDeps,
  object: string,
  filters: SearchFilter[],
  sortBy: string,
  props: string[],
  signal?: AbortSignal,
): Promise<HubSpotObject[]> {
  const body = {
    filterGroups: [{ filters }],
    // The 13.x model types `sorts` as string[], but the API documents sort objects; the
    // serializer passes the elements through unchanged.
    sorts: [{ propertyName: sortBy, direction: 'ASCENDING' }] as unknown as string[],
    properties: props,
    limit: deps.facts.batch.searchPageSize,
  };
  const raw = await deps.http.call(
    'search',
    `search ${object}`,
    (c, o) =>
      c.crm.objects.searchApi.doSearch(
        object,
        body as Parameters<typeof c.crm.objects.searchApi.doSearch>[1],
        o,
      ),
    signal,
  );
  return parseWire(SearchPageSchema, raw, `search ${object}`).results;
}

async function* pullIncremental(
  deps: PullDeps,
  object: string,
  options: PullOptions,
  start: PullCursor,
): AsyncGenerator<PullPage> {
  const props = propertiesToRead(object, options.fields, deps.facts);
  const mod = deps.facts.sync.modifiedProperty;
  const idProp = deps.facts.sync.idProperty;
  const limit = deps.facts.batch.searchPageSize;
  let state = start;
  for (;;) {
    if (state.phase === 'tie') {
      const results = await search(
        deps,
        object,
        [
          { propertyName: mod, operator: 'EQ', value: String(state.ms) },
          { propertyName: idProp, operator: 'GT', value: state.afterId },
        ],
        idProp,
        props,
        options.signal,
      );
      const records = await emit(deps, object, results, options);
      const last = results.at(-1);
      state =
        results.length < limit || last === undefined
          ? { v: 1, phase: 'range', ms: state.ms, inclusive: false, seen: [], hi: state.hi }
          : { ...state, afterId: last.id };
      yield { records, cursor: cursorJson(state) };
      continue;
    }
    if (state.phase !== 'range') throw new Error(`unexpected cursor phase ${state.phase}`);
    const current = state;
    const results = await search(
      deps,
      object,
      [
        // No upper bound on the read: a change made a second ago is read now (webhook latency).
        // The safety margin applies to the saved bookmark (`hi` = run start − margin), so the
        // next run re-reads the recent window that search may not have indexed yet.
        { propertyName: mod, operator: current.inclusive ? 'GTE' : 'GT', value: String(current.ms) },
      ],
      mod,
      props,
      options.signal,
    );
    const seen = new Set(current.seen);
    const fresh = results.filter((o) => !(modifiedMs(o, deps.facts) === current.ms && seen.has(o.id)));
    const records = await emit(deps, object, fresh, options);
    const last = results.at(-1);
    if (results.length < limit || last === undefined) {
      yield { records, cursor: cursorJson({ v: 1, phase: 'idle', bookmark: current.hi }) };
      return;
    }
    const m = modifiedMs(last, deps.facts);
    if (results.every((o) => modifiedMs(o, deps.facts) === m)) {
      // More records share one instant than a page holds: drain that instant by id.
      state = { v: 1, phase: 'tie', ms: m, afterId: '0', hi: current.hi };
    } else {
      const atM = results.filter((o) => modifiedMs(o, deps.facts) === m).map((o) => o.id);
      state = { v: 1, phase: 'range', ms: m, inclusive: true, seen: atM, hi: current.hi };
    }
    yield { records, cursor: cursorJson(state) };
  }
}

function emit(
  deps: PullDeps,
  object: string,
  results: HubSpotObject[],
  options: PullOptions,
): Promise<CrmRecord[]> {
  return toRecords(deps, object, results, options.fields, options.links, false, options.signal);
}
