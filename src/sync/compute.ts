/**
 * Compute phase: the cached canonical snapshot → the engine → a write plan in CRM terms.
 *
 * The engine is given the account sorted by id and a deterministic code source, so the same data
 * gives the same plan: a dry run shows exactly what the real run then writes. Codes stay
 * unguessable: the source is HMAC-SHA256 keyed by a per-tenant secret that never leaves the store.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { CrmDefinition, RecordUpdate, TaskWrite } from '../../connectors/contract.js';
import type {
  Company,
  Deal,
  EngineResult,
  EngineTask,
  Owner,
  Person,
  PlanKind,
  RandomSource,
  RecordPlan,
  Rules,
  Ticket,
} from '../engine/index.js';
import { applyChanges, isValidCode, runEngine } from '../engine/index.js';
import type { SnapshotCache } from '../store/snapshot-cache.js';
import { decodeSnapshot } from '../store/snapshot-cache.js';
import type { Store } from '../store/types.js';
import { toRecordUpdate } from './map.js';
import type { Mapping, ObjectMapping } from './mapping.js';

const CODE_SECRET_FLAG = 'code-secret';
const CODE_POSITION_FLAG = 'code-position';
const ASKS_FLAG_PREFIX = 'asks:';
/** Snapshot-cache table of each asked person's ask instants (ms), for the cool-down and yearly cap. */
export const ASK_HISTORY_OBJECT = '~asks';
const FOREVER_MS = 3650 * 86_400_000;

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
  writes: PlannedWrite[];
  tasks: TaskWrite[];
  engine: Omit<EngineResult, 'personPlans' | 'dealPlans' | 'companyPlans'>;
  /** Code-stream position after this plan (saved by a real run only). */
  codePosition: number;
  /** Ask tasks per owner in this plan (consumes today's per-owner cap in a real run). */
  asksByOwner: Record<string, number>;
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

interface LoadedAccount {
  people: Person[];
  companies: Company[];
  deals: Deal[];
  tickets: Ticket[];
  owners: Owner[];
  /** Canonical id → CRM object, for every record that can receive writes. */
  objectOf: Map<string, string>;
}

const byId = <T extends { id: string }>(a: T, b: T): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

async function loadAccount(deps: ComputeDeps): Promise<LoadedAccount> {
  const acc: LoadedAccount = {
    people: [],
    companies: [],
    deals: [],
    tickets: [],
    owners: [],
    objectOf: new Map(),
  };
  for (const [object, om] of Object.entries(deps.mapping.objects)) {
    for await (const batch of deps.snapshots.scan(deps.tenantId, object)) {
      for (const entry of batch) {
        const value = decodeSnapshot<{ id: string }>(entry.json);
        switch (om.kind) {
          case 'person':
            acc.people.push(value as Person);
            break;
          case 'company':
            acc.companies.push(value as Company);
            break;
          case 'deal':
            acc.deals.push(value as Deal);
            break;
          case 'ticket':
            acc.tickets.push(value as Ticket);
            continue;
          case 'owner':
            acc.owners.push(value as Owner);
            continue;
        }
        acc.objectOf.set(value.id, object);
      }
    }
  }
  for (const list of [acc.people, acc.companies, acc.deals, acc.tickets, acc.owners]) list.sort(byId);
  acc.people = mergeLeadConversions(acc.people);
  const history = new Map<string, number[]>();
  for await (const batch of deps.snapshots.scan(deps.tenantId, ASK_HISTORY_OBJECT)) {
    for (const e of batch) history.set(e.id, JSON.parse(e.json) as number[]);
  }
  for (const p of acc.people) attachAsks(p, history.get(p.id));
  return acc;
}

/**
 * Salesforce lead conversion: the Lead carried the referral capture; the Contact it became is the
 * person from now on. Carry the capture onto the Contact when it has none (Salesforce copies lead
 * fields only through the admin's lead mapping, and only into empty fields), and drop converted
 * Leads: they are read-only in Salesforce and the Contact now holds the referral.
 */
export function mergeLeadConversions(people: Person[]): Person[] {
  const converted = people.filter((p) => p.kind === 'lead' && p.convertedToId !== undefined);
  if (converted.length === 0) return people;
  const byPersonId = new Map(people.map((p) => [p.id, p]));
  for (const lead of converted) {
    const contact = byPersonId.get(lead.convertedToId!);
    if (contact === undefined || lead.capture === undefined) continue;
    const has = contact.capture !== undefined && Object.values(contact.capture).some((v) => v !== undefined);
    if (!has) {
      const capturedAt = lead.capture.capturedAt ?? lead.createdAt;
      contact.capture = { ...lead.capture, ...(capturedAt === undefined ? {} : { capturedAt }) };
      contact.convertedFromId = lead.id;
    }
  }
  return people.filter((p) => !(p.kind === 'lead' && p.convertedToId !== undefined));
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

async function codeSource(deps: ComputeDeps): Promise<{ secret: Buffer; start: number }> {
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

function objectMappingFor(mapping: Mapping, object: string): ObjectMapping {
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
 * so the engine restores it. Only those few records' states are read.
 */
async function lostCodes(deps: ComputeDeps, account: LoadedAccount): Promise<Map<string, string>> {
  const byObject = new Map<string, string[]>();
  for (const p of account.people) {
    const c = p.current.referral_code;
    if (typeof c === 'string' && isValidCode(c)) continue;
    if (c === undefined || c === null || c === '') {
      // Empty: only worth a look for people who could have had one (advocates are few).
      if (p.current.referral_link === undefined) continue;
    }
    const object = account.objectOf.get(p.id);
    if (object === undefined) continue;
    const list = byObject.get(object);
    if (list === undefined) byObject.set(object, [p.id]);
    else list.push(p.id);
  }
  const out = new Map<string, string>();
  for (const [object, ids] of byObject) {
    for (const [id, state] of await deps.store.getRecordStates(deps.tenantId, object, ids)) {
      const code = state.written?.referral_code;
      if (typeof code === 'string' && isValidCode(code)) out.set(id, code);
    }
  }
  return out;
}

/** Runs the engine over the cached account and turns its plans into CRM writes and tasks. */
export async function computePlan(deps: ComputeDeps, now: Date): Promise<SyncPlan> {
  const account = await loadAccount(deps);
  const { secret, start } = await codeSource(deps);
  const stream = codeStream(secret, start);
  const used = await asksToday(deps.store, deps.tenantId, now);
  const ownerBudgets: Record<string, number> = {};
  for (const o of account.owners)
    ownerBudgets[o.id] = Math.max(0, deps.rules.asks.perOwnerDailyCap - (used[o.id] ?? 0));
  for (const p of account.people) {
    if (p.ownerId !== undefined && ownerBudgets[p.ownerId] === undefined) {
      ownerBudgets[p.ownerId] = Math.max(0, deps.rules.asks.perOwnerDailyCap - (used[p.ownerId] ?? 0));
    }
  }
  const previousCodes = await lostCodes(deps, account);
  const writes: PlannedWrite[] = [];
  const currentOf = new Map<string, { current: Readonly<Record<string, unknown>> }>();
  for (const list of [account.people, account.deals, account.companies])
    for (const r of list) currentOf.set(r.id, r);
  const result = runEngine(account, {
    now,
    rules: deps.rules,
    random: stream.random,
    linkTemplate: deps.mapping.referralLinkTemplate,
    ownerBudgets,
    previousCodes,
    onPlan: (kind, plan) => {
      if (Object.keys(plan.changes).length === 0) return;
      const object = account.objectOf.get(plan.id);
      const record = currentOf.get(plan.id);
      if (object === undefined || record === undefined) return;
      const update = toRecordUpdate(
        object,
        plan.id,
        plan.changes,
        objectMappingFor(deps.mapping, object),
        deps.definition,
      );
      if (update !== null) writes.push({ kind, object, plan, before: record.current, update });
    },
  });
  const tasks = result.tasks.map((t) => toTaskWrite(t, account.objectOf, deps.mapping));
  const asksByOwner: Record<string, number> = {};
  for (const t of result.tasks) {
    if (t.kind === 'ask' && t.ownerId !== undefined)
      asksByOwner[t.ownerId] = (asksByOwner[t.ownerId] ?? 0) + 1;
  }
  const { personPlans: _p, dealPlans: _d, companyPlans: _c, ...engine } = result;
  return {
    writes,
    tasks,
    engine,
    codePosition: stream.position(),
    asksByOwner,
    people: account.people.length,
  };
}

/** The owned values a record holds after a successful write (what the next diff compares with). */
export function valuesAfterWrite(
  plan: RecordPlan,
  current: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  return applyChanges(current as Person['current'], plan.changes) as Record<string, unknown>;
}
