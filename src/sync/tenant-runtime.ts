/**
 * Everything one tenant's run needs, built from the store: the CRM definition, a connector wired
 * to the tenant's encrypted tokens (refresh under the shared lock) and shared rate budget, the
 * tenant's mapping (shipped default + override) and rules (engine defaults + admin's config).
 */
import type { CrmDefinition, CrmName, Logger } from '../../connectors/contract.js';
import { AppError } from '../errors.js';
import { parseRules } from '../engine/index.js';
import type { SnapshotCache } from '../store/snapshot-cache.js';
import { createTokenProvider } from '../store/tokens.js';
import type { Store, Tenant } from '../store/types.js';
import { loadMapping } from './mapping.js';
import type { SyncDeps } from './run-sync.js';

export const ERR_SYNC_TENANT_UNKNOWN = 'ERR_SYNC_TENANT_UNKNOWN';
export const ERR_SYNC_TENANT_DISCONNECTED = 'ERR_SYNC_TENANT_DISCONNECTED';
export const ERR_SYNC_CRM_NOT_CONFIGURED = 'ERR_SYNC_CRM_NOT_CONFIGURED';

export type Definitions = Partial<Record<CrmName, CrmDefinition>>;

export interface RuntimeOptions {
  store: Store;
  snapshots: SnapshotCache;
  definitions: Definitions;
  logger: Logger;
  now?: () => Date;
  /**
   * API base URL per CRM (the sandbox, a test host); production uses the connector's facts.
   * A tenant's `settings.apiBaseUrl` wins (a tenant installed against the sandbox).
   */
  baseUrls?: Partial<Record<CrmName, string>>;
  /** Salesforce: share of the org's daily API allowance we may use (default in facts: 0.2). */
  salesforceDailyShare?: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export async function loadTenant(store: Store, tenantId: string): Promise<Tenant> {
  const tenant = await store.getTenant(tenantId);
  if (tenant === null)
    throw new AppError(ERR_SYNC_TENANT_UNKNOWN, `no tenant ${tenantId}`, { details: { tenantId } });
  return tenant;
}

export async function tenantRuntime(
  options: RuntimeOptions,
  tenantId: string,
): Promise<SyncDeps & { tenant: Tenant }> {
  const { store } = options;
  const tenant = await loadTenant(store, tenantId);
  if (tenant.status === 'disconnected') {
    throw new AppError(
      ERR_SYNC_TENANT_DISCONNECTED,
      `tenant ${tenantId} is disconnected: ${tenant.statusReason ?? 'reinstall'}`,
      {
        details: { tenantId, reason: tenant.statusReason ?? null },
      },
    );
  }
  const definition = options.definitions[tenant.crm];
  if (definition === undefined) {
    throw new AppError(ERR_SYNC_CRM_NOT_CONFIGURED, `${tenant.crm} is not configured on this server`, {
      details: { crm: tenant.crm },
    });
  }
  const now = options.now ?? (() => new Date());
  const settings = tenant.config.settings;
  const baseUrl =
    typeof settings.apiBaseUrl === 'string' ? settings.apiBaseUrl : options.baseUrls?.[tenant.crm];
  const tokens = createTokenProvider(store, tenantId, (t) => definition.refresh(t), {
    clock: now,
    logger: options.logger,
  });
  const limiter = store.rateLimiter(
    tenantId,
    definition.rateLimits(tenant.mode),
    tenant.crm === 'salesforce' && options.salesforceDailyShare !== undefined
      ? { dailyShare: options.salesforceDailyShare }
      : {},
  );
  const connector = definition.create({
    tenantId,
    tokens,
    limiter,
    logger: options.logger,
    now,
    ...(baseUrl === undefined ? {} : { baseUrl }),
    // Connector-specific settings live under `settings.connector` (validated by the connector).
    ...(isRecord(settings.connector) ? { settings: settings.connector } : {}),
  });
  return {
    tenant,
    tenantId,
    store,
    snapshots: options.snapshots,
    connector,
    definition,
    mapping: loadMapping(tenant.crm, tenant.config.mappingOverride ?? undefined),
    rules: parseRules(tenant.config.rules ?? {}),
    now,
    logger: options.logger,
  };
}
