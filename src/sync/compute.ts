/**
 * Compute phase: the cached canonical snapshot → the engine → record writes and tasks in CRM terms.
 *
 * Streaming: the account is never loaded whole. The engine (`EngineRun`) is fed page by page from
 * the snapshot cache, in several scans — people three times (index, referrers, plans; the referrer
 * scan decodes only the few people the engine can use there), companies twice, deals and tickets
 * once — and what it keeps between pages is bounded by the referral
 * activity (code index, captured people, ledger, this run's ask candidates), not by the account.
 * Record writes leave as they are planned (`onWrites`), so a 1M-contact account is written while
 * it is computed; only the ask candidates' writes are held until their tasks exist.
 *
 * Deterministic: the cache scans in an order fixed by the ids alone (bucket, then id), and new
 * codes come from an HMAC-SHA256 counter stream keyed by a per-tenant secret that never leaves the
 * store, so a dry run shows exactly what the real run then writes, and codes stay unguessable.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { CrmDefinition, JsonValue, RecordUpdate, TaskWrite } from '../../connectors/contract.js';
import type {
  Company,
  Deal,
  EngineResult,
  EngineTask,
  Person,
  PlanKind,
  RandomSource,
  RecordPlan,
  Rules,
  Ticket,
} from '../engine/index.js';
import { EngineRun, applyChanges, isValidCode, normalizeCode } from '../engine/index.js';
import type { SnapshotCache } from '../store/snapshot-cache.js';
import { decodeSnapshot } from '../store/snapshot-cache.js';
import type { PersonIndexEntry, Store } from '../store/types.js';
import { toRecordUpdate } from './map.js';
import type { Mapping, ObjectMapping } from './mapping.js';
import { decodeReferrerCandidates } from './referrer-entries.js';

const CODE_SECRET_FLAG = 'code-secret';
const CODE_POSITION_FLAG = 'code-position';
const ASKS_FLAG_PREFIX = 'asks:';
/** Snapshot-cache table of each asked person's ask instants (ms), for the cool-down and yearly cap. */
export const ASK_HISTORY_OBJECT = '~asks';
/** TTL of flags that stay until replaced (store flags always carry one). */
export const FOREVER_MS = 3650 * 86_400_000;

/** A record the plan changes: its CRM object, canonical plan, and the encoded update. */
export interface PlannedWrite {
  kind: PlanKind;
  object: string;
  plan: RecordPlan;
  /** The owned values the CRM holds now (for previews and for the state after the write). */
  before: Readonly<Record<string, unknown>>;
  update: RecordUpdate;
}

export interface SyncPlan {
  /**
   * Writes that must wait for the tasks: the ask candidates' (they mark people asked and start the
   * cool-down — written before the ask task and a crash in between, the task would never come).
   * Every other write already went to `onWrites`.
   */
  heldWrites: PlannedWrite[];
  /** Records with changes, streamed and held. */
  writes: number;
  tasks: TaskWrite[];
  engine: Omit<EngineResult, 'personPlans' | 'dealPlans' | 'companyPlans'>;
  /** Code-stream position after this plan (saved by a real run only). */
  codePosition: number;
  /** People evaluated (for progress and summaries). */
  people: number;
}

export interface ComputeDeps {
  tenantId: string;
  store: Store;
  snapshots: SnapshotCache;
  mapping: Mapping;
  rules: Rules;
  definition: Pick<CrmDefinition, 'encode'>;
}

/** Which CRM object each planned record comes from, and the owned values it holds now. */
interface Origin {
  object: string;
  current: Readonly<Record<string, unknown>>;
}

/**
 * Salesforce lead conversion: the Lead carried the referral capture; the Contact it became is the
 * person from now on. Carry the capture onto the Contact when it has none (Salesforce copies lead
 * fields only through the admin's lead mapping, and only into empty fields), and drop converted
 * Leads: they are read-only in Salesforce and the Contact now holds the referral.
 *
 * Streaming form: lead objects are scanned before contact objects (`personObjects`), so every
 * conversion is known before its Contact's page arrives; the first converted Lead with a capture
 * wins (scan order), as it did over the whole list.
 */
export class LeadConversions {
  private readonly carried = new Map<string, { leadId: string; capture: NonNullable<Person['capture']> }>();

  /** A page of people with converted leads dropped and captures carried onto their contacts. */
  apply(page: Person[]): Person[] {
    let dropped = false;
    for (const p of page) {
      if (p.kind !== 'lead' || p.convertedToId === undefined) continue;
      dropped = true;
      if (p.capture === undefined || this.carried.has(p.convertedToId)) continue;
      const capturedAt = p.capture.capturedAt ?? p.createdAt;
      this.carried.set(p.convertedToId, {
        leadId: p.id,
        capture: { ...p.capture, ...(capturedAt === undefined ? {} : { capturedAt }) },
      });
    }
    const out = dropped ? page.filter((p) => !(p.kind === 'lead' && p.convertedToId !== undefined)) : page;
    if (this.carried.size === 0) return out;
    for (const p of out) {
      const carry = this.carried.get(p.id);
      if (carry === undefined) continue;
      const has = p.capture !== undefined && Object.values(p.capture).some((v) => v !== undefined);
      if (!has) {
        p.capture = carry.capture;
        p.convertedFromId = carry.leadId;
      }
    }
    return out;
  }
}

/**
 * The engine reads a person's asks from `asks`: our ask history, plus the CRM's
 * `referral_last_asked_at` (the system of record: a rep or an automation may have asked too).
 */
export function attachAsks(p: Person, history: readonly number[] | undefined): void {
  const at = new Set(history ?? []);
  const last = p.current.referral_last_asked_at;
  if (last instanceof Date && !Number.isNaN(last.getTime())) at.add(last.getTime());
  if (at.size > 0) p.asks = [...at].sort((a, b) => a - b).map((t) => new Date(t));
}

/** Appends `now` to the ask history of the people asked in this run (kept for one year). */
export async function recordAsks(
  deps: Pick<ComputeDeps, 'tenantId' | 'snapshots'>,
  personIds: readonly string[],
  now: Date,
): Promise<void> {
  if (personIds.length === 0) return;
  const existing = await deps.snapshots.get(deps.tenantId, ASK_HISTORY_OBJECT, personIds);
  const yearAgo = now.getTime() - 366 * 86_400_000;
  const entries = personIds.map((id) => {
    const prior = existing.has(id) ? (JSON.parse(existing.get(id)!) as number[]) : [];
    const kept = prior.filter((t) => t >= yearAgo && t !== now.getTime());
    return { id, json: JSON.stringify([...kept, now.getTime()]) };
  });
  await deps.snapshots.put(deps.tenantId, ASK_HISTORY_OBJECT, entries);
}

/** HMAC-SHA256 counter stream keyed by the tenant's secret. */
export function codeStream(secret: Buffer, start: number): { random: RandomSource; position: () => number } {
  let position = start;
  return {
    random: (bytes) => {
      let filled = 0;
      while (filled < bytes.length) {
        const block = createHmac('sha256', secret).update(`code:${position++}`).digest();
        const n = Math.min(block.length, bytes.length - filled);
        bytes.set(block.subarray(0, n), filled);
        filled += n;
      }
    },
    position: () => position,
  };
}

export async function codeSource(deps: ComputeDeps): Promise<{ secret: Buffer; start: number }> {
  let secret = await deps.store.getFlag(deps.tenantId, CODE_SECRET_FLAG);
  if (typeof secret !== 'string') {
    secret = randomBytes(32).toString('base64');
    await deps.store.setFlag(deps.tenantId, CODE_SECRET_FLAG, secret, FOREVER_MS);
  }
  const position = await deps.store.getFlag(deps.tenantId, CODE_POSITION_FLAG);
  return { secret: Buffer.from(secret, 'base64'), start: typeof position === 'number' ? position : 0 };
}

export async function saveCodePosition(store: Store, tenantId: string, position: number): Promise<void> {
  await store.setFlag(tenantId, CODE_POSITION_FLAG, position, FOREVER_MS);
}

export function dayKey(now: Date): string {
  return `${ASKS_FLAG_PREFIX}${now.toISOString().slice(0, 10)}`;
}

/** What is left of today's per-owner ask cap (owners not listed have the whole cap: OwnerBudget's default). */
export async function remainingAskBudgets(
  deps: Pick<ComputeDeps, 'store' | 'tenantId' | 'rules'>,
  now: Date,
): Promise<Record<string, number>> {
  const budgets: Record<string, number> = {};
  for (const [owner, n] of Object.entries(await asksToday(deps.store, deps.tenantId, now)))
    budgets[owner] = Math.max(0, deps.rules.asks.perOwnerDailyCap - n);
  return budgets;
}

async function asksToday(store: Store, tenantId: string, now: Date): Promise<Record<string, number>> {
  const flag = await store.getFlag(tenantId, dayKey(now));
  return flag !== null && typeof flag === 'object' && !Array.isArray(flag)
    ? (flag as Record<string, number>)
    : {};
}

/** Adds today's new ask tasks to the per-owner counters (the daily cap spans runs). */
export async function consumeAsks(
  store: Store,
  tenantId: string,
  now: Date,
  asksByOwner: Record<string, number>,
): Promise<void> {
  if (Object.keys(asksByOwner).length === 0) return;
  const used = await asksToday(store, tenantId, now);
  for (const [owner, n] of Object.entries(asksByOwner)) used[owner] = (used[owner] ?? 0) + n;
  await store.setFlag(tenantId, dayKey(now), used, 2 * 86_400_000);
}

export function objectMappingFor(mapping: Mapping, object: string): ObjectMapping {
  return mapping.objects[object]!;
}

/** Which CRM object holds a canonical kind's records by default (first mapped). */
function firstObjectOf(mapping: Mapping, kind: string): string | undefined {
  return Object.entries(mapping.objects).find(([, om]) => om.kind === kind)?.[0];
}

export function toTaskWrite(
  task: EngineTask,
  objectOf: ReadonlyMap<string, string>,
  mapping: Mapping,
): TaskWrite {
  const personObject = objectOf.get(task.personId) ?? firstObjectOf(mapping, 'person') ?? 'contacts';
  const write: TaskWrite = {
    key: task.key,
    kind: task.kind,
    subject: task.subject,
    body: task.body,
    dueAt: task.dueAt,
    priority: task.priority,
    person: { object: personObject, id: task.personId },
  };
  if (task.ownerId !== undefined) write.ownerId = task.ownerId;
  if (task.dealId !== undefined) {
    write.deal = {
      object: objectOf.get(task.dealId) ?? firstObjectOf(mapping, 'deal') ?? 'deals',
      id: task.dealId,
    };
  }
  if (task.companyId !== undefined && objectOf.has(task.companyId)) {
    write.company = { object: objectOf.get(task.companyId)!, id: task.companyId };
  }
  return write;
}

/**
 * People whose CRM `referral_code` is not a valid code although we wrote one: the code we wrote,
 * so the engine restores it. Only those few records' states are read, a page at a time.
 */
async function lostCodesOf(
  deps: ComputeDeps,
  object: string,
  people: readonly Person[],
  into: Map<string, string>,
): Promise<void> {
  const ids: string[] = [];
  for (const p of people) {
    const c = p.current.referral_code;
    if (typeof c === 'string' && isValidCode(c)) continue;
    // Empty: only worth a look for people who could have had one (advocates are few).
    if ((c === undefined || c === null || c === '') && p.current.referral_link === undefined) continue;
    ids.push(p.id);
  }
  if (ids.length === 0) return;
  for (const [id, state] of await deps.store.getRecordStates(deps.tenantId, object, ids)) {
    const code = state.written?.referral_code;
    if (typeof code === 'string' && isValidCode(code)) into.set(id, code);
  }
}

/** The CRM objects holding a kind's records, lead objects first (see `LeadConversions`). */
export function objectsOf(mapping: Mapping, kind: string): string[] {
  const list = Object.entries(mapping.objects).filter(([, om]) => om.kind === kind);
  if (kind === 'person')
    list.sort(([, a], [, b]) => (a.personKind === 'lead' ? 0 : 1) - (b.personKind === 'lead' ? 0 : 1));
  return list.map(([object]) => object);
}

/** Every cached record of a kind, a page at a time, with its object. */
export async function* pages<T>(
  deps: ComputeDeps,
  kind: string,
  signal?: AbortSignal,
  memo?: PageMemo,
): AsyncIterable<{ object: string; records: T[] }> {
  for (const object of objectsOf(deps.mapping, kind)) {
    const kept = memo?.get(object);
    if (kept !== undefined) {
      for (const records of kept) yield { object, records: records as T[] };
      continue;
    }
    const keep = memo !== undefined && (await memo.fits(deps, object)) ? memo.start(object) : null;
    for await (const batch of deps.snapshots.scan(deps.tenantId, object)) {
      signal?.throwIfAborted();
      const records = batch.map((e) => decodeSnapshot<T>(e.json));
      keep?.push(records);
      yield { object, records };
    }
  }
}

/**
 * The compute scans people three times and companies twice. An object small enough is kept
 * decoded after its first scan instead (one scan, no re-decoding): a 100-contact tenant made
 * ~600 Redis round trips per compute without it. Big objects stream on every pass.
 */
export class PageMemo {
  private readonly kept = new Map<string, unknown[][]>();

  constructor(private readonly maxRecords: number) {}

  get(object: string): unknown[][] | undefined {
    return this.kept.get(object);
  }
  async fits(deps: ComputeDeps, object: string): Promise<boolean> {
    return (await deps.snapshots.count(deps.tenantId, object)) <= this.maxRecords;
  }
  start(object: string): unknown[][] {
    const list: unknown[][] = [];
    this.kept.set(object, list);
    return list;
  }
}

/** Records per object kept decoded between passes (`PageMemo`). */
export const MEMO_MAX_RECORDS = 20_000;

/** Which object holds each id (the records tasks point at), looked up in the cache. */
export async function resolveObjects(
  deps: ComputeDeps,
  kind: string,
  ids: Iterable<string>,
  into: Map<string, string>,
): Promise<void> {
  let todo = [...new Set(ids)].filter((id) => !into.has(id));
  for (const object of objectsOf(deps.mapping, kind)) {
    if (todo.length === 0) return;
    const found = await deps.snapshots.get(deps.tenantId, object, todo);
    for (const id of found.keys()) into.set(id, object);
    todo = todo.filter((id) => !found.has(id));
  }
}

export interface ComputeOptions {
  /**
   * Receives record writes as the engine plans them, a page at a time, while compute goes on. The
   * ask candidates' writes are not among them: they come back in `SyncPlan.heldWrites`.
   */
  onWrites: (writes: PlannedWrite[]) => Promise<void>;
  /** People planned so far, of `total`. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /**
   * A real run: keep what a later re-evaluation of a few people needs without the account — each
   * person's next change instant (schedule), the codes in use (code index), the spend
   * distribution. A dry run (perhaps of unsaved rules) leaves them as they are.
   */
  persist?: boolean;
  /** Objects up to this many records are scanned once and kept decoded (default 20,000; 0 = never). */
  memoMaxRecords?: number;
}

/** Store flag holding the spend distribution of the last full run (for `reevaluateDue`). */
export const SPEND_HISTOGRAM_FLAG = 'spend-histogram';

/** A person's reference in the re-evaluation schedule and the code index: `object/id`. */
export function personRef(object: string, id: string): string {
  return `${object}/${id}`;
}

/**
 * The second people pass: the referrers the captures name. Objects kept decoded are fed whole
 * (nothing to save); streamed ones feed only the people the engine's sieve accepts, decoded from
 * the scan in its order (`referrer-entries.ts`): the same directory, without decoding everyone.
 * Lead conversions only drop converted leads here, as before; the captures they carry onto
 * contacts are not read by this pass, so a lead left undecoded changes nothing.
 */
async function referrerPass(
  deps: ComputeDeps,
  run: EngineRun,
  memo: PageMemo,
  signal: AbortSignal | undefined,
): Promise<void> {
  const sieve = run.referrerSieve();
  const conversions = new LeadConversions();
  for (const object of objectsOf(deps.mapping, 'person')) {
    const kept = memo.get(object);
    if (kept !== undefined) {
      for (const records of kept) run.indexReferrers(conversions.apply(records as Person[]));
      continue;
    }
    for await (const batch of deps.snapshots.scan(deps.tenantId, object)) {
      signal?.throwIfAborted();
      run.indexReferrers(conversions.apply(decodeReferrerCandidates(sieve, batch)));
    }
  }
}

/** Streams the cached account through the engine; writes leave through `onWrites`. */
export async function computePlan(deps: ComputeDeps, now: Date, options: ComputeOptions): Promise<SyncPlan> {
  const { signal } = options;
  const { secret, start } = await codeSource(deps);
  const stream = codeStream(secret, start);
  const ownerBudgets = await remainingAskBudgets(deps, now);
  const previousCodes = new Map<string, string>();

  // Plans arrive through onPlan while the engine works on a page; the page's origin says where
  // each record lives. Ask candidates are planned at `finish` from the origins kept for them.
  let origins = new Map<string, Origin>();
  let page: PlannedWrite[] = [];
  const planned = new Set<string>();
  const candidates = new Map<string, Origin>();
  let finishing = false;
  const held: PlannedWrite[] = [];
  let writes = 0;
  const persist = options.persist === true;
  let schedule: { id: string; at: Date | null }[] = [];
  let codes: PersonIndexEntry[] = [];
  const originOf = (id: string): Origin | undefined =>
    (finishing ? undefined : origins.get(id)) ?? candidates.get(id);
  const run = new EngineRun({
    ...(persist
      ? {
          onEvaluated: (id: string, at: number | null) => {
            const origin = originOf(id);
            if (origin !== undefined)
              schedule.push({ id: personRef(origin.object, id), at: at === null ? null : new Date(at) });
          },
        }
      : {}),
    now,
    rules: deps.rules,
    random: stream.random,
    linkTemplate: deps.mapping.referralLinkTemplate,
    ownerBudgets,
    previousCodes,
    onPlan: (kind, plan) => {
      if (!finishing && kind === 'person') planned.add(plan.id);
      if (Object.keys(plan.changes).length === 0) {
        candidates.delete(plan.id);
        return;
      }
      // A candidate planned later: deferred by a better one (any page) or asked at `finish`.
      let origin = finishing ? undefined : origins.get(plan.id);
      if (origin === undefined) {
        origin = candidates.get(plan.id);
        candidates.delete(plan.id);
      }
      if (origin === undefined) return;
      const update = toRecordUpdate(
        origin.object,
        plan.id,
        plan.changes,
        objectMappingFor(deps.mapping, origin.object),
        deps.definition,
      );
      if (update === null) return;
      const code = plan.changes.referral_code;
      if (persist && typeof code === 'string')
        codes.push({ kind: 'code', key: code, personId: personRef(origin.object, plan.id) });
      writes++;
      (finishing ? held : page).push({ kind, object: origin.object, plan, before: origin.current, update });
    },
  });
  const originsOf = (
    object: string,
    records: readonly { id: string; current: Origin['current'] }[],
  ): void => {
    origins = new Map(records.map((r) => [r.id, { object, current: r.current }]));
  };
  const flush = async (): Promise<void> => {
    if (schedule.length > 0) {
      await deps.store.scheduleAt(deps.tenantId, schedule);
      schedule = [];
    }
    if (codes.length > 0) {
      await deps.store.indexPeople(deps.tenantId, codes);
      codes = [];
    }
    if (page.length === 0) return;
    const out = page;
    page = [];
    await options.onWrites(out);
  };

  const memo = new PageMemo(options.memoMaxRecords ?? MEMO_MAX_RECORDS);
  // 1. Companies (partners), tickets.
  for await (const { records } of pages<Company>(deps, 'company', signal, memo)) run.addCompanies(records);
  for await (const { records } of pages<Ticket>(deps, 'ticket', signal)) run.addTickets(records);
  // Referral link clicks recorded by `GET /r/:tenant/:code` (matched by the captured click id).
  for await (const clicks of deps.store.listClicks(deps.tenantId))
    run.addClicks(clicks.map((c) => ({ clickId: c.clickId, code: c.code, at: new Date(c.at) })));

  // 2–3. People: index, then (when captures exist) the referrers they name.
  let total = 0;
  for (const object of objectsOf(deps.mapping, 'person'))
    total += await deps.snapshots.count(deps.tenantId, object);
  let conversions = new LeadConversions();
  for await (const { object, records } of pages<Person>(deps, 'person', signal, memo)) {
    const people = conversions.apply(records);
    run.indexPeople(people);
    await lostCodesOf(deps, object, people, previousCodes);
    if (persist) {
      for (const p of people) {
        const c = p.current.referral_code;
        if (typeof c === 'string' && isValidCode(c))
          codes.push({ kind: 'code', key: normalizeCode(c), personId: personRef(object, p.id) });
      }
      await flush();
    }
  }
  if (persist) {
    await deps.store.setFlag(
      deps.tenantId,
      SPEND_HISTOGRAM_FLAG,
      run.spendHistogram.toJSON() as unknown as JsonValue,
      FOREVER_MS,
    );
  }
  if (run.needsReferrerPass) await referrerPass(deps, run, memo, signal);
  run.attribute();

  // 4–5. Deals, roll-ups, companies: their writes leave page by page.
  for await (const { object, records } of pages<Deal>(deps, 'deal', signal)) {
    originsOf(object, records);
    run.planDeals(records);
    await flush();
  }
  run.rollup();
  for await (const { object, records } of pages<Company>(deps, 'company', signal, memo)) {
    originsOf(object, records);
    run.planCompanies(records);
    await flush();
  }

  // 6. People: plans (with their ask history: the people asked within a year, a small table);
  // the ones not planned yet are ask candidates (at most the owners' remaining budgets).
  const history = new Map<string, number[]>();
  for await (const batch of deps.snapshots.scan(deps.tenantId, ASK_HISTORY_OBJECT)) {
    for (const e of batch) history.set(e.id, JSON.parse(e.json) as number[]);
  }
  conversions = new LeadConversions();
  let done = 0;
  for await (const { object, records } of pages<Person>(deps, 'person', signal, memo)) {
    const people = conversions.apply(records);
    for (const p of people) attachAsks(p, history.get(p.id));
    originsOf(object, people);
    planned.clear();
    run.planPeople(people);
    for (const p of people) if (!planned.has(p.id)) candidates.set(p.id, { object, current: p.current });
    await flush();
    done += people.length;
    options.onProgress?.(done, total);
  }
  origins = new Map();

  // 7. Asks under the caps: their plans are held back until their tasks exist.
  finishing = true;
  const result = run.finish();
  await flush();
  const objectOf = new Map<string, string>();
  for (const [id, o] of candidates) objectOf.set(id, o.object);
  await resolveObjects(
    deps,
    'person',
    result.tasks.map((t) => t.personId),
    objectOf,
  );
  await resolveObjects(
    deps,
    'deal',
    result.tasks.flatMap((t) => (t.dealId === undefined ? [] : [t.dealId])),
    objectOf,
  );
  await resolveObjects(
    deps,
    'company',
    result.tasks.flatMap((t) => (t.companyId === undefined ? [] : [t.companyId])),
    objectOf,
  );
  const tasks = result.tasks.map((t) => toTaskWrite(t, objectOf, deps.mapping));
  const { personPlans: _p, dealPlans: _d, companyPlans: _c, ...engine } = result;
  return {
    heldWrites: held,
    writes,
    tasks,
    engine,
    codePosition: stream.position(),
    people: result.counts.people,
  };
}

/** The owned values a record holds after a successful write (what the next diff compares with). */
export function valuesAfterWrite(
  plan: RecordPlan,
  current: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  return applyChanges(current as Person['current'], plan.changes) as Record<string, unknown>;
}
