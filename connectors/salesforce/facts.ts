/**
 * Salesforce facts (facts.json) and per-tenant settings, both validated with zod at load time so
 * a typo in the data file or an admin setting fails loudly instead of silently changing limits.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { parseOrThrow } from '../../src/validation.js';

export const ERR_SALESFORCE_SETTINGS_INVALID = 'ERR_SALESFORCE_SETTINGS_INVALID';

const Positive = z.number().int().positive();
const Share = z.number().gt(0).max(1);

export const SalesforceFactsSchema = z.object({
  apiVersion: z.string().regex(/^\d{2,3}\.0$/),
  oauth: z.strictObject({
    loginUrl: z.url(),
    testLoginUrl: z.url(),
    authorizePath: z.string().startsWith('/'),
    tokenPath: z.string().startsWith('/'),
    scopes: z.array(z.string().min(1)).min(1),
    loginHostSuffixes: z.array(z.string().min(1)).min(1),
    instanceHostSuffixes: z.array(z.string().min(1)).min(1),
  }),
  query: z.strictObject({
    batchSize: z.number().int().min(200).max(2000),
    minBatchSize: z.number().int().min(200).max(2000),
    inClauseMaxIds: Positive.max(800),
    cursorSafetyMarginMs: z.number().int().min(0),
    soqlMaxChars: Positive.max(100_000),
    requestUriMaxBytes: Positive.max(16_384),
    requestReserveBytes: Positive,
  }),
  collections: z.strictObject({ maxRecords: Positive.max(200) }),
  bulk: z.strictObject({
    queryThreshold: Positive,
    ingestThreshold: Positive,
    /**
     * Raw CSV bytes per ingest job: the limit is 150 MB of base64-encoded upload, ≈112 MB raw
     * (API_FACTS §2 Bulk API 2.0; SF bulk_api_2_limits "Maximum file size 150 MB").
     */
    ingestMaxJobBytes: Positive.max(112_000_000),
    /**
     * Updates per `pushUpdates` call the pipeline is asked to hand over: one ingest job is one
     * call's records of one object, so a 100k-contact write in 50k slices cost 3 jobs, not 1.
     */
    pipelineWriteBatch: Positive,
    resultsPageSize: Positive,
    pollIntervalMs: Positive,
    pollMaxIntervalMs: Positive,
    pollTimeoutMs: Positive,
    minApiVersion: Positive,
  }),
  budget: z.strictObject({
    dailyShare: Share,
    orgReserveShare: z.number().min(0).max(0.5),
    fallbackDailyAllowance: Positive,
    requestLimitPauseMs: Positive,
    windowMs: Positive,
    burstLimit: Positive,
    burstWindowMs: Positive,
  }),
  polling: z.strictObject({ intervalMs: Positive }),
  metadata: z.strictObject({ maxComponentsPerCall: Positive.max(10), permissionSetName: z.string().min(1) }),
  retry: z.strictObject({ attempts: Positive.max(10), baseDelayMs: Positive, maxDelayMs: Positive }),
  objects: z.record(
    z.string(),
    z.strictObject({
      hasIsDeleted: z.boolean(),
      /** Mergeable (Account, Contact, Lead): a merged-away row keeps `MasterRecordId` = survivor. */
      hasMasterRecordId: z.boolean().default(false),
    }),
  ),
});
export type SalesforceFacts = z.infer<typeof SalesforceFactsSchema>;

const factsPath = fileURLToPath(new URL('./facts.json', import.meta.url));

export const SALESFORCE_FACTS: SalesforceFacts = parseOrThrow(
  SalesforceFactsSchema,
  JSON.parse(readFileSync(factsPath, 'utf8')),
  'connectors/salesforce/facts.json',
);

/** Per-tenant knobs (`ConnectorContext.settings`), defaults from the facts. */
export const SalesforceSettingsSchema = z.strictObject({
  /** Switch a pull to Bulk API 2.0 above this many matching records (COUNT() first). */
  bulkQueryThreshold: Positive.default(SALESFORCE_FACTS.bulk.queryThreshold),
  /** Write an object's records through Bulk API 2.0 ingest above this many in one push. */
  bulkIngestThreshold: Positive.default(SALESFORCE_FACTS.bulk.ingestThreshold),
  /** Share of the org's rolling-24h API allowance we may use ourselves. */
  dailyBudgetShare: Share.default(SALESFORCE_FACTS.budget.dailyShare),
  /** Polling interval for incremental syncs (no CDC yet). */
  pollIntervalMs: Positive.default(SALESFORCE_FACTS.polling.intervalMs),
  queryBatchSize: z
    .number()
    .int()
    .min(SALESFORCE_FACTS.query.minBatchSize)
    .max(SALESFORCE_FACTS.query.batchSize)
    .default(SALESFORCE_FACTS.query.batchSize),
  /** First wait before a Bulk 2.0 job status call; doubles up to `bulkPollMaxIntervalMs`. */
  bulkPollIntervalMs: Positive.default(SALESFORCE_FACTS.bulk.pollIntervalMs),
  bulkPollMaxIntervalMs: Positive.default(SALESFORCE_FACTS.bulk.pollMaxIntervalMs),
  bulkPollTimeoutMs: Positive.default(SALESFORCE_FACTS.bulk.pollTimeoutMs),
  bulkResultsPageSize: Positive.default(SALESFORCE_FACTS.bulk.resultsPageSize),
  cursorSafetyMarginMs: z.number().int().min(0).default(SALESFORCE_FACTS.query.cursorSafetyMarginMs),
  /** Look every task key up before creating it (costs reads); default: only `pendingSince` keys. */
  taskLookupAlways: z.boolean().default(false),
  /** The integration user (permission set assignee); default: the user of the token's identity URL. */
  integrationUserId: z.string().min(15).max(18).optional(),
  /** Retry base delay (tests set it tiny). */
  retryBaseDelayMs: Positive.default(SALESFORCE_FACTS.retry.baseDelayMs),
});
export type SalesforceSettings = z.infer<typeof SalesforceSettingsSchema>;

export function parseSettings(input: unknown): SalesforceSettings {
  return parseOrThrow(
    SalesforceSettingsSchema,
    input ?? {},
    'Salesforce settings',
    ERR_SALESFORCE_SETTINGS_INVALID,
  );
}
