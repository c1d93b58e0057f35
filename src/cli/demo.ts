/**
 * `referral-sync demo`: the product end to end with nothing configured. Starts both sandbox CRMs
 * seeded with a realistic account, installs a HubSpot tenant (private-app token) and a Salesforce
 * tenant (the sandbox's ready session) in an in-memory store, provisions, shows the dry-run plan,
 * runs the full pipeline for both, prints what was written, and keeps the server up so the admin
 * API and page show it. `--once` exits after the run (tests, CI).
 */
import type { Server } from 'node:http';
import express from 'express';
import type { CrmName, Logger } from '../../connectors/contract.js';
import { hubspotDefinition, privateAppTokenSet } from '../../connectors/hubspot/index.js';
import { salesforceDefinition } from '../../connectors/salesforce/index.js';
import { demoConfig } from '../config.js';
import { startSandboxes } from '../sandbox/index.js';
import type { RunningSandboxes } from '../sandbox/index.js';
import { createApp, serverConfigFrom } from '../server/index.js';
import { Sessions } from '../server/session.js';
import { pipelineAdminApi } from '../service/admin-api.js';
import { pipelineHandlers } from '../service/handlers.js';
import { InlineQueue } from '../service/inline-queue.js';
import { pipelineValidators } from '../service/validators.js';
import { MemoryStore } from '../store/memory-store.js';
import { MemorySnapshotCache } from '../store/snapshot-cache.js';
import { provisionTenant } from '../sync/provision.js';
import { runSync } from '../sync/run-sync.js';
import type { SyncSummary } from '../sync/run-sync.js';
import { tenantRuntime } from '../sync/tenant-runtime.js';
import type { RuntimeOptions } from '../sync/tenant-runtime.js';
import type { Out } from './output.js';
import {
  printProvision,
  printReportHeadline,
  printSamples,
  printSummary,
  printTasksByOwner,
  progressReporter,
} from './output.js';

export interface DemoOptions {
  port: number;
  contacts: number;
  seed: number;
  once: boolean;
  out: Out;
  logger: Logger;
}

export interface DemoResult {
  sandboxes: RunningSandboxes;
  runs: Record<CrmName, SyncSummary>;
  /** Where the server listens (null with `once`). */
  url: string | null;
  close(): Promise<void>;
}

export const DEMO_TENANTS: Record<CrmName, string> = {
  hubspot: 'demo-hubspot',
  salesforce: 'demo-salesforce',
};

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const { out } = o;
  out.line(`Starting the sandbox CRMs with ${o.contacts} contacts (seed ${o.seed})…`);
  const sandboxes = await startSandboxes({ seed: o.seed, contacts: o.contacts });
  let server: Server | null = null;
  const queue = new InlineQueue(o.logger);
  try {
    const config = demoConfig({ port: o.port });
    const store = new MemoryStore({ keyRing: config.tokenKeys });
    const hs = sandboxes.hubspot;
    const sf = sandboxes.salesforce;
    const crms = {
      hubspot: hubspotDefinition({
        clientId: hs.credentials.clientId,
        clientSecret: hs.credentials.clientSecret,
        appId: String(hs.credentials.appId),
        apiBaseUrl: hs.url,
        authorizeUrl: `${hs.url}/oauth/authorize`,
      }),
      salesforce: salesforceDefinition({
        clientId: sf.credentials.clientId,
        clientSecret: sf.credentials.clientSecret,
        loginUrl: sf.url,
        sandboxHost: new URL(sf.url).host,
      }),
    };
    const runtime: RuntimeOptions = {
      store,
      snapshots: new MemorySnapshotCache(),
      definitions: crms,
      logger: o.logger,
      baseUrls: { hubspot: hs.url },
    };

    out.line(`  HubSpot sandbox    ${hs.url} (portal ${hs.credentials.portalId})`);
    out.line(`  Salesforce sandbox ${sf.url} (org ${sf.credentials.orgId})`);
    await store.createTenant({
      id: DEMO_TENANTS.hubspot,
      crm: 'hubspot',
      accountId: String(hs.credentials.portalId),
      mode: 'private',
      name: 'Sandbox HubSpot portal',
      config: { writeBack: 'on', settings: { apiBaseUrl: hs.url } },
    });
    await store.saveTokens(
      DEMO_TENANTS.hubspot,
      privateAppTokenSet(hs.credentials.privateAppToken, String(hs.credentials.portalId)),
    );
    await store.createTenant({
      id: DEMO_TENANTS.salesforce,
      crm: 'salesforce',
      accountId: sf.credentials.orgId,
      mode: 'oauth',
      name: 'Sandbox Salesforce org',
      config: { writeBack: 'on' },
    });
    await store.saveTokens(DEMO_TENANTS.salesforce, {
      accessToken: sf.credentials.accessToken,
      refreshToken: sf.credentials.refreshToken,
      instanceUrl: sf.credentials.instanceUrl,
      accountId: sf.credentials.orgId,
      userId: sf.credentials.userId,
    });

    const ownerNames = new Map(
      sandboxes.account.owners.map((w) => [w.id, `${w.firstName} ${w.lastName}`] as const),
    );
    const runs = {} as Record<CrmName, SyncSummary>;
    for (const crm of ['hubspot', 'salesforce'] as const) {
      const tenantId = DEMO_TENANTS[crm];
      const label = crm === 'hubspot' ? 'HubSpot' : 'Salesforce';
      out.line(`\n=== ${label} ===`);
      printProvision(
        out,
        `${label}: fields provisioned`,
        await provisionTenant(await tenantRuntime(runtime, tenantId)),
      );

      const dry = await runSync(await tenantRuntime(runtime, tenantId), {
        mode: 'full',
        dryRun: true,
        ...withBar(out, `${label} dry run`),
      });
      printSummary(out, `${label}: plan`, dry);

      const real = await runSync(await tenantRuntime(runtime, tenantId), {
        mode: 'full',
        ...withBar(out, `${label} sync`),
      });
      printSummary(out, `${label}: full sync`, real);
      out.line('Sample records (before → after):');
      printSamples(out, real);
      out.line('Tasks per owner:');
      printTasksByOwner(out, real, (id) => ownerName(ownerNames, sandboxes, crm, id));
      out.line('Report headline:');
      printReportHeadline(out, real.report);
      runs[crm] = real;
    }

    if (o.once) {
      return { sandboxes, runs, url: null, close: () => sandboxes.close() };
    }

    queue.attach(pipelineHandlers({ runtime, producer: queue, logger: o.logger }));
    const serverConfig = { ...serverConfigFrom(config), cookieSecure: false };
    const app = createApp({
      config: serverConfig,
      store,
      queue,
      crms,
      logger: o.logger,
      admin: pipelineAdminApi(runtime, queue),
      validators: pipelineValidators,
    });
    const outer = express();
    const sessions = new Sessions(serverConfig.sessionSecret, {
      secure: false,
      now: () => new Date(),
      store,
    });
    // Demo only: a session for both demo tenants without an OAuth round trip, then the admin page.
    outer.get('/demo/login', async (_req, res) => {
      await sessions.issue(res, Object.values(DEMO_TENANTS));
      res.redirect('/admin');
    });
    outer.get('/demo', async (_req, res) => {
      const tenants = await Promise.all(
        Object.values(DEMO_TENANTS).map(async (id) => ({
          tenant: await store.getTenant(id),
          runs: (await store.listRuns(id, 5)).map((r) => ({
            kind: r.kind,
            status: r.status,
            counts: r.counts,
          })),
        })),
      );
      res.json({ login: '/demo/login', admin: '/admin', tenants });
    });
    outer.use(app);
    server = await new Promise<Server>((resolve, reject) => {
      const s = outer.listen(o.port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : o.port;
    const url = `http://localhost:${port}`;
    out.line(`\nServer up: ${url}`);
    out.line(`  admin page (logs you in to both demo tenants)  ${url}/demo/login`);
    out.line(`  what the demo wrote (JSON)                     ${url}/demo`);
    out.line('Ctrl-C stops the server and the sandboxes.');
    const running = server;
    return {
      sandboxes,
      runs,
      url,
      async close() {
        await queue.close();
        await new Promise<void>((resolve) => running.close(() => resolve()));
        running.closeAllConnections?.();
        await sandboxes.close();
      },
    };
  } catch (error) {
    await queue.close();
    server?.close();
    await sandboxes.close();
    throw error;
  }
}

function withBar(out: Out, label: string) {
  const reporter = progressReporter(out, label);
  return {
    onProgress: (p: Parameters<typeof reporter.onProgress>[0]) => {
      reporter.onProgress(p);
      if (p.phase === 'done') reporter.stop();
    },
  };
}

function ownerName(
  names: Map<string, string>,
  sandboxes: RunningSandboxes,
  crm: CrmName,
  crmId: string,
): string {
  const owners = crm === 'hubspot' ? sandboxes.hubspot.ids.owners : sandboxes.salesforce.ids.users;
  for (const [seedId, id] of owners) {
    if (id === crmId) return `${names.get(seedId) ?? seedId} (${crmId})`;
  }
  return crmId;
}
