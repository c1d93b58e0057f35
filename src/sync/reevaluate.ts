/**
 * Exact re-evaluation of the people whose time came, without rescanning the account.
 *
 * A full run keeps each person's next change instant in the store's schedule (a sorted set), the
 * codes in use in the code index, and the account's spend distribution. When nothing the engine
 * reads changed and only time passed, this reads just the people due now (a batch, earliest
 * first) from the snapshot cache — plus the small tables it needs: partner companies, the tickets
 * naming them, their ask history — re-evaluates them (`reevaluatePeople`: readiness, codes, asks
 * under today's caps), and hands the changed values on like the full compute does. Roll-ups and
 * attribution do not depend on time, so they are left as the last full run wrote them.
 *
 * Returns null when no full run has kept its context yet: the caller runs the full compute.
 */
import type { Person, Ticket } from '../engine/index.js';
import {
  CodeIssuer,
  ReportAccumulator,
  SpendHistogram,
  codeProblem,
  normalizeCode,
} from '../engine/index.js';
import type { SpendHistogramJson } from '../engine/stats.js';
import { reevaluatePeople } from '../engine/reevaluate.js';
import { bucketOf } from '../store/keys.js';
import { decodeSnapshot } from '../store/snapshot-cache.js';
import type { Report } from '../engine/index.js';
import { toRecordUpdate } from './map.js';
import type { ComputeDeps, ComputeOptions, PlannedWrite, SyncPlan } from './compute.js';
import {
  ASK_HISTORY_OBJECT,
  SPEND_HISTOGRAM_FLAG,
  remainingAskBudgets,
  attachAsks,
  codeSource,
  codeStream,
  objectMappingFor,
  objectsOf,
  pages,
  personRef,
  toTaskWrite,
} from './compute.js';
import type { PersonIndexEntry } from '../store/types.js';

/** People re-evaluated per run at most (the rest are due still: the next run takes them). */
export const REEVALUATE_BATCH = 5000;

export async function reevaluateDue(
  deps: ComputeDeps,
  now: Date,
  options: ComputeOptions & { limit?: number },
): Promise<SyncPlan | null> {
  const { tenantId, store, snapshots } = deps;
  const histogramJson = await store.getFlag(tenantId, SPEND_HISTOGRAM_FLAG);
  if (histogramJson === null) return null;
  const persist = options.persist === true;

  // ---- who is due, and their records
  const due = await store.dueBefore(tenantId, now, options.limit ?? REEVALUATE_BATCH);
  const byObject = new Map<string, string[]>();
  for (const ref of due) {
    const slash = ref.indexOf('/');
    const object = ref.slice(0, slash);
    if (slash <= 0 || deps.mapping.objects[object]?.kind !== 'person') continue;
    const list = byObject.get(object);
    if (list === undefined) byObject.set(object, [ref.slice(slash + 1)]);
    else list.push(ref.slice(slash + 1));
  }
  const people: Person[] = [];
  const objectOf = new Map<string, string>();
  const gone: string[] = [];
  for (const [object, ids] of byObject) {
    const found = await snapshots.get(tenantId, object, ids);
    for (const id of ids) {
      const json = found.get(id);
      if (json === undefined) {
        gone.push(personRef(object, id));
        continue;
      }
      const p = decodeSnapshot<Person>(json);
      // A converted lead is not a person any more (its contact is): nothing to evaluate.
      if (p.kind === 'lead' && p.convertedToId !== undefined) {
        gone.push(personRef(object, id));
        continue;
      }
      people.push(p);
      objectOf.set(id, object);
    }
  }
  // The full compute's order (objects leads first, then the cache's bucket-then-id scan order), so
  // new codes go to the same people as a full run at this instant would give them.
  const rank = new Map(objectsOf(deps.mapping, 'person').map((o, i) => [o, i]));
  people.sort(
    (a, b) =>
      rank.get(objectOf.get(a.id)!)! - rank.get(objectOf.get(b.id)!)! ||
      bucketOf(a.id) - bucketOf(b.id) ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  const ids = new Set(people.map((p) => p.id));
  const history = await snapshots.get(tenantId, ASK_HISTORY_OBJECT, [...ids]);
  for (const p of people) {
    const h = history.get(p.id);
    attachAsks(p, h === undefined ? undefined : (JSON.parse(h) as number[]));
  }

  // ---- the small account-wide tables: partner companies, the tickets naming these people
  const partners = new Set<string>();
  const none = people.length === 0; // nothing due (a job that fired early): read nothing more
  for await (const { records } of none
    ? []
    : pages<{ id: string; isPartner?: boolean }>(deps, 'company', options.signal)) {
    for (const c of records) if (c.isPartner === true) partners.add(c.id);
  }
  const tickets = new Map<string, Ticket[]>();
  for await (const { records } of none ? [] : pages<Ticket>(deps, 'ticket', options.signal)) {
    for (const t of records) {
      for (const pid of t.personIds) {
        if (!ids.has(pid)) continue;
        const list = tickets.get(pid);
        if (list === undefined) tickets.set(pid, [t]);
        else list.push(t);
      }
    }
  }

  // ---- codes: the stream's next draws, checked against the tenant's code index up front
  const { secret, start } = await codeSource(deps);
  const needing = people.filter((p) => {
    const c = p.current.referral_code;
    return typeof c !== 'string' || codeProblem(normalizeCode(c)) !== null;
  }).length;
  const preview = new CodeIssuer(codeStream(secret, start).random);
  const drawn = Array.from({ length: needing * 2 + 16 }, () => preview.draw());
  const inUse = await store.lookupPeople(tenantId, 'code', drawn);
  const checked = new Set(drawn);
  const stream = codeStream(secret, start);
  // A draw past the checked ones counts as taken (one more draw), never as free unchecked.
  const isTaken = (code: string): boolean => inUse.has(code) || !checked.has(code);

  const ownerBudgets = await remainingAskBudgets(deps, now);

  // ---- evaluate, plan, hand on
  const streamed: PlannedWrite[] = [];
  const held: PlannedWrite[] = [];
  const fieldChanges: Record<string, number> = {};
  const codeEntries: PersonIndexEntry[] = [];
  let changed = 0;
  const currentOf = new Map(people.map((p) => [p.id, p.current]));
  const result = reevaluatePeople(people, {
    now,
    rules: deps.rules,
    histogram: SpendHistogram.fromJSON(histogramJson as unknown as SpendHistogramJson),
    partnerCompanyIds: partners,
    ticketsOf: (id) => tickets.get(id) ?? [],
    issuer: new CodeIssuer(stream.random),
    isTaken,
    ownerBudgets,
    linkTemplate: deps.mapping.referralLinkTemplate,
    onPlan: (plan, asked) => {
      const keys = Object.keys(plan.changes);
      if (keys.length === 0) return;
      const object = objectOf.get(plan.id)!;
      const update = toRecordUpdate(
        object,
        plan.id,
        plan.changes,
        objectMappingFor(deps.mapping, object),
        deps.definition,
      );
      if (update === null) return;
      changed++;
      const code = plan.changes.referral_code;
      if (typeof code === 'string')
        codeEntries.push({ kind: 'code', key: code, personId: personRef(object, plan.id) });
      for (const k of keys) fieldChanges[k] = (fieldChanges[k] ?? 0) + 1;
      (asked ? held : streamed).push({
        kind: 'person',
        object,
        plan,
        before: currentOf.get(plan.id) ?? {},
        update,
      });
    },
  });
  if (streamed.length > 0) await options.onWrites(streamed);

  let nextAt = Infinity;
  for (const at of result.nextChangeAt.values()) if (at !== null && at < nextAt) nextAt = at;
  if (persist) {
    await store.scheduleAt(tenantId, [
      ...gone.map((id) => ({ id, at: null })),
      ...[...result.nextChangeAt].map(([id, at]) => ({
        id: personRef(objectOf.get(id)!, id),
        at: at === null ? null : new Date(at),
      })),
    ]);
    await store.indexPeople(tenantId, codeEntries);
  }
  // The next instant: this batch's, or the earliest still scheduled (when kept).
  const scheduled = persist ? await store.nextDueAt(tenantId) : null;
  if (scheduled !== null && scheduled.getTime() < nextAt) nextAt = scheduled.getTime();

  const tasks = result.tasks.map((t) => toTaskWrite(t, objectOf, deps.mapping));
  // The dashboard's figures stay those of the last full run (time alone moves few of them).
  const stored = await store.loadReport(tenantId);
  const report = (stored?.report as unknown as Report | undefined) ?? new ReportAccumulator().finish();
  return {
    heldWrites: held,
    writes: changed,
    tasks,
    engine: {
      tasks: result.tasks,
      decisions: [],
      report,
      nextEvaluationAt: nextAt === Infinity ? null : new Date(nextAt),
      counts: {
        people: people.length,
        deals: 0,
        companies: 0,
        changed: { person: changed, deal: 0, company: 0 },
        fieldChanges: { person: fieldChanges, deal: {}, company: {} },
        codesIssued: result.codesIssued.length,
        asksScheduled: result.asksScheduled,
        asksDeferred: result.asksDeferred,
        dealsCredited: 0,
      },
      timingsMs: {},
    },
    codePosition: stream.position(),
    people: people.length,
  };
}
