/**
 * The whole pipeline against the sandbox HubSpot through the real @hubspot/api-client: provision,
 * full sync, the right values and tasks written, a second sync writes nothing, a user edit flows
 * through an incremental sync, and a dry run equals what the real run then writes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubspotDefinition, privateAppTokenSet } from '../../connectors/hubspot/index.js';
import { startSandboxes } from '../../src/sandbox/index.js';
import type { RunningSandboxes } from '../../src/sandbox/index.js';
import { MemoryStore, generateKeyRing } from '../../src/store/index.js';
import { MemorySnapshotCache } from '../../src/store/snapshot-cache.js';
import { runSync } from '../../src/sync/run-sync.js';
import { tenantRuntime } from '../../src/sync/tenant-runtime.js';
import { provisionTenant } from '../../src/sync/provision.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

describe('pipeline end to end on the sandbox HubSpot', () => {
  let sandboxes: RunningSandboxes;
  const store = new MemoryStore({ keyRing: generateKeyRing().ring });
  const snapshots = new MemorySnapshotCache();
  const tenantId = 'hs-e2e';

  beforeAll(async () => {
    sandboxes = await startSandboxes({ seed: 7, contacts: 1500 });
    const hs = sandboxes.hubspot;
    await store.createTenant({
      id: tenantId,
      crm: 'hubspot',
      accountId: String(hs.credentials.portalId),
      mode: 'private',
      config: { settings: { apiBaseUrl: hs.url }, writeBack: 'on' },
    });
    await store.saveTokens(
      tenantId,
      privateAppTokenSet(hs.credentials.privateAppToken, String(hs.credentials.portalId)),
    );
  }, 120_000);
  afterAll(async () => {
    await sandboxes?.close();
  });

  const runtime = async () =>
    tenantRuntime(
      {
        store,
        snapshots,
        logger: silent,
        definitions: {
          hubspot: hubspotDefinition({
            clientId: sandboxes.hubspot.credentials.clientId,
            clientSecret: sandboxes.hubspot.credentials.clientSecret,
          }),
        },
      },
      tenantId,
    );

  it('provisions, then a second provisioning writes nothing', async () => {
    const first = await provisionTenant(await runtime());
    expect(first.created.length).toBeGreaterThan(20);
    expect(first.conflicts).toEqual([]);
    const second = await provisionTenant(await runtime());
    expect(second.writeCalls).toBe(0);
    expect(second.created).toEqual([]);
  });

  it('a dry run plans exactly what the real full sync then writes, and a re-sync writes nothing', async () => {
    const dry = await runSync(await runtime(), { mode: 'full', dryRun: true });
    expect(dry.plan?.records).toBeGreaterThan(0);
    expect(dry.push.recordsWritten).toBe(0);

    const real = await runSync(await runtime(), { mode: 'incremental' });
    expect(real.push.recordsFailed).toBe(0);
    expect(real.push.recordsWritten).toBe(dry.plan?.records);
    expect(real.push.fieldsWritten).toEqual(
      Object.fromEntries(
        Object.entries(
          Object.values(dry.plan!.fieldChanges).reduce<Record<string, number>>((acc, perField) => {
            for (const [f, n] of Object.entries(perField)) acc[f] = (acc[f] ?? 0) + n;
            return acc;
          }, {}),
        ),
      ),
    );
    expect(real.push.tasksCreated).toBe(dry.plan?.tasks);

    // What was written is in the CRM: ready contacts carry a code and a score.
    const contacts = [...sandboxes.hubspot.sandbox.state.objects.contacts.records.values()];
    const ready = contacts.filter((c) => c.props.referral_ready === 'true');
    expect(ready.length).toBeGreaterThan(0);
    for (const c of ready) expect(Number(c.props.referral_readiness_score)).toBeGreaterThan(0);

    const again = await runSync(await runtime(), { mode: 'incremental' });
    expect(again.push.recordsWritten).toBe(0);
    expect(again.push.tasksCreated).toBe(0);
  }, 300_000);

  it('a user edit (NPS drops to a detractor) flows through an incremental sync to the written fields', async () => {
    const hs = sandboxes.hubspot.sandbox;
    const ready = [...hs.state.objects.contacts.records.entries()].find(
      ([, c]) => c.props.referral_ready === 'true',
    );
    expect(ready).toBeDefined();
    const id = String(ready![0]);
    hs.simulateUserEdit('contacts', id, { nps_score: '3' });
    const run = await runSync(await runtime(), { mode: 'incremental' });
    expect(run.pulled.contacts?.changed).toBeGreaterThanOrEqual(1);
    expect(hs.getValue('contacts', id, 'referral_ready')).toBe('false');
    expect(hs.getValue('contacts', id, 'referral_readiness_reasons')).toMatch(/detractor|NPS 3/i);
    // Only what the edit changed is written: the rest of the account stays untouched.
    expect(run.push.recordsWritten).toBeLessThanOrEqual(3);
  }, 120_000);

  it('a user overwriting a field we own is restored on the next sync', async () => {
    const hs = sandboxes.hubspot.sandbox;
    const withCode = [...hs.state.objects.contacts.records.entries()].find(
      ([, c]) => (c.props.referral_code ?? '') !== '',
    );
    const id = String(withCode![0]);
    const code = withCode![1].props.referral_code;
    hs.simulateUserEdit('contacts', id, { referral_code: 'HACKED' });
    await runSync(await runtime(), { mode: 'incremental' });
    expect(hs.getValue('contacts', id, 'referral_code')).toBe(code);
  }, 120_000);
});
