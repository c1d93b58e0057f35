/**
 * What `serve` and `worker` share: the Redis store, the snapshot cache, the bull queues and the
 * pipeline runtime, built from one validated configuration on one Redis.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../../connectors/contract.js';
import type { AppConfig } from '../config.js';
import { BullQueueProducer } from '../queue/producer.js';
import { QueueSet } from '../queue/queues.js';
import { RedisStore } from '../store/redis-store.js';
import { RedisSnapshotCache } from '../store/snapshot-cache.js';
import type { RuntimeOptions } from '../sync/tenant-runtime.js';
import { definitionsFrom } from './definitions.js';
import { RedisSyncMetrics } from './sync-metrics.js';

export interface ServiceContext {
  config: AppConfig;
  redis: Redis;
  store: RedisStore;
  queues: QueueSet;
  producer: BullQueueProducer;
  runtime: RuntimeOptions;
  /** Run and API-usage metrics shared by every worker, served by `serve`'s /metrics. */
  syncMetrics: RedisSyncMetrics;
  close(): Promise<void>;
}

export interface ServiceContextOptions {
  /** Injected clock of the pipeline (benchmarks and tests that move time). */
  now?: () => Date;
}

export function serviceContext(
  config: AppConfig,
  logger: Logger,
  options: ServiceContextOptions = {},
): ServiceContext {
  const redis = new Redis(config.redis.url, { lazyConnect: false });
  redis.on('error', (e: Error) => logger.warn({ err: e.message }, 'redis error'));
  const store = new RedisStore({ redis, prefix: `${config.redis.prefix}:s`, keyRing: config.tokenKeys });
  const snapshots = new RedisSnapshotCache(redis, `${config.redis.prefix}:s`);
  const queues = new QueueSet({ redis: config.redis.url, prefix: `${config.redis.prefix}:q` });
  const producer = new BullQueueProducer(queues, {
    defaultEveryMs: config.worker.syncIntervalMinutes * 60_000,
  });
  const runtime: RuntimeOptions = {
    store,
    snapshots,
    definitions: definitionsFrom(config),
    logger,
    salesforceDailyShare: config.salesforce.dailyBudgetShare,
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(config.hubspot.apiBaseUrl === undefined ? {} : { baseUrls: { hubspot: config.hubspot.apiBaseUrl } }),
  };
  return {
    config,
    redis,
    store,
    queues,
    producer,
    runtime,
    syncMetrics: new RedisSyncMetrics(redis, `${config.redis.prefix}:metrics:sync`),
    async close() {
      await queues.close();
      await store.close();
      redis.disconnect();
    },
  };
}
