/**
 * Enqueueing side of the queues: what the server, the scheduler and the pipeline call.
 *
 * Coalescing. For kinds without data (backfill, incremental, reevaluate, provision) at most one job
 * per tenant+kind WAITS at a time. The waiting job's bull jobId is remembered in a "pending" marker
 * (`SET NX`); a second request returns that jobId instead of adding a job. The worker clears the
 * marker when it STARTS the job (compare-and-delete), so a change arriving during a run queues
 * exactly one follow-up run. (A fixed jobId alone cannot do this in bull 4: a jobId stays taken while
 * the job is active and while a failed job is kept, which would drop the follow-up run.)
 * Webhook jobs carry events, so they are keyed by a hash of their events: a CRM retry of the same
 * batch coalesces, different batches never do.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { JobOptions, Queue } from 'bull';
import type { ChangeEvent } from '../../connectors/contract.js';
import { COALESCED_KINDS, eventToWire, tenantIdSchema } from './jobs.js';
import type { JobKind, TenantJobPayload, WebhookJobPayload } from './jobs.js';
import type { QueueSet } from './queues.js';
import { parseOrThrow } from '../validation.js';

export type DataFreeKind = Exclude<JobKind, 'webhook'>;

export interface EnqueueOptions {
  /** Run no earlier than this many ms from now (re-evaluation at the next change instant). */
  delayMs?: number;
  reason?: string;
  /** Set by the worker on continuations. */
  slice?: number;
}

export interface EnqueueResult {
  jobId: string;
  /** True when an equivalent job was already waiting and no new job was added. */
  coalesced: boolean;
}

export interface CancelResult {
  /** Waiting, delayed and failed jobs removed. */
  removedJobs: number;
  /** Jobs of the tenant still running after `waitMs` (0 = every run stopped). */
  stillRunning: number;
}

export interface QueueDepth {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

/** The port other modules depend on (the server, the pipeline for re-evaluation, the CLI). */
export interface QueueProducer {
  enqueue(kind: DataFreeKind, tenantId: string, options?: EnqueueOptions): Promise<EnqueueResult>;
  enqueueWebhook(
    tenantId: string,
    events: readonly ChangeEvent[],
    options?: EnqueueOptions,
  ): Promise<EnqueueResult>;
  /** (Re)sets the tenant's repeatable incremental schedule (default interval if omitted). */
  schedule(tenantId: string, everyMs?: number): Promise<void>;
  unschedule(tenantId: string): Promise<void>;
  /** When the tenant's next scheduled incremental sync fires, or null if it has no schedule. */
  nextScheduledAt(tenantId: string): Promise<Date | null>;
  /**
   * Stops all work of a tenant (uninstall): removes its schedule and its waiting/delayed/failed
   * jobs, and raises a cancel flag that running handlers see at their next heartbeat (their signal
   * aborts) and that makes workers drop any job of the tenant they pick up later.
   */
  cancelTenant(tenantId: string, options?: { waitMs?: number }): Promise<CancelResult>;
  depths(): Promise<Record<JobKind, QueueDepth>>;
  /** Throws unless Redis answers and every queue is ready (`/readyz`). */
  ping(): Promise<void>;
}

export interface ProducerOptions {
  /** Incremental schedule interval (default 5 min: HubSpot asks integrations to poll ≥ 5 min apart). */
  defaultEveryMs?: number;
  /** bull job options of every job (retries, backoff, retention); merged over the defaults. */
  jobOptions?: JobOptions;
  /** Lifetime of a pending marker whose job vanished without starting (crash between SET and add). */
  pendingTtlMs?: number;
  /** How long a cancelled tenant's jobs are dropped on pickup. */
  cancelTtlMs?: number;
}

export const DEFAULT_EVERY_MS = 5 * 60_000;

/** A pending delayed job due at most this much later than a new request absorbs it. */
const COALESCE_SLACK_MS = 5_000;

/** Retries with exponential backoff (2 s, 4 s, 8 s, ...); failed jobs kept with their reason. */
export const DEFAULT_JOB_OPTIONS: JobOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: { count: 1_000, age: 24 * 3600 },
  removeOnFail: false,
};

// Replace the marker only if it still names `expected` (atomic hand-over on re-queue).
const SWAP = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 else return 0 end`;
const CLEAR = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/**
 * A stable offset of the tenant's scheduled syncs within the interval (hash of the tenant id), so
 * the schedules of all tenants do not fire on the same boundary. bull 4's `repeat.every` always
 * fires on multiples of `every` (lib/repeatable.js getNextMillis) and has no offset option, so the
 * tick stays on the boundary and the incremental job it queues is delayed by this offset.
 */
export function scheduleOffsetMs(tenantId: string, everyMs: number): number {
  const n = createHash('sha256').update(tenantId).digest().readUInt32BE(0);
  return n % Math.max(1, everyMs);
}

export function newJobId(kind: JobKind, tenantId: string): string {
  return `${kind}:${tenantId}:${randomBytes(9).toString('base64url')}`;
}

export class BullQueueProducer implements QueueProducer {
  readonly defaultEveryMs: number;
  readonly jobOptions: JobOptions;
  private readonly pendingTtlMs: number;
  private readonly cancelTtlMs: number;

  constructor(
    readonly queues: QueueSet,
    options: ProducerOptions = {},
  ) {
    this.defaultEveryMs = options.defaultEveryMs ?? DEFAULT_EVERY_MS;
    this.jobOptions = { ...DEFAULT_JOB_OPTIONS, ...options.jobOptions };
    this.pendingTtlMs = options.pendingTtlMs ?? 24 * 3600_000;
    this.cancelTtlMs = options.cancelTtlMs ?? 3600_000;
  }

  pendingKey(kind: JobKind, tenantId: string): string {
    return this.queues.key('pending', kind, tenantId);
  }

  cancelKey(tenantId: string): string {
    return this.queues.key('cancel', tenantId);
  }

  async enqueue(kind: DataFreeKind, tenantId: string, options: EnqueueOptions = {}): Promise<EnqueueResult> {
    parseOrThrow(tenantIdSchema, tenantId, 'tenant id');
    const queue = this.queues.byKind[kind];
    const payload: TenantJobPayload = { tenantId };
    if (options.reason !== undefined) payload.reason = options.reason;
    if (options.slice !== undefined) payload.slice = options.slice;
    const delay = Math.max(0, options.delayMs ?? 0);
    if (!COALESCED_KINDS.has(kind)) throw new Error(`kind ${kind} is not coalesced`);

    const marker = this.pendingKey(kind, tenantId);
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const id = newJobId(kind, tenantId);
      const claimed = await this.queues.redis.set(marker, id, 'PX', this.pendingTtlMs, 'NX');
      if (claimed === 'OK') {
        await this.addOrRelease(queue, payload, id, delay, marker);
        return { jobId: id, coalesced: false };
      }
      const existingId = await this.queues.redis.get(marker);
      if (existingId === null) continue; // started meanwhile: claim again
      const existing = await queue.getJob(existingId);
      const state = existing === null ? 'missing' : await existing.getState();
      // `active` with the marker still set: a worker picked it up but has not started the handler
      // yet (it clears the marker before the run reads anything, or hands the marker to the
      // re-queued job if the tenant is busy), so the run will still see what this request is for.
      if (existing !== null && (state === 'waiting' || state === 'paused' || state === 'active')) {
        return { jobId: existingId, coalesced: true };
      }
      if (existing !== null && state === 'delayed') {
        const dueAt = existing.timestamp + (existing.opts.delay ?? 0);
        // An earlier request (e.g. re-evaluation now due sooner) replaces a later delayed one; a job
        // due shortly anyway (e.g. re-queued because the tenant was busy) satisfies it.
        if (Date.now() + delay + COALESCE_SLACK_MS >= dueAt) return { jobId: existingId, coalesced: true };
        await existing.remove().catch(() => undefined);
      }
      // Stale marker (job gone, finished, or replaced above): hand the marker over to a new job.
      const swapped = await this.queues.redis.eval(
        SWAP,
        1,
        marker,
        existingId,
        id,
        String(this.pendingTtlMs),
      );
      if (swapped === 1) {
        await this.addOrRelease(queue, payload, id, delay, marker);
        return { jobId: id, coalesced: false };
      }
    }
    // Five races in a row: add without coalescing (a duplicate run is harmless, a lost one is not).
    const id = newJobId(kind, tenantId);
    await queue.add(payload, { ...this.jobOptions, jobId: id, delay });
    return { jobId: id, coalesced: false };
  }

  private async addOrRelease(
    queue: Queue,
    payload: TenantJobPayload,
    id: string,
    delay: number,
    marker: string,
  ): Promise<void> {
    try {
      await queue.add(payload, { ...this.jobOptions, jobId: id, delay });
    } catch (e) {
      await this.queues.redis.eval(CLEAR, 1, marker, id).catch(() => undefined);
      throw e;
    }
  }

  async enqueueWebhook(
    tenantId: string,
    events: readonly ChangeEvent[],
    options: EnqueueOptions = {},
  ): Promise<EnqueueResult> {
    parseOrThrow(tenantIdSchema, tenantId, 'tenant id');
    const wire = events.map(eventToWire);
    const payload: WebhookJobPayload = { tenantId, events: wire };
    if (options.reason !== undefined) payload.reason = options.reason;
    const digest = createHash('sha256').update(JSON.stringify(wire)).digest('base64url').slice(0, 24);
    const id = `webhook:${tenantId}:${digest}`;
    const queue = this.queues.byKind.webhook;
    if ((await queue.getJob(id)) !== null) return { jobId: id, coalesced: true };
    await queue.add(payload, { ...this.jobOptions, jobId: id, delay: Math.max(0, options.delayMs ?? 0) });
    return { jobId: id, coalesced: false };
  }

  /** Re-adds a job's payload under a fresh id (lock busy, continuation of a webhook batch). */
  async requeue(kind: JobKind, oldJobId: string, payload: object, delayMs: number): Promise<string> {
    const tenantId = (payload as { tenantId: string }).tenantId;
    const id = newJobId(kind, tenantId);
    await this.queues.byKind[kind].add(payload, { ...this.jobOptions, jobId: id, delay: delayMs });
    if (COALESCED_KINDS.has(kind)) {
      await this.queues.redis.eval(
        SWAP,
        1,
        this.pendingKey(kind, tenantId),
        oldJobId,
        id,
        String(this.pendingTtlMs),
      );
    }
    return id;
  }

  /** Called by the worker when it starts a job: later requests queue a new job. */
  async clearPending(kind: JobKind, tenantId: string, jobId: string): Promise<void> {
    if (!COALESCED_KINDS.has(kind)) return;
    await this.queues.redis.eval(CLEAR, 1, this.pendingKey(kind, tenantId), jobId);
  }

  async isCancelled(tenantId: string): Promise<boolean> {
    return (await this.queues.redis.exists(this.cancelKey(tenantId))) === 1;
  }

  private scheduleJobId(tenantId: string): string {
    // No ':' inside: bull splits repeat keys on ':' to report the id (bull/lib/repeatable.js _keyToData).
    return `schedule-${tenantId}`;
  }

  async schedule(tenantId: string, everyMs?: number): Promise<void> {
    parseOrThrow(tenantIdSchema, tenantId, 'tenant id');
    const every = everyMs ?? this.defaultEveryMs;
    if (!Number.isInteger(every) || every < 1_000)
      throw new RangeError('schedule interval must be ≥ 1000 ms');
    const existing = await this.repeatablesOf(tenantId);
    if (existing.length === 1 && Number(existing[0]?.every) === every) return;
    await this.unschedule(tenantId);
    await this.queues.schedule.add(
      { tenantId, kind: 'incremental' },
      { jobId: this.scheduleJobId(tenantId), repeat: { every }, removeOnComplete: true, removeOnFail: 100 },
    );
  }

  private async repeatablesOf(
    tenantId: string,
  ): Promise<{ key: string; every?: string | number; next: number }[]> {
    const all = await this.queues.schedule.getRepeatableJobs();
    return all.filter((r) => r.id === this.scheduleJobId(tenantId));
  }

  async unschedule(tenantId: string): Promise<void> {
    for (const r of await this.repeatablesOf(tenantId)) {
      await this.queues.schedule.removeRepeatableByKey(r.key);
    }
  }

  async nextScheduledAt(tenantId: string): Promise<Date | null> {
    const [r] = await this.repeatablesOf(tenantId);
    if (r === undefined) return null;
    const every = Number(r.every);
    if (!Number.isFinite(every) || every <= 0) return new Date(r.next);
    const offset = scheduleOffsetMs(tenantId, every);
    // The previous boundary's tick may have queued a run that is still ahead (offset not elapsed).
    const previous = r.next - every + offset;
    return new Date(previous > Date.now() ? previous : r.next + offset);
  }

  async cancelTenant(tenantId: string, options: { waitMs?: number } = {}): Promise<CancelResult> {
    parseOrThrow(tenantIdSchema, tenantId, 'tenant id');
    await this.queues.redis.set(this.cancelKey(tenantId), '1', 'PX', this.cancelTtlMs);
    await this.unschedule(tenantId);
    let removed = 0;
    const count = (): void => {
      removed += 1;
    };
    for (const [kind, queue] of Object.entries(this.queues.byKind) as [JobKind, Queue][]) {
      // Removes every unlocked job whose id matches (active jobs are locked and left to the abort);
      // bull emits 'removed' once per job it deleted.
      queue.on('removed', count);
      try {
        await queue.removeJobs(`${kind}:${tenantId}:*`);
      } finally {
        queue.off('removed', count);
      }
      await this.queues.redis.del(this.pendingKey(kind, tenantId));
    }
    // Running handlers see the flag at their next heartbeat (≤ 1 s) and stop at a page boundary;
    // wait for them so the caller can delete the tenant's data without a run writing it back.
    const deadline = Date.now() + (options.waitMs ?? 0);
    let running = await this.runningJobsOf(tenantId);
    while (running > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      running = await this.runningJobsOf(tenantId);
    }
    return { removedJobs: removed, stillRunning: running };
  }

  private async runningJobsOf(tenantId: string): Promise<number> {
    let n = 0;
    for (const [kind, queue] of Object.entries(this.queues.byKind) as [JobKind, Queue][]) {
      const active = await queue.getActive();
      n += active.filter((j) => j !== null && String(j.id).startsWith(`${kind}:${tenantId}:`)).length;
    }
    return n;
  }

  async depths(): Promise<Record<JobKind, QueueDepth>> {
    const entries = await Promise.all(
      (Object.entries(this.queues.byKind) as [JobKind, Queue][]).map(async ([kind, queue]) => {
        const c = await queue.getJobCounts();
        return [
          kind,
          { waiting: c.waiting, active: c.active, delayed: c.delayed, failed: c.failed },
        ] as const;
      }),
    );
    return Object.fromEntries(entries) as Record<JobKind, QueueDepth>;
  }

  async ping(): Promise<void> {
    await this.queues.isReady();
  }
}
