/**
 * Single-portal self-hosted mode: `serve` with only `HUBSPOT_PRIVATE_APP_TOKEN` set (no OAuth app)
 * has nobody to install through the marketplace, so it installs the token's portal itself at boot:
 * the tenant is created once (provision + backfill + schedule, like an OAuth install) and reused on
 * every later boot (the token is saved again — it may have been rotated — and an incremental run
 * catches up). Several `serve` replicas booting at once converge on one tenant (create races end
 * in `ERR_STORE_TENANT_EXISTS`, then the existing one is used).
 */
import type { Logger } from '../../connectors/contract.js';
import { fetchPortalId, privateAppTokenSet } from '../../connectors/hubspot/index.js';
import { isAppError } from '../errors.js';
import type { QueueProducer } from '../queue/producer.js';
import type { Store, Tenant } from '../store/types.js';
import { ERR_STORE_TENANT_EXISTS } from '../store/types.js';

/** Account id used when the portal id is neither configured nor answered by HubSpot. */
export const UNKNOWN_PORTAL = 'private-app';

export interface PrivateAppOptions {
  token: string;
  /** `HUBSPOT_PORTAL_ID`; else asked from HubSpot. */
  portalId?: string;
  apiBaseUrl?: string;
  scheduleEveryMs: number;
  /** Test seam: how the portal id is asked (default: HubSpot's account-info API). */
  fetchPortalId?: (token: string, baseUrl?: string) => Promise<string>;
}

export interface PrivateAppTenant {
  tenant: Tenant;
  created: boolean;
}

export async function ensurePrivateAppTenant(
  deps: { store: Store; queue: Pick<QueueProducer, 'enqueue' | 'schedule'>; logger: Logger },
  options: PrivateAppOptions,
): Promise<PrivateAppTenant> {
  const { store, queue, logger } = deps;
  let portalId = options.portalId;
  if (portalId === undefined) {
    try {
      portalId = await (options.fetchPortalId ?? fetchPortalId)(options.token, options.apiBaseUrl);
    } catch (e) {
      // Syncing works without it; only webhooks (routed by portal id) need it: say how to fix.
      logger.warn(
        { code: isAppError(e) ? e.code : 'network' },
        'HubSpot portal id unknown: set HUBSPOT_PORTAL_ID so webhooks reach the private-app tenant',
      );
      portalId = UNKNOWN_PORTAL;
    }
  }
  let tenant = await store.findByAccount('hubspot', portalId);
  let created = false;
  if (tenant === null) {
    try {
      tenant = await store.createTenant({ crm: 'hubspot', accountId: portalId, mode: 'private' });
      created = true;
    } catch (e) {
      if (!isAppError(e, ERR_STORE_TENANT_EXISTS)) throw e;
      tenant = await store.findByAccount('hubspot', portalId);
      if (tenant === null) throw e;
    }
  } else if (tenant.status !== 'connected' || tenant.mode !== 'private') {
    tenant = await store.updateTenant(tenant.id, { status: 'connected', mode: 'private' });
  }
  await store.saveTokens(tenant.id, privateAppTokenSet(options.token, portalId));
  if (created) {
    await queue.enqueue('provision', tenant.id, { reason: 'private-app' });
    await queue.enqueue('backfill', tenant.id, { reason: 'private-app' });
  } else {
    await queue.enqueue('incremental', tenant.id, { reason: 'private-app' });
  }
  await queue.schedule(tenant.id, options.scheduleEveryMs);
  logger.info({ tenantId: tenant.id, accountId: portalId, created }, 'private-app tenant ready');
  return { tenant, created };
}
