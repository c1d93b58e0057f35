/**
 * `referral-sync serve`: the express app (`createApp`) on RedisStore + bull producer, the CRM
 * definitions from the environment, and the pipeline behind the admin API. Shuts down cleanly:
 * stop accepting, finish in-flight requests, close Redis.
 */
import type { Server } from 'node:http';
import type { Express } from 'express';
import type { Logger } from '../../connectors/contract.js';
import { loadConfig } from '../config.js';
import type { AppConfig } from '../config.js';
import { createLogger } from '../log.js';
import { createMetrics } from '../metrics.js';
import { createApp, serverConfigFrom } from '../server/index.js';
import type { ServerConfig } from '../server/deps.js';
import { pipelineAdminApi } from './admin-api.js';
import { serviceContext } from './context.js';
import { ensurePrivateAppTenant } from './private-app.js';
import { registerSyncMetrics } from './sync-metrics.js';
import type { ServiceContext } from './context.js';
import { pipelineValidators } from './validators.js';

export interface ServeOptions {
  config?: AppConfig;
  logger?: Logger;
  /** Overrides of the server config (tests: plain-http cookies, short uninstall wait). */
  server?: Partial<ServerConfig>;
  host?: string;
  /** Injected clock (benchmarks that move time; webhook timestamps are checked against it). */
  now?: () => Date;
  /** Test seam of the private-app bootstrap (default: HubSpot's account-info API). */
  fetchPortalId?: (token: string, baseUrl?: string) => Promise<string>;
}

export interface RunningServe {
  url: string;
  app: Express;
  context: ServiceContext;
  close(): Promise<void>;
}

export async function startServe(options: ServeOptions = {}): Promise<RunningServe> {
  const config = options.config ?? loadConfig();
  const logger = options.logger ?? createLogger({ level: config.logLevel, name: 'server' });
  const context = serviceContext(config, logger, options.now === undefined ? {} : { now: options.now });
  const hs = config.hubspot;
  if (hs.privateAppToken !== undefined && hs.oauth === undefined) {
    // Nobody installs through OAuth in single-portal mode: the token's portal is the tenant.
    await ensurePrivateAppTenant(
      { store: context.store, queue: context.producer, logger },
      {
        token: hs.privateAppToken,
        scheduleEveryMs: config.worker.syncIntervalMinutes * 60_000,
        ...(hs.portalId === undefined ? {} : { portalId: hs.portalId }),
        ...(hs.apiBaseUrl === undefined ? {} : { apiBaseUrl: hs.apiBaseUrl }),
        ...(options.fetchPortalId === undefined ? {} : { fetchPortalId: options.fetchPortalId }),
      },
    ).catch(async (e: unknown) => {
      await context.close();
      throw e;
    });
  }
  const metrics = createMetrics();
  // Syncs run in worker processes: their metrics come from the shared Redis hash at scrape time.
  registerSyncMetrics(metrics.registry, context.syncMetrics);
  const app = createApp({
    config: { ...serverConfigFrom(config), ...options.server },
    store: context.store,
    queue: context.producer,
    crms: context.runtime.definitions,
    logger,
    admin: pipelineAdminApi(context.runtime, context.producer),
    validators: pipelineValidators,
    metrics,
    dashboardQueues: context.queues.all(),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  let server: Server;
  try {
    server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(config.port, options.host ?? '0.0.0.0', () => resolve(s));
      s.once('error', reject);
    });
  } catch (error) {
    await context.close();
    throw error;
  }
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  logger.info({ port }, 'server listening');
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    context,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive sockets would hold close() open; idle ones go now, busy ones after their response.
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), config.worker.shutdownTimeoutMs).unref();
      });
      await context.close();
      logger.info({}, 'server stopped');
    },
  };
}
