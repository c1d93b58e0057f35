/**
 * Sync metrics shared by every worker process and served by `serve`'s `/metrics`.
 *
 * Workers and the server are separate processes (and workers scale out), so a worker's in-process
 * prom-client counters would be invisible to the server's scrape. Each finished run is instead
 * added to one Redis hash (HINCRBY, atomic across processes) and the server registers collectors
 * that read the hash at scrape time and render it as prom-client counters and a histogram under the
 * usual names (`referral_sync_syncs_total`, ...). Labels stay low-cardinality (CRM, kind, object,
 * outcome), never a tenant id (src/metrics.ts).
 */
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';

export type SyncOutcome = 'succeeded' | 'partial' | 'failed' | 'cancelled';

export interface SyncMetricEvent {
  crm: string;
  /** Job kind: backfill | incremental | webhook | reevaluate. */
  kind: string;
  /** Absent for a slice that handed back a continuation: only its API usage is counted. */
  outcome?: SyncOutcome;
  durationMs?: number;
  /** Records read per CRM object. */
  read: Record<string, number>;
  /** Records updated in the CRM. */
  written: number;
  /** CRM API calls per kind (read, write, search, associations), when the connector counts them. */
  apiCalls: Record<string, number>;
  /** 429 answers seen (all handled by pausing and retrying unless they ended the run). */
  rateLimited: number;
}

export interface SyncMetricsSink {
  record(event: SyncMetricEvent): Promise<void>;
}

/** Seconds; the same buckets as src/metrics.ts's in-process histogram. */
export const DURATION_BUCKETS = [0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600];

type Field = [metric: string, ...labels: string[]];

export class RedisSyncMetrics implements SyncMetricsSink {
  constructor(
    private readonly redis: Redis,
    readonly key: string,
  ) {}

  async record(e: SyncMetricEvent): Promise<void> {
    const m = this.redis.multi();
    const inc = (field: Field, by = 1): void => {
      if (by !== 0) m.hincrby(this.key, JSON.stringify(field), by);
    };
    if (e.outcome !== undefined) inc(['syncs', e.crm, e.kind, e.outcome]);
    for (const [object, n] of Object.entries(e.read)) inc(['read', e.crm, object], n);
    inc(['written', e.crm, 'all'], e.written);
    for (const [kind, n] of Object.entries(e.apiCalls)) inc(['api', e.crm, kind], n);
    inc(['429', e.crm], e.rateLimited);
    if (e.outcome !== undefined && e.durationMs !== undefined) {
      const seconds = e.durationMs / 1000;
      for (const le of DURATION_BUCKETS) if (seconds <= le) inc(['dur_bucket', e.crm, e.kind, String(le)]);
      inc(['dur_bucket', e.crm, e.kind, '+Inf']);
      inc(['dur_count', e.crm, e.kind]);
      m.hincrbyfloat(this.key, JSON.stringify(['dur_sum', e.crm, e.kind]), seconds);
    }
    await m.exec();
  }

  /** Every field of the hash, parsed. */
  async read(): Promise<{ field: Field; value: number }[]> {
    const raw = await this.redis.hgetall(this.key);
    const out: { field: Field; value: number }[] = [];
    for (const [k, v] of Object.entries(raw)) {
      try {
        const field = JSON.parse(k) as unknown;
        if (Array.isArray(field) && field.every((x) => typeof x === 'string') && field.length > 0)
          out.push({ field: field as Field, value: Number(v) });
      } catch {
        // Not ours: ignore.
      }
    }
    return out;
  }
}

interface MetricValue {
  labels: Record<string, string>;
  value: number;
  metricName?: string;
}

/**
 * Registers scrape-time collectors of the shared hash in `registry`, replacing in-process metrics
 * of the same names (the server runs no syncs of its own worth counting).
 */
export function registerSyncMetrics(
  registry: Registry,
  source: RedisSyncMetrics,
  prefix = 'referral_sync_',
): void {
  let pending: Promise<{ field: Field; value: number }[]> | null = null;
  // One HGETALL per scrape, shared by the collectors the registry asks in parallel.
  const snapshot = (): Promise<{ field: Field; value: number }[]> => {
    pending ??= source.read().finally(() => {
      setImmediate(() => (pending = null));
    });
    return pending.catch(() => []);
  };
  const counter = (name: string, help: string, metric: string, labelNames: readonly string[]): void => {
    const full = `${prefix}${name}`;
    registry.removeSingleMetric(full);
    registry.registerMetric({
      name: full,
      help,
      type: 'counter',
      async get() {
        const values: MetricValue[] = (await snapshot())
          .filter((r) => r.field[0] === metric)
          .map((r) => ({
            labels: Object.fromEntries(labelNames.map((l, i) => [l, r.field[i + 1] ?? ''])),
            value: r.value,
          }));
        return { name: full, help, type: 'counter', values, aggregator: 'sum' };
      },
    } as never);
  };
  counter('syncs_total', 'Finished sync runs by CRM, kind and outcome', 'syncs', ['crm', 'kind', 'status']);
  counter('records_read_total', 'CRM records read', 'read', ['crm', 'object']);
  counter('records_written_total', 'CRM records updated with changed owned values', 'written', [
    'crm',
    'object',
  ]);
  counter('api_calls_total', 'CRM API calls by kind', 'api', ['crm', 'kind']);
  counter('rate_limited_total', 'CRM answers telling us to slow down (HTTP 429)', '429', ['crm']);

  const duration = `${prefix}sync_duration_seconds`;
  const help = 'Duration of sync runs';
  registry.removeSingleMetric(duration);
  registry.registerMetric({
    name: duration,
    help,
    type: 'histogram',
    async get() {
      const rows = await snapshot();
      const values: MetricValue[] = [];
      const value = (...field: string[]): number =>
        rows.find((r) => JSON.stringify(r.field) === JSON.stringify(field))?.value ?? 0;
      for (const { field } of rows) {
        const [metric, crm = '', kind = ''] = field;
        if (metric !== 'dur_count') continue;
        const labels = { crm, kind };
        // Every bucket, zeros included (a bucket never reached has no hash field).
        for (const le of [...DURATION_BUCKETS.map(String), '+Inf'])
          values.push({
            metricName: `${duration}_bucket`,
            labels: { ...labels, le },
            value: value('dur_bucket', crm, kind, le),
          });
        values.push({ metricName: `${duration}_sum`, labels, value: value('dur_sum', crm, kind) });
        values.push({ metricName: `${duration}_count`, labels, value: value('dur_count', crm, kind) });
      }
      return { name: duration, help, type: 'histogram', values, aggregator: 'sum' };
    },
  } as never);
}
