/**
 * The port the pipeline (`src/sync/`) implements so the queue can run it. The queue owns when and
 * where work runs (one run per tenant, fairness, retries, shutdown); the handlers own what a run does.
 *
 * Fairness contract: a handler processes a bounded slice (about `ctx.pageBudget` pages), saves its
 * checkpoint, and returns `{ more: true }` if work is left. The queue then enqueues a continuation
 * at the BACK of the queue, so a 1M-contact tenant interleaves with small ones instead of holding a
 * worker for hours. The same applies to shutdown: when `ctx.signal` aborts, stop at the next page
 * boundary (after checkpointing) and return `{ more: true }`; the continuation is handed back.
 */
import type { ChangeEvent, JsonValue } from '../../connectors/contract.js';
import type { JobKind } from './jobs.js';

export interface JobContext {
  /** Aborted on graceful shutdown, uninstall (tenant cancelled) or when the tenant lock is lost. */
  signal: AbortSignal;
  /** Reports progress (shown in the queue dashboard). Never put secrets in it. */
  progress(data: JsonValue): Promise<void>;
  /** How many CRM pages to process before yielding with `{ more: true }`. */
  pageBudget: number;
  kind: JobKind;
  jobId: string;
  /** 1 on the first try, 2 on the first retry, ... */
  attempt: number;
  /** Why the job was queued (`install`, `schedule`, `admin`, `continuation`, ...). */
  reason?: string;
  /** Number of earlier slices of this run (0 for the first). */
  slice: number;
}

export interface JobOutcome {
  /** Work is left (slice budget spent or aborted at a page boundary): enqueue a continuation. */
  more?: boolean;
  /** Free counters for the dashboard (records read, written, ...). */
  counts?: Record<string, number>;
}

export type HandlerResult = Promise<JobOutcome | void>;

export interface JobHandlers {
  backfill(tenantId: string, ctx: JobContext): HandlerResult;
  incremental(tenantId: string, ctx: JobContext): HandlerResult;
  /**
   * A batch of verified, parsed webhook events of ONE tenant. `{ more: true }` re-queues the same
   * events (the handler must be idempotent, which the pipeline is by design).
   */
  webhook(tenantId: string, events: ChangeEvent[], ctx: JobContext): HandlerResult;
  reevaluate(tenantId: string, ctx: JobContext): HandlerResult;
  provision(tenantId: string, ctx: JobContext): HandlerResult;
}
