/**
 * The processing side: runs `JobHandlers` for jobs of every kind, one run per tenant at a time.
 *
 * Per job: validate the payload → drop it if the tenant was cancelled (uninstall) → take the
 * tenant lock (busy: re-queue the job with a short delay at the back, so the worker slot goes to
 * another tenant) → run the handler with an AbortSignal, heartbeat keeping the lock → on
 * `{ more: true }` enqueue the continuation at the back of the queue (fairness) → release.
 *
 * Scale-out: start this in as many processes as needed against the same Redis and prefix; bull
 * hands each job to one worker, the tenant lock keeps runs of a tenant serial across processes.
 */
import type { DoneCallback, Job, Queue } from 'bull';
import type { JsonValue, Logger } from '../../connectors/contract.js';
import { AppError, isAppError } from '../errors.js';
import { eventFromWire, JOB_KINDS, parsePayload, tenantIdSchema } from './jobs.js';
import type { JobKind, JobPayload, WebhookJobPayload } from './jobs.js';
import type { JobContext, JobHandlers, JobOutcome } from './handlers.js';
import { scheduleOffsetMs } from './producer.js';
import type { BullQueueProducer } from './producer.js';
import type { QueueSet } from './queues.js';
import { keepAlive, RedisTenantLocks, SYNC_LOCK } from './tenant-lock.js';
import type { TenantLocks } from './tenant-lock.js';
import { z } from 'zod';

export const ERR_QUEUE_ABORTED = 'ERR_QUEUE_ABORTED';

export interface WorkerOptions {
  queues: QueueSet;
  producer: BullQueueProducer;
  handlers: JobHandlers;
  /** Default: a Redis lock under the queue prefix. Production may pass the Store. */
  locks?: TenantLocks;
  /** Jobs run at once per kind in this process. */
  concurrency?: Partial<Record<JobKind, number>>;
  /** Kinds this process works on (default all); the schedule queue is processed unless disabled. */
  kinds?: readonly JobKind[];
  processSchedule?: boolean;
  /** Pages per slice handed to handlers (fairness granularity). */
  pageBudget?: number;
  /** Tenant lock TTL; the heartbeat extends it every third. A killed worker frees the tenant after it. */
  lockTtlMs?: number;
  /** Delay before a job whose tenant is busy is tried again (plus up to 50% jitter). */
  lockRetryDelayMs?: number;
  logger?: Logger;
  /**
   * Called after a handler of a tenant that was cancelled (uninstalled) meanwhile has stopped:
   * uninstall does not wait for the running job, so what that job wrote after the tenant's data
   * was deleted is purged here (production: `store.deleteTenant`).
   */
  onTenantCancelled?: (tenantId: string) => Promise<void>;
}

export interface CloseResult {
  /** In-flight jobs that stopped at a page boundary and handed back a continuation. */
  handedBack: number;
  /** Handlers still running when the timeout hit (bull re-queues them as stalled). */
  abandoned: number;
}

export interface QueueWorker {
  /** Jobs running now in this process. */
  running(): number;
  /**
   * Graceful shutdown: stop taking jobs, abort running handlers (they stop at a page boundary and
   * hand back a continuation), wait up to `timeoutMs` for them. Does not close the QueueSet; a
   * QueueSet hosts one worker in its life (bull keeps a queue's handler until the queue closes).
   */
  close(timeoutMs?: number): Promise<CloseResult>;
}

const DEFAULT_CONCURRENCY: Record<JobKind, number> = {
  backfill: 2,
  incremental: 2,
  webhook: 4,
  reevaluate: 2,
  provision: 1,
};

const scheduleTickSchema = z.strictObject({ tenantId: tenantIdSchema, kind: z.literal('incremental') });

const silent: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

interface InFlight {
  controller: AbortController;
  done: Promise<unknown>;
}

export async function startWorker(options: WorkerOptions): Promise<QueueWorker> {
  const { queues, producer, handlers } = options;
  const locks = options.locks ?? new RedisTenantLocks(queues.redis, queues.prefix);
  const logger = options.logger ?? silent;
  const pageBudget = options.pageBudget ?? 20;
  const lockTtlMs = options.lockTtlMs ?? 30_000;
  const lockRetryDelayMs = options.lockRetryDelayMs ?? 1_000;
  const inFlight = new Set<InFlight>();
  let closing = false;
  let handedBack = 0;

  const runJob = async (kind: JobKind, job: Job): Promise<unknown> => {
    let payload: JobPayload;
    try {
      payload = parsePayload(kind, job.data);
    } catch (e) {
      await job.discard();
      throw e;
    }
    const { tenantId } = payload;
    const jobId = String(job.id);
    if (await producer.isCancelled(tenantId)) {
      logger.info({ kind, tenantId, jobId }, 'job dropped: tenant cancelled');
      return { skipped: 'cancelled' };
    }
    if (closing) {
      // Picked up while shutting down: give it straight back.
      const requeued = await producer.requeue(kind, jobId, payload, 0);
      return { requeued };
    }
    const token = await locks.acquireLock(tenantId, SYNC_LOCK, lockTtlMs);
    if (token === null) {
      const delay = lockRetryDelayMs + Math.floor(Math.random() * lockRetryDelayMs * 0.5);
      const requeued = await producer.requeue(kind, jobId, payload, delay);
      logger.debug({ kind, tenantId, jobId, requeued }, 'tenant busy: job re-queued');
      return { requeued };
    }

    const controller = new AbortController();
    const abort = (reason: string): void => {
      if (!controller.signal.aborted) controller.abort(abortError(reason));
    };
    const held = keepAlive(locks, tenantId, SYNC_LOCK, token, lockTtlMs, abort, async () =>
      (await producer.isCancelled(tenantId)) ? 'tenant cancelled' : null,
    );
    let resolveDone!: () => void;
    const entry: InFlight = { controller, done: new Promise<void>((r) => (resolveDone = r)) };
    inFlight.add(entry);
    if (closing) abort('shutdown');
    try {
      await producer.clearPending(kind, tenantId, jobId);
      const slice = payload.slice ?? 0;
      const ctx: JobContext = {
        signal: controller.signal,
        progress: async (data: JsonValue) => {
          await job.progress(data);
        },
        pageBudget,
        kind,
        jobId,
        attempt: job.attemptsMade + 1,
        slice,
      };
      if (payload.reason !== undefined) ctx.reason = payload.reason;

      let outcome: JobOutcome | void;
      try {
        outcome = await callHandler(handlers, kind, tenantId, payload, ctx);
      } catch (e) {
        if (!controller.signal.aborted) throw e;
        // Aborted and the handler threw instead of returning: same as handing back the rest.
        outcome = { more: true };
      }
      const cancelled = await producer.isCancelled(tenantId);
      if (outcome?.more === true && !cancelled) {
        const next =
          kind === 'webhook'
            ? await producer.requeue(kind, jobId, { ...payload, slice: slice + 1 }, 0)
            : (await producer.enqueue(kind, tenantId, { reason: 'continuation', slice: slice + 1 })).jobId;
        if (controller.signal.aborted) handedBack += 1;
        return { ...outcome, continuation: next };
      }
      return outcome ?? {};
    } catch (e) {
      if (isAppError(e) && !e.retryable) await job.discard();
      // bull stores `message` as the failed reason: keep the stable code in it.
      throw isAppError(e) ? new Error(`${e.code}: ${e.message}`, { cause: e }) : e;
    } finally {
      await held.release();
      if (
        options.onTenantCancelled !== undefined &&
        (await producer.isCancelled(tenantId).catch(() => false))
      ) {
        await options.onTenantCancelled(tenantId).catch((e: unknown) => {
          logger.warn(
            { tenantId, err: e instanceof Error ? e.message : String(e) },
            'cancelled tenant purge failed',
          );
        });
      }
      inFlight.delete(entry);
      resolveDone();
    }
  };

  const kinds = options.kinds ?? JOB_KINDS;
  const started: Queue[] = [];
  for (const kind of kinds) {
    const queue = queues.byKind[kind];
    const concurrency = options.concurrency?.[kind] ?? DEFAULT_CONCURRENCY[kind];
    // bull's process() promise only settles when the queue closes: do not await it.
    void queue.process(concurrency, (job: Job, done: DoneCallback) => {
      runJob(kind, job).then(
        (r) => done(null, r),
        (e: unknown) => done(e instanceof Error ? e : new Error(String(e))),
      );
    });
    started.push(queue);
  }
  if (options.processSchedule !== false) {
    void queues.schedule.process(1, async (job: Job) => {
      const tick = scheduleTickSchema.safeParse(job.data);
      if (!tick.success) return { skipped: 'bad schedule payload' };
      if (await producer.isCancelled(tick.data.tenantId)) return { skipped: 'cancelled' };
      // Ticks of every tenant fire on the same boundary; the runs are spread over the interval.
      const every = Number(
        (job.opts.repeat as { every?: number } | undefined)?.every ?? producer.defaultEveryMs,
      );
      return producer.enqueue('incremental', tick.data.tenantId, {
        reason: 'schedule',
        delayMs: scheduleOffsetMs(tick.data.tenantId, every),
      });
    });
    started.push(queues.schedule);
  }
  await Promise.all(started.map((q) => q.isReady()));

  return {
    running: () => inFlight.size,
    async close(timeoutMs = 25_000) {
      closing = true;
      // Local pause: this process stops taking jobs; other workers keep going.
      await Promise.all(started.map((q) => q.pause(true, true).catch(() => undefined)));
      for (const entry of inFlight) entry.controller.abort(abortError('shutdown'));
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      const all = Promise.all([...inFlight].map((e) => e.done)).then(() => 'done' as const);
      const result = await Promise.race([all, timeout]);
      clearTimeout(timer);
      return { handedBack, abandoned: result === 'timeout' ? inFlight.size : 0 };
    },
  };
}

function abortError(reason: string): AppError {
  return new AppError(ERR_QUEUE_ABORTED, `job aborted: ${reason}`, { details: { reason } });
}

function callHandler(
  handlers: JobHandlers,
  kind: JobKind,
  tenantId: string,
  payload: JobPayload,
  ctx: JobContext,
): Promise<JobOutcome | void> {
  switch (kind) {
    case 'backfill':
      return handlers.backfill(tenantId, ctx);
    case 'incremental':
      return handlers.incremental(tenantId, ctx);
    case 'reevaluate':
      return handlers.reevaluate(tenantId, ctx);
    case 'provision':
      return handlers.provision(tenantId, ctx);
    case 'webhook':
      return handlers.webhook(tenantId, (payload as WebhookJobPayload).events.map(eventFromWire), ctx);
  }
}
