/**
 * The whole pipeline against the sandbox Salesforce through the real jsforce: provision (fields
 * and permission set), full sync of an org with Leads and conversions, the right values and tasks
 * written, a dry run equal to the real run, a second sync that writes nothing, and a user edit
 * flowing through an incremental sync.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { salesforceDefinition } from '../../connectors/salesforce/index.js';
import { startSandboxes } from '../../src/sandbox/index.js';
import type { RunningSandboxes } from '../../src/sandbox/index.js';
import { MemoryStore, generateKeyRing } from '../../src/store/index.js';
import { MemorySnapshotCache } from '../../src/store/snapshot-cache.js';
import { provisionTenant } from '../../src/sync/provision.js';
import { runSync } from '../../src/sync/run-sync.js';
import { tenantRuntime } from '../../src/sync/tenant-runtime.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

describe('pipeline end to end on the sandbox Salesforce', () => {
  let sandboxes: RunningSandboxes;
  const store = new MemoryStore({ keyRing: generateKeyRing().ring });
  const snapshots = new MemorySnapshotCache();
  const tenantId = 'sf-e2e';

  beforeAll(async () => {
    sandboxes = await startSandboxes({ seed: 11, contacts: 1500 });
    const sf = sandboxes.salesforce.credentials;
    await store.createTenant({
      id: tenantId,
      crm: 'salesforce',
      accountId: sf.orgId,
      mode: 'oauth',
      config: { writeBack: 'on' },
    });
    await store.saveTokens(tenantId, {
      accessToken: sf.accessToken,
      refreshToken: sf.refreshToken,
      instanceUrl: sf.instanceUrl,
      accountId: sf.orgId,
      userId: sf.userId,
    });
  }, 120_000);
  afterAll(async () => {
    await sandboxes?.close();
  });

  const runtime = async () => {
    const sf = sandboxes.salesforce;
    return tenantRuntime(
      {
        store,
        snapshots,
        logger: silent,
        definitions: {
          salesforce: salesforceDefinition({
            clientId: sf.credentials.clientId,
            clientSecret: sf.credentials.clientSecret,
            loginUrl: sf.url,
            sandboxHost: new URL(sf.url).host,
          }),
        },
      },
      tenantId,
    );
  };

  it('provisions fields and the permission set once', async () => {
    const first = await provisionTenant(await runtime());
    expect(first.conflicts).toEqual([]);
    expect(first.created.length).toBeGreaterThan(20);
    const second = await provisionTenant(await runtime());
    expect(second.writeCalls).toBe(0);
  }, 120_000);

  it('dry run equals the real full sync; a second sync writes nothing', async () => {
    const dry = await runSync(await runtime(), { mode: 'full', dryRun: true });
    expect(dry.plan?.records).toBeGreaterThan(0);
    const real = await runSync(await runtime(), { mode: 'incremental' });
    expect(real.push.recordsFailed).toBe(0);
    expect(real.push.recordsWritten).toBe(dry.plan?.records);
    expect(real.push.tasksCreated).toBe(dry.plan?.tasks);

    // Asked people carry their code, link, ask date and a task; scores are on every customer.
    const table = sandboxes.salesforce.sandbox.state.table('Contact')!;
    const contacts = [...table.records.values()] as Record<string, unknown>[];
    const asked = contacts.filter(
      (c) => c.Referral_Last_Asked_At__c !== null && c.Referral_Last_Asked_At__c !== undefined,
    );
    expect(asked.length).toBeGreaterThan(0);
    for (const c of asked) expect(String(c.Referral_Code__c ?? '')).toMatch(/^[0-9A-Z]{6,}$/);
    expect(contacts.filter((c) => typeof c.Referral_Readiness_Score__c === 'number').length).toBeGreaterThan(
      100,
    );

    const again = await runSync(await runtime(), { mode: 'incremental' });
    expect(again.push.recordsWritten).toBe(0);
    expect(again.push.tasksCreated).toBe(0);
  }, 300_000);

  it('a converted Lead carries its referral to the Contact it became', async () => {
    const account = sandboxes.account;
    const ids = sandboxes.salesforce.ids as unknown as {
      people: Map<string, string> | Record<string, string>;
    };
    const lookup = (seedId: string): string | undefined =>
      ids.people instanceof Map ? ids.people.get(seedId) : ids.people[seedId];
    const converted = account.people.filter(
      (p) => p.kind === 'lead' && p.convertedContactId !== undefined && p.trueReferrerId !== undefined,
    );
    expect(converted.length).toBeGreaterThan(0);
    const table = sandboxes.salesforce.sandbox.state.table('Contact')!;
    const credited = converted.filter((lead) => {
      const contactId = lookup(lead.convertedContactId!);
      const c =
        contactId === undefined
          ? undefined
          : (table.records.get(contactId) as Record<string, unknown> | undefined);
      return typeof c?.Referred_By_Contact_Id__c === 'string' && c.Referred_By_Contact_Id__c !== '';
    });
    expect(credited.length).toBeGreaterThan(0);
  });

  it('a user edit flows through an incremental sync', async () => {
    const sf = sandboxes.salesforce.sandbox;
    const table = sf.state.table('Contact')!;
    const entry = [...table.records.entries()].find(
      ([, c]) => Number((c as Record<string, unknown>).Referral_Readiness_Score__c ?? 0) >= 50,
    );
    expect(entry).toBeDefined();
    const [id] = entry!;
    sf.simulateUserEdit('Contact', id, { NPS_Score__c: 2 });
    const run = await runSync(await runtime(), { mode: 'incremental' });
    expect(run.pulled.Contact?.changed).toBeGreaterThanOrEqual(1);
    const after = table.records.get(id) as Record<string, unknown>;
    expect(after.Referral_Ready__c).toBe(false);
    expect(String(after.Referral_Readiness_Reasons__c)).toMatch(/NPS 2/);
  }, 120_000);
});
