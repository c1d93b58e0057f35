/**
 * The production `Store` on Redis (ioredis). See `types.ts` for the contract and the persistence
 * settings production needs, `keys.ts` for the key layout. Batched methods use one pipeline (one
 * round trip) per call whatever the number of records; read-modify-write sequences that could race
 * between workers are Lua scripts.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
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
  parseJson,
} from './codec.js';
import { assertClick, CLICK_PAGE, decodeClickMember, encodeClickMember } from './clicks.js';
import type { KeyRing } from './crypto.js';
import { decryptTokens, encryptTokens, keyIdOf } from './crypto.js';
import { bucketOf, KeySpace } from './keys.js';
import { RedisRateLimiter } from './rate-limiter.js';
import { accountField, applyTenantPatch, buildTenant, decodeTenant, encodeTenant } from './tenant.js';
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

export const ERR_STORE_CONTENDED = 'ERR_STORE_CONTENDED';

export interface RedisStoreOptions {
  /** A URL (the store owns and closes the connection) or a shared ioredis client (caller closes). */
  redis: string | Redis;
  /** Key namespace, e.g. `rs` (tests: a random prefix each). */
  prefix: string;
  keyRing: KeyRing;
  /** Sync runs kept per tenant. Default 100. */
  maxRuns?: number;
  /** Injected clock for record timestamps. */
  now?: () => Date;
}

const RELEASE_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
const EXTEND_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
/** Replace the stored JWE only if nobody saved a newer one since we read it (rotation vs refresh). */
const CAS_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 else return 0 end`;
/** KEYS[i] bucket hash, ARGV[i] task key, ARGV[#KEYS+1] pending value; never downgrade `done`. */
const PENDING_LUA = `
local v = ARGV[#KEYS + 1]
for i = 1, #KEYS do
  local cur = redis.call('HGET', KEYS[i], ARGV[i])
  if not cur or string.sub(cur, 1, 1) ~= 'd' then redis.call('HSET', KEYS[i], ARGV[i], v) end
end
return 1`;
const CLEAR_PENDING_LUA = `
for i = 1, #KEYS do
  local cur = redis.call('HGET', KEYS[i], ARGV[i])
  if cur and string.sub(cur, 1, 1) == 'p' then redis.call('HDEL', KEYS[i], ARGV[i]) end
end
return 1`;
/** KEYS[1] runs hash, KEYS[2] runs zset; ARGV id, json, startedMs, max. */
const SAVE_RUN_LUA = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
local extra = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
if extra > 0 then
  local old = redis.call('ZRANGE', KEYS[2], 0, extra - 1)
  redis.call('HDEL', KEYS[1], unpack(old))
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, extra - 1)
end
return 1`;

type ScriptedRedis = Redis & {
  rsRelease(key: string, token: string): Promise<number>;
  rsExtend(key: string, token: string, ttl: number): Promise<number>;
  rsCas(key: string, expected: string, next: string): Promise<number>;
  rsPending(numKeys: number, ...args: string[]): Promise<number>;
  rsClearPending(numKeys: number, ...args: string[]): Promise<number>;
  rsSaveRun(
    runs: string,
    runz: string,
    id: string,
    json: string,
    started: number,
    max: number,
  ): Promise<number>;
};

/** Runs a pipeline and returns its results, throwing the first command error. */
async function execAll(pipe: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const results = (await pipe.exec()) ?? [];
  return results.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}

/** Groups ids by bucket: `Map<bucket, ids>`. */
function byBucket(ids: Iterable<string>): Map<number, string[]> {
  const groups = new Map<number, string[]>();
  for (const id of ids) {
    const b = bucketOf(id);
    const group = groups.get(b);
    if (group === undefined) groups.set(b, [id]);
    else group.push(id);
  }
  return groups;
}

export class RedisStore implements Store {
  readonly redis: ScriptedRedis;
  readonly keys: KeySpace;
  private readonly ownsConnection: boolean;
  private readonly keyRing: KeyRing;
  private readonly maxRuns: number;
  private readonly now: () => Date;

  constructor(options: RedisStoreOptions) {
    const redis =
      typeof options.redis === 'string' ? new Redis(options.redis, { lazyConnect: false }) : options.redis;
    this.ownsConnection = typeof options.redis === 'string';
    this.keys = new KeySpace(options.prefix);
    this.keyRing = options.keyRing;
    this.maxRuns = options.maxRuns ?? 100;
    this.now = options.now ?? (() => new Date());
    const define = (name: string, lua: string, numberOfKeys?: number): void => {
      if (typeof (redis as unknown as Record<string, unknown>)[name] !== 'function') {
        redis.defineCommand(name, numberOfKeys === undefined ? { lua } : { lua, numberOfKeys });
      }
    };
    define('rsRelease', RELEASE_LUA, 1);
    define('rsExtend', EXTEND_LUA, 1);
    define('rsCas', CAS_LUA, 1);
    define('rsPending', PENDING_LUA);
    define('rsClearPending', CLEAR_PENDING_LUA);
    define('rsSaveRun', SAVE_RUN_LUA, 2);
    this.redis = redis as ScriptedRedis;
  }

  private k(tenantId: string, suffix: string): string {
    return this.keys.key(tenantId, suffix);
  }

  // --- tenants ------------------------------------------------------------------------------

  async createTenant(input: NewTenant): Promise<Tenant> {
    const tenant = buildTenant(input, this.now());
    // HSETNX on the account index is the uniqueness check: two racing installs, one winner.
    const won = await this.redis.hsetnx(
      this.keys.accountIndex(),
      accountField(tenant.crm, tenant.accountId),
      tenant.id,
    );
    if (won === 0) {
      throw new AppError(
        ERR_STORE_TENANT_EXISTS,
        `${tenant.crm} account ${tenant.accountId} is already installed`,
        {
          details: { crm: tenant.crm, accountId: tenant.accountId },
        },
      );
    }
    await this.redis
      .multi()
      .set(this.k(tenant.id, 'tenant'), encodeTenant(tenant))
      .zadd(this.keys.tenantList(), Date.parse(tenant.createdAt), tenant.id)
      .exec();
    return tenant;
  }

  async getTenant(tenantId: string): Promise<Tenant | null> {
    const raw = await this.redis.get(this.k(tenantId, 'tenant'));
    return raw === null ? null : decodeTenant(raw);
  }

  async listTenants(): Promise<Tenant[]> {
    const ids = await this.redis.zrange(this.keys.tenantList(), 0, -1);
    if (ids.length === 0) return [];
    const raws = await this.redis.mget(ids.map((id) => this.k(id, 'tenant')));
    return raws.flatMap((raw) => (raw === null ? [] : [decodeTenant(raw)]));
  }

  async updateTenant(tenantId: string, patch: TenantPatch): Promise<Tenant> {
    const key = this.k(tenantId, 'tenant');
    // Optimistic compare-and-set (Lua, not WATCH: WATCH is per connection and a shared ioredis
    // client interleaves other callers' EXECs). A concurrent update (status from a token refresh vs
    // the admin's config save) makes us re-read and re-apply instead of overwriting its change.
    for (let attempt = 0; attempt < 20; attempt++) {
      const raw = await this.redis.get(key);
      if (raw === null) {
        throw new AppError(ERR_STORE_TENANT_NOT_FOUND, `tenant ${tenantId} does not exist`, {
          details: { tenantId },
        });
      }
      const next = applyTenantPatch(decodeTenant(raw), patch, this.now());
      if ((await this.redis.rsCas(key, raw, encodeTenant(next))) === 1) return next;
    }
    throw new AppError(ERR_STORE_CONTENDED, `tenant ${tenantId} is being updated concurrently`, {
      retryable: true,
    });
  }

  async deleteTenant(tenantId: string): Promise<void> {
    const tenant = await this.getTenant(tenantId);
    // Delete the tenant record first so no new work starts, then everything under its prefix.
    const pipe = this.redis.multi().del(this.k(tenantId, 'tenant')).zrem(this.keys.tenantList(), tenantId);
    if (tenant !== null) pipe.hdel(this.keys.accountIndex(), accountField(tenant.crm, tenant.accountId));
    await pipe.exec();
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(
        cursor,
        'MATCH',
        this.keys.tenantPattern(tenantId),
        'COUNT',
        1000,
      );
      cursor = next;
      if (batch.length > 0) await this.redis.unlink(...batch);
    } while (cursor !== '0');
  }

  async findByAccount(crm: CrmName, accountId: string): Promise<Tenant | null> {
    const id = await this.redis.hget(this.keys.accountIndex(), accountField(crm, accountId));
    return id === null ? null : this.getTenant(id);
  }

  // --- tokens ------------------------------------------------------------------------------

  async saveTokens(tenantId: string, tokens: TokenSet): Promise<void> {
    await this.redis.set(this.k(tenantId, 'tok'), await encryptTokens(this.keyRing, tenantId, tokens));
  }

  async loadTokens(tenantId: string): Promise<TokenSet | null> {
    const jwe = await this.redis.get(this.k(tenantId, 'tok'));
    return jwe === null ? null : decryptTokens(this.keyRing, tenantId, jwe);
  }

  async rotateTokenEncryption(): Promise<{ rotated: number }> {
    const newest = this.keyRing.keys[0]?.kid;
    let rotated = 0;
    for (const tenantId of await this.redis.zrange(this.keys.tenantList(), 0, -1)) {
      const key = this.k(tenantId, 'tok');
      const jwe = await this.redis.get(key);
      if (jwe === null || keyIdOf(jwe) === newest) continue;
      const next = await encryptTokens(
        this.keyRing,
        tenantId,
        await decryptTokens(this.keyRing, tenantId, jwe),
      );
      // Compare-and-set: a refresh that stored new tokens meanwhile wins (it is already newest-key).
      rotated += await this.redis.rsCas(key, jwe, next);
    }
    return { rotated };
  }

  // --- locks and flags ---------------------------------------------------------------------

  async acquireLock(tenantId: string, name: string, ttlMs: number): Promise<string | null> {
    const token = randomBytes(12).toString('base64url');
    const ok = await this.redis.set(
      this.k(tenantId, `lock:${name}`),
      token,
      'PX',
      Math.max(1, Math.ceil(ttlMs)),
      'NX',
    );
    return ok === 'OK' ? token : null;
  }

  async releaseLock(tenantId: string, name: string, token: string): Promise<boolean> {
    return (await this.redis.rsRelease(this.k(tenantId, `lock:${name}`), token)) === 1;
  }

  async extendLock(tenantId: string, name: string, token: string, ttlMs: number): Promise<boolean> {
    return (
      (await this.redis.rsExtend(this.k(tenantId, `lock:${name}`), token, Math.max(1, Math.ceil(ttlMs)))) ===
      1
    );
  }

  async setFlag(tenantId: string, name: string, value: JsonValue, ttlMs: number): Promise<void> {
    await this.redis.set(
      this.k(tenantId, `f:${name}`),
      JSON.stringify(value),
      'PX',
      Math.max(1, Math.ceil(ttlMs)),
    );
  }

  async getFlag(tenantId: string, name: string): Promise<JsonValue | null> {
    const raw = await this.redis.get(this.k(tenantId, `f:${name}`));
    return raw === null ? null : (parseJson(raw, 'flag') as JsonValue);
  }

  async clearFlag(tenantId: string, name: string): Promise<void> {
    await this.redis.del(this.k(tenantId, `f:${name}`));
  }

  // --- cursors -----------------------------------------------------------------------------

  async getCursor(tenantId: string, stream: string): Promise<JsonValue | null> {
    const raw = await this.redis.hget(this.k(tenantId, 'cur'), stream);
    return raw === null ? null : (parseJson(raw, 'cursor') as JsonValue);
  }

  async saveCursor(tenantId: string, stream: string, cursor: JsonValue): Promise<void> {
    await this.redis.hset(this.k(tenantId, 'cur'), stream, JSON.stringify(cursor));
  }

  async listCursors(tenantId: string): Promise<Record<string, JsonValue>> {
    const all = await this.redis.hgetall(this.k(tenantId, 'cur'));
    return Object.fromEntries(
      Object.entries(all).map(([s, raw]) => [s, parseJson(raw, 'cursor') as JsonValue]),
    );
  }

  async clearCursors(tenantId: string, stream?: string): Promise<void> {
    if (stream === undefined) await this.redis.del(this.k(tenantId, 'cur'));
    else await this.redis.hdel(this.k(tenantId, 'cur'), stream);
  }

  // --- per-record sync cache ---------------------------------------------------------------

  async getRecordStates(
    tenantId: string,
    object: string,
    ids: readonly string[],
  ): Promise<Map<string, RecordSyncState>> {
    const out = new Map<string, RecordSyncState>();
    if (ids.length === 0) return out;
    const groups = [...byBucket(new Set(ids))];
    const pipe = this.redis.pipeline();
    for (const [b, group] of groups) {
      pipe.hmget(this.k(tenantId, `h:${object}:${b}`), ...group);
      pipe.hmget(this.k(tenantId, `w:${object}:${b}`), ...group);
    }
    const values = await execAll(pipe);
    groups.forEach(([, group], g) => {
      const hashes = values[g * 2] as (string | null)[];
      const written = values[g * 2 + 1] as (string | null)[];
      group.forEach((id, i) => {
        const h = hashes[i] ?? null;
        const w = written[i] ?? null;
        if (h === null && w === null) return;
        const state: RecordSyncState = {};
        if (h !== null) state.inputHash = h;
        if (w !== null) state.written = decodeWritten(w);
        out.set(id, state);
      });
    });
    return out;
  }

  async putRecordStates(
    tenantId: string,
    object: string,
    states: readonly RecordSyncStateUpdate[],
  ): Promise<void> {
    if (states.length === 0) return;
    const hashes = new Map<string, Record<string, string>>();
    const add = (key: string, field: string, value: string): void => {
      const fields = hashes.get(key) ?? {};
      fields[field] = value;
      hashes.set(key, fields);
    };
    for (const s of states) {
      const b = bucketOf(s.id);
      if (s.inputHash !== undefined) add(this.k(tenantId, `h:${object}:${b}`), s.id, s.inputHash);
      if (s.written !== undefined) add(this.k(tenantId, `w:${object}:${b}`), s.id, encodeWritten(s.written));
    }
    const pipe = this.redis.pipeline();
    for (const [key, fields] of hashes) pipe.hset(key, fields);
    await execAll(pipe);
  }

  async deleteRecordStates(tenantId: string, object: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const [b, group] of byBucket(ids)) {
      pipe.hdel(this.k(tenantId, `h:${object}:${b}`), ...group);
      pipe.hdel(this.k(tenantId, `w:${object}:${b}`), ...group);
    }
    await execAll(pipe);
  }

  // --- attribution index -------------------------------------------------------------------

  async indexPeople(tenantId: string, entries: readonly PersonIndexEntry[]): Promise<void> {
    const byKey = new Map<string, Record<string, string>>();
    for (const e of entries) {
      const normalised = normaliseIndexKey(e.key);
      if (normalised === '') continue;
      const key = storedIndexKey(normalised);
      const hash = this.k(tenantId, `ix:${e.kind}:${bucketOf(key)}`);
      const fields = byKey.get(hash) ?? {};
      fields[key] = e.personId;
      byKey.set(hash, fields);
    }
    if (byKey.size === 0) return;
    const pipe = this.redis.pipeline();
    for (const [hash, fields] of byKey) pipe.hset(hash, fields);
    await execAll(pipe);
  }

  async unindexPeople(
    tenantId: string,
    entries: readonly Omit<PersonIndexEntry, 'personId'>[],
  ): Promise<void> {
    if (entries.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const e of entries) {
      const key = storedIndexKey(normaliseIndexKey(e.key));
      pipe.hdel(this.k(tenantId, `ix:${e.kind}:${bucketOf(key)}`), key);
    }
    await execAll(pipe);
  }

  async lookupPeople(
    tenantId: string,
    kind: PersonIndexKind,
    keys: readonly string[],
  ): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const normalised = [...new Set(keys.map(normaliseIndexKey).filter((k) => k !== ''))];
    if (normalised.length === 0) return out;
    const stored = new Map(normalised.map((n) => [storedIndexKey(n), n]));
    const groups = [...byBucket(stored.keys())];
    const pipe = this.redis.pipeline();
    for (const [b, group] of groups) pipe.hmget(this.k(tenantId, `ix:${kind}:${b}`), ...group);
    const values = await execAll(pipe);
    groups.forEach(([, group], g) => {
      const found = values[g] as (string | null)[];
      group.forEach((key, i) => {
        const personId = found[i];
        const original = stored.get(key);
        if (personId !== null && personId !== undefined && original !== undefined)
          out.set(original, personId);
      });
    });
    return out;
  }

  // --- referral ledger ---------------------------------------------------------------------

  async getReferrals(tenantId: string, referredIds: readonly string[]): Promise<Map<string, ReferralEntry>> {
    const out = new Map<string, ReferralEntry>();
    if (referredIds.length === 0) return out;
    const groups = [...byBucket(new Set(referredIds))];
    const pipe = this.redis.pipeline();
    for (const [b, group] of groups) pipe.hmget(this.k(tenantId, `lg:${b}`), ...group);
    const values = await execAll(pipe);
    groups.forEach(([, group], g) => {
      const raws = values[g] as (string | null)[];
      group.forEach((id, i) => {
        const raw = raws[i];
        if (raw !== null && raw !== undefined) out.set(id, decodeReferral(id, raw));
      });
    });
    return out;
  }

  async putReferrals(tenantId: string, entries: readonly ReferralEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const previous = await this.getReferrals(
      tenantId,
      entries.map((e) => e.referredId),
    );
    const multi = this.redis.multi();
    for (const e of entries) {
      const old = previous.get(e.referredId);
      if (old !== undefined && old.referrerId !== e.referrerId) {
        multi.srem(this.k(tenantId, `lr:${old.referrerId}`), e.referredId);
      }
      multi.hset(this.k(tenantId, `lg:${bucketOf(e.referredId)}`), e.referredId, encodeReferral(e));
      multi.sadd(this.k(tenantId, `lr:${e.referrerId}`), e.referredId);
    }
    await multi.exec();
  }

  async referralsOf(tenantId: string, referrerId: string): Promise<ReferralEntry[]> {
    const ids = await this.redis.smembers(this.k(tenantId, `lr:${referrerId}`));
    const found = await this.getReferrals(tenantId, ids);
    return ids
      .flatMap((id) => {
        const e = found.get(id);
        return e !== undefined && e.referrerId === referrerId ? [e] : [];
      })
      .sort((a, b) => a.at.localeCompare(b.at) || a.referredId.localeCompare(b.referredId));
  }

  async deleteReferrals(tenantId: string, referredIds: readonly string[]): Promise<void> {
    if (referredIds.length === 0) return;
    const previous = await this.getReferrals(tenantId, referredIds);
    const multi = this.redis.multi();
    for (const [id, e] of previous) {
      multi.srem(this.k(tenantId, `lr:${e.referrerId}`), id);
      multi.hdel(this.k(tenantId, `lg:${bucketOf(id)}`), id);
    }
    await multi.exec();
  }

  // --- referral link clicks ----------------------------------------------------------------

  async recordClick(tenantId: string, click: StoredClick, ttlMs: number): Promise<void> {
    const at = assertClick(click, ttlMs);
    const ttl = Math.ceil(ttlMs);
    const nowMs = this.now().getTime();
    const key = this.k(tenantId, 'ck');
    // Trim clicks older than the window, then the key lives as long as its newest click: with one
    // window per tenant the newest click is the last to expire (a shorter new window drops older
    // clicks sooner, which is what the shorter window means anyway).
    await execAll(
      this.redis
        .multi()
        .zadd(key, at, encodeClickMember(click, at + ttl))
        .zremrangebyscore(key, '-inf', `(${nowMs - ttl}`)
        .pexpire(key, Math.max(1, at + ttl - nowMs)),
    );
  }

  async *listClicks(tenantId: string, since?: Date): AsyncIterable<StoredClick[]> {
    const key = this.k(tenantId, 'ck');
    const min = since === undefined ? '-inf' : String(since.getTime());
    for (let offset = 0; ; offset += CLICK_PAGE) {
      const raw = await this.redis.zrangebyscore(key, min, '+inf', 'WITHSCORES', 'LIMIT', offset, CLICK_PAGE);
      const nowMs = this.now().getTime();
      const page: StoredClick[] = [];
      for (let i = 0; i + 1 < raw.length; i += 2) {
        const click = decodeClickMember(raw[i]!, Number(raw[i + 1]), nowMs);
        if (click !== null) page.push(click);
      }
      if (page.length > 0) yield page;
      if (raw.length < CLICK_PAGE * 2) return;
    }
  }

  // --- re-evaluation schedule --------------------------------------------------------------

  async scheduleAt(tenantId: string, entries: readonly { id: string; at: Date | null }[]): Promise<void> {
    if (entries.length === 0) return;
    const key = this.k(tenantId, 're');
    const pipe = this.redis.pipeline();
    const adds: (string | number)[] = [];
    const removes: string[] = [];
    for (const e of entries) {
      if (e.at === null) removes.push(e.id);
      else adds.push(e.at.getTime(), e.id);
    }
    if (removes.length > 0) pipe.zrem(key, ...removes);
    if (adds.length > 0) pipe.zadd(key, ...adds);
    await execAll(pipe);
  }

  async dueBefore(tenantId: string, now: Date, limit: number): Promise<string[]> {
    if (limit <= 0) return [];
    return this.redis.zrangebyscore(this.k(tenantId, 're'), '-inf', now.getTime(), 'LIMIT', 0, limit);
  }

  async nextDueAt(tenantId: string): Promise<Date | null> {
    const first = await this.redis.zrange(this.k(tenantId, 're'), 0, 0, 'WITHSCORES');
    return first.length < 2 ? null : new Date(Number(first[1]));
  }

  // --- task ledger -------------------------------------------------------------------------

  async getTasks(tenantId: string, keys: readonly string[]): Promise<Map<string, TaskLedgerEntry>> {
    const out = new Map<string, TaskLedgerEntry>();
    if (keys.length === 0) return out;
    const groups = [...byBucket(new Set(keys))];
    const pipe = this.redis.pipeline();
    for (const [b, group] of groups) pipe.hmget(this.k(tenantId, `tk:${b}`), ...group);
    const values = await execAll(pipe);
    groups.forEach(([, group], g) => {
      const raws = values[g] as (string | null)[];
      group.forEach((key, i) => {
        const raw = raws[i];
        if (raw !== null && raw !== undefined) out.set(key, decodeTask(raw));
      });
    });
    return out;
  }

  async markTasksPending(tenantId: string, keys: readonly string[], at: Date): Promise<void> {
    if (keys.length === 0) return;
    const unique = [...new Set(keys)];
    await this.redis.rsPending(
      unique.length,
      ...unique.map((key) => this.k(tenantId, `tk:${bucketOf(key)}`)),
      ...unique,
      encodeTaskPending(at),
    );
  }

  async markTasksDone(tenantId: string, entries: readonly { key: string; taskId: string }[]): Promise<void> {
    if (entries.length === 0) return;
    const byKey = new Map<string, Record<string, string>>();
    for (const e of entries) {
      const hash = this.k(tenantId, `tk:${bucketOf(e.key)}`);
      const fields = byKey.get(hash) ?? {};
      fields[e.key] = encodeTaskDone(e.taskId);
      byKey.set(hash, fields);
    }
    const pipe = this.redis.pipeline();
    for (const [hash, fields] of byKey) pipe.hset(hash, fields);
    await execAll(pipe);
  }

  async clearPendingTasks(tenantId: string, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const unique = [...new Set(keys)];
    await this.redis.rsClearPending(
      unique.length,
      ...unique.map((key) => this.k(tenantId, `tk:${bucketOf(key)}`)),
      ...unique,
    );
  }

  // --- history and errors ------------------------------------------------------------------

  async saveRun(tenantId: string, run: SyncRun): Promise<void> {
    await this.redis.rsSaveRun(
      this.k(tenantId, 'runs'),
      this.k(tenantId, 'runz'),
      run.id,
      JSON.stringify(run),
      Date.parse(run.startedAt),
      this.maxRuns,
    );
  }

  async getRun(tenantId: string, runId: string): Promise<SyncRun | null> {
    const raw = await this.redis.hget(this.k(tenantId, 'runs'), runId);
    return raw === null ? null : (parseJson(raw, 'sync run') as SyncRun);
  }

  async listRuns(tenantId: string, limit = 20): Promise<SyncRun[]> {
    if (limit <= 0) return [];
    const ids = await this.redis.zrevrange(this.k(tenantId, 'runz'), 0, limit - 1);
    if (ids.length === 0) return [];
    const raws = await this.redis.hmget(this.k(tenantId, 'runs'), ...ids);
    return raws.flatMap((raw) => (raw === null ? [] : [parseJson(raw, 'sync run') as SyncRun]));
  }

  async recordErrors(tenantId: string, errors: readonly RecordErrorInput[], at: Date): Promise<void> {
    if (errors.length === 0) return;
    const key = this.k(tenantId, 'err');
    const fields = [...new Set(errors.map((e) => errorField(e.object, e.id)))];
    const raws = await this.redis.hmget(key, ...fields);
    const previous = new Map<string, StoredRecordError>();
    fields.forEach((f, i) => {
      const raw = raws[i];
      if (raw !== null && raw !== undefined) previous.set(f, decodeRecordError(f, raw));
    });
    const next: Record<string, string> = {};
    for (const e of errors) {
      const field = errorField(e.object, e.id);
      const stored = nextRecordError(previous.get(field), e, at);
      previous.set(field, stored);
      next[field] = encodeRecordError(stored);
    }
    await this.redis.hset(key, next);
  }

  async clearErrors(tenantId: string, refs: readonly { object: string; id: string }[]): Promise<void> {
    if (refs.length === 0) return;
    await this.redis.hdel(this.k(tenantId, 'err'), ...refs.map((r) => errorField(r.object, r.id)));
  }

  async listErrors(tenantId: string, limit = 100): Promise<StoredRecordError[]> {
    const all = await this.redis.hgetall(this.k(tenantId, 'err'));
    return Object.entries(all)
      .map(([field, raw]) => decodeRecordError(field, raw))
      .sort((a, b) => b.lastSeen.localeCompare(a.lastSeen) || a.id.localeCompare(b.id))
      .slice(0, Math.max(0, limit));
  }

  async countErrors(tenantId: string): Promise<number> {
    return this.redis.hlen(this.k(tenantId, 'err'));
  }

  async recordsToRetry(tenantId: string, object: string, limit: number): Promise<string[]> {
    const out: string[] = [];
    if (limit <= 0) return out;
    const pattern = `${errorField(object, '').replace(/[*?[\]\\]/g, '\\$&')}*`;
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(
        this.k(tenantId, 'err'),
        cursor,
        'MATCH',
        pattern,
        'COUNT',
        500,
      );
      cursor = next;
      for (let i = 0; i + 1 < flat.length && out.length < limit; i += 2) {
        const e = decodeRecordError(flat[i] as string, flat[i + 1] as string);
        if (e.retryable && !out.includes(e.id)) out.push(e.id);
      }
    } while (cursor !== '0' && out.length < limit);
    return out;
  }

  // --- reports -----------------------------------------------------------------------------

  async saveReport(tenantId: string, report: JsonValue): Promise<void> {
    const stored: StoredReport = { report, savedAt: this.now().toISOString() };
    await this.redis.set(this.k(tenantId, 'rep'), JSON.stringify(stored));
  }

  async loadReport(tenantId: string): Promise<StoredReport | null> {
    const raw = await this.redis.get(this.k(tenantId, 'rep'));
    return raw === null ? null : (parseJson(raw, 'report') as StoredReport);
  }

  // --- nonces and sessions -----------------------------------------------------------------

  async saveNonce(nonce: string, payload: JsonValue, ttlMs: number): Promise<void> {
    await this.redis.set(
      this.keys.nonce(nonce),
      JSON.stringify(payload),
      'PX',
      Math.max(1, Math.ceil(ttlMs)),
    );
  }

  async consumeNonce(nonce: string): Promise<JsonValue | null> {
    const raw = await this.redis.getdel(this.keys.nonce(nonce));
    return raw === null ? null : (parseJson(raw, 'nonce') as JsonValue);
  }

  async revokeSession(sessionId: string, until: Date): Promise<void> {
    const ttl = until.getTime() - this.now().getTime();
    if (ttl <= 0) return; // already expired: nothing to revoke
    await this.redis.set(this.keys.revokedSession(sessionId), '1', 'PX', Math.ceil(ttl));
  }

  async isSessionRevoked(sessionId: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.revokedSession(sessionId))) === 1;
  }

  // --- limiter and lifecycle ---------------------------------------------------------------

  rateLimiter(
    tenantId: string,
    rules: readonly RateLimitRule[],
    options: RateLimiterOptions = {},
  ): RateLimiter {
    return new RedisRateLimiter(this.redis, this.keys, tenantId, rules, options);
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    if (this.ownsConnection) await this.redis.quit();
  }
}
