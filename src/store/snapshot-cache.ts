/**
 * The canonical snapshot cache: the mapped form of every CRM record the engine reads, kept between
 * runs so an incremental run (a handful of changed records) can recompute referrers, roll-ups and
 * caps without re-reading the whole account from the CRM. Like everything but tokens and tenant
 * config it is a cache: a full sync rebuilds it (`clear` + backfill).
 *
 * Redis layout: `{prefix}:t:{tenant}:s:{object}:{bucket}` hashes of id → compact JSON, bucketed
 * like the Store's record state (listpack-encoded small hashes), under the tenant prefix so an
 * uninstall's SCAN of the tenant deletes it too.
 */
import type { Redis } from 'ioredis';
import { BUCKETS, KeySpace, bucketOf } from './keys.js';

export interface SnapshotEntry {
  id: string;
  /** `encodeSnapshot(canonical value)` */
  json: string;
}

export interface SnapshotCache {
  put(tenantId: string, object: string, entries: readonly SnapshotEntry[]): Promise<void>;
  get(tenantId: string, object: string, ids: readonly string[]): Promise<Map<string, string>>;
  delete(tenantId: string, object: string, ids: readonly string[]): Promise<void>;
  /**
   * Every cached record of an object, in chunks (never the whole object in one reply), in an
   * order fixed by the ids alone — bucket, then id — whatever the order of writes: the compute
   * issues new codes in scan order, and a dry run must plan what the real run then writes.
   */
  scan(tenantId: string, object: string): AsyncIterable<SnapshotEntry[]>;
  count(tenantId: string, object: string): Promise<number>;
  clear(tenantId: string, object?: string): Promise<void>;
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** JSON with instants kept as ISO strings; `decodeSnapshot` revives exactly that format as `Date`. */
export function encodeSnapshot(value: unknown): string {
  return JSON.stringify(value);
}

export function decodeSnapshot<T>(json: string): T {
  // A plain parse and one walk: a JSON.parse reviver costs a call per value (3× slower), and the
  // compute decodes every cached person three times per run.
  return revive(JSON.parse(json)) as T;
}

/** Whether `decodeSnapshot` turns this string value into a `Date`. */
export function revivesAsDate(s: string): boolean {
  return s.length === 24 && ISO_INSTANT.test(s);
}

function revive(v: unknown): unknown {
  if (typeof v === 'string') return revivesAsDate(v) ? new Date(v) : v;
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = revive(v[i]);
    return v;
  }
  const o = v as Record<string, unknown>;
  for (const k in o) {
    const x = o[k];
    if (typeof x === 'object' ? x !== null : typeof x === 'string' && x.length === 24) o[k] = revive(x);
  }
  return o;
}

export class MemorySnapshotCache implements SnapshotCache {
  private readonly data = new Map<string, Map<string, string>>();

  private table(tenantId: string, object: string): Map<string, string> {
    const key = `${tenantId}\0${object}`;
    let t = this.data.get(key);
    if (t === undefined) this.data.set(key, (t = new Map()));
    return t;
  }

  async put(tenantId: string, object: string, entries: readonly SnapshotEntry[]): Promise<void> {
    const t = this.table(tenantId, object);
    for (const e of entries) t.set(e.id, e.json);
  }
  async get(tenantId: string, object: string, ids: readonly string[]): Promise<Map<string, string>> {
    const t = this.table(tenantId, object);
    const out = new Map<string, string>();
    for (const id of ids) {
      const v = t.get(id);
      if (v !== undefined) out.set(id, v);
    }
    return out;
  }
  async delete(tenantId: string, object: string, ids: readonly string[]): Promise<void> {
    const t = this.table(tenantId, object);
    for (const id of ids) t.delete(id);
  }
  async *scan(tenantId: string, object: string): AsyncIterable<SnapshotEntry[]> {
    const table = this.table(tenantId, object);
    const ids = [...table.keys()]
      .map((id) => ({ id, bucket: bucketOf(id) }))
      .sort((a, b) => a.bucket - b.bucket || compareIds(a.id, b.id));
    for (let i = 0; i < ids.length; i += 1000) {
      const batch: SnapshotEntry[] = [];
      for (const { id } of ids.slice(i, i + 1000)) {
        const json = table.get(id);
        if (json !== undefined) batch.push({ id, json });
      }
      if (batch.length > 0) yield batch;
    }
  }
  async count(tenantId: string, object: string): Promise<number> {
    return this.table(tenantId, object).size;
  }
  async clear(tenantId: string, object?: string): Promise<void> {
    for (const key of [...this.data.keys()]) {
      const [t, o] = key.split('\0');
      if (t === tenantId && (object === undefined || o === object)) this.data.delete(key);
    }
  }
}

export class RedisSnapshotCache implements SnapshotCache {
  private readonly keys: KeySpace;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new KeySpace(prefix);
  }

  private key(tenantId: string, object: string, bucket: number): string {
    return this.keys.key(tenantId, `s:${object}:${bucket}`);
  }

  async put(tenantId: string, object: string, entries: readonly SnapshotEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const e of entries) pipe.hset(this.key(tenantId, object, bucketOf(e.id)), e.id, e.json);
    await exec(pipe);
  }

  async get(tenantId: string, object: string, ids: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (ids.length === 0) return out;
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hget(this.key(tenantId, object, bucketOf(id)), id);
    const values = await exec(pipe);
    ids.forEach((id, i) => {
      const v = values[i];
      if (typeof v === 'string') out.set(id, v);
    });
    return out;
  }

  async delete(tenantId: string, object: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hdel(this.key(tenantId, object, bucketOf(id)), id);
    await exec(pipe);
  }

  async *scan(tenantId: string, object: string): AsyncIterable<SnapshotEntry[]> {
    // 64 buckets per round trip: ~15k records at 1M, a bounded reply.
    for (let start = 0; start < BUCKETS; start += 64) {
      const pipe = this.redis.pipeline();
      for (let b = start; b < Math.min(BUCKETS, start + 64); b++) pipe.hgetall(this.key(tenantId, object, b));
      const batch: SnapshotEntry[] = [];
      for (const hash of await exec(pipe)) {
        // A hash's field order follows Redis' internal layout (it changes on rehash): sort by id.
        const entries = Object.entries(hash as Record<string, string>).sort((a, b) => compareIds(a[0], b[0]));
        for (const [id, json] of entries) batch.push({ id, json });
      }
      if (batch.length > 0) yield batch;
    }
  }

  async count(tenantId: string, object: string): Promise<number> {
    const pipe = this.redis.pipeline();
    for (let b = 0; b < BUCKETS; b++) pipe.hlen(this.key(tenantId, object, b));
    return (await exec(pipe)).reduce<number>((sum, n) => sum + Number(n), 0);
  }

  async clear(tenantId: string, object?: string): Promise<void> {
    const pattern = this.keys.key(tenantId, object === undefined ? 's:*' : `s:${object}:*`);
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await this.redis.unlink(...keys);
    } while (cursor !== '0');
  }
}

/** Plain code-unit order (not locale order: the same on every machine). */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function exec(pipe: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const results = (await pipe.exec()) ?? [];
  return results.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}
