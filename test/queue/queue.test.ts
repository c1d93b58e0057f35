import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Job, JobId, Queue } from 'bull';
import type { ChangeEvent } from '../../connectors/contract.js';
import { AppError } from '../../src/errors.js';
import { BullQueueProducer, scheduleOffsetMs } from '../../src/queue/producer.js';
import type { ProducerOptions } from '../../src/queue/producer.js';
import { QueueSet } from '../../src/queue/queues.js';
import { RedisTenantLocks, SYNC_LOCK } from '../../src/queue/tenant-lock.js';
import { startWorker } from '../../src/queue/worker.js';
import type { QueueWorker, WorkerOptions } from '../../src/queue/worker.js';
import type { JobContext } from '../../src/queue/handlers.js';
import { dropPrefix, randomPrefix, REDIS_URL, sleep, uniformHandlers, waitFor } from './helpers.js';

let prefix: string;
let queues: QueueSet;
let producer: BullQueueProducer;
const workers: QueueWorker[] = [];

/** The job once it is in the failed set, loaded AFTER that (a job loaded earlier may be stale). */
async function failedJob(queue: Queue, id: JobId, what: string): Promise<Job> {
  const failedId = await waitFor(async () => {
    const job = await queue.getJob(id);
    return job !== null && (await job.isFailed()) ? id : null;
  }, what);
  return (await queue.getJob(failedId))!;
}

function setup(options: ProducerOptions = {}): void {
  queues = new QueueSet({ redis: REDIS_URL, prefix });
  producer = new BullQueueProducer(queues, {
    jobOptions: { attempts: 3, backoff: { type: 'exponential', delay: 40 } },
    ...options,
  });
}

async function worker(options: Omit<WorkerOptions, 'queues' | 'producer'>): Promise<QueueWorker> {
  const w = await startWorker({ queues, producer, lockRetryDelayMs: 30, ...options });
  workers.push(w);
  return w;
}

beforeEach(() => {
  prefix = randomPrefix();
  setup();
});

afterEach(async () => {
  for (const w of workers.splice(0)) await w.close(2_000);
  await queues.close();
  await dropPrefix(prefix);
});

describe('enqueue', () => {
  it('coalesces waiting jobs of the same tenant and kind, but queues a follow-up once one started', async () => {
    const first = await producer.enqueue('incremental', 't1');
    const second = await producer.enqueue('incremental', 't1');
    const otherTenant = await producer.enqueue('incremental', 't2');
    const otherKind = await producer.enqueue('backfill', 't1');
    expect(first.coalesced).toBe(false);
    expect(second).toEqual({ jobId: first.jobId, coalesced: true });
    expect(otherTenant.jobId).not.toBe(first.jobId);
    expect(otherKind.jobId).not.toBe(first.jobId);
    expect((await producer.depths()).incremental.waiting).toBe(2);

    // Once the worker started t1's job, a new request must queue a new run (a change arriving
    // during the run would otherwise be lost).
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const started: string[] = [];
    await worker({
      kinds: ['incremental'],
      lockRetryDelayMs: 200,
      handlers: uniformHandlers(async (tenantId, ctx) => {
        started.push(`${tenantId}:${ctx.jobId}`);
        if (tenantId === 't1') await gate;
      }),
    });
    await waitFor(() => started.includes(`t1:${first.jobId}`), 't1 started');
    const during = await producer.enqueue('incremental', 't1');
    expect(during.coalesced).toBe(false);
    // (The worker may already have re-queued it under a new id because t1 is busy: still one job.)
    expect((await producer.enqueue('incremental', 't1')).coalesced).toBe(true);
    release();
    await waitFor(() => started.filter((s) => s.startsWith('t1:')).length === 2, 'follow-up run');
    await sleep(100);
    expect(started.filter((s) => s.startsWith('t1:'))).toHaveLength(2);
  });

  it('lets an earlier delayed request replace a later one', async () => {
    const late = await producer.enqueue('reevaluate', 't1', { delayMs: 60_000 });
    const soon = await producer.enqueue('reevaluate', 't1', { delayMs: 57_000 });
    expect(soon).toEqual({ jobId: late.jobId, coalesced: true }); // within the slack
    const early = await producer.enqueue('reevaluate', 't1', { delayMs: 10 });
    expect(early.coalesced).toBe(false);
    expect(await queues.byKind.reevaluate.getJob(late.jobId)).toBeNull();
    const again = await producer.enqueue('reevaluate', 't1', { delayMs: 30_000 });
    expect(again).toEqual({ jobId: early.jobId, coalesced: true });
  });

  it('coalesces a re-delivered webhook batch and hands events to the handler with dates', async () => {
    const events: ChangeEvent[] = [
      {
        accountId: '42',
        object: 'contacts',
        kind: 'changed',
        ids: ['1'],
        field: 'nps',
        occurredAt: new Date('2026-01-02T03:04:05.000Z'),
      },
    ];
    const a = await producer.enqueueWebhook('t1', events);
    const b = await producer.enqueueWebhook('t1', events);
    expect(b).toEqual({ jobId: a.jobId, coalesced: true });
    const c = await producer.enqueueWebhook('t1', [{ ...events[0]!, ids: ['2'] }]);
    expect(c.jobId).not.toBe(a.jobId);

    const received: ChangeEvent[][] = [];
    await worker({
      kinds: ['webhook'],
      handlers: uniformHandlers(async () => undefined, {
        webhook: async (_t, evs) => {
          received.push(evs);
        },
      }),
    });
    await waitFor(() => received.length === 2, 'two webhook jobs');
    const first = received.find((r) => r[0]?.ids[0] === '1');
    expect(first?.[0]?.occurredAt).toEqual(new Date('2026-01-02T03:04:05.000Z'));
    expect(first?.[0]).not.toHaveProperty('mergedInto');
  });
});

describe('one run per tenant', () => {
  it('never runs two jobs of a tenant at once, but runs different tenants in parallel', async () => {
    const running = new Map<string, number>();
    let maxPerTenant = 0;
    let maxTotal = 0;
    let total = 0;
    const done: string[] = [];
    await worker({
      concurrency: { backfill: 4, incremental: 4, reevaluate: 4, provision: 4 },
      handlers: uniformHandlers(async (tenantId, ctx) => {
        running.set(tenantId, (running.get(tenantId) ?? 0) + 1);
        total += 1;
        maxPerTenant = Math.max(maxPerTenant, running.get(tenantId)!);
        maxTotal = Math.max(maxTotal, total);
        await sleep(40);
        running.set(tenantId, running.get(tenantId)! - 1);
        total -= 1;
        done.push(`${tenantId}:${ctx.kind}`);
      }),
    });
    for (const t of ['a', 'b']) {
      for (const kind of ['backfill', 'incremental', 'reevaluate', 'provision'] as const) {
        await producer.enqueue(kind, t);
      }
    }
    await waitFor(() => done.length === 8, 'all 8 jobs', 20_000);
    expect(maxPerTenant).toBe(1);
    expect(maxTotal).toBe(2);
  });

  it('waits for a tenant lock held by a dead worker until its TTL expires', async () => {
    const locks = new RedisTenantLocks(queues.redis, prefix);
    // A worker that died mid-run: its lock is never released, only its TTL frees the tenant.
    expect(await locks.acquireLock('t1', SYNC_LOCK, 600)).not.toBeNull();
    const ran: number[] = [];
    const t0 = Date.now();
    await worker({ handlers: uniformHandlers(async () => void ran.push(Date.now() - t0)) });
    await producer.enqueue('incremental', 't1');
    await waitFor(() => ran.length === 1, 'run after lock expiry');
    expect(ran[0]).toBeGreaterThanOrEqual(550);
    await waitFor(() => locks.acquireLock('t1', SYNC_LOCK, 1_000), 'lock released after the run', 2_000);
  });
});

describe('fairness', () => {
  it('interleaves a big tenant with a small one instead of finishing the big one first', async () => {
    const pagesLeft = new Map([
      ['big', 40],
      ['small', 4],
    ]);
    const order: string[] = [];
    await worker({
      concurrency: { backfill: 1 },
      kinds: ['backfill'],
      pageBudget: 2,
      handlers: uniformHandlers(async (tenantId, ctx) => {
        let left = pagesLeft.get(tenantId)!;
        for (let page = 0; page < ctx.pageBudget && left > 0; page += 1) {
          left -= 1;
          order.push(tenantId);
          await sleep(2);
        }
        pagesLeft.set(tenantId, left);
        return { more: left > 0 };
      }),
    });
    await producer.enqueue('backfill', 'big');
    await waitFor(() => order.length >= 3, 'big running'); // the big one is mid-backfill
    order.push('small-enqueued');
    await producer.enqueue('backfill', 'small');
    await waitFor(() => pagesLeft.get('big') === 0, 'big backfill done', 30_000);
    expect(order.filter((t) => t === 'small')).toHaveLength(4);
    // Slices alternate: between the small tenant's arrival and its last page, the big tenant runs
    // at most 2 slices (4 pages); without continuations it would run all its remaining pages first.
    const arrived = order.indexOf('small-enqueued');
    const bigPagesMeanwhile = order.slice(arrived, order.lastIndexOf('small')).filter((t) => t === 'big');
    expect(bigPagesMeanwhile.length).toBeLessThanOrEqual(4);
    expect(order.lastIndexOf('big')).toBe(order.length - 1);
  });
});

describe('retries and failures', () => {
  it('retries transient errors with backoff and keeps the failed job with its reason', async () => {
    const attempts: number[] = [];
    const at: number[] = [];
    await worker({
      handlers: uniformHandlers(async (_t, ctx) => {
        attempts.push(ctx.attempt);
        at.push(Date.now());
        throw new AppError('ERR_TEST_FLAKY', 'upstream 503', { retryable: true });
      }),
    });
    const { jobId } = await producer.enqueue('incremental', 't1');
    const failed = await failedJob(queues.byKind.incremental, jobId, 'job failed');
    expect(attempts).toEqual([1, 2, 3]);
    expect(failed.failedReason).toContain('ERR_TEST_FLAKY');
    expect(failed.attemptsMade).toBe(3);
    // Exponential backoff: 40 ms before the first retry, 80 ms before the second.
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(40);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(80);
  });

  it('does not retry permanent errors or malformed payloads', async () => {
    const attempts: string[] = [];
    await worker({
      handlers: uniformHandlers(async (tenantId) => {
        attempts.push(tenantId);
        throw new AppError('ERR_TEST_PERMANENT', 'mapping invalid', { retryable: false });
      }),
    });
    const { jobId } = await producer.enqueue('provision', 't1');
    const bad = await queues.byKind.provision.add({ tenantId: 'not a tenant id!' }, { attempts: 3 });
    const permanent = await failedJob(queues.byKind.provision, jobId, 'permanent failure');
    const malformed = await failedJob(queues.byKind.provision, bad.id, 'malformed payload failure');
    expect(permanent.attemptsMade).toBe(1);
    expect(permanent.failedReason).toContain('ERR_TEST_PERMANENT');
    expect(malformed.attemptsMade).toBe(1);
    expect(malformed.failedReason).toContain('tenantId');
    expect(attempts).toEqual(['t1']);
  });
});

describe('schedules', () => {
  it('runs incremental syncs on a repeatable schedule until unscheduled', async () => {
    const runs: string[] = [];
    await worker({ handlers: uniformHandlers(async (t, ctx) => void runs.push(`${t}:${ctx.reason}`)) });
    await producer.schedule('t1', 1_000);
    await producer.schedule('t1', 1_000); // idempotent
    expect(await queues.schedule.getRepeatableJobs()).toHaveLength(1);
    const next = await producer.nextScheduledAt('t1');
    expect(next).not.toBeNull();
    await waitFor(() => runs.length >= 2, 'two scheduled runs', 10_000);
    expect(runs.every((r) => r === 't1:schedule')).toBe(true);
    await producer.unschedule('t1');
    expect(await producer.nextScheduledAt('t1')).toBeNull();
    expect(await queues.schedule.getRepeatableJobs()).toHaveLength(0);
  });

  it('spreads the tenants over the interval: a stable per-tenant offset from the boundary', async () => {
    const every = 60_000;
    const offsets = Array.from({ length: 100 }, (_, i) => scheduleOffsetMs(`tenant-${i}`, every));
    expect(offsets.every((o) => Number.isInteger(o) && o >= 0 && o < every)).toBe(true);
    expect(new Set(offsets).size).toBeGreaterThan(95);
    // Spread, not clustered: every tenth of the interval gets some tenants.
    expect(new Set(offsets.map((o) => Math.floor(o / (every / 10)))).size).toBe(10);
    expect(scheduleOffsetMs('tenant-7', every)).toBe(offsets[7]);

    await producer.schedule('tenant-7', every);
    await producer.schedule('tenant-8', every);
    const a = (await producer.nextScheduledAt('tenant-7'))!.getTime();
    const b = (await producer.nextScheduledAt('tenant-8'))!.getTime();
    expect((a - offsets[7]!) % every).toBe(0);
    expect((b - offsets[8]!) % every).toBe(0);
    expect(a).not.toBe(b);
  });

  it('a tick queues the run delayed by the tenant offset', async () => {
    await worker({ handlers: uniformHandlers(async () => undefined), kinds: [] });
    await producer.schedule('t1', 2_000);
    const job = await waitFor(
      async () => (await queues.byKind.incremental.getDelayed())[0],
      'delayed run',
      10_000,
    );
    expect(job.opts.delay).toBeGreaterThan(0);
    expect(job.opts.delay).toBeLessThanOrEqual(scheduleOffsetMs('t1', 2_000));
  });
});

describe('shutdown and cancellation', () => {
  async function pagingWorker(pages: string[]): Promise<QueueWorker> {
    return worker({
      pageBudget: 1_000,
      lockTtlMs: 600, // heartbeat (and cancel check) every 200 ms
      handlers: uniformHandlers(async (tenantId: string, ctx: JobContext) => {
        for (let page = 0; page < ctx.pageBudget; page += 1) {
          if (ctx.signal.aborted) return { more: true }; // page boundary: checkpoint saved
          pages.push(`${tenantId}:${ctx.slice}:${page}`);
          await sleep(20);
        }
        return {};
      }),
    });
  }

  it('close() aborts the running handler at a page boundary and hands back a continuation', async () => {
    const pages: string[] = [];
    const w = await pagingWorker(pages);
    await producer.enqueue('backfill', 't1');
    await waitFor(() => pages.length >= 3, 'a few pages');
    const result = await w.close(5_000);
    workers.splice(workers.indexOf(w), 1);
    expect(result).toEqual({ handedBack: 1, abandoned: 0 });
    const waiting = await queues.byKind.backfill.getWaiting();
    expect(waiting).toHaveLength(1);
    expect(waiting[0]?.data).toMatchObject({ tenantId: 't1', reason: 'continuation', slice: 1 });

    // A new worker process (new queue set) picks the continuation up.
    await queues.close();
    setup();
    await pagingWorker(pages);
    await waitFor(() => pages.some((p) => p.startsWith('t1:1:')), 'continuation ran');
  });

  it('cancelTenant removes waiting jobs and the schedule, aborts the running run, and drops later jobs', async () => {
    const pages: string[] = [];
    await producer.schedule('t1', 60_000);
    await pagingWorker(pages);
    await producer.enqueue('backfill', 't1');
    await waitFor(() => pages.length >= 2, 'running');
    await producer.enqueue('incremental', 't1');
    await producer.enqueue('reevaluate', 't1', { delayMs: 60_000 });
    await producer.enqueue('incremental', 't2', { delayMs: 60_000 });
    const { removedJobs, stillRunning } = await producer.cancelTenant('t1', { waitMs: 5_000 });
    // The waiting incremental and the delayed reevaluate (plus finished jobs of the tenant, if any).
    expect(removedJobs).toBeGreaterThanOrEqual(2);
    expect(stillRunning).toBe(0); // the running backfill stopped within the wait
    expect(await producer.nextScheduledAt('t1')).toBeNull();
    expect((await producer.depths()).backfill.active).toBe(0);
    const stoppedAt = pages.length;
    await sleep(100);
    expect(pages.length).toBe(stoppedAt);
    // No continuation for a cancelled tenant; t2 untouched.
    expect((await producer.depths()).backfill.waiting).toBe(0);
    expect((await producer.depths()).incremental.delayed).toBe(1);
    expect((await producer.depths()).reevaluate.delayed).toBe(0);
  });

  it('uninstall without waiting: the run stops at its next checkpoint, then the worker purges what it wrote', async () => {
    const purged: string[] = [];
    const lateWrites: string[] = [];
    // The run reaches its next checkpoint only after the uninstall answered (a page takes longer
    // than the uninstall call): without this gate a fast abort made the test depend on timing.
    let pageDone = false;
    await worker({
      lockTtlMs: 600,
      onTenantCancelled: async (tenantId) => {
        purged.push(tenantId);
        lateWrites.splice(0);
      },
      handlers: uniformHandlers(async (tenantId, ctx) => {
        for (;;) {
          // A checkpoint write, as a run does after each page.
          lateWrites.push(tenantId);
          if (ctx.signal.aborted && pageDone) return { more: true };
          await sleep(20);
        }
      }),
    });
    await producer.enqueue('backfill', 't1');
    await waitFor(() => lateWrites.length >= 2, 'running');
    const cancel = await producer.cancelTenant('t1', { waitMs: 0 });
    // Answered while the run is still going: uninstall does not wait for it.
    expect(cancel.stillRunning).toBe(1);
    pageDone = true;
    await waitFor(() => purged.includes('t1'), 'purge after the run stopped');
    expect(lateWrites).toEqual([]);
    expect((await producer.depths()).backfill.active).toBe(0);
    expect((await producer.depths()).backfill.waiting).toBe(0);
  });
});
