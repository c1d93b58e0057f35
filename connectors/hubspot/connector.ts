/**
 * The per-portal `CrmConnector`: wires the HTTP layer (budget, token, retries, counts) into the
 * jobs in their own files (pull, push, tasks, provision, describe).
 */
import { z } from 'zod';
import type {
  BudgetSnapshot,
  ConnectorContext,
  CrmConnector,
  CrmFieldInfo,
  OwnedFieldDefinition,
  PullByIdsOptions,
  PullByIdsPage,
  PullOptions,
  PullPage,
  ProvisionReport,
  RecordUpdate,
  TaskOutcome,
  TaskWrite,
  WriteOutcome,
} from '../contract.js';
import { parseOrThrow } from '../../src/validation.js';
import { describeFields } from './describe.js';
import { ERR_HUBSPOT_SETTINGS_INVALID } from './errors.js';
import type { HubSpotFacts } from './facts.js';
import { HubSpotHttp } from './http.js';
import type { CallCounts, HubSpotHttpOptions } from './http.js';
import { PipelineStages } from './pipelines.js';
import { provision } from './provision.js';
import { pullByIds } from './by-ids.js';
import { pullObject } from './pull.js';
import { pushUpdates } from './push.js';
import { pushTasks } from './tasks.js';

/** Per-tenant settings (`ConnectorContext.settings`), validated. */
export const HubSpotSettingsSchema = z.strictObject({
  propertyGroup: z
    .strictObject({ name: z.string().regex(/^[a-z][a-z0-9_]*$/), label: z.string().min(1) })
    .default({ name: 'referral_sync', label: 'Referral Sync' }),
  /** Look every task key up before creating (costs reads); default: only `pendingSince` keys. */
  reconcileTasksAlways: z.boolean().default(false),
  retryAttempts: z.number().int().min(1).max(10).default(6),
});
export type HubSpotSettings = z.infer<typeof HubSpotSettingsSchema>;

export interface HubSpotConnector extends CrmConnector {
  /** API calls made by this connector instance, per kind (for benchmarks and the admin page). */
  readonly counts: Readonly<CallCounts>;
}

export function createHubSpotConnector(
  ctx: ConnectorContext,
  facts: HubSpotFacts,
  httpOptions: HubSpotHttpOptions = {},
): HubSpotConnector {
  const settings = parseOrThrow(
    HubSpotSettingsSchema,
    ctx.settings ?? {},
    'HubSpot settings',
    ERR_HUBSPOT_SETTINGS_INVALID,
  );
  const http = new HubSpotHttp(ctx, facts, { attempts: settings.retryAttempts, ...httpOptions });
  const pipelines = new PipelineStages(http, ctx.now);
  const log = (obj: object, msg: string): void => ctx.logger.warn({ tenantId: ctx.tenantId, ...obj }, msg);

  return {
    crm: 'hubspot',
    get counts() {
      return http.counts;
    },
    pull(object: string, options: PullOptions): AsyncIterable<PullPage> {
      return pullObject({ http, facts, pipelines }, object, options);
    },
    pullByIds(
      object: string,
      ids: readonly string[],
      options: PullByIdsOptions,
    ): AsyncIterable<PullByIdsPage> {
      return pullByIds({ http, facts, pipelines }, object, ids, options);
    },
    provision(fields: readonly OwnedFieldDefinition[]): Promise<ProvisionReport> {
      return provision({ http, group: settings.propertyGroup, warn: log }, fields);
    },
    describeFields(object: string): Promise<CrmFieldInfo[]> {
      return describeFields(http, object, settings.propertyGroup.name);
    },
    pushUpdates(updates: readonly RecordUpdate[]): Promise<WriteOutcome[]> {
      return pushUpdates(http, facts, updates);
    },
    pushTasks(tasks: readonly TaskWrite[]): Promise<TaskOutcome[]> {
      return pushTasks({ http, facts, reconcileAlways: settings.reconcileTasksAlways }, tasks);
    },
    budget(): Promise<BudgetSnapshot> {
      // The shared limiter holds what HubSpot reported (X-HubSpot-RateLimit-* headers fed back on
      // every response) and any 429 pause with its reason.
      return ctx.limiter.snapshot();
    },
  };
}
