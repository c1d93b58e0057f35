/**
 * Everything the express app needs, injected (ports), so tests drive it with supertest, fakes for
 * the CRMs and the pipeline, and a real store/queue on an isolated Redis prefix.
 */
import type { Queue } from 'bull';
import type { CrmDefinition, CrmFieldInfo, CrmName, JsonValue, Logger } from '../../connectors/contract.js';
import type { RequestHandler } from 'express';
import type { Metrics } from '../metrics.js';
import type { QueueProducer } from '../queue/producer.js';
import type { Store } from '../store/types.js';

export interface ServerConfig {
  /** Public base URL, no trailing slash (OAuth redirect URIs, webhook signature URLs). */
  publicUrl: string;
  /** HS256 key of OAuth state and admin session JWTs; at least 32 characters. */
  sessionSecret: string;
  /** `Secure` cookies; turn off only for http://localhost. */
  cookieSecure: boolean;
  /** Admin session lifetime (default 12 h). */
  sessionTtlSeconds?: number;
  /** HTTP basic auth of the queue dashboard; without both the dashboard is not mounted. */
  adminUser?: string;
  adminPassword?: string;
  /** Salesforce login host for the authorize/token calls (login, test or a My Domain). */
  salesforceLoginUrl?: string;
  /** Incremental schedule of a newly installed tenant (default: the queue's, 5 min). */
  scheduleEveryMs?: number;
  /** Number of proxy hops to trust for `req.ip`/protocol (express `trust proxy`). */
  trustProxy?: number;
  /** Limit of JSON request bodies of the admin API (default 1 MB). Webhooks: 5 MB, fixed. */
  jsonLimitBytes?: number;
  /** How long uninstall waits for the tenant's running job to stop before deleting its data. */
  uninstallWaitMs?: number;
}

/** What the pipeline provides to the admin page (implemented in `src/sync/`, faked in tests). */
export interface AdminApi {
  /** The full plan of what a run would write, computed without writing. */
  dryRun(tenantId: string, options: { sample: number }): Promise<JsonValue>;
  /** The F-REPORT figures (precomputed by the pipeline), or null before the first run. */
  report(tenantId: string): Promise<JsonValue | null>;
  /** Queues the records with retryable errors for another try; returns how many. */
  retryFailed(tenantId: string): Promise<{ queued: number }>;
  /** The account's fields of a CRM object, for the mapping screen. */
  fields(tenantId: string, object: string): Promise<CrmFieldInfo[]>;
  /**
   * The dry run with UNSAVED rules (already validated), for the rules screen's "see the effect"
   * before saving: the same plan and report shape as `dryRun`, nothing written or stored.
   * Optional: without it `POST .../rules/preview` answers 501.
   */
  previewRules?(tenantId: string, rules: JsonValue, options: { sample: number }): Promise<JsonValue>;
}

/**
 * Validators of admin input. Each returns the value to store, or throws `AppError` whose
 * `details.issues` lists `{ path, message }` (use `parseOrThrow`), answered as 400 with that code.
 */
export interface InputValidators {
  rules(input: unknown): JsonValue;
  mappingOverride(crm: CrmName, input: unknown): JsonValue;
}

export interface ServerDeps {
  config: ServerConfig;
  store: Store;
  queue: QueueProducer;
  crms: Partial<Record<CrmName, CrmDefinition>>;
  logger: Logger;
  admin: AdminApi;
  validators: InputValidators;
  /** The process metrics (`createMetrics()`); /metrics serves its registry (default: prom-client's global one). */
  metrics?: Metrics;
  /** Injected clock (tests move time). */
  now?: () => Date;
  /** bull queues shown in the operators' dashboard at /admin/queues. */
  dashboardQueues?: Queue[];
  /** The admin page (static assets + SPA, `src/server/admin/`), mounted at `/admin`. */
  adminPage?: RequestHandler;
}
