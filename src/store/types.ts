/**
 * The state contract of the sync service. Two implementations share it and one contract-test suite
 * (`test/store/contract.ts`) runs against both:
 *  - `RedisStore` (`src/store/redis-store.ts`, ioredis): the service, its workers and its tests.
 *  - `MemoryStore` (`src/store/memory-store.ts`): only the embedded demo and one-shot CLI runs.
 *
 * Keys. Every tenant key is `{prefix}:t:{tenantId}:…`, so uninstall deletes a tenant with one
 * SCAN of its prefix and no code path can build a key of another tenant from a tenant's data.
 * The few global keys are `{prefix}:g:…` (tenant list, account index), `{prefix}:n:…` (OAuth
 * nonces) and `{prefix}:rv:…` (revoked admin sessions).
 *
 * Redis persistence production needs (README: copy this):
 *   appendonly yes            # AOF: the ledger, task ledger and cursors are the only record of
 *                             # what we already wrote to the CRM; losing them re-sends tasks
 *                             # (duplicates) and forgets attributions. RDB snapshots alone lose
 *                             # minutes of that on a crash.
 *   appendfsync everysec      # at most ~1 s of writes lost on power loss; the task ledger's
 *                             # `pending` mark + idempotent task keys cover that second.
 *   maxmemory-policy noeviction  # an evicted cursor/ledger key is silent data loss; a full Redis
 *                             # must fail writes loudly (the sync retries) instead.
 * Bull's queues share this Redis and also require noeviction (bull docs "Important notes").
 * Topology: one primary (with replicas/Sentinel for failover). Not Redis Cluster: several Lua
 * scripts (rate limiter, task ledger) touch keys of one tenant that hash to different slots.
 *
 * Construction (other modules):
 *   new RedisStore({ redis: 'redis://…' | ioredisInstance, prefix: 'rs', keyRing, maxRuns? })
 *   new MemoryStore({ keyRing, maxRuns? })
 *   keyRing = parseKeyRing(config.tokenKeys)                       (src/store/crypto.ts)
 *   createTokenProvider(store, tenantId, refresh, { marginMs?, lockTtlMs?, clock? })
 *                                                                  (src/store/tokens.ts)
 *
 * All instants are ISO-8601 strings in records and `Date` in arguments where the caller computes
 * them. Nothing here ever returns or logs a token in clear except `loadTokens`.
 */
import type { CrmName, JsonValue, RateLimiter, RateLimitRule, TokenSet } from '../../connectors/contract.js';
import type { OwnedValue } from '../engine/model.js';

// ---------------------------------------------------------------------------------------------
// Tenants
// ---------------------------------------------------------------------------------------------

export type TenantStatus = 'connected' | 'disconnected';
export type TenantMode = 'oauth' | 'private';

/** What the admin configured; validated by its consumers (engine rules, mapping) before use. */
export interface TenantConfig {
  /** Readiness/attribution/reward rules as JSON (engine schema), or null = engine defaults. */
  rules: JsonValue | null;
  /** Mapping override merged over `mappings/<crm>.json` (`mergeOverride`), or null = none. */
  mappingOverride: JsonValue | null;
  /** Free-form service settings (sync interval, Salesforce bulk thresholds, ...). */
  settings: Record<string, JsonValue>;
  /** `off` = dry-run only (nothing written to the CRM); `on` = the pipeline writes. */
  writeBack: 'off' | 'on';
  /** Pilot limits (one segment / a share of contacts), JSON validated by the pipeline, or null. */
  pilot: JsonValue | null;
}

export interface Tenant {
  /** Opaque, generated at install; safe in URLs and Redis keys (`[A-Za-z0-9_-]`). */
  id: string;
  crm: CrmName;
  /** HubSpot portal id / Salesforce org id. Unique per crm: one tenant per installed account. */
  accountId: string;
  mode: TenantMode;
  /** Display name (portal domain, org name). */
  name?: string;
  status: TenantStatus;
  /** Why disconnected (e.g. "refresh token revoked (invalid_grant)"). Absent when connected. */
  statusReason?: string;
  /** When `status` last changed. */
  statusAt: string;
  config: TenantConfig;
  createdAt: string;
  lastSyncAt?: string;
  nextSyncAt?: string;
}

export interface NewTenant {
  /** Optional explicit id (tests, demo); generated otherwise. */
  id?: string;
  crm: CrmName;
  accountId: string;
  mode: TenantMode;
  name?: string;
  /** Missing members take the defaults (`DEFAULT_TENANT_CONFIG`). */
  config?: Partial<TenantConfig>;
}

/**
 * A partial update. `null` clears an optional member. `config` members are merged one level deep
 * (each given member replaces the stored one; `settings` replaces the whole settings object).
 */
export interface TenantPatch {
  name?: string | null;
  mode?: TenantMode;
  /** Setting `status` also stamps `statusAt`; `statusReason` is cleared unless given. */
  status?: TenantStatus;
  statusReason?: string | null;
  config?: Partial<TenantConfig>;
  lastSyncAt?: Date | null;
  nextSyncAt?: Date | null;
}

export const DEFAULT_TENANT_CONFIG: TenantConfig = {
  rules: null,
  mappingOverride: null,
  settings: {},
  writeBack: 'off',
  pilot: null,
};

// ---------------------------------------------------------------------------------------------
// Per-record sync cache
// ---------------------------------------------------------------------------------------------

/** What the pipeline remembers about one CRM record between runs. */
export interface RecordSyncState {
  /** `inputHash()` of the canonical inputs at the last compute: unchanged → skip recompute. */
  inputHash?: string;
  /**
   * The owned values we last wrote (canonical owned-field id → value), so the next run writes only
   * what differs and recognises its own writes. Dates round-trip as `Date`.
   */
  written?: Record<string, OwnedValue>;
}

export interface RecordSyncStateUpdate extends RecordSyncState {
  id: string;
}

/** Attribution lookup keys. Keys are normalised by the store (trimmed, lower-cased). */
export type PersonIndexKind = 'code' | 'email' | 'click';

export interface PersonIndexEntry {
  kind: PersonIndexKind;
  key: string;
  /** Opaque person reference chosen by the pipeline (e.g. `Lead/00Q…` on Salesforce). */
  personId: string;
}

/** One attributed referral: the referred person credited to a referrer. */
export interface ReferralEntry {
  referredId: string;
  referrerId: string;
  /** How it was matched: `code`, `click`, `email`, `name` (review), `manual`. */
  method: string;
  /** ISO instant of attribution. */
  at: string;
  /** Won deals of the referred person already credited (no double credit). */
  creditedDealIds: string[];
  /** Referred revenue credited so far (in the tenant's currency). */
  revenue: number;
}

/** A referral link click (`GET /r/:tenant/:code`); the landing page's form carries `clickId`. */
export interface StoredClick {
  /** Random, unguessable, url-safe (base64url). */
  clickId: string;
  /** The normalised, valid referral code the link carried. */
  code: string;
  /** ISO instant of the click. */
  at: string;
}

export type TaskLedgerEntry =
  /** Marked before calling the CRM: a crash after this and before `done` re-checks by key. */
  { state: 'pending'; at: string } | { state: 'done'; taskId: string };

// ---------------------------------------------------------------------------------------------
// History, errors, reports
// ---------------------------------------------------------------------------------------------

export type SyncRunKind = 'backfill' | 'incremental' | 'webhook' | 'reevaluate' | 'provision' | 'dry-run';
export type SyncRunStatus = 'running' | 'succeeded' | 'failed' | 'partial' | 'cancelled';

export interface SyncRun {
  id: string;
  kind: SyncRunKind;
  status: SyncRunStatus;
  startedAt: string;
  finishedAt?: string;
  /** Free counters: `read`, `computed`, `skipped`, `written`, `tasks`, `errors`, `apiCalls`, ... */
  counts: Record<string, number>;
  /** Why it failed (code + message, never a secret). */
  error?: { code: string; message: string };
}

export interface RecordErrorInput {
  object: string;
  id: string;
  code: string;
  message: string;
  retryable: boolean;
}

export interface StoredRecordError extends RecordErrorInput {
  /** How many runs hit this error in a row. */
  attempts: number;
  firstSeen: string;
  lastSeen: string;
}

export interface StoredReport {
  report: JsonValue;
  savedAt: string;
}

// ---------------------------------------------------------------------------------------------
// The contract
// ---------------------------------------------------------------------------------------------

export interface RateLimiterOptions {
  /** Injected clock (ms since epoch). Default `Date.now`. */
  now?: () => number;
  /** Injected sleep (tests). Default: real timers, abortable. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /**
   * Salesforce: the share (0–1] of the org's daily allowance (`daily` bucket's reported limit)
   * we may use; reaching it pauses every worker with a reason until the window rolls.
   */
  dailyShare?: number;
  /**
   * Longest wait `take()` sleeps through (default 60 s). A longer one (daily cap, long 429
   * cool-off) throws `ERR_RATE_LIMIT_PAUSED` (retryable, `details.resumeAt`) so the job can be
   * re-scheduled instead of holding a worker.
   */
  maxWaitMs?: number;
}

export interface Store {
  // --- tenants ------------------------------------------------------------------------------

  /** Creates a tenant. Throws `ERR_STORE_TENANT_EXISTS` if (crm, accountId) is already installed. */
  createTenant(input: NewTenant): Promise<Tenant>;
  /** The tenant, or null if unknown. */
  getTenant(tenantId: string): Promise<Tenant | null>;
  /** All tenants, ordered by creation time (oldest first). */
  listTenants(): Promise<Tenant[]>;
  /** Applies a patch and returns the result. Throws `ERR_STORE_TENANT_NOT_FOUND`. */
  updateTenant(tenantId: string, patch: TenantPatch): Promise<Tenant>;
  /** Deletes the tenant and EVERY key under its prefix (uninstall). Unknown id: no-op. */
  deleteTenant(tenantId: string): Promise<void>;
  /** The tenant installed for that CRM account (webhooks carry only the account id), or null. */
  findByAccount(crm: CrmName, accountId: string): Promise<Tenant | null>;

  // --- tokens (encrypted at rest: JWE dir + A256GCM with the TOKEN_KEYS ring) ------------------

  /** Encrypts with the newest key and stores in one SET (a rotated refresh token is never half-saved). */
  saveTokens(tenantId: string, tokens: TokenSet): Promise<void>;
  /** Decrypts with whichever key of the ring matches the JWE `kid`. Null if none stored. */
  loadTokens(tenantId: string): Promise<TokenSet | null>;
  /** Re-encrypts every stored token set with the newest key; returns how many were rewritten. */
  rotateTokenEncryption(): Promise<{ rotated: number }>;

  // --- locks and short-lived flags (shared by every worker process) -------------------------

  /**
   * Acquires `{tenant}:lock:{name}` (SET NX PX) and returns its random owner token, or null if
   * someone holds it. The lock expires by itself after `ttlMs` (a dead worker never blocks).
   */
  acquireLock(tenantId: string, name: string, ttlMs: number): Promise<string | null>;
  /** Releases only if `token` still owns it (compare-and-delete). Returns whether it did. */
  releaseLock(tenantId: string, name: string, token: string): Promise<boolean>;
  /** Extends the TTL only if `token` still owns it. Returns whether it did. */
  extendLock(tenantId: string, name: string, token: string, ttlMs: number): Promise<boolean>;
  /** Sets a short-lived per-tenant JSON flag (refresh failure cooldown, debounce, ...). */
  setFlag(tenantId: string, name: string, value: JsonValue, ttlMs: number): Promise<void>;
  /** The flag's value, or null if absent/expired. */
  getFlag(tenantId: string, name: string): Promise<JsonValue | null>;
  clearFlag(tenantId: string, name: string): Promise<void>;

  // --- cursors -------------------------------------------------------------------------------

  /** The saved cursor of a stream (e.g. `contacts:incremental`), or null. */
  getCursor(tenantId: string, stream: string): Promise<JsonValue | null>;
  /** Call ONLY after the page the cursor follows is fully processed (written + checkpointed). */
  saveCursor(tenantId: string, stream: string, cursor: JsonValue): Promise<void>;
  /** All cursors of the tenant (admin page, diagnostics). */
  listCursors(tenantId: string): Promise<Record<string, JsonValue>>;
  /** Forgets one stream's cursor, or all of them (full resync). */
  clearCursors(tenantId: string, stream?: string): Promise<void>;

  // --- per-record sync cache (batched: one round trip per page) ------------------------------

  /** States of these records; records never seen are absent from the map. */
  getRecordStates(
    tenantId: string,
    object: string,
    ids: readonly string[],
  ): Promise<Map<string, RecordSyncState>>;
  /**
   * Upserts states. Each given member replaces the stored one (`written` is the FULL map: merge the
   * previous one with what was just written before calling); an absent member is left unchanged.
   */
  putRecordStates(tenantId: string, object: string, states: readonly RecordSyncStateUpdate[]): Promise<void>;
  /** Forgets records (deleted / merged away in the CRM). */
  deleteRecordStates(tenantId: string, object: string, ids: readonly string[]): Promise<void>;

  // --- attribution index ---------------------------------------------------------------------

  /** Adds/overwrites index entries (key → person). */
  indexPeople(tenantId: string, entries: readonly PersonIndexEntry[]): Promise<void>;
  /** Removes index keys (email changed, person deleted). */
  unindexPeople(tenantId: string, entries: readonly Omit<PersonIndexEntry, 'personId'>[]): Promise<void>;
  /** Looks keys up; returns normalised key → personId for the keys found. */
  lookupPeople(
    tenantId: string,
    kind: PersonIndexKind,
    keys: readonly string[],
  ): Promise<Map<string, string>>;

  // --- referral ledger -----------------------------------------------------------------------

  /** Ledger entries of these referred people (absent = not attributed). */
  getReferrals(tenantId: string, referredIds: readonly string[]): Promise<Map<string, ReferralEntry>>;
  /**
   * Upserts entries and keeps the per-referrer lists consistent (moving a referred person to
   * another referrer removes it from the old list). First-valid-wins is the pipeline's rule: it
   * reads first (one sync per tenant at a time).
   */
  putReferrals(tenantId: string, entries: readonly ReferralEntry[]): Promise<void>;
  /** Everyone a referrer referred. */
  referralsOf(tenantId: string, referrerId: string): Promise<ReferralEntry[]>;
  /** Removes entries (privacy deletion of the referred person). */
  deleteReferrals(tenantId: string, referredIds: readonly string[]): Promise<void>;

  // --- referral link clicks (`src/store/clicks.ts`) -----------------------------------------

  /**
   * Records a click kept for `ttlMs` (the tenant's `attribution.clickWindowDays`: one window per
   * tenant, so it also drops the tenant's clicks older than `ttlMs`). Throws
   * `ERR_STORE_CLICK_INVALID` for an id/code that is not url-safe/normalised.
   */
  recordClick(tenantId: string, click: StoredClick, ttlMs: number): Promise<void>;
  /** Unexpired clicks at or after `since` (default: all), oldest first, a page at a time. */
  listClicks(tenantId: string, since?: Date): AsyncIterable<StoredClick[]>;

  // --- re-evaluation schedule (exact re-compute at each person's next change instant) --------

  /** Sets (or with `at: null` removes) each person's next re-evaluation instant. */
  scheduleAt(tenantId: string, entries: readonly { id: string; at: Date | null }[]): Promise<void>;
  /** Up to `limit` ids due at or before `now`, earliest first (not removed: re-schedule them). */
  dueBefore(tenantId: string, now: Date, limit: number): Promise<string[]>;
  /** The earliest scheduled instant, or null (the queue schedules the next re-evaluation job). */
  nextDueAt(tenantId: string): Promise<Date | null>;

  // --- task ledger (no duplicate CRM task across crashes) ------------------------------------

  getTasks(tenantId: string, keys: readonly string[]): Promise<Map<string, TaskLedgerEntry>>;
  /** Marks keys pending BEFORE calling the CRM. Never downgrades a key already `done`. */
  markTasksPending(tenantId: string, keys: readonly string[], at: Date): Promise<void>;
  /** Marks keys done with the CRM task id, after the CRM confirmed. */
  markTasksDone(tenantId: string, entries: readonly { key: string; taskId: string }[]): Promise<void>;
  /** Drops `pending` marks (the CRM refused permanently); `done` entries are kept. */
  clearPendingTasks(tenantId: string, keys: readonly string[]): Promise<void>;

  // --- sync history and per-record errors ----------------------------------------------------

  /** Upserts a run by id; only the newest `maxRuns` (store option, default 100) are kept. */
  saveRun(tenantId: string, run: SyncRun): Promise<void>;
  getRun(tenantId: string, runId: string): Promise<SyncRun | null>;
  /** Newest first. */
  listRuns(tenantId: string, limit?: number): Promise<SyncRun[]>;
  /** Records errors: `attempts` += 1 and `firstSeen` kept for a record already in error. */
  recordErrors(tenantId: string, errors: readonly RecordErrorInput[], at: Date): Promise<void>;
  /** Clears errors of records that now succeeded. */
  clearErrors(tenantId: string, refs: readonly { object: string; id: string }[]): Promise<void>;
  /** Up to `limit` (default 100) errors, most recent `lastSeen` first. */
  listErrors(tenantId: string, limit?: number): Promise<StoredRecordError[]>;
  countErrors(tenantId: string): Promise<number>;
  /** Ids of `object` records with a retryable error (re-pulled and retried by the next run). */
  recordsToRetry(tenantId: string, object: string, limit: number): Promise<string[]>;

  // --- reports -------------------------------------------------------------------------------

  saveReport(tenantId: string, report: JsonValue): Promise<void>;
  loadReport(tenantId: string): Promise<StoredReport | null>;

  // --- OAuth nonces and admin sessions (global) ----------------------------------------------

  /** Stores a single-use nonce with its payload (e.g. PKCE verifier) for `ttlMs`. */
  saveNonce(nonce: string, payload: JsonValue, ttlMs: number): Promise<void>;
  /** Returns the payload and deletes the nonce atomically (GETDEL); null if unknown/used/expired. */
  consumeNonce(nonce: string): Promise<JsonValue | null>;
  /** Revokes an admin session id until `until` (its own expiry). */
  revokeSession(sessionId: string, until: Date): Promise<void>;
  isSessionRevoked(sessionId: string): Promise<boolean>;

  // --- shared rate limiter and lifecycle -----------------------------------------------------

  /** The tenant's rate budget, shared by every process using the same store backend. */
  rateLimiter(tenantId: string, rules: readonly RateLimitRule[], options?: RateLimiterOptions): RateLimiter;
  /** Throws if the backend is unreachable (`/readyz`). */
  ping(): Promise<void>;
  /** Closes connections the store opened itself. */
  close(): Promise<void>;
}

// Error codes of the store area.
export const ERR_STORE_TENANT_EXISTS = 'ERR_STORE_TENANT_EXISTS';
export const ERR_STORE_TENANT_NOT_FOUND = 'ERR_STORE_TENANT_NOT_FOUND';
export const ERR_STORE_CORRUPT = 'ERR_STORE_CORRUPT';
