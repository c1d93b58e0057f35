/**
 * `referral-sync demo --once`: with nothing configured it installs both sandbox CRMs, runs the full
 * pipeline and writes referral values into both; the CLI entry answers --help and fails with one
 * clear line and a non-zero exit.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_TENANTS, runDemo } from '../../src/cli/demo.js';
import type { DemoResult } from '../../src/cli/demo.js';
import { runCli } from '../../src/cli/main.js';
import { bufferOut } from '../../src/cli/output.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

function io() {
  const out = bufferOut();
  const err: string[] = [];
  return { io: { out, err: (l: string) => err.push(l), stopSignal: () => Promise.resolve() }, out, err };
}

describe('demo --once', () => {
  let demo: DemoResult | undefined;
  afterAll(async () => {
    await demo?.close();
  });

  it('writes referral values into the sandbox HubSpot and Salesforce and prints what it wrote', async () => {
    const out = bufferOut();
    demo = await runDemo({ port: 0, contacts: 600, seed: 5, once: true, out, logger: silent });
    expect(DEMO_TENANTS.hubspot).not.toBe(DEMO_TENANTS.salesforce);

    const hs = demo.runs.hubspot;
    const sf = demo.runs.salesforce;
    expect(hs.push.recordsWritten).toBeGreaterThan(0);
    expect(sf.push.recordsWritten).toBeGreaterThan(0);
    expect(hs.push.recordsFailed + sf.push.recordsFailed).toBe(0);

    // The values are in the CRMs themselves, not only in the summaries.
    const contacts = [...demo.sandboxes.hubspot.sandbox.state.objects.contacts.records.values()];
    const scored = contacts.filter((c) => (c.props.referral_readiness_score ?? '') !== '');
    expect(scored.length).toBeGreaterThan(0);
    const sfContacts = [
      ...demo.sandboxes.salesforce.sandbox.state.table('Contact')!.records.values(),
    ] as Record<string, unknown>[];
    expect(
      sfContacts.filter((c) => typeof c.Referral_Readiness_Score__c === 'number').length,
    ).toBeGreaterThan(0);

    const text = out.lines.join('\n');
    expect(text).toContain('HubSpot: full sync: succeeded');
    expect(text).toContain('Salesforce: full sync: succeeded');
    expect(text).toMatch(/Tasks per owner/);

    // Act two: friends arrive with the codes the first sync issued; the incremental sync credits
    // them by code, by a link click recorded through the demo server's /r/ route, and by email,
    // and writes the method onto the friend's CRM record.
    for (const crm of ['hubspot', 'salesforce'] as const) {
      const { friends, sync } = demo.arrivals[crm];
      expect(sync.status).toBe('succeeded');
      expect(sync.push.recordsFailed).toBe(0);
      const report = sync.report!;
      for (const method of ['code', 'click', 'email']) {
        expect(report.creditedByMethod[method] ?? 0, `${crm} ${method}`).toBeGreaterThan(0);
      }
      expect(report.converted).toBeGreaterThan(0);
      expect(report.referredRevenue).toBeGreaterThan(0);
      // Referred revenue over time: several months with conversions, summing to the total.
      expect(report.revenueByMonth.length).toBeGreaterThanOrEqual(3);
      const monthly = report.revenueByMonth.reduce((sum, m) => sum + m.revenue, 0);
      expect(monthly).toBeCloseTo(report.referredRevenue, 2);
      expect(sync.plan?.tasksByKind.review ?? 0).toBeGreaterThanOrEqual(2);

      // The dashboard reads the stored report: it has the conversions by month.
      const stored = (await demo.store.loadReport(DEMO_TENANTS[crm]))!.report as unknown as typeof report;
      expect(stored.revenueByMonth).toEqual(report.revenueByMonth);

      // The click id the friend's form captured is one the /r/ route recorded for the tenant.
      const clicked = friends.find((f) => f.method === 'click')!;
      const recorded = [];
      for await (const page of demo.store.listClicks(DEMO_TENANTS[crm])) recorded.push(...page);
      expect(recorded.map((c) => c.clickId)).toContain(clicked.capture.clickId);
    }
    // What the pipeline wrote onto the friends' HubSpot contacts.
    const hsContacts = demo.sandboxes.hubspot.sandbox.state.objects.contacts.records;
    const methodOf = (method: string) =>
      demo!.arrivals.hubspot.friends
        .filter((f) => f.method === method)
        .map((f) => hsContacts.get(Number(f.personId))?.props.referral_attribution_method);
    expect(methodOf('click')).toEqual(['click']);
    expect(methodOf('email')).toEqual(['email', 'email']);
    expect(methodOf('code')).toEqual(['code', 'code', 'code']);
    expect(text).toMatch(/HubSpot: what the incremental sync attributed/);
    expect(text).toMatch(/Referred revenue by month: \d{4}-\d{2} /);
  }, 120_000);
});

describe('referral-sync CLI', () => {
  it('answers --help for every command with exit 0', async () => {
    for (const cmd of ['serve', 'worker', 'sync', 'dry-run', 'provision', 'sandbox', 'demo']) {
      const t = io();
      const write = process.stdout.write;
      let help = '';
      process.stdout.write = ((chunk: string) => {
        help += chunk;
        return true;
      }) as typeof process.stdout.write;
      try {
        expect(await runCli([cmd, '--help'], t.io)).toBe(0);
      } finally {
        process.stdout.write = write;
      }
      expect(help).toContain(`referral-sync ${cmd}`);
    }
  });

  it('fails with one line naming the error code and exit 2 on a usage error', async () => {
    const t = io();
    expect(await runCli(['sync', '--crm', 'hubspot'], t.io)).toBe(2);
    expect(t.err).toHaveLength(1);
    expect(t.err[0]).toMatch(/^error ERR_CLI_USAGE: HubSpot needs --token/);
  });

  it('fails with exit 1 and the CRM error code when the token is refused', async () => {
    const t = io();
    const { startSandboxes } = await import('../../src/sandbox/index.js');
    const sandboxes = await startSandboxes({ seed: 1, contacts: 100 });
    try {
      const code = await runCli(
        ['dry-run', '--crm', 'hubspot', '--token', 'pat-wrong', '--base-url', sandboxes.hubspot.url],
        t.io,
      );
      expect(code).toBe(1);
      expect(t.err[0]).toMatch(/^error ERR_[A-Z_]+: /);
      expect(t.err.join('\n')).not.toMatch(/\n\s+at /); // no stack without --verbose
    } finally {
      await sandboxes.close();
    }
  }, 60_000);
});
