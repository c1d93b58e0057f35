/**
 * What a one-shot CLI run (`sync`, `dry-run`, `provision`) works against: a real portal/org with a
 * token, or the local sandbox; state in memory (one-shot) or in Redis (`--redis-url`, so cursors
 * and the ledger survive between runs). Builds the store, the tenant and the runtime factory.
 */
import { Redis } from 'ioredis';
import type { CrmName, Logger } from '../../connectors/contract.js';
import { hubspotDefinition, privateAppTokenSet } from '../../connectors/hubspot/index.js';
import { salesforceDefinition } from '../../connectors/salesforce/index.js';
import { AppError } from '../errors.js';
import { startSandboxes } from '../sandbox/index.js';
import type { RunningSandboxes } from '../sandbox/index.js';
import { generateKeyRing, parseKeyRing } from '../store/crypto.js';
import { MemoryStore } from '../store/memory-store.js';
import { RedisStore } from '../store/redis-store.js';
import { MemorySnapshotCache, RedisSnapshotCache } from '../store/snapshot-cache.js';
import type { SnapshotCache } from '../store/snapshot-cache.js';
import type { Store } from '../store/types.js';
import type { SyncDeps } from '../sync/run-sync.js';
import { tenantRuntime } from '../sync/tenant-runtime.js';
import type { Definitions } from '../sync/tenant-runtime.js';
import type { Tenant } from '../store/types.js';

export const ERR_CLI_USAGE = 'ERR_CLI_USAGE';

export interface TargetOptions {
  crm?: string;
  /** HubSpot private-app token. */
  token?: string;
  portalId?: string;
  baseUrl?: string;
  /** Salesforce session. */
  instanceUrl?: string;
  accessToken?: string;
  orgId?: string;
  sandbox?: boolean;
  contacts?: string;
  seed?: string;
  redisUrl?: string;
  redisPrefix?: string;
  tenant?: string;
}

export interface Target {
  crm: CrmName;
  tenantId: string;
  store: Store;
  sandboxes: RunningSandboxes | null;
  runtime(): Promise<SyncDeps & { tenant: Tenant }>;
  close(): Promise<void>;
}

export function usage(message: string): AppError {
  return new AppError(ERR_CLI_USAGE, message);
}

export function intOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw usage(`${name} must be a non-negative integer (got "${value}")`);
  return n;
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export async function openTarget(o: TargetOptions, logger: Logger = silent): Promise<Target> {
  const crm = (o.crm ?? 'hubspot') as CrmName;
  if (crm !== 'hubspot' && crm !== 'salesforce')
    throw usage(`--crm must be hubspot or salesforce (got "${o.crm}")`);
  if (o.sandbox !== true) {
    if (crm === 'hubspot' && o.token === undefined)
      throw usage('HubSpot needs --token <private app token> (or --sandbox)');
    if (crm === 'salesforce' && (o.instanceUrl === undefined || o.accessToken === undefined))
      throw usage('Salesforce needs --instance-url and --access-token (or --sandbox)');
  }

  // Tokens are encrypted at rest even here: TOKEN_KEYS if set (a Redis store shared with `serve`),
  // else a throwaway key (memory store: dies with the process).
  const keyRing = process.env.TOKEN_KEYS ? parseKeyRing(process.env.TOKEN_KEYS) : generateKeyRing('cli').ring;
  let store: Store;
  let snapshots: SnapshotCache;
  let redis: Redis | null = null;
  if (o.redisUrl !== undefined) {
    const prefix = o.redisPrefix ?? 'rs';
    redis = new Redis(o.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 2 });
    redis.on('error', () => undefined);
    store = new RedisStore({ redis, prefix, keyRing });
    snapshots = new RedisSnapshotCache(redis, prefix);
  } else {
    store = new MemoryStore({ keyRing });
    snapshots = new MemorySnapshotCache();
  }

  let sandboxes: RunningSandboxes | null = null;
  try {
    const definitions: Definitions = {};
    let accountId: string;
    let apiBaseUrl: string | undefined;
    if (o.sandbox === true) {
      sandboxes = await startSandboxes({
        seed: intOption(o.seed, '--seed', 1),
        contacts: intOption(o.contacts, '--contacts', 2000),
      });
    }
    if (crm === 'hubspot') {
      const hs = sandboxes?.hubspot;
      definitions.hubspot = hubspotDefinition({
        clientId: hs?.credentials.clientId ?? 'private-app',
        clientSecret: hs?.credentials.clientSecret ?? 'private-app',
      });
      accountId = hs === undefined ? (o.portalId ?? 'private-app') : String(hs.credentials.portalId);
      apiBaseUrl = hs?.url ?? o.baseUrl;
    } else {
      const sf = sandboxes?.salesforce;
      definitions.salesforce = salesforceDefinition({
        clientId: sf?.credentials.clientId ?? 'cli',
        ...(sf === undefined ? {} : { clientSecret: sf.credentials.clientSecret, loginUrl: sf.url }),
        ...(sf === undefined ? {} : { sandboxHost: new URL(sf.url).host }),
      });
      accountId = sf?.credentials.orgId ?? o.orgId ?? 'cli-org';
    }

    const tenantId = o.tenant ?? `cli-${crm}-${accountId}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 100);
    if ((await store.getTenant(tenantId)) === null) {
      await store.createTenant({
        id: tenantId,
        crm,
        accountId,
        mode: crm === 'hubspot' ? 'private' : 'oauth',
        config: { writeBack: 'on', settings: apiBaseUrl === undefined ? {} : { apiBaseUrl } },
      });
    }
    if (crm === 'hubspot') {
      const token = sandboxes?.hubspot.credentials.privateAppToken ?? o.token!;
      await store.saveTokens(tenantId, privateAppTokenSet(token, accountId));
    } else {
      const sf = sandboxes?.salesforce.credentials;
      await store.saveTokens(tenantId, {
        accessToken: sf?.accessToken ?? o.accessToken!,
        ...(sf === undefined ? {} : { refreshToken: sf.refreshToken, userId: sf.userId }),
        instanceUrl: sf?.instanceUrl ?? o.instanceUrl!,
        accountId,
      });
    }
    return {
      crm,
      tenantId,
      store,
      sandboxes,
      runtime: () => tenantRuntime({ store, snapshots, definitions, logger }, tenantId),
      async close() {
        await sandboxes?.close();
        await store.close();
        redis?.disconnect();
      },
    };
  } catch (error) {
    await sandboxes?.close();
    redis?.disconnect();
    throw error;
  }
}
