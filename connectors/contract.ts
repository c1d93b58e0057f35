/**
 * The one small contract every CRM adapter implements (connectors/<crm>/). Modelled on Nango: CRM
 * facts (URLs, batch sizes, limits) are data in the connector's `facts.json`; this contract is the
 * thin typed surface the pipeline (`src/sync/`) drives. Connectors never import the engine; they
 * speak CRM records (wire values) and the pipeline maps them through `mappings/<crm>.json`.
 *
 * Two halves:
 *  - `CrmDefinition`: static per CRM app (OAuth, webhook verification/parsing, value encoding).
 *  - `CrmConnector`: one per installed account (tenant), created with injected I/O (token
 *    provider, shared rate limiter, clock, logger, base URLs) so tests and the sandbox can drive it.
 */
import type { OwnedFieldType } from '../src/engine/model.js';

export type CrmName = 'hubspot' | 'salesforce';

/** A scalar as the CRM puts it on the wire (HubSpot: strings; Salesforce: JSON scalars). */
export type WireValue = string | number | boolean | null;

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

/** A record as pulled, in CRM terms. */
export interface CrmRecord {
  /** CRM object name as used in mappings: `contacts`, `deals`, ... / `Contact`, `Lead`, ... */
  object: string;
  id: string;
  fields: Record<string, WireValue>;
  /** The CRM modification stamp (hs_lastmodifieddate / SystemModstamp) as an ISO instant. */
  modifiedAt: string;
  /** Archived (HubSpot) / IsDeleted (Salesforce) / merged away. */
  deleted: boolean;
  /** When this record was merged away: the surviving record's id. */
  mergedInto?: string;
  /** Associated records by CRM object name, e.g. `{ companies: ['12'], deals: ['7', '9'] }`. */
  links: Record<string, string[]>;
}

export interface PullOptions {
  /** CRM fields to read (only mapped ones: never "all properties"). */
  fields: readonly string[];
  /** Associated CRM objects to read into `links`. */
  links: readonly string[];
  /** `full` = backfill with the list/bulk endpoints; `incremental` = changes since `cursor`. */
  mode: 'full' | 'incremental';
  /** What the previous page of this stream returned (opaque to the pipeline), or null to start. */
  cursor: JsonValue | null;
  /** The instant this run started: a cursor must never bookmark past it minus a safety margin. */
  runStartedAt: Date;
  signal?: AbortSignal;
}

export interface PullPage {
  records: CrmRecord[];
  /** Opaque, JSON-serialisable; the pipeline saves it only after the page is processed. */
  cursor: JsonValue;
}

export interface PullByIdsOptions {
  /** CRM fields to read (the same mapped ones as the cursor pull). */
  fields: readonly string[];
  /** Associated CRM objects to read into `links`. */
  links: readonly string[];
  signal?: AbortSignal;
}

/** A page of a by-id read: no cursor (nothing to resume: the ids are the whole request). */
export interface PullByIdsPage {
  records: CrmRecord[];
}

/** Definition of a field we own, as provisioned in the CRM (from the mapping). */
export interface OwnedFieldDefinition {
  object: string;
  /** CRM internal name, e.g. `referral_ready` / `Referral_Ready__c`. */
  name: string;
  label: string;
  type: OwnedFieldType;
  description?: string;
  /** Enumeration values for `multi` fields (tags, segments). Existing options are never removed. */
  options?: readonly string[];
  /** Unique-value property (HubSpot `hasUniqueValue`, Salesforce External ID + Unique). */
  unique?: boolean;
}

export interface ProvisionReport {
  created: string[];
  /** Fields whose enumeration options were extended. */
  updated: string[];
  unchanged: string[];
  /** Same name exists with an incompatible type: never overwritten. */
  conflicts: { object: string; name: string; reason: string }[];
  /** API write calls made (0 on a second run). */
  writeCalls: number;
}

export interface CrmFieldInfo {
  name: string;
  label: string;
  type: string;
  /** Whether we created it (owned) or the account had it. */
  owned: boolean;
  options?: string[];
}

export interface RecordUpdate {
  object: string;
  id: string;
  /** Only changed values (the engine's diff), already encoded with `CrmDefinition.encode`. */
  fields: Record<string, WireValue>;
}

export interface RecordError {
  /** Stable code: CRM error category/code, e.g. `VALIDATION_ERROR`, `INVALID_FIELD`, `ERR_RATE_LIMITED`. */
  code: string;
  message: string;
  /** Transient (retry this run / next run) vs permanent (report to the admin, retry after a change). */
  retryable: boolean;
}

export type WriteOutcome =
  { object: string; id: string; ok: true } | { object: string; id: string; ok: false; error: RecordError };

export type TaskKind = 'ask' | 'follow_up' | 'thank' | 'review' | 'reward';

export interface TaskWrite {
  /** Deterministic idempotency key from the engine: one CRM task per key, ever. */
  key: string;
  kind: TaskKind;
  subject: string;
  body: string;
  dueAt: Date;
  priority: 'low' | 'normal' | 'high';
  ownerId?: string;
  /** The person it is about (`contacts`/`Contact`/`Lead`) and optionally the deal and company. */
  person: { object: string; id: string };
  deal?: { object: string; id: string };
  company?: { object: string; id: string };
  /**
   * Set by the pipeline when its task ledger already had this key `pending` from an earlier
   * attempt (a crash between the CRM call and the `done` mark): the connector must look for the
   * task in the CRM before creating it. Absent = first attempt.
   */
  pendingSince?: Date;
}

export type TaskOutcome =
  | { key: string; ok: true; taskId: string; created: boolean }
  | { key: string; ok: false; error: RecordError };

/** What a webhook (or, later, a change event) asks us to do for one account. */
export interface ChangeEvent {
  /** Portal id / org id: which installation. */
  accountId: string;
  object: string;
  kind: 'created' | 'changed' | 'deleted' | 'merged' | 'restored' | 'privacy_deleted' | 'association_changed';
  ids: string[];
  /** For property changes: which field changed (lets the pipeline ignore changes to fields we own). */
  field?: string;
  /** For merges: the surviving id. */
  mergedInto?: string;
  occurredAt: Date;
  /** The CRM's change source (e.g. `INTEGRATION`, `API`), and our app id if we caused it. */
  source?: string;
  eventId?: string;
}

export interface IncomingWebhook {
  method: string;
  /** Full public URL as the CRM called it (scheme, host, path, query). */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** The raw body bytes: signatures are computed over these, never over re-serialised JSON. */
  rawBody: Buffer;
}

/** Access to a tenant's tokens; implemented by the store with a per-tenant lock shared by all workers. */
export interface TokenSet {
  accessToken: string;
  refreshToken?: string;
  /** ISO instant; absent for tokens that do not announce expiry (Salesforce, private apps). */
  expiresAt?: string;
  /** Salesforce instance URL (validated); HubSpot: absent. */
  instanceUrl?: string;
  /** Portal id / org id. */
  accountId: string;
  /** The authorizing (integration) user's id, when the CRM reports it (Salesforce identity URL). */
  userId?: string;
  scopes?: string[];
}

export interface TokenProvider {
  /** The current token set, refreshed first if it expires within the connector's margin. */
  current(): Promise<TokenSet>;
  /**
   * The CRM rejected `stale` as expired: refresh under the shared per-tenant lock unless another
   * worker already did (compare access tokens), store the rotated set atomically, return it.
   * Throws `AppError('ERR_AUTH_REVOKED')` (and marks the tenant disconnected) on invalid_grant.
   */
  refreshAfterRejection(stale: TokenSet): Promise<TokenSet>;
}

/** One rate budget per account, shared by every worker process (Redis in production). */
export interface RateLimitRule {
  /** `default` (all calls), `search`, `daily`, ... as named in the connector's facts. */
  bucket: string;
  limit: number;
  windowMs: number;
}

export interface RateLimiter {
  /** Wait until `cost` calls may be made in `bucket` (and every bucket the call also counts against). */
  take(bucket: string, cost?: number, signal?: AbortSignal): Promise<void>;
  /** What the CRM reported: remaining calls in a window, or a 429 telling us to stop until a time. */
  observe(
    bucket: string,
    info: {
      remaining?: number;
      limit?: number;
      windowMs?: number;
      pauseUntil?: Date;
      /** Why the pause (shown on the admin page); a generic reason is used when absent. */
      reason?: string;
    },
  ): Promise<void>;
  snapshot(): Promise<BudgetSnapshot>;
}

export interface BudgetSnapshot {
  buckets: { bucket: string; used: number; limit: number; windowMs: number; resetsAt: string }[];
  /** Set when work is paused (daily cap reached, 429 cool-off): the admin sees why and until when. */
  pausedUntil?: string;
  pauseReason?: string;
}

export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ConnectorContext {
  tenantId: string;
  tokens: TokenProvider;
  limiter: RateLimiter;
  logger: Logger;
  /** Injected clock (tests move time). */
  now: () => Date;
  /** API base URL override (the sandbox, or nock's fake host); production uses the facts' URL. */
  baseUrl?: string;
  /** Connector-specific settings validated by the connector (e.g. Salesforce bulk thresholds). */
  settings?: Record<string, unknown>;
}

/** Per-tenant adapter. */
export interface CrmConnector {
  readonly crm: CrmName;
  /**
   * How many updates the pipeline should hand to one `pushUpdates` call (default 50,000). A CRM
   * whose bulk path is one job per call and object (Salesforce Bulk 2.0) wants whole objects.
   */
  readonly writeBatch?: number;
  /** Stream pages of one CRM object. Pages are small (≤ the CRM's page size); never the whole account. */
  pull(object: string, options: PullOptions): AsyncIterable<PullPage>;
  /**
   * Optional: read exactly these records by id (webhook events name them), in pages, with the same
   * fields and links as `pull`. An id the CRM no longer has (deleted, archived) is simply absent
   * from every page; a merged-away id may come back as its survivor plus a `mergedInto` tombstone.
   * Errors other than "not found" throw. Without it the pipeline falls back to the cursor pull.
   */
  pullByIds?(object: string, ids: readonly string[], options: PullByIdsOptions): AsyncIterable<PullByIdsPage>;
  /** Idempotently create/extend the fields we own. A second run makes no write call. */
  provision(fields: readonly OwnedFieldDefinition[]): Promise<ProvisionReport>;
  /** The account's fields of an object (for the admin's mapping screen). */
  describeFields(object: string): Promise<CrmFieldInfo[]>;
  /** Batched updates; one outcome per input, in any order; partial failures never throw. */
  pushUpdates(updates: readonly RecordUpdate[]): Promise<WriteOutcome[]>;
  /** Batched, idempotent by `key`: a retry or re-run never creates a second task for a key. */
  pushTasks(tasks: readonly TaskWrite[]): Promise<TaskOutcome[]>;
  /** Remove what we created (fields; optional per CRM), used on uninstall when asked. */
  deprovision?(fields: readonly OwnedFieldDefinition[]): Promise<void>;
  /** API usage as the CRM reports it (for the admin page). */
  budget(): Promise<BudgetSnapshot>;
}

export interface AuthorizeRequest {
  state: string;
  redirectUri: string;
  /** PKCE S256 challenge (Salesforce). */
  codeChallenge?: string;
  /** Salesforce login host (login / test / My Domain). */
  loginUrl?: string;
}

export interface CodeExchange {
  code: string;
  redirectUri: string;
  codeVerifier?: string;
  loginUrl?: string;
}

/** Static, per-CRM-app part: needs only the app's credentials, no tenant. */
export interface CrmDefinition {
  readonly crm: CrmName;
  authorizeUrl(request: AuthorizeRequest): string;
  exchangeCode(request: CodeExchange): Promise<TokenSet>;
  refresh(tokens: TokenSet): Promise<TokenSet>;
  /** Throws `AppError` (`ERR_WEBHOOK_SIGNATURE`, `ERR_WEBHOOK_STALE`) unless the request is authentic. */
  verifyWebhook?(request: IncomingWebhook, now: Date): void;
  /** Parses a verified body; malformed events are reported in `rejected`, never fail the batch. */
  parseWebhook?(body: unknown): { events: ChangeEvent[]; rejected: { index: number; reason: string }[] };
  /** Canonical owned value → wire value for a field of this type. */
  encode(type: OwnedFieldType, value: unknown): WireValue;
  /** Rate limit rules (from facts.json) the shared limiter enforces per account. */
  rateLimits(mode: 'oauth' | 'private'): RateLimitRule[];
  create(context: ConnectorContext): CrmConnector;
}
