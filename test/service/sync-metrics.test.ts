/** Sync metrics recorded by workers into Redis and rendered by the server's registry (real Redis). */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics.js';
import { RedisSyncMetrics, registerSyncMetrics } from '../../src/service/sync-metrics.js';
import { dropPrefix, randomPrefix, REDIS_URL } from '../queue/helpers.js';

describe('sync metrics across processes', () => {
  const prefix = randomPrefix();
  const redis = new Redis(REDIS_URL);

  afterAll(async () => {
    await dropPrefix(prefix);
    redis.disconnect();
  });

  it('two workers record runs; the server scrapes their sum as counters and a histogram', async () => {
    const key = `${prefix}:metrics:sync`;
    // Two "processes": separate connections writing the same hash.
    const w1 = new RedisSyncMetrics(new Redis(REDIS_URL), key);
    const w2 = new RedisSyncMetrics(new Redis(REDIS_URL), key);
    await w1.record({
      crm: 'hubspot',
      kind: 'webhook',
      outcome: 'succeeded',
      durationMs: 700,
      read: { contacts: 1 },
      written: 1,
      apiCalls: { read: 1, associations: 2, write: 1 },
      rateLimited: 0,
    });
    await w2.record({
      crm: 'hubspot',
      kind: 'webhook',
      outcome: 'succeeded',
      durationMs: 3_000,
      read: { contacts: 2, deals: 1 },
      written: 2,
      apiCalls: { read: 1, search: 0 },
      rateLimited: 3,
    });
    // A slice that handed back a continuation: API usage only, no run.
    await w2.record({
      crm: 'hubspot',
      kind: 'backfill',
      read: {},
      written: 0,
      apiCalls: { read: 20 },
      rateLimited: 0,
    });
    await w2.record({
      crm: 'salesforce',
      kind: 'incremental',
      outcome: 'failed',
      durationMs: 100,
      read: {},
      written: 0,
      apiCalls: {},
      rateLimited: 0,
    });

    const metrics = createMetrics({ processMetrics: false });
    registerSyncMetrics(metrics.registry, new RedisSyncMetrics(redis, key));
    const text = await metrics.registry.metrics();
    expect(text).toContain('referral_sync_syncs_total{crm="hubspot",kind="webhook",status="succeeded"} 2');
    expect(text).toContain(
      'referral_sync_syncs_total{crm="salesforce",kind="incremental",status="failed"} 1',
    );
    expect(text).not.toMatch(/syncs_total\{[^}]*kind="backfill"/);
    expect(text).toContain('referral_sync_records_read_total{crm="hubspot",object="contacts"} 3');
    expect(text).toContain('referral_sync_records_written_total{crm="hubspot",object="all"} 3');
    expect(text).toContain('referral_sync_api_calls_total{crm="hubspot",kind="read"} 22');
    expect(text).toContain('referral_sync_rate_limited_total{crm="hubspot"} 3');
    expect(text).toContain(
      'referral_sync_sync_duration_seconds_bucket{crm="hubspot",kind="webhook",le="0.5"} 0',
    );
    expect(text).toContain(
      'referral_sync_sync_duration_seconds_bucket{crm="hubspot",kind="webhook",le="1"} 1',
    );
    expect(text).toContain(
      'referral_sync_sync_duration_seconds_bucket{crm="hubspot",kind="webhook",le="5"} 2',
    );
    expect(text).toContain(
      'referral_sync_sync_duration_seconds_bucket{crm="hubspot",kind="webhook",le="+Inf"} 2',
    );
    expect(text).toContain('referral_sync_sync_duration_seconds_sum{crm="hubspot",kind="webhook"} 3.7');
    expect(text).toContain('referral_sync_sync_duration_seconds_count{crm="hubspot",kind="webhook"} 2');
    // Each metric once (the in-process ones of the same names were replaced).
    expect(text.match(/# TYPE referral_sync_syncs_total /g)).toHaveLength(1);
  });
});
