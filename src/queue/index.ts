/** Public surface of the job queue (bull 4 on ioredis). */
export { JOB_KINDS, COALESCED_KINDS, ERR_QUEUE_PAYLOAD, payloadSchemas, parsePayload } from './jobs.js';
export type { JobKind, JobPayload, TenantJobPayload, WebhookJobPayload } from './jobs.js';
export type { JobContext, JobHandlers, JobOutcome, HandlerResult } from './handlers.js';
export { QueueSet, SCHEDULE_QUEUE } from './queues.js';
export type { QueueSetOptions } from './queues.js';
export { BullQueueProducer, DEFAULT_EVERY_MS, DEFAULT_JOB_OPTIONS } from './producer.js';
export type {
  CancelResult,
  DataFreeKind,
  EnqueueOptions,
  EnqueueResult,
  ProducerOptions,
  QueueDepth,
  QueueProducer,
} from './producer.js';
export { startWorker, ERR_QUEUE_ABORTED } from './worker.js';
export type { CloseResult, QueueWorker, WorkerOptions } from './worker.js';
export { RedisTenantLocks, SYNC_LOCK, keepAlive } from './tenant-lock.js';
export type { TenantLocks } from './tenant-lock.js';
