/**
 * The in-process `Store`, for the embedded demo and one-shot CLI runs only (state dies with the
 * process; nothing is shared between processes). Same contract and encodings as `RedisStore`:
 * tokens are still stored as JWE, so the demo exercises the real encryption path.
 */
import { randomBytes } from 'node:crypto';
import type { CrmName, JsonValue, RateLimiter, RateLimitRule, TokenSet } from '../../connectors/contract.js';
import { AppError } from '../errors.js';
import {
  decodeRecordError,
  decodeReferral,
  decodeTask,
  decodeWritten,
  encodeRecordError,
  encodeReferral,
  encodeTaskDone,
  encodeTaskPending,
  encodeWritten,
  errorField,
  nextRecordError,
  normaliseIndexKey,
  storedIndexKey,
} from './codec.js';
import { assertClick, CLICK_PAGE } from './clicks.js';
import type { KeyRing } from './crypto.js';
import { decryptTokens, encryptTokens, keyIdOf } from './crypto.js';
import { assertTenantId } from './keys.js';
import type { MemoryLimiterState } from './rate-limiter.js';
import { MemoryRateLimiter, newMemoryLimiterState } from './rate-limiter.js';
import { accountField, applyTenantPatch, buildTenant } from './tenant.js';
import type {
  NewTenant,
  PersonIndexEntry,
  PersonIndexKind,
  RateLimiterOptions,
  RecordErrorInput,
  RecordSyncState,
  RecordSyncStateUpdate,
  ReferralEntry,
  Store,
  StoredClick,
  StoredRecordError,
  StoredReport,
  SyncRun,
  TaskLedgerEntry,
  Tenant,
  TenantPatch,
} from './types.js';
import { ERR_STORE_TENANT_EXISTS, ERR_STORE_TENANT_NOT_FOUND } from './types.js';

export interface MemoryStoreOptions {
  keyRing: KeyRing;
  maxRuns?: number;
  now?: () => Date;
}

interface Expiring {
  value: string;
  expiresAt: number;
}

interface TenantState {
  tenant: string; // JSON, like Redis (no shared mutable objects leak to callers)
  tokens?: string;
  locks: Map<string, Expiring>;
  flags: Map<string, Expiring>;
  cursors: Map<string, string>;
  hashes: Map<string, string>; // `${object}\0${id}`
  written: Map<string, string>;
  index: Map<string, string>; // `${kind}\0${key}`
  ledger: Map<string, string>;
  byReferrer: Map<string, Set<string>>;
  schedule: Map<string, number>;
  clicks: Map<string, { code: string; at: number; expiresAt: number }>;
  tasks: Map<string, string>;
  runs: Map<string, { json: string; started: number }>;
  errors: Map<string, string>;
  report?: string;
  limiter: MemoryLimiterState;
}

export class MemoryStore implements Store {
  private readonly tenants = new Map<string, TenantState>();
  private readonly accounts = new Map<string, string>();
  private readonly nonces = new Map<string, Expiring>();
  private readonly revoked = new Map<string, number>();
  private readonly keyRing: KeyRing;
  private readonly maxRuns: number;
  private readonly now: () => Date;

  constructor(options: MemoryStoreOptions) {
    this.keyRing = options.keyRing;
    this.maxRuns = options.maxRuns ?? 100;
    this.now = options.now ?? (() => new Date());
  }

  /** The tenant's state; tenant-scoped data may exist before the tenant record (like Redis keys). */
  private state(tenantId: string): TenantState {
    assertTenantId(tenantId);
    let s = this.tenants.get(tenantId);
    if (s === undefined) {
      s = {
        tenant: '',
        locks: new Map(),
        flags: new Map(),
        cursors: new Map(),
        hashes: new Map(),
        written: new Map(),
        index: new Map(),
        ledger: new Map(),
        byReferrer: new Map(),
        schedule: new Map(),
        clicks: new Map(),
        tasks: new Map(),
        runs: new Map(),
        errors: new Map(),
        limiter: newMemoryLimiterState(),
      };
      this.tenants.set(tenantId, s);
    }
    return s;
  }

  private live(map: Map<string, Expiring>, key: string): Expiring | undefined {
    const e = map.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= this.now().getTime()) {
      map.delete(key);
      return undefined;
    }
    return e;
  }

  // --- tenants ------------------------------------------------------------------------------

  async createTenant(input: NewTenant): Promise<Tenant> {
    const tenant = buildTenant(input, this.now());
    const field = accountField(tenant.crm, tenant.accountId);
    if (this.accounts.has(field)) {
      throw new AppError(
        ERR_STORE_TENANT_EXISTS,
        `${tenant.crm} account ${tenant.accountId} is already installed`,
        { details: { crm: tenant.crm, accountId: tenant.accountId } },
      );
    }
    this.accounts.set(field, tenant.id);
    this.state(tenant.id).tenant = JSON.stringify(tenant);
    return tenant;
  }

  async getTenant(tenantId: string): Promise<Tenant | null> {
    const raw = this.tenants.get(assertTenantId(tenantId))?.tenant;
    return raw === undefined || raw === '' ? null : (JSON.parse(raw) as Tenant);
  }

  async listTenants(): Promise<Tenant[]> {
    const all = [...this.tenants.values()]
      .filter((s) => s.tenant !== '')
      .map((s) => JSON.parse(s.tenant) as Tenant)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
    return all;
  }

  async updateTenant(tenantId: string, patch: TenantPatch): Promise<Tenant> {
    // Read-modify-write with no await in between: atomic on the event loop.
    const raw = this.tenants.get(assertTenantId(tenantId))?.tenant;
    const current = raw === undefined || raw === '' ? null : (JSON.parse(raw) as Tenant);
    if (current === null) {
      throw new AppError(ERR_STORE_TENANT_NOT_FOUND, `tenant ${tenantId} does not exist`, {
        details: { tenantId },
      });
    }
    const next = applyTenantPatch(current, patch, this.now());
    this.state(tenantId).tenant = JSON.stringify(next);
    return next;
  }

  async deleteTenant(tenantId: string): Promise<void> {
    const tenant = await this.getTenant(tenantId);
    if (tenant !== null) this.accounts.delete(accountField(tenant.crm, tenant.accountId));
    this.tenants.delete(tenantId);
  }

  async findByAccount(crm: CrmName, accountId: string): Promise<Tenant | null> {
    const id = this.accounts.get(accountField(crm, accountId));
    return id === undefined ? Promise.resolve(null) : this.getTenant(id);
  }

  // --- tokens ------------------------------------------------------------------------------

  async saveTokens(tenantId: string, tokens: TokenSet): Promise<void> {
    const jwe = await encryptTokens(this.keyRing, tenantId, tokens);
    this.state(tenantId).tokens = jwe;
  }

  async loadTokens(tenantId: string): Promise<TokenSet | null> {
    const jwe = this.tenants.get(assertTenantId(tenantId))?.tokens;
    return jwe === undefined ? null : decryptTokens(this.keyRing, tenantId, jwe);
  }

  async rotateTokenEncryption(): Promise<{ rotated: number }> {
    const newest = this.keyRing.keys[0]?.kid;
    let rotated = 0;
    for (const [tenantId, s] of this.tenants) {
      const jwe = s.tokens;
      if (jwe === undefined || keyIdOf(jwe) === newest) continue;
      const next = await encryptTokens(
        this.keyRing,
        tenantId,
        await decryptTokens(this.keyRing, tenantId, jwe),
      );
      if (s.tokens === jwe) {
        s.tokens = next;
        rotated++;
      }
    }
    return { rotated };
  }

  // --- locks and flags ---------------------------------------------------------------------

  async acquireLock(tenantId: string, name: string, ttlMs: number): Promise<string | null> {
    const { locks } = this.state(tenantId);
    if (this.live(locks, name) !== undefined) return null;
    const token = randomBytes(12).toString('base64url');
    locks.set(name, { value: token, expiresAt: this.now().getTime() + Math.max(1, ttlMs) });
    return token;
  }

  async releaseLock(tenantId: string, name: string, token: string): Promise<boolean> {
    const { locks } = this.state(tenantId);
    if (this.live(locks, name)?.value !== token) return false;
    locks.delete(name);
    return true;
  }

  async extendLock(tenantId: string, name: string, token: string, ttlMs: number): Promise<boolean> {
    const { locks } = this.state(tenantId);
    const lock = this.live(locks, name);
    if (lock?.value !== token) return false;
    lock.expiresAt = this.now().getTime() + Math.max(1, ttlMs);
    return true;
  }

  async setFlag(tenantId: string, name: string, value: JsonValue, ttlMs: number): Promise<void> {
    this.state(tenantId).flags.set(name, {
      value: JSON.stringify(value),
      expiresAt: this.now().getTime() + Math.max(1, ttlMs),
    });
  }

  async getFlag(tenantId: string, name: string): Promise<JsonValue | null> {
    const flag = this.live(this.state(tenantId).flags, name);
    return flag === undefined ? null : (JSON.parse(flag.value) as JsonValue);
  }

  async clearFlag(tenantId: string, name: string): Promise<void> {
    this.state(tenantId).flags.delete(name);
  }

  // --- cursors -----------------------------------------------------------------------------

  async getCursor(tenantId: string, stream: string): Promise<JsonValue | null> {
    const raw = this.state(tenantId).cursors.get(stream);
    return raw === undefined ? null : (JSON.parse(raw) as JsonValue);
  }

  async saveCursor(tenantId: string, stream: string, cursor: JsonValue): Promise<void> {
    this.state(tenantId).cursors.set(stream, JSON.stringify(cursor));
  }

  async listCursors(tenantId: string): Promise<Record<string, JsonValue>> {
    const out: Record<string, JsonValue> = {};
    for (const [s, raw] of this.state(tenantId).cursors) out[s] = JSON.parse(raw) as JsonValue;
    return out;
  }

  async clearCursors(tenantId: string, stream?: string): Promise<void> {
    const { cursors } = this.state(tenantId);
    if (stream === undefined) cursors.clear();
    else cursors.delete(stream);
  }

  // --- per-record sync cache ---------------------------------------------------------------

  async getRecordStates(
    tenantId: string,
    object: string,
    ids: readonly string[],
  ): Promise<Map<string, RecordSyncState>> {
    const s = this.state(tenantId);
    const out = new Map<string, RecordSyncState>();
    for (const id of ids) {
      const h = s.hashes.get(`${object}\0${id}`);
      const w = s.written.get(`${object}\0${id}`);
      if (h === undefined && w === undefined) continue;
      const state: RecordSyncState = {};
      if (h !== undefined) state.inputHash = h;
      if (w !== undefined) state.written = decodeWritten(w);
      out.set(id, state);
    }
    return out;
  }

  async putRecordStates(
    tenantId: string,
    object: string,
    states: readonly RecordSyncStateUpdate[],
  ): Promise<void> {
    const s = this.state(tenantId);
    for (const r of states) {
      if (r.inputHash !== undefined) s.hashes.set(`${object}\0${r.id}`, r.inputHash);
      if (r.written !== undefined) s.written.set(`${object}\0${r.id}`, encodeWritten(r.written));
    }
  }

  async deleteRecordStates(tenantId: string, object: string, ids: readonly string[]): Promise<void> {
    const s = this.state(tenantId);
    for (const id of ids) {
      s.hashes.delete(`${object}\0${id}`);
      s.written.delete(`${object}\0${id}`);
    }
  }

  // --- attribution index -------------------------------------------------------------------

  async indexPeople(tenantId: string, entries: readonly PersonIndexEntry[]): Promise<void> {
    const { index } = this.state(tenantId);
    for (const e of entries) {
      const key = normaliseIndexKey(e.key);
      if (key !== '') index.set(`${e.kind}\0${storedIndexKey(key)}`, e.personId);
    }
  }

  async unindexPeople(
    tenantId: string,
    entries: readonly Omit<PersonIndexEntry, 'personId'>[],
  ): Promise<void> {
    const { index } = this.state(tenantId);
    for (const e of entries) index.delete(`${e.kind}\0${storedIndexKey(normaliseIndexKey(e.key))}`);
  }

  async lookupPeople(
    tenantId: string,
    kind: PersonIndexKind,
    keys: readonly string[],
  ): Promise<Map<string, string>> {
    const { index } = this.state(tenantId);
    const out = new Map<string, string>();
    for (const raw of keys) {
      const key = normaliseIndexKey(raw);
      const personId = index.get(`${kind}\0${storedIndexKey(key)}`);
      if (key !== '' && personId !== undefined) out.set(key, personId);
    }
    return out;
  }

  // --- referral ledger ---------------------------------------------------------------------

  async getReferrals(tenantId: string, referredIds: readonly string[]): Promise<Map<string, ReferralEntry>> {
    const { ledger } = this.state(tenantId);
    const out = new Map<string, ReferralEntry>();
    for (const id of referredIds) {
      const raw = ledger.get(id);
      if (raw !== undefined) out.set(id, decodeReferral(id, raw));
    }
    return out;
  }

  async putReferrals(tenantId: string, entries: readonly ReferralEntry[]): Promise<void> {
    const { ledger, byReferrer } = this.state(tenantId);
    for (const e of entries) {
      const raw = ledger.get(e.referredId);
      if (raw !== undefined) {
        const old = decodeReferral(e.referredId, raw);
        if (old.referrerId !== e.referrerId) byReferrer.get(old.referrerId)?.delete(e.referredId);
      }
      ledger.set(e.referredId, encodeReferral(e));
      const set = byReferrer.get(e.referrerId) ?? new Set<string>();
      set.add(e.referredId);
      byReferrer.set(e.referrerId, set);
    }
  }

  async referralsOf(tenantId: string, referrerId: string): Promise<ReferralEntry[]> {
    const ids = [...(this.state(tenantId).byReferrer.get(referrerId) ?? [])];
    const found = await this.getReferrals(tenantId, ids);
    return [...found.values()]
      .filter((e) => e.referrerId === referrerId)
      .sort((a, b) => a.at.localeCompare(b.at) || a.referredId.localeCompare(b.referredId));
  }

  async deleteReferrals(tenantId: string, referredIds: readonly string[]): Promise<void> {
    const { ledger, byReferrer } = this.state(tenantId);
    for (const id of referredIds) {
      const raw = ledger.get(id);
      if (raw === undefined) continue;
      byReferrer.get(decodeReferral(id, raw).referrerId)?.delete(id);
      ledger.delete(id);
    }
  }

  // --- referral link clicks ----------------------------------------------------------------

  async recordClick(tenantId: string, click: StoredClick, ttlMs: number): Promise<void> {
    const at = assertClick(click, ttlMs);
    const clicks = this.state(tenantId).clicks;
    const cutoff = this.now().getTime() - ttlMs;
    for (const [id, c] of clicks) if (c.at < cutoff) clicks.delete(id);
    clicks.set(click.clickId, { code: click.code, at, expiresAt: at + Math.ceil(ttlMs) });
  }

  async *listClicks(tenantId: string, since?: Date): AsyncIterable<StoredClick[]> {
    const nowMs = this.now().getTime();
    const min = since?.getTime() ?? -Infinity;
    const live = [...this.state(tenantId).clicks]
      .filter(([, c]) => c.at >= min && c.expiresAt > nowMs)
      .sort(([a, x], [b, y]) => x.at - y.at || (a < b ? -1 : 1))
      .map(([clickId, c]): StoredClick => ({ clickId, code: c.code, at: new Date(c.at).toISOString() }));
    for (let i = 0; i < live.length; i += CLICK_PAGE) yield live.slice(i, i + CLICK_PAGE);
  }

  // --- re-evaluation schedule --------------------------------------------------------------

  async scheduleAt(tenantId: string, entries: readonly { id: string; at: Date | null }[]): Promise<void> {
    const { schedule } = this.state(tenantId);
    for (const e of entries) {
      if (e.at === null) schedule.delete(e.id);
      else schedule.set(e.id, e.at.getTime());
    }
  }

  private sortedSchedule(tenantId: string): [string, number][] {
    // Redis orders equal scores by member (lexicographic); so do we.
    return [...this.state(tenantId).schedule].sort(
      (a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0),
    );
  }

  async dueBefore(tenantId: string, now: Date, limit: number): Promise<string[]> {
    if (limit <= 0) return [];
    const due = this.sortedSchedule(tenantId)
      .filter(([, at]) => at <= now.getTime())
      .slice(0, limit)
      .map(([id]) => id);
    return due;
  }

  async nextDueAt(tenantId: string): Promise<Date | null> {
    const first = this.sortedSchedule(tenantId)[0];
    return first === undefined ? null : new Date(first[1]);
  }

  // --- task ledger -------------------------------------------------------------------------

  async getTasks(tenantId: string, keys: readonly string[]): Promise<Map<string, TaskLedgerEntry>> {
    const { tasks } = this.state(tenantId);
    const out = new Map<string, TaskLedgerEntry>();
    for (const key of keys) {
      const raw = tasks.get(key);
      if (raw !== undefined) out.set(key, decodeTask(raw));
    }
    return out;
  }

  async markTasksPending(tenantId: string, keys: readonly string[], at: Date): Promise<void> {
    const { tasks } = this.state(tenantId);
    for (const key of keys) if (!tasks.get(key)?.startsWith('d')) tasks.set(key, encodeTaskPending(at));
  }

  async markTasksDone(tenantId: string, entries: readonly { key: string; taskId: string }[]): Promise<void> {
    const { tasks } = this.state(tenantId);
    for (const e of entries) tasks.set(e.key, encodeTaskDone(e.taskId));
  }

  async clearPendingTasks(tenantId: string, keys: readonly string[]): Promise<void> {
    const { tasks } = this.state(tenantId);
    for (const key of keys) if (tasks.get(key)?.startsWith('p')) tasks.delete(key);
  }

  // --- history and errors ------------------------------------------------------------------

  private runOrder(tenantId: string): [string, number][] {
    return [...this.state(tenantId).runs]
      .map(([id, r]): [string, number] => [id, r.started])
      .sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  async saveRun(tenantId: string, run: SyncRun): Promise<void> {
    const { runs } = this.state(tenantId);
    runs.set(run.id, { json: JSON.stringify(run), started: Date.parse(run.startedAt) });
    const order = this.runOrder(tenantId);
    for (const [id] of order.slice(0, Math.max(0, order.length - this.maxRuns))) runs.delete(id);
  }

  async getRun(tenantId: string, runId: string): Promise<SyncRun | null> {
    const r = this.state(tenantId).runs.get(runId);
    return r === undefined ? null : (JSON.parse(r.json) as SyncRun);
  }

  async listRuns(tenantId: string, limit = 20): Promise<SyncRun[]> {
    const { runs } = this.state(tenantId);
    const newest = this.runOrder(tenantId).reverse().slice(0, Math.max(0, limit));
    return newest.map(([id]) => JSON.parse(runs.get(id)?.json ?? 'null') as SyncRun);
  }

  async recordErrors(tenantId: string, errors: readonly RecordErrorInput[], at: Date): Promise<void> {
    const store = this.state(tenantId).errors;
    for (const e of errors) {
      const field = errorField(e.object, e.id);
      const raw = store.get(field);
      const previous = raw === undefined ? undefined : decodeRecordError(field, raw);
      store.set(field, encodeRecordError(nextRecordError(previous, e, at)));
    }
  }

  async clearErrors(tenantId: string, refs: readonly { object: string; id: string }[]): Promise<void> {
    const store = this.state(tenantId).errors;
    for (const r of refs) store.delete(errorField(r.object, r.id));
  }

  async listErrors(tenantId: string, limit = 100): Promise<StoredRecordError[]> {
    const all = [...this.state(tenantId).errors].map(([field, raw]) => decodeRecordError(field, raw));
    all.sort((a, b) => b.lastSeen.localeCompare(a.lastSeen) || a.id.localeCompare(b.id));
    return all.slice(0, Math.max(0, limit));
  }

  async countErrors(tenantId: string): Promise<number> {
    return this.state(tenantId).errors.size;
  }

  async recordsToRetry(tenantId: string, object: string, limit: number): Promise<string[]> {
    const out: string[] = [];
    const prefix = errorField(object, '');
    for (const [field, raw] of this.state(tenantId).errors) {
      if (out.length >= limit) break;
      if (field.startsWith(prefix) && decodeRecordError(field, raw).retryable)
        out.push(field.slice(prefix.length));
    }
    return out;
  }

  // --- reports -----------------------------------------------------------------------------

  async saveReport(tenantId: string, report: JsonValue): Promise<void> {
    const stored: StoredReport = { report, savedAt: this.now().toISOString() };
    this.state(tenantId).report = JSON.stringify(stored);
  }

  async loadReport(tenantId: string): Promise<StoredReport | null> {
    const raw = this.state(tenantId).report;
    return raw === undefined ? null : (JSON.parse(raw) as StoredReport);
  }

  // --- nonces and sessions -----------------------------------------------------------------

  async saveNonce(nonce: string, payload: JsonValue, ttlMs: number): Promise<void> {
    this.nonces.set(nonce, {
      value: JSON.stringify(payload),
      expiresAt: this.now().getTime() + Math.max(1, ttlMs),
    });
  }

  async consumeNonce(nonce: string): Promise<JsonValue | null> {
    const e = this.live(this.nonces, nonce);
    this.nonces.delete(nonce);
    return e === undefined ? null : (JSON.parse(e.value) as JsonValue);
  }

  async revokeSession(sessionId: string, until: Date): Promise<void> {
    if (until.getTime() > this.now().getTime()) this.revoked.set(sessionId, until.getTime());
  }

  async isSessionRevoked(sessionId: string): Promise<boolean> {
    const until = this.revoked.get(sessionId);
    if (until !== undefined && until <= this.now().getTime()) this.revoked.delete(sessionId);
    return until !== undefined && until > this.now().getTime();
  }

  // --- limiter and lifecycle ---------------------------------------------------------------

  rateLimiter(
    tenantId: string,
    rules: readonly RateLimitRule[],
    options: RateLimiterOptions = {},
  ): RateLimiter {
    return new MemoryRateLimiter(this.state(tenantId).limiter, rules, options);
  }

  async ping(): Promise<void> {
    // In-process: always reachable.
  }

  async close(): Promise<void> {
    // Nothing to close.
  }
}
