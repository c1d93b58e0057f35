/**
 * The service end to end on real Redis (random prefix) against the sandbox HubSpot: install through
 * the server's OAuth routes, the backfill job runs in a worker, a user edit in the CRM comes back
 * as a signed webhook → server → queue → worker → written fields (our own writes echoing back are
 * dropped), two tenants stay isolated, uninstall removes the tenant's data.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateAppTokenSet } from '../../connectors/hubspot/index.js';
import { demoConfig } from '../../src/config.js';
import type { AppConfig } from '../../src/config.js';
import { startSandboxes } from '../../src/sandbox/index.js';
import type { RunningSandboxes } from '../../src/sandbox/index.js';
import { startServe } from '../../src/service/serve.js';
import type { RunningServe } from '../../src/service/serve.js';
import { startWorkerService } from '../../src/service/worker.js';
import type { RunningWorker } from '../../src/service/worker.js';
import type { SyncSummary } from '../../src/sync/run-sync.js';
import { dropPrefix, randomPrefix, REDIS_URL, waitFor } from '../queue/helpers.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.once('error', reject);
  });
}

function cookieHeader(res: Response): string {
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
}

describe('service end to end: OAuth install, backfill in a worker, webhook flow, isolation, uninstall', () => {
  let main: RunningSandboxes;
  let other: RunningSandboxes;
  let serve: RunningServe;
  let worker: RunningWorker;
  let url: string;
  const prefix = randomPrefix();
  const runs: { tenantId: string; summary: SyncSummary }[] = [];
  let tenantId = '';
  let cookies = '';

  beforeAll(async () => {
    main = await startSandboxes({ seed: 21, contacts: 400, portalId: 7001 });
    other = await startSandboxes({ seed: 22, contacts: 300, portalId: 7002 });
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const hs = main.hubspot.credentials;
    const base = demoConfig({ port, publicUrl: url });
    const config: AppConfig = {
      ...base,
      redis: { url: REDIS_URL, prefix },
      hubspot: {
        oauth: { clientId: hs.clientId, clientSecret: hs.clientSecret, appId: String(hs.appId) },
        apiBaseUrl: main.hubspot.url,
      },
      salesforce: { loginUrl: base.salesforce.loginUrl, dailyBudgetShare: 0.2 },
      worker: { concurrency: 2, syncIntervalMinutes: 60, shutdownTimeoutMs: 5_000 },
    };
    serve = await startServe({
      config,
      logger: silent,
      host: '127.0.0.1',
      // Default uninstall: no waiting for a running job (the worker purges after it stops).
      server: { cookieSecure: false },
    });
    worker = await startWorkerService({
      config,
      logger: silent,
      onRun: (id, summary) => runs.push({ tenantId: id, summary }),
    });
    main.hubspot.sandbox.setWebhookTarget(`${url}/webhooks/hubspot`, hs.clientSecret);
  }, 120_000);

  afterAll(async () => {
    await worker?.close(5_000);
    await serve?.close();
    await main?.close();
    await other?.close();
    await dropPrefix(prefix);
  });

  it('installs through OAuth and the backfill runs in the worker, writing the referral fields', async () => {
    const install = await fetch(`${url}/install/hubspot`, { redirect: 'manual' });
    expect(install.status).toBe(302);
    const authorize = await fetch(install.headers.get('location')!, { redirect: 'manual' });
    expect(authorize.status).toBe(302);
    const callback = await fetch(authorize.headers.get('location')!, { redirect: 'manual' });
    expect(callback.status).toBe(303);
    tenantId = new URL(callback.headers.get('location')!, url).searchParams.get('tenant')!;
    cookies = cookieHeader(callback);
    expect(tenantId).toBeTruthy();

    const backfill = await waitFor(
      () => runs.find((r) => r.tenantId === tenantId && r.summary.mode === 'full'),
      'backfill run',
      90_000,
    );
    expect(backfill.summary.status).toBe('succeeded');
    expect(backfill.summary.push.recordsWritten).toBeGreaterThan(0);
    const contacts = [...main.hubspot.sandbox.state.objects.contacts.records.values()];
    expect(contacts.filter((c) => (c.props.referral_readiness_score ?? '') !== '').length).toBeGreaterThan(0);

    const tenant = await fetch(`${url}/api/tenants/${tenantId}`, { headers: { cookie: cookies } });
    expect(tenant.status).toBe(200);
    const report = await fetch(`${url}/api/tenants/${tenantId}/report`, { headers: { cookie: cookies } });
    expect(report.status).toBe(200);
  }, 120_000);

  it('a user edit flows through a signed webhook, the queue and the worker to the written fields', async () => {
    const hs = main.hubspot.sandbox;
    // Our backfill's writes echoed back as webhooks: they must be dropped, not re-synced forever.
    await hs.flushWebhooks();
    const ready = [...hs.state.objects.contacts.records.entries()].find(
      ([, c]) => c.props.referral_ready === 'true',
    );
    expect(ready).toBeDefined();
    const id = String(ready![0]);
    const before = runs.length;
    hs.simulateUserEdit('contacts', id, { nps_score: '2' });
    await hs.flushWebhooks();
    await waitFor(
      () => hs.getValue('contacts', id, 'referral_ready') === 'false' || undefined,
      'webhook write',
      30_000,
    );
    expect(hs.getValue('contacts', id, 'referral_readiness_reasons')).toMatch(/detractor|NPS 2/i);
    const webhookRuns = await waitFor(
      () => {
        const found = runs
          .slice(before)
          .filter((r) => r.tenantId === tenantId && r.summary.push.recordsWritten > 0);
        return found.length > 0 ? found : undefined;
      },
      'webhook run',
      30_000,
    );
    expect(webhookRuns.every((r) => r.summary.push.recordsWritten <= 3)).toBe(true);
    // Read by id: the webhook run read the edited contact, not a time window.
    expect(webhookRuns.some((r) => r.summary.pulled.contacts?.read === 1)).toBe(true);

    // The worker's runs show on the server's /metrics (shared through Redis).
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(
      /referral_sync_syncs_total\{crm="hubspot",kind="webhook",status="succeeded"\} [1-9]/,
    );
    expect(metrics).toMatch(
      /referral_sync_syncs_total\{crm="hubspot",kind="backfill",status="succeeded"\} [1-9]/,
    );
    expect(metrics).toMatch(/referral_sync_api_calls_total\{crm="hubspot",kind="read"\} [1-9]/);
    expect(metrics).toMatch(/referral_sync_records_read_total\{crm="hubspot",object="contacts"\} [1-9]/);
    expect(metrics).toMatch(
      /referral_sync_sync_duration_seconds_count\{crm="hubspot",kind="webhook"\} [1-9]/,
    );
  }, 60_000);

  it('keeps two tenants isolated, and uninstall removes only the uninstalled tenant', async () => {
    const { store } = serve.context;
    const otherTenant = await store.createTenant({
      crm: 'hubspot',
      accountId: String(other.hubspot.credentials.portalId),
      mode: 'private',
      config: { settings: { apiBaseUrl: other.hubspot.url }, writeBack: 'on' },
    });
    await store.saveTokens(
      otherTenant.id,
      privateAppTokenSet(
        other.hubspot.credentials.privateAppToken,
        String(other.hubspot.credentials.portalId),
      ),
    );
    await serve.context.producer.enqueue('backfill', otherTenant.id, { reason: 'test' });
    await waitFor(
      () => runs.find((r) => r.tenantId === otherTenant.id && r.summary.mode === 'full'),
      'second backfill',
      60_000,
    );
    // Each tenant wrote into its own portal only.
    const otherContacts = [...other.hubspot.sandbox.state.objects.contacts.records.values()];
    expect(
      otherContacts.filter((c) => (c.props.referral_readiness_score ?? '') !== '').length,
    ).toBeGreaterThan(0);

    // The first tenant's session cannot see the second tenant.
    const forbidden = await fetch(`${url}/api/tenants/${otherTenant.id}`, { headers: { cookie: cookies } });
    expect(forbidden.status).toBe(403);

    const csrf = /rs_csrf=([^;]+)/.exec(cookies)![1]!;
    const uninstall = await fetch(`${url}/api/tenants/${tenantId}/uninstall`, {
      method: 'POST',
      headers: { cookie: cookies, 'x-csrf-token': csrf },
    });
    expect(uninstall.status).toBe(200);
    expect(await store.getTenant(tenantId)).toBeNull();
    expect(await store.listRuns(tenantId)).toEqual([]);
    expect(await store.loadReport(tenantId)).toBeNull();
    // The other tenant keeps everything.
    expect(await store.getTenant(otherTenant.id)).not.toBeNull();
    expect(await store.loadReport(otherTenant.id)).not.toBeNull();
  }, 120_000);
});

describe('serve with only a private-app token: the portal is installed as a tenant at boot', () => {
  const prefix = randomPrefix();
  let sandboxes: RunningSandboxes;
  let serve: RunningServe | undefined;
  let worker: RunningWorker | undefined;

  afterAll(async () => {
    await worker?.close(5_000);
    await serve?.close();
    await sandboxes?.close();
    await dropPrefix(prefix);
  });

  it('creates the tenant, backfills it in the worker, and reuses it on the next boot', async () => {
    sandboxes = await startSandboxes({ seed: 23, contacts: 200, portalId: 7003 });
    const hs = sandboxes.hubspot;
    const port = await freePort();
    const base = demoConfig({ port, publicUrl: `http://127.0.0.1:${port}` });
    const config: AppConfig = {
      ...base,
      redis: { url: REDIS_URL, prefix },
      hubspot: { privateAppToken: hs.credentials.privateAppToken, portalId: '7003', apiBaseUrl: hs.url },
      salesforce: { loginUrl: base.salesforce.loginUrl, dailyBudgetShare: 0.2 },
      worker: { concurrency: 2, syncIntervalMinutes: 60, shutdownTimeoutMs: 5_000 },
    };
    const runs: SyncSummary[] = [];
    worker = await startWorkerService({ config, logger: silent, onRun: (_t, s) => runs.push(s) });
    serve = await startServe({ config, logger: silent, host: '127.0.0.1', server: { cookieSecure: false } });
    const tenant = await serve.context.store.findByAccount('hubspot', '7003');
    expect(tenant).toMatchObject({ mode: 'private', status: 'connected' });
    const backfill = await waitFor(() => runs.find((r) => r.mode === 'full'), 'private-app backfill', 90_000);
    expect(backfill.tenantId).toBe(tenant!.id);
    expect(backfill.push.recordsWritten).toBeGreaterThan(0);
    expect(await serve.context.producer.nextScheduledAt(tenant!.id)).not.toBeNull();
    await serve.close();

    serve = await startServe({ config, logger: silent, host: '127.0.0.1', server: { cookieSecure: false } });
    const tenants = (await serve.context.store.listTenants()).filter((t) => t.accountId === '7003');
    expect(tenants.map((t) => t.id)).toEqual([tenant!.id]);
  }, 150_000);
});
