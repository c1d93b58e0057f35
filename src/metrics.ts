/**
 * Prometheus metrics of the product (served at `/metrics`). One registry per process, created by
 * `createMetrics()` and passed down (no global default registry, so tests and the demo can run
 * several services in one process). Labels are low-cardinality on purpose: CRM, job kind,
 * object, outcome — never a tenant id (hundreds of tenants × series would swamp Prometheus;
 * per-tenant figures live in the store's sync history instead).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  /** Finished sync runs. status: succeeded | failed | partial | cancelled. */
  readonly syncsTotal: Counter<'crm' | 'kind' | 'status'>;
  readonly syncDurationSeconds: Histogram<'crm' | 'kind'>;
  readonly recordsReadTotal: Counter<'crm' | 'object'>;
  readonly recordsWrittenTotal: Counter<'crm' | 'object'>;
  /** Records skipped because their inputs did not change (write-back loop avoided). */
  readonly recordsSkippedTotal: Counter<'crm' | 'object'>;
  readonly recordErrorsTotal: Counter<'crm' | 'object' | 'retryable'>;
  readonly tasksCreatedTotal: Counter<'crm' | 'kind'>;
  /** CRM API calls. kind: read | search | write | bulk | metadata | auth. */
  readonly apiCallsTotal: Counter<'crm' | 'kind'>;
  /** HTTP 429 answers (and Salesforce REQUEST_LIMIT_EXCEEDED). */
  readonly rateLimitedTotal: Counter<'crm' | 'bucket'>;
  readonly tokenRefreshesTotal: Counter<'crm' | 'outcome'>;
  /** Jobs per queue and state (waiting | active | delayed | failed). */
  readonly queueDepth: Gauge<'queue' | 'state'>;
  /** Age of the oldest unprocessed change per CRM (now − last successful incremental cursor). */
  readonly syncLagSeconds: Gauge<'crm'>;
  /** Webhook events received. outcome: accepted | ignored | rejected. */
  readonly webhookEventsTotal: Counter<'crm' | 'outcome'>;
  /** From webhook receipt to the value written in the CRM. */
  readonly webhookToWrittenSeconds: Histogram<'crm'>;
  readonly tenantsGauge: Gauge<'crm' | 'status'>;
}

export interface MetricsOptions {
  /** Also collect Node process metrics (CPU, memory, event loop lag). Default true. */
  processMetrics?: boolean;
  /** Metric name prefix. Default `referral_sync_`. */
  prefix?: string;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const p = options.prefix ?? 'referral_sync_';
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: p });
  const registers = [registry];
  return {
    registry,
    syncsTotal: new Counter({
      name: `${p}syncs_total`,
      help: 'Finished sync runs by CRM, kind and status',
      labelNames: ['crm', 'kind', 'status'] as const,
      registers,
    }),
    syncDurationSeconds: new Histogram({
      name: `${p}sync_duration_seconds`,
      help: 'Duration of sync runs',
      labelNames: ['crm', 'kind'] as const,
      buckets: [0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600],
      registers,
    }),
    recordsReadTotal: new Counter({
      name: `${p}records_read_total`,
      help: 'CRM records read',
      labelNames: ['crm', 'object'] as const,
      registers,
    }),
    recordsWrittenTotal: new Counter({
      name: `${p}records_written_total`,
      help: 'CRM records updated with changed owned values',
      labelNames: ['crm', 'object'] as const,
      registers,
    }),
    recordsSkippedTotal: new Counter({
      name: `${p}records_skipped_total`,
      help: 'Records not recomputed because their inputs did not change',
      labelNames: ['crm', 'object'] as const,
      registers,
    }),
    recordErrorsTotal: new Counter({
      name: `${p}record_errors_total`,
      help: 'Per-record errors reported by the CRM',
      labelNames: ['crm', 'object', 'retryable'] as const,
      registers,
    }),
    tasksCreatedTotal: new Counter({
      name: `${p}tasks_created_total`,
      help: 'CRM tasks created',
      labelNames: ['crm', 'kind'] as const,
      registers,
    }),
    apiCallsTotal: new Counter({
      name: `${p}api_calls_total`,
      help: 'CRM API calls by kind',
      labelNames: ['crm', 'kind'] as const,
      registers,
    }),
    rateLimitedTotal: new Counter({
      name: `${p}rate_limited_total`,
      help: 'CRM answers telling us to slow down (HTTP 429, REQUEST_LIMIT_EXCEEDED)',
      labelNames: ['crm', 'bucket'] as const,
      registers,
    }),
    tokenRefreshesTotal: new Counter({
      name: `${p}token_refreshes_total`,
      help: 'OAuth token refreshes by outcome',
      labelNames: ['crm', 'outcome'] as const,
      registers,
    }),
    queueDepth: new Gauge({
      name: `${p}queue_depth`,
      help: 'Jobs per queue and state',
      labelNames: ['queue', 'state'] as const,
      registers,
    }),
    syncLagSeconds: new Gauge({
      name: `${p}sync_lag_seconds`,
      help: 'Largest lag between a CRM change and its sync, per CRM',
      labelNames: ['crm'] as const,
      registers,
    }),
    webhookEventsTotal: new Counter({
      name: `${p}webhook_events_total`,
      help: 'Webhook events received by outcome',
      labelNames: ['crm', 'outcome'] as const,
      registers,
    }),
    webhookToWrittenSeconds: new Histogram({
      name: `${p}webhook_to_written_seconds`,
      help: 'Latency from webhook receipt to the value written in the CRM',
      labelNames: ['crm'] as const,
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers,
    }),
    tenantsGauge: new Gauge({
      name: `${p}tenants`,
      help: 'Installed tenants by CRM and status',
      labelNames: ['crm', 'status'] as const,
      registers,
    }),
  };
}
