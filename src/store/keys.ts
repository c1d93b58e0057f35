/**
 * Redis key layout. Every tenant key is `{prefix}:t:{tenantId}:{suffix}`; tenant ids are restricted
 * to `[A-Za-z0-9_-]` so a tenant prefix can never be a prefix of another tenant's keys nor contain
 * SCAN glob characters. Suffixes are 1–3 letters to keep 1M-record tenants small:
 *
 *   tenant            tenant JSON              tok        JWE token set
 *   lock:{name}       lock owner token         f:{name}   short-lived flag (PX)
 *   cur               hash stream → cursor     rep        report JSON
 *   h:{obj}:{b}       hash id → input hash     w:{obj}:{b} hash id → written values JSON
 *   ix:{kind}:{b}     hash key → person id     lg:{b}     hash referred id → ledger JSON
 *   lr:{referrerId}   set of referred ids      re         zset person id → next change (ms)
 *   tk:{b}            hash task key → p<ms>|d<taskId>
 *   runs / runz       hash id → run JSON / zset id → started ms
 *   err               hash object/id → error JSON
 *   ck                zset click member → click ms (`clicks.ts`)
 *   rl:{bucket} / rl  limiter window per bucket / limiter meta (limits, pauses)
 *
 * `{b}` is a bucket: fnv1a(id) mod BUCKETS. Bucketing many small records into hashes uses Redis'
 * compact listpack encoding (≤ hash-max-listpack-entries fields, values ≤ hash-max-listpack-value
 * bytes) instead of one top-level key per record (~70 bytes of key overhead each).
 */
import { AppError } from '../errors.js';

export const ERR_STORE_TENANT_ID_INVALID = 'ERR_STORE_TENANT_ID_INVALID';

/** 4,096 buckets: 1M records ≈ 244 per hash, under the default listpack limit of 512 entries. */
export const BUCKETS = 4096;

const TENANT_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function assertTenantId(tenantId: string): string {
  if (!TENANT_ID.test(tenantId)) {
    throw new AppError(ERR_STORE_TENANT_ID_INVALID, 'tenant id must be 1–64 characters of [A-Za-z0-9_-]', {
      details: { tenantId: tenantId.slice(0, 80) },
    });
  }
  return tenantId;
}

/** FNV-1a 32-bit: fast, stable across processes and versions (never change: it places data). */
export function bucketOf(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % BUCKETS;
}

export class KeySpace {
  constructor(readonly prefix: string) {}

  tenant(tenantId: string): string {
    return `${this.prefix}:t:${assertTenantId(tenantId)}:`;
  }
  /** SCAN pattern of every key of one tenant. */
  tenantPattern(tenantId: string): string {
    return `${this.tenant(tenantId)}*`;
  }
  key(tenantId: string, suffix: string): string {
    return this.tenant(tenantId) + suffix;
  }
  tenantList(): string {
    return `${this.prefix}:g:tenants`;
  }
  accountIndex(): string {
    return `${this.prefix}:g:acct`;
  }
  nonce(nonce: string): string {
    return `${this.prefix}:n:${nonce}`;
  }
  revokedSession(sessionId: string): string {
    return `${this.prefix}:rv:${sessionId}`;
  }
}
