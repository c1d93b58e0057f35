/**
 * `referral-sync worker`: bull workers whose handlers run the pipeline. Scale by starting more
 * processes against the same Redis (one running sync per tenant is enforced by the queue's tenant
 * lock). SIGTERM (via the CLI) closes gracefully: running jobs stop at a page boundary after their
 * checkpoint and are handed back to the queue.
 */
import type { Logger } from '../../connectors/contract.js';
import { loadConfig } from '../config.js';
import type { AppConfig } from '../config.js';
import { createLogger } from '../log.js';
import type { JobKind } from '../queue/jobs.js';
import { startWorker } from '../queue/worker.js';
import type { CloseResult } from '../queue/worker.js';
import type { SyncSummary } from '../sync/run-sync.js';
import { serviceContext } from './context.js';
import type { ServiceContext } from './context.js';
import { pipelineHandlers } from './handlers.js';

export interface WorkerServiceOptions {
  config?: AppConfig;
  logger?: Logger;
  /** Per-kind concurrency (default: WORKER_CONCURRENCY for syncs and webhooks, 1 for provision). */
  concurrency?: Partial<Record<JobKind, number>>;
  onRun?: (tenantId: string, summary: SyncSummary) => void;
  /** Injected clock of the pipeline (benchmarks that move time). */
  now?: () => Date;
  /** Benchmark A/B seam: how webhooks read (see `PipelineHandlerOptions.webhookRead`). */
  webhookRead?: () => 'by-id' | 'window';
}

export interface RunningWorker {
  context: ServiceContext;
  close(timeoutMs?: number): Promise<CloseResult>;
}

export async function startWorkerService(options: WorkerServiceOptions = {}): Promise<RunningWorker> {
  const config = options.config ?? loadConfig();
  const logger = options.logger ?? createLogger({ level: config.logLevel, name: 'worker' });
  const context = serviceContext(config, logger, options.now === undefined ? {} : { now: options.now });
  const n = config.worker.concurrency;
  const handlers = pipelineHandlers({
    runtime: context.runtime,
    producer: context.producer,
    logger,
    metrics: context.syncMetrics,
    ...(options.webhookRead === undefined ? {} : { webhookRead: options.webhookRead }),
    ...(options.onRun === undefined ? {} : { onRun: options.onRun }),
  });
  const worker = await startWorker({
    queues: context.queues,
    producer: context.producer,
    handlers,
    logger,
    // Uninstall does not wait for a running job: purge what it wrote after the data was deleted.
    onTenantCancelled: (tenantId) => context.store.deleteTenant(tenantId),
    concurrency: options.concurrency ?? {
      backfill: n,
      incremental: n,
      webhook: n,
      reevaluate: n,
      provision: 1,
    },
  });
  logger.info({ concurrency: n }, 'worker started');
  return {
    context,
    async close(timeoutMs = config.worker.shutdownTimeoutMs) {
      const result = await worker.close(timeoutMs);
      await context.close();
      logger.info({ ...result }, 'worker stopped');
      return result;
    },
  };
}
