/**
 * "One running sync per tenant": a Redis lock per tenant with a TTL, kept alive by a heartbeat
 * while the handler runs. A killed worker stops beating, so its lock expires after `ttlMs` and the
 * tenant is free again (bull re-queues the stalled job itself).
 *
 * The port is the store's lock trio, so production passes the `Store` (its lock keys live under the
 * tenant's prefix and vanish on uninstall); `RedisTenantLocks` is a self-contained implementation
 * for queue-only processes and tests.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Store } from '../store/types.js';

export type TenantLocks = Pick<Store, 'acquireLock' | 'releaseLock' | 'extendLock'>;

/** The lock every sync-like job takes: backfill, incremental, webhook, reevaluate and provision. */
export const SYNC_LOCK = 'sync';

// Compare-and-delete / compare-and-extend: only the owner token may release or extend
// (the Redis "distributed locks" pattern, redis.io/docs/latest/develop/use/patterns/distributed-locks).
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;

export class RedisTenantLocks implements TenantLocks {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(tenantId: string, name: string): string {
    return `${this.prefix}:t:${tenantId}:lock:${name}`;
  }

  async acquireLock(tenantId: string, name: string, ttlMs: number): Promise<string | null> {
    const token = randomBytes(16).toString('hex');
    const ok = await this.redis.set(this.key(tenantId, name), token, 'PX', ttlMs, 'NX');
    return ok === 'OK' ? token : null;
  }

  async releaseLock(tenantId: string, name: string, token: string): Promise<boolean> {
    return (await this.redis.eval(RELEASE, 1, this.key(tenantId, name), token)) === 1;
  }

  async extendLock(tenantId: string, name: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.eval(EXTEND, 1, this.key(tenantId, name), token, String(ttlMs))) === 1;
  }
}

export interface HeldLock {
  /** Stops the heartbeat and releases the lock (if still ours). */
  release(): Promise<void>;
}

/**
 * Keeps a held lock alive every `ttlMs / 3` (at most 1 s). `onLost` runs when an extension fails (the lock
 * expired, e.g. after a long event-loop stall) or when `shouldStop()` says so (tenant cancelled):
 * the caller aborts its handler, because another worker may now own the tenant.
 */
export function keepAlive(
  locks: TenantLocks,
  tenantId: string,
  name: string,
  token: string,
  ttlMs: number,
  onLost: (reason: string) => void,
  shouldStop?: () => Promise<string | null>,
): HeldLock {
  let stopped = false;
  const beat = async (): Promise<void> => {
    try {
      const stop = shouldStop === undefined ? null : await shouldStop();
      if (stopped) return;
      if (stop !== null) onLost(stop);
      const extended = await locks.extendLock(tenantId, name, token, ttlMs);
      if (!extended && !stopped) onLost('tenant lock lost');
    } catch {
      // Redis hiccup: try again next beat; the TTL leaves two more beats before expiry.
    }
  };
  // At least every second: the beat also polls the cancel flag, so an uninstall stops a run fast.
  const timer = setInterval(() => void beat(), Math.max(50, Math.min(1_000, Math.floor(ttlMs / 3))));
  timer.unref();
  return {
    async release() {
      stopped = true;
      clearInterval(timer);
      await locks.releaseLock(tenantId, name, token).catch(() => false);
    },
  };
}
