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
