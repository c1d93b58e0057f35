/**
 * `referral-sync demo`: the product end to end with nothing configured. Starts both sandbox CRMs
 * seeded with a realistic account, installs a HubSpot tenant (private-app token) and a Salesforce
 * tenant (the sandbox's ready session) in an in-memory store, provisions, shows the dry-run plan,
 * runs the full pipeline for both, prints what was written, then plays "referred friends arrive"
 * (`demo-arrivals.ts`: new leads by code, by a real referral-link click on this server's
 * `/r/:tenant/:code`, by referrer email, a typo'd code, a half-remembered name; several of them
 * buy) and runs an incremental sync that attributes them, and keeps the server up so the admin API
 * and page show it. `--once` exits after the run (tests, CI); the server still listens during the
 * run (on a free port) because the link clicks go through it.
 */
import type { Server } from 'node:http';
import Table from 'cli-table3';
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
import type { Store } from '../store/types.js';
import { MemorySnapshotCache } from '../store/snapshot-cache.js';
import { provisionTenant } from '../sync/provision.js';
import { runSync } from '../sync/run-sync.js';
import type { SyncSummary } from '../sync/run-sync.js';
import { tenantRuntime } from '../sync/tenant-runtime.js';
import type { RuntimeOptions } from '../sync/tenant-runtime.js';
import type { ArrivedFriend, SandboxCrm } from './demo-arrivals.js';
import { hubspotArrivals, planArrivals, salesforceArrivals } from './demo-arrivals.js';
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
  /** The first full sync of each CRM. */
  runs: Record<CrmName, SyncSummary>;
  /** The friends who arrived after it, and the incremental sync that attributed them. */
  arrivals: Record<CrmName, { friends: ArrivedFriend[]; sync: SyncSummary }>;
  store: Store;
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

    // The server first: the referral links we write point at its /r/ route, and the demo's
    // friends click them before the admin page is even opened.
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
    // The company's landing page the referral links redirect to (a real one hosts the form that
    // stores rs_click / rs_code in the CRM's capture fields).
    outer.get('/demo/landing', (req, res) => {
      const q = (name: string): string => (typeof req.query[name] === 'string' ? req.query[name] : '—');
      res
        .type('html')
        .send(
          `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sandbox landing page</title></head>` +
            `<body><main><h1>Welcome, friend of a customer</h1><p>The sign-up form would store these in the CRM:</p>` +
            `<p>click id <code>${escapeHtml(q('rs_click'))}</code>, code <code>${escapeHtml(q('rs_code'))}</code></p></main></body></html>`,
        );
    });
    outer.use(app);
    server = await new Promise<Server>((resolve, reject) => {
      const s = outer.listen(o.once ? 0 : o.port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : o.port;
    const url = `http://localhost:${port}`;
    const tenantConfig = (tenantId: string) => ({
      writeBack: 'on' as const,
      mappingOverride: { referralLinkTemplate: `${url}/r/${tenantId}/{code}` },
    });

    out.line(`  HubSpot sandbox    ${hs.url} (portal ${hs.credentials.portalId})`);
    out.line(`  Salesforce sandbox ${sf.url} (org ${sf.credentials.orgId})`);
    await store.createTenant({
      id: DEMO_TENANTS.hubspot,
      crm: 'hubspot',
      accountId: String(hs.credentials.portalId),
      mode: 'private',
      name: 'Sandbox HubSpot portal',
      config: {
        ...tenantConfig(DEMO_TENANTS.hubspot),
        settings: { apiBaseUrl: hs.url, landingUrl: `${url}/demo/landing` },
      },
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
      config: { ...tenantConfig(DEMO_TENANTS.salesforce), settings: { landingUrl: `${url}/demo/landing` } },
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
    const arrivals = {} as DemoResult['arrivals'];
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

      // Act two: the codes that sync issued bring friends in; the next incremental sync credits them.
      const sandboxCrm: SandboxCrm =
        crm === 'hubspot' ? hubspotArrivals(sandboxes) : salesforceArrivals(sandboxes);
      const plan = await planArrivals(
        sandboxCrm.advocates(),
        new Date(),
        (code) => clickLink(`${url}/r/${tenantId}/${code}`),
        crm === 'hubspot' ? 'hs' : 'sf',
      );
      const friends: ArrivedFriend[] = [];
      for (const f of plan) friends.push(await sandboxCrm.addFriend(f));
      out.line(`\n${label}: referred friends arrive`);
      printArrivals(out, friends);
      const incremental = await runSync(await tenantRuntime(runtime, tenantId), {
        mode: 'incremental',
        ...withBar(out, `${label} incremental sync`),
      });
      printSummary(out, `${label}: incremental sync`, incremental);
      out.line(`${label}: what the incremental sync attributed`);
      printAttributions(out, sandboxCrm, friends, incremental);
      arrivals[crm] = { friends, sync: incremental };
    }

    const running = server;
    const close = async (): Promise<void> => {
      await queue.close();
      await new Promise<void>((resolve) => running.close(() => resolve()));
      running.closeAllConnections?.();
      await sandboxes.close();
    };
    if (o.once) {
      await queue.close();
      await new Promise<void>((resolve) => running.close(() => resolve()));
      running.closeAllConnections?.();
      return { sandboxes, runs, arrivals, store, url: null, close: () => sandboxes.close() };
    }

    out.line(`\nServer up: ${url}`);
    out.line(`  admin page (logs you in to both demo tenants)  ${url}/demo/login`);
    out.line(`  what the demo wrote (JSON)                     ${url}/demo`);
    const sample = arrivals.hubspot.friends[0]?.referrer.code ?? '<code>';
    out.line(`  a referral link (records a click, redirects)   ${url}/r/${DEMO_TENANTS.hubspot}/${sample}`);
    out.line('Ctrl-C stops the server and the sandboxes.');
    return { sandboxes, runs, arrivals, store, url, close };
  } catch (error) {
    await queue.close();
    server?.close();
    await sandboxes.close();
    throw error;
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Follows a referral link like a browser's first hop: the redirect's `rs_click` is the click id. */
async function clickLink(link: string): Promise<string> {
  const res = await fetch(link, { redirect: 'manual' });
  const location = res.headers.get('location');
  const clickId = location === null ? null : new URL(location).searchParams.get('rs_click');
  if (res.status !== 302 || clickId === null) {
    throw new Error(`referral link ${link} answered ${res.status} without a click id`);
  }
  return clickId;
}

function demoTable(head: string[]): Table.Table {
  return new Table({ head, style: { head: [], border: [] } });
}

const DAY = (d: Date): string => d.toISOString().slice(0, 10);

function printArrivals(out: Out, friends: readonly ArrivedFriend[]): void {
  const t = demoTable(['friend', 'arrived', 'captured', 'referrer', 'won deal']);
  for (const f of friends) {
    const c = f.capture;
    const captured =
      c.codeUsed !== undefined
        ? `code ${c.codeUsed}`
        : c.clickId !== undefined
          ? `link click ${c.clickId.slice(0, 8)}…`
          : c.referrerEmail !== undefined
            ? `referrer email ${c.referrerEmail}`
            : `"${c.howHeard ?? ''}"`;
    t.push([
      `${f.firstName} ${f.lastName}`,
      DAY(f.createdAt),
      captured,
      `${f.referrer.firstName} ${f.referrer.lastName}`,
      f.wonDeal === undefined ? '—' : `${f.wonDeal.amount} on ${DAY(f.wonDeal.closeDate)}`,
    ]);
  }
  out.line(t.toString());
}

/**
 * Per friend: what the pipeline wrote on their CRM record (method, referred by), then the tasks
 * this sync created and the report's conversions and revenue by month.
 */
function printAttributions(
  out: Out,
  crm: SandboxCrm,
  friends: readonly ArrivedFriend[],
  sync: SyncSummary,
): void {
  const t = demoTable(['friend', 'arrived by', 'attribution written to the CRM', 'referred by', 'won']);
  for (const f of friends) {
    const w = crm.written(f);
    const inReview = sync.plan?.taskSamples.some(
      (task) => task.kind === 'review' && task.person.endsWith(`/${f.personId}`),
    );
    const method =
      typeof w.referral_attribution_method === 'string'
        ? w.referral_attribution_method
        : inReview === true
          ? 'none yet: review task'
          : '—';
    const by = typeof w.referred_by_name === 'string' ? w.referred_by_name : '—';
    t.push([
      `${f.firstName} ${f.lastName}`,
      f.method,
      method,
      by,
      f.wonDeal === undefined ? '—' : String(f.wonDeal.amount),
    ]);
  }
  out.line(t.toString());
  const kinds = sync.plan?.tasksByKind ?? {};
  out.line(
    `Tasks created: ${
      Object.entries(kinds)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'none'
    }`,
  );
  for (const task of sync.plan?.taskSamples ?? []) out.line(`  ${task.kind.padEnd(9)} ${task.subject}`);
  const report = sync.report;
  if (report !== null) {
    out.line(
      `Referrals ${report.referrals}, converted ${report.converted}, referred revenue ${report.referredRevenue}, ` +
        `in review ${report.reviews}; credited by method ${Object.entries(report.creditedByMethod)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ')}`,
    );
    out.line(
      `Referred revenue by month: ${report.revenueByMonth.map((m) => `${m.month} ${m.revenue} (${m.conversions})`).join(' | ') || '—'}`,
    );
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
