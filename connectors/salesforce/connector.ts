/**
 * The per-tenant Salesforce connector behind `CrmConnector`. Small parts, one job each:
 * connection.ts (auth, budget, limiter, retry), pull.ts + links.ts + bulk.ts (reads), push.ts +
 * tasks.ts (writes), provision.ts (fields, permission set), conversion.ts (lead conversion),
 * limits.ts (daily API budget).
 *
 * Near-real-time is polling with the cursor every `pollIntervalMs` (default 5 min). Change Data
 * Capture can come later without changing the pipeline: a CDC subscriber would emit
 * `ChangeEvent`s (ChangeEventHeader.recordIds / changeType / changedFields map onto
 * `ChangeEvent.ids` / `kind` / `field`; `changeOrigin` with our `Sforce-Call-Options client=` id
 * marks our own writes), exactly like HubSpot webhooks do, and the pipeline re-reads those ids.
 */
import type {
  BudgetSnapshot,
  ConnectorContext,
  CrmConnector,
  CrmFieldInfo,
  CrmRecord,
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
import { z } from 'zod';
import { parseOrThrow } from '../../src/validation.js';
import { SalesforceClient } from './connection.js';
import type { CallCounts } from './connection.js';
import { conversionUpdates, DEFAULT_CONVERSION_FIELDS, readConversionTargets } from './conversion.js';
import type { CarryPolicy, ConversionFieldMap } from './conversion.js';
import { describeFields } from './describe.js';
import { ERR_SALESFORCE_PAYLOAD } from './errors.js';
import type { SalesforceFacts, SalesforceSettings } from './facts.js';
import type { BudgetState } from './limits.js';
import { deprovision, provision } from './provision.js';
import { pullByIds } from './by-ids.js';
import { pullObject } from './pull.js';
import { pushUpdates } from './push.js';
import { pushTasks } from './tasks.js';

const LimitsSchema = z.looseObject({
  DailyApiRequests: z.looseObject({ Max: z.number(), Remaining: z.number() }),
});

export interface SalesforceStats {
  calls: CallCounts;
  reads: number;
  writes: number;
  refreshes: number;
  bulkFallbacks: number;
  budget: BudgetState;
}

const WRITE_KINDS: readonly (keyof CallCounts)[] = ['collections', 'upsert', 'bulkIngest', 'sobject'];

export class SalesforceConnector implements CrmConnector {
  readonly crm = 'salesforce' as const;
  readonly client: SalesforceClient;
  private readonly owned = new Set<string>();

  constructor(
    private readonly ctx: ConnectorContext,
    private readonly facts: SalesforceFacts,
    readonly settings: SalesforceSettings,
    sandboxHost: string | undefined,
    sleep?: (ms: number) => Promise<void>,
  ) {
    this.client = new SalesforceClient(ctx, {
      facts,
      settings,
      ...(sandboxHost === undefined ? {} : { sandboxHost }),
      ...(sleep === undefined ? {} : { sleep }),
    });
  }

  /** How often the scheduler should poll for changes (no CDC yet). */
  get pollIntervalMs(): number {
    return this.settings.pollIntervalMs;
  }

  pull(object: string, options: PullOptions): AsyncIterable<PullPage> {
    return pullObject({ client: this.client, facts: this.facts, settings: this.settings }, object, options);
  }

  /** The records a caller names, by `WHERE Id IN (…)` over the pull's columns (by-ids.ts). */
  pullByIds(object: string, ids: readonly string[], options: PullByIdsOptions): AsyncIterable<PullByIdsPage> {
    return pullByIds(
      { client: this.client, facts: this.facts, settings: this.settings },
      object,
      ids,
      options,
    );
  }

  async provision(fields: readonly OwnedFieldDefinition[]): Promise<ProvisionReport> {
    const tokens = await this.client.identity();
    const report = await provision(this.client, this.facts, fields, {
      permissionSetName: this.facts.metadata.permissionSetName,
      integrationUserId: this.settings.integrationUserId ?? tokens.userId,
    });
    for (const f of fields) this.owned.add(`${f.object}.${f.name}`);
    return report;
  }

  async deprovision(fields: readonly OwnedFieldDefinition[]): Promise<void> {
    await deprovision(this.client, this.facts, fields, this.facts.metadata.permissionSetName);
  }

  describeFields(object: string): Promise<CrmFieldInfo[]> {
    return describeFields(this.client, object, this.owned);
  }

  get writeBatch(): number {
    return this.facts.bulk.pipelineWriteBatch;
  }

  pushUpdates(updates: readonly RecordUpdate[]): Promise<WriteOutcome[]> {
    return pushUpdates(this.client, this.facts, this.settings, updates);
  }

  pushTasks(tasks: readonly TaskWrite[]): Promise<TaskOutcome[]> {
    return pushTasks(this.client, this.facts, tasks, { lookupAlways: this.settings.taskLookupAlways });
  }

  /**
   * Carry the attribution of converted Leads onto their Contact and Opportunity (see
   * conversion.ts for who does what). Reads the targets in bulk, writes only what is missing.
   */
  async carryLeadConversions(
    leads: readonly CrmRecord[],
    map: ConversionFieldMap = DEFAULT_CONVERSION_FIELDS,
    policy: CarryPolicy = 'only-if-empty',
  ): Promise<WriteOutcome[]> {
    const current = await readConversionTargets(this.client, leads, map, this.facts.query.inClauseMaxIds);
    const updates = conversionUpdates(leads, current, map, policy);
    return updates.length === 0 ? [] : this.pushUpdates(updates);
  }

  async budget(): Promise<BudgetSnapshot> {
    const res = await this.client.request('limits', 'limits', { method: 'GET', path: '/limits' });
    const limits = parseOrThrow(LimitsSchema, res.body, 'Salesforce /limits', ERR_SALESFORCE_PAYLOAD);
    const { Max, Remaining } = limits.DailyApiRequests;
    await this.client.budget.observeOrg(Max - Remaining, Max);
    const shared = await this.ctx.limiter.snapshot();
    const state = this.client.budget.state();
    const now = this.ctx.now();
    const windowMs = this.facts.budget.windowMs;
    const resetsAt = new Date(now.getTime() + windowMs).toISOString();
    const pausedUntil = state.pausedUntil ?? shared.pausedUntil;
    const pauseReason = state.pauseReason ?? shared.pauseReason;
    return {
      buckets: [
        ...shared.buckets.filter(
          (b) => b.bucket !== 'salesforce-org-daily' && b.bucket !== 'salesforce-our-share',
        ),
        // Rolling 24 h: Salesforce does not say when calls age out, so "resets" is an upper bound.
        { bucket: 'salesforce-org-daily', used: Max - Remaining, limit: Max, windowMs, resetsAt },
        { bucket: 'salesforce-our-share', used: state.ourCalls, limit: state.ourCap, windowMs, resetsAt },
      ],
      ...(pausedUntil === undefined ? {} : { pausedUntil }),
      ...(pauseReason === undefined ? {} : { pauseReason }),
    };
  }

  /** API calls by kind, reads vs writes, refreshes and bulk fallbacks (for benchmarks and tests). */
  stats(): SalesforceStats {
    const calls = { ...this.client.calls };
    const writes = WRITE_KINDS.reduce((n, k) => n + calls[k], 0);
    const total = Object.values(calls).reduce((n, v) => n + v, 0);
    return {
      calls,
      reads: total - writes - calls.metadata,
      writes,
      refreshes: this.client.refreshes,
      bulkFallbacks: this.client.bulkFallbacks,
      budget: this.client.budget.state(),
    };
  }
}
