/**
 * A `QueueProducer` that runs jobs in this process, one at a time per tenant: the embedded demo's
 * queue (no Redis). The service itself uses bull (`BullQueueProducer`); this exists so the demo's
 * server can accept installs, webhooks and admin actions with nothing configured.
 */
import type { ChangeEvent, Logger } from '../../connectors/contract.js';
import type { JobHandlers } from '../queue/handlers.js';
import type { JobKind } from '../queue/jobs.js';
import type {
  CancelResult,
  DataFreeKind,
  EnqueueOptions,
  EnqueueResult,
  QueueDepth,
  QueueProducer,
} from '../queue/producer.js';
import { JOB_KINDS } from '../queue/jobs.js';

export class InlineQueue implements QueueProducer {
  private handlers: JobHandlers | null = null;
  private readonly chains = new Map<string, Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly schedules = new Map<string, { timer: NodeJS.Timeout; next: Date; everyMs: number }>();
  private readonly cancelled = new Map<string, AbortController>();
  private seq = 0;
  private active = 0;
  private waiting = 0;

  constructor(private readonly logger: Logger) {}

  /** Handlers are attached after construction (they need the queue for follow-up jobs). */
  attach(handlers: JobHandlers): void {
    this.handlers = handlers;
  }

  private controller(tenantId: string): AbortController {
    let c = this.cancelled.get(tenantId);
    if (c === undefined || c.signal.aborted) {
      c = new AbortController();
      this.cancelled.set(tenantId, c);
    }
    return c;
  }

  private run(
    kind: JobKind,
    tenantId: string,
    events: readonly ChangeEvent[],
    options: EnqueueOptions,
  ): EnqueueResult {
    const jobId = `${kind}:${tenantId}:${++this.seq}`;
    const start = (): void => {
      this.waiting += 1;
      const signal = this.controller(tenantId).signal;
      const previous = this.chains.get(tenantId) ?? Promise.resolve();
      const next = previous.then(async () => {
        this.waiting -= 1;
        if (signal.aborted || this.handlers === null) return;
        this.active += 1;
        const ctx = {
          signal,
          progress: async () => undefined,
          pageBudget: Number.MAX_SAFE_INTEGER,
          kind,
          jobId,
          attempt: 1,
          slice: 0,
          ...(options.reason === undefined ? {} : { reason: options.reason }),
        };
        try {
          if (kind === 'webhook') await this.handlers.webhook(tenantId, [...events], ctx);
          else await this.handlers[kind](tenantId, ctx);
        } catch (error) {
          this.logger.warn({ tenantId, kind, code: (error as { code?: string }).code }, 'job failed');
        } finally {
          this.active -= 1;
        }
      });
      this.chains.set(tenantId, next);
    };
    if (options.delayMs !== undefined && options.delayMs > 0) {
      const timer = setTimeout(
        () => {
          this.timers.delete(timer);
          start();
        },
        Math.min(options.delayMs, 2 ** 31 - 1),
      );
      timer.unref();
      this.timers.add(timer);
    } else start();
    return { jobId, coalesced: false };
  }

  async enqueue(kind: DataFreeKind, tenantId: string, options: EnqueueOptions = {}): Promise<EnqueueResult> {
    return this.run(kind, tenantId, [], options);
  }

  async enqueueWebhook(tenantId: string, events: readonly ChangeEvent[], options: EnqueueOptions = {}) {
    return this.run('webhook', tenantId, events, options);
  }

  async schedule(tenantId: string, everyMs = 15 * 60_000): Promise<void> {
    await this.unschedule(tenantId);
    const timer = setInterval(() => {
      const s = this.schedules.get(tenantId);
      if (s !== undefined) s.next = new Date(Date.now() + everyMs);
      void this.enqueue('incremental', tenantId, { reason: 'schedule' });
    }, everyMs);
    timer.unref();
    this.schedules.set(tenantId, { timer, next: new Date(Date.now() + everyMs), everyMs });
  }

  async unschedule(tenantId: string): Promise<void> {
    const s = this.schedules.get(tenantId);
    if (s !== undefined) clearInterval(s.timer);
    this.schedules.delete(tenantId);
  }

  async nextScheduledAt(tenantId: string): Promise<Date | null> {
    return this.schedules.get(tenantId)?.next ?? null;
  }

  async cancelTenant(tenantId: string, options: { waitMs?: number } = {}): Promise<CancelResult> {
    await this.unschedule(tenantId);
    this.cancelled.get(tenantId)?.abort();
    const chain = this.chains.get(tenantId) ?? Promise.resolve();
    let stillRunning = 0;
    await Promise.race([
      chain,
      new Promise<void>((resolve) =>
        setTimeout(() => {
          stillRunning = 1;
          resolve();
        }, options.waitMs ?? 10_000).unref(),
      ),
    ]);
    return { removedJobs: 0, stillRunning };
  }

  async depths(): Promise<Record<JobKind, QueueDepth>> {
    const empty = (): QueueDepth => ({ waiting: 0, active: 0, delayed: 0, failed: 0 });
    const out = Object.fromEntries(JOB_KINDS.map((k) => [k, empty()])) as Record<JobKind, QueueDepth>;
    out.incremental = { waiting: this.waiting, active: this.active, delayed: this.timers.size, failed: 0 };
    return out;
  }

  async ping(): Promise<void> {}

  /** Waits for every queued job to finish (demo shutdown, tests). */
  async idle(): Promise<void> {
    await Promise.all([...this.chains.values()]);
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    for (const s of this.schedules.values()) clearInterval(s.timer);
    for (const c of this.cancelled.values()) c.abort();
    await this.idle();
  }
}
