/**
 * Pull phase: every mapped CRM object, page by page, into the snapshot cache. Per page: map the
 * records, detect what really changed (input hash, or a user overwriting a field we own), store the
 * snapshots, and only then save the page's cursor — a crash re-reads at most one page.
 *
 * Our own writes come back as new modification stamps (and webhook events): their inputs hash the
 * same and their owned values equal what we wrote, so they are not changes and cost no compute.
 */
import { z } from 'zod';
import type { CrmConnector, CrmRecord, JsonValue, PullPage } from '../../connectors/contract.js';
import type { CanonicalKind } from '../engine/model.js';
import type { SnapshotCache } from '../store/snapshot-cache.js';
import { encodeSnapshot } from '../store/snapshot-cache.js';
import type { Store } from '../store/types.js';
import { fieldsToRead, inputHash, mapRecord, stableStringify } from './map.js';
import type { Mapping } from './mapping.js';

/** Dependency order: people need owners/companies/tickets/deals indexed before they are computed. */
const KIND_ORDER: Record<CanonicalKind, number> = { owner: 0, company: 1, ticket: 2, deal: 3, person: 4 };

export const DIRTY_FLAG = 'dirty';
export const DIRTY_TTL_MS = 3650 * 86_400_000;

export function pullOrder(mapping: Mapping): string[] {
  return Object.entries(mapping.objects)
    .sort(([, a], [, b]) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind])
    .map(([object]) => object);
}

export function cursorStream(object: string): string {
  return `pull:${object}`;
}

export interface PullCounts {
  read: number;
  changed: number;
  unchanged: number;
  deleted: number;
  pages: number;
}

export interface PullDeps {
  tenantId: string;
  store: Store;
  snapshots: SnapshotCache;
  connector: CrmConnector;
  mapping: Mapping;
}

export interface PullRunOptions {
  mode: 'full' | 'incremental';
  runStartedAt: Date;
  signal?: AbortSignal;
  /** Only these CRM objects (webhooks name the object that changed). */
  objects?: readonly string[];
  onPage?: (object: string, counts: PullCounts) => void;
}

/** Pulls every (or the given) object; returns counts per object. Marks the tenant dirty on change. */
export async function pullAll(deps: PullDeps, options: PullRunOptions): Promise<Record<string, PullCounts>> {
  const out: Record<string, PullCounts> = {};
  for (const object of pullOrder(deps.mapping)) {
    if (options.objects !== undefined && !options.objects.includes(object)) continue;
    out[object] = await pullObject(deps, object, options);
  }
  return out;
}

async function pullObject(deps: PullDeps, object: string, options: PullRunOptions): Promise<PullCounts> {
  const { tenantId, store, connector, mapping } = deps;
  const om = mapping.objects[object]!;
  const counts: PullCounts = { read: 0, changed: 0, unchanged: 0, deleted: 0, pages: 0 };
  const stream = cursorStream(object);
  const cursor = await store.getCursor(tenantId, stream);
  const pages = connector.pull(object, {
    fields: fieldsToRead(om),
    links: om.links,
    mode: options.mode,
    cursor,
    runStartedAt: options.runStartedAt,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  for await (const page of pages) {
    options.signal?.throwIfAborted();
    await absorbPage(deps, object, page.records, counts);
    // Only now is the page safely absorbed: saving the cursor earlier could skip it after a crash.
    await store.saveCursor(tenantId, stream, page.cursor);
    counts.pages++;
    options.onPage?.(object, counts);
  }
  return counts;
}

// ---------------------------------------------------------------------------------------------
// By id: a webhook names the records that changed; read exactly those (no time window, no cursor).

export interface PullByIdsRunOptions {
  signal?: AbortSignal;
  onPage?: (object: string, counts: PullCounts) => void;
}

/**
 * Reads the given records of each object by id (`CrmConnector.pullByIds`) and absorbs them like a
 * cursor page (hash, owned-value drift, deletions). Ids the CRM did not return are gone (deleted,
 * archived) and leave the cache like a deleted record. No cursor moves: the periodic incremental
 * sync stays the safety net for anything a webhook did not name. An object whose connector cannot
 * read by id falls back to its cursor pull.
 */
export async function pullByIds(
  deps: PullDeps,
  ids: Partial<Record<string, readonly string[]>>,
  runStartedAt: Date,
  options: PullByIdsRunOptions = {},
): Promise<Record<string, PullCounts>> {
  const out: Record<string, PullCounts> = {};
  for (const object of pullOrder(deps.mapping)) {
    const wanted = [...new Set(ids[object] ?? [])];
    if (wanted.length === 0) continue;
    const read = deps.connector.pullByIds?.bind(deps.connector);
    if (read === undefined) {
      out[object] = await pullObject(deps, object, {
        mode: 'incremental',
        runStartedAt,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        ...(options.onPage === undefined ? {} : { onPage: options.onPage }),
      });
      continue;
    }
    const om = deps.mapping.objects[object]!;
    const counts: PullCounts = { read: 0, changed: 0, unchanged: 0, deleted: 0, pages: 0 };
    const returned = new Set<string>();
    const pages = read(object, wanted, {
      fields: fieldsToRead(om),
      links: om.links,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    for await (const page of pages) {
      options.signal?.throwIfAborted();
      for (const r of page.records) returned.add(r.id);
      await absorbPage(deps, object, page.records, counts);
      counts.pages++;
      options.onPage?.(object, counts);
    }
    const gone: CrmRecord[] = wanted
      .filter((id) => !returned.has(id))
      .map((id) => ({
        object,
        id,
        fields: {},
        modifiedAt: runStartedAt.toISOString(),
        deleted: true,
        links: {},
      }));
    if (gone.length > 0) {
      // Not counted as read: only records we had count (as deleted), in absorbPage.
      counts.read -= gone.length;
      await absorbPage(deps, object, gone, counts);
    }
    out[object] = counts;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Sliced: a large account's pull spread over several jobs of at most `pageBudget` pages each, so a
// backfill never holds a worker for hours (src/queue/handlers.ts fairness contract). Progress lives
// in the store; each object resumes from its saved cursor.

export const PULL_SLICES_FLAG = 'pull-slices';
const SLICES_TTL_MS = 14 * 86_400_000;

const countsSchema = z.strictObject({
  read: z.number(),
  changed: z.number(),
  unchanged: z.number(),
  deleted: z.number(),
  pages: z.number(),
});

const sliceStateSchema = z.strictObject({
  mode: z.enum(['full', 'incremental']),
  /** The first slice's start: every cursor of the run bookmarks below it (minus the margin). */
  startedAt: z.iso.datetime(),
  /** Objects completely pulled in this run. */
  done: z.array(z.string()),
  /** Object whose pull an earlier slice stopped in the middle of. */
  current: z.string().nullable(),
  counts: z.record(z.string(), countsSchema),
});

export type PullSliceState = z.infer<typeof sliceStateSchema>;

export function newSliceState(mode: 'full' | 'incremental', startedAt: Date): PullSliceState {
  return { mode, startedAt: startedAt.toISOString(), done: [], current: null, counts: {} };
}

/** The tenant's unfinished sliced pull, or null (none, or unreadable: then a new run starts). */
export async function loadSliceState(store: Store, tenantId: string): Promise<PullSliceState | null> {
  const parsed = sliceStateSchema.safeParse(await store.getFlag(tenantId, PULL_SLICES_FLAG));
  return parsed.success ? parsed.data : null;
}

export async function saveSliceState(store: Store, tenantId: string, state: PullSliceState): Promise<void> {
  await store.setFlag(tenantId, PULL_SLICES_FLAG, state as unknown as JsonValue, SLICES_TTL_MS);
}

export async function clearSliceState(store: Store, tenantId: string): Promise<void> {
  await store.clearFlag(tenantId, PULL_SLICES_FLAG);
}

export interface PullSliceOptions {
  /** Pages this slice may process (over all objects). */
  pageBudget: number;
  signal?: AbortSignal;
  onPage?: (object: string, counts: PullCounts) => void;
}

/**
 * Advances `state` (mutated in place, also when this throws: the caller saves it) by at most
 * `pageBudget` pages. Returns whether every object is now pulled.
 *
 * The next page is asked for before the budget is checked, so an object whose last page was just
 * absorbed is known to be complete (a finished stream answers `done` without another call) and is
 * never re-read from the start; when the budget runs out mid-object, that one fetched page is
 * dropped (its cursor is not saved) and the next slice reads it again — at most one extra read per
 * slice. The object then resumes from its saved, mid-stream cursor.
 */
export async function pullSlice(
  deps: PullDeps,
  state: PullSliceState,
  options: PullSliceOptions,
): Promise<boolean> {
  const { tenantId, store, connector, mapping } = deps;
  let budget = Math.max(1, options.pageBudget);
  for (const object of pullOrder(mapping)) {
    if (state.done.includes(object)) continue;
    const om = mapping.objects[object]!;
    const stream = cursorStream(object);
    const counts = (state.counts[object] ??= { read: 0, changed: 0, unchanged: 0, deleted: 0, pages: 0 });
    state.current = object;
    const source = connector.pull(object, {
      fields: fieldsToRead(om),
      links: om.links,
      mode: state.mode,
      cursor: await store.getCursor(tenantId, stream),
      runStartedAt: new Date(state.startedAt),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const pages = source[Symbol.asyncIterator]();
    for (;;) {
      const next: IteratorResult<PullPage> = await pages.next();
      if (next.done === true) break;
      options.signal?.throwIfAborted();
      if (budget <= 0) {
        await pages.return?.();
        return false;
      }
      await absorbPage(deps, object, next.value.records, counts);
      await store.saveCursor(tenantId, stream, next.value.cursor);
      counts.pages++;
      budget--;
      options.onPage?.(object, counts);
    }
    state.done.push(object);
    state.current = null;
  }
  return true;
}

/**
 * Stores one page; returns whether anything the engine reads changed. The tenant is marked dirty
 * BEFORE the new hashes are stored: a crash in between must leave the change to be computed, never
 * a stored hash that says "already seen" with nothing computed.
 */
export async function absorbPage(
  deps: Pick<PullDeps, 'tenantId' | 'store' | 'snapshots' | 'mapping'>,
  object: string,
  records: readonly CrmRecord[],
  counts: PullCounts,
): Promise<boolean> {
  const { tenantId, store, snapshots, mapping } = deps;
  counts.read += records.length;
  const live: CrmRecord[] = [];
  const gone: string[] = [];
  for (const r of records) {
    if (r.deleted || r.mergedInto !== undefined) gone.push(r.id);
    else live.push(r);
  }
  let changed = false;
  const markDirty = async (): Promise<void> => {
    if (!changed) await store.setFlag(tenantId, DIRTY_FLAG, true, DIRTY_TTL_MS);
    changed = true;
  };
  if (gone.length > 0) {
    // Deleted, archived or merged away: it leaves the cache; a merge survivor arrives as its own
    // record (HubSpot lists the merged ids on it) and keeps the referral history written on it.
    // Only a record we had counts as a change: lists re-send archived rows (inactive owners) on
    // every run, and those must not force a recompute each time.
    const known = [...(await snapshots.get(tenantId, object, gone)).keys()];
    counts.deleted += known.length;
    if (known.length > 0) {
      await markDirty();
      await snapshots.delete(tenantId, object, known);
      await store.deleteRecordStates(tenantId, object, known);
    }
  }
  if (live.length === 0) return changed;
  const ids = live.map((r) => r.id);
  const [states, cached] = await Promise.all([
    store.getRecordStates(tenantId, object, ids),
    snapshots.get(tenantId, object, ids),
  ]);
  const entries: { id: string; json: string }[] = [];
  const hashes: { id: string; inputHash: string }[] = [];
  for (const r of live) {
    const canonical = mapRecord(r, mapping);
    if (canonical === null) continue;
    const hash = inputHash(canonical);
    const state = states.get(r.id);
    const current = (canonical.value as { current?: unknown }).current;
    // A field we own changed in the CRM to something we did not write (a user edit): recompute,
    // so the next plan restores it. Our own write echoing back equals `written` and is no change.
    const ownedDrift =
      current !== undefined &&
      state?.written !== undefined &&
      stableStringify(current) !== stableStringify(state.written);
    const isNew = !cached.has(r.id);
    if (isNew || state?.inputHash !== hash || ownedDrift) {
      counts.changed++;
      hashes.push({ id: r.id, inputHash: hash });
    } else counts.unchanged++;
    entries.push({ id: r.id, json: encodeSnapshot(canonical.value) });
  }
  if (hashes.length > 0) await markDirty();
  await snapshots.put(tenantId, object, entries);
  if (hashes.length > 0) await store.putRecordStates(tenantId, object, hashes);
  return changed;
}
