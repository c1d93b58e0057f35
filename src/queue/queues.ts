/**
 * The bull queues of one prefix, on shared Redis connections.
 *
 * One bull queue per job kind (so the dashboard shows each backlog and a flood of webhooks never
 * sits in front of a backfill), plus `schedule`, whose repeatable jobs only turn into coalesced
 * incremental jobs. Bull opens three connections per queue by default; per bull's "Reusing Redis
 * connections" pattern (bull/PATTERNS.md) `client` and `subscriber` are shared by all queues of the
 * set and only the blocking `bclient` is per queue. With `createClient` bull no longer closes the
 * connections itself, so `close()` does.
 */
import Bull from 'bull';
import type { Queue } from 'bull';
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { JOB_KINDS } from './jobs.js';
import type { JobKind } from './jobs.js';

export const SCHEDULE_QUEUE = 'schedule';

export interface QueueSetOptions {
  /** `redis://host:port/db` or ioredis options. */
  redis: string | RedisOptions;
  /** Key prefix of every queue and helper key (tests use a random one). */
  prefix: string;
  /**
   * bull lock of an active job (ms): a worker that stops renewing it (killed) has its job moved back
   * to waiting by the stalled-job check of any live worker after about this long.
   */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
}

export class QueueSet {
  readonly prefix: string;
  readonly byKind: Record<JobKind, Queue>;
  readonly schedule: Queue;
  /** The shared non-blocking connection: helper keys (markers, cancel flags, locks) use it too. */
  readonly redis: Redis;
  private readonly connections: Redis[] = [];
  private closing: Promise<void> | null = null;

  constructor(options: QueueSetOptions) {
    this.prefix = options.prefix;
    const make = (blocking: boolean): Redis => {
      // bull refuses blocking/subscriber connections with ready checks or per-request retry limits.
      const extra: RedisOptions = blocking ? { maxRetriesPerRequest: null, enableReadyCheck: false } : {};
      const conn =
        typeof options.redis === 'string'
          ? new Redis(options.redis, { ...extra, lazyConnect: false })
          : new Redis({ ...options.redis, ...extra });
      // Errors surface through commands and /readyz; an unhandled 'error' event would crash the process.
      conn.on('error', () => undefined);
      this.connections.push(conn);
      return conn;
    };
    this.redis = make(false);
    const subscriber = make(true);
    const client = make(true);
    const createClient = (type: 'client' | 'subscriber' | 'bclient'): Redis => {
      if (type === 'client') return client;
      if (type === 'subscriber') return subscriber;
      return make(true);
    };
    const settings = {
      ...(options.lockDurationMs === undefined ? {} : { lockDuration: options.lockDurationMs }),
      ...(options.stalledIntervalMs === undefined ? {} : { stalledInterval: options.stalledIntervalMs }),
      // A job whose worker died twice is failed with a reason instead of looping forever.
      maxStalledCount: 2,
    };
    const open = (name: string): Queue => {
      const queue = new Bull(name, { prefix: options.prefix, createClient, settings });
      queue.on('error', () => undefined);
      return queue;
    };
    this.byKind = Object.fromEntries(JOB_KINDS.map((kind) => [kind, open(kind)])) as Record<JobKind, Queue>;
    this.schedule = open(SCHEDULE_QUEUE);
  }

  all(): Queue[] {
    return [...Object.values(this.byKind), this.schedule];
  }

  /** Key of a helper value under this prefix (never collides with a queue: `_` is not a queue name). */
  key(...parts: string[]): string {
    return [this.prefix, '_', ...parts].join(':');
  }

  async isReady(): Promise<void> {
    await Promise.all(this.all().map((q) => q.isReady()));
    await this.redis.ping();
  }

  /** Closes every queue (without waiting for active jobs: the worker drains first) and connection. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all(this.all().map((q) => q.close(true).catch(() => undefined)));
      await Promise.all(
        this.connections.map(async (c) => {
          if (c.status === 'end') return;
          await c.quit().catch(() => c.disconnect());
        }),
      );
    })();
    return this.closing;
  }
}
