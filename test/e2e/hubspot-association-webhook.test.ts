/**
 * A deal moved to another contact in the sandbox HubSpot, changed from the contact's side: the
 * portal sends `contact.associationChange` (CONTACT_TO_DEAL) for the contacts only, and the worker's
 * webhook handler must still re-read the deal (the "to" side) so its referral attribution follows
 * its new contact. Signed deliveries → verify → parse → the real webhook job handler → fields in
 * the CRM.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../../connectors/contract.js';
import { hubspotDefinition, privateAppTokenSet } from '../../connectors/hubspot/index.js';
import type { JobContext } from '../../src/queue/handlers.js';
import { startSandboxes } from '../../src/sandbox/index.js';
import type { RunningSandboxes } from '../../src/sandbox/index.js';
import { pipelineHandlers } from '../../src/service/handlers.js';
import { MemoryStore, generateKeyRing } from '../../src/store/index.js';
import { MemorySnapshotCache } from '../../src/store/snapshot-cache.js';
import { provisionTenant } from '../../src/sync/provision.js';
import { runSync } from '../../src/sync/run-sync.js';
import { tenantRuntime } from '../../src/sync/tenant-runtime.js';
import type { RuntimeOptions } from '../../src/sync/tenant-runtime.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

describe('HubSpot association-change webhook end to end on the sandbox', () => {
  let sandboxes: RunningSandboxes;
  let runtimeOptions: RuntimeOptions;
  const store = new MemoryStore({ keyRing: generateKeyRing().ring });
  const snapshots = new MemorySnapshotCache();
  const tenantId = 'hs-assoc-e2e';

  beforeAll(async () => {
    sandboxes = await startSandboxes({ seed: 31, contacts: 400 });
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
    runtimeOptions = {
      store,
      snapshots,
      logger: silent,
      definitions: {
        hubspot: hubspotDefinition({
          clientId: hs.credentials.clientId,
          clientSecret: hs.credentials.clientSecret,
        }),
      },
    };
    await provisionTenant(await tenantRuntime(runtimeOptions, tenantId));
    const full = await runSync(await tenantRuntime(runtimeOptions, tenantId), { mode: 'full' });
    expect(full.status).toBe('succeeded');
  }, 180_000);

  afterAll(async () => {
    await sandboxes?.close();
  });

  const api = async (method: string, path: string, body?: unknown): Promise<Response> => {
    const res = await fetch(`${sandboxes.hubspot.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${sandboxes.hubspot.credentials.privateAppToken}`,
        'content-type': 'application/json',
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    expect(res.status, `${method} ${path}`).toBeLessThan(300);
    return res;
  };

  it('a deal re-associated to a referred contact gets its referral attribution after the webhook', async () => {
    const hs = sandboxes.hubspot.sandbox;
    const contacts = [...hs.state.objects.contacts.records.entries()].filter(([, c]) => !c.archived);
    // B: a contact our full sync attributed to a referrer. A: one nobody referred.
    const referred = contacts.find(([, c]) => (c.props.referred_by_contact_id ?? '') !== '');
    const plain = contacts.find(
      ([, c]) =>
        (c.props.referred_by_contact_id ?? '') === '' &&
        (c.props.referral_code_used ?? '') === '' &&
        (c.props.referrer_email ?? '') === '' &&
        (c.props.referral_click_id ?? '') === '' &&
        (c.props.how_did_you_hear ?? '') === '',
    );
    expect(referred).toBeDefined();
    expect(plain).toBeDefined();
    const b = String(referred![0]);
    const a = String(plain![0]);
    const referrerOfB = referred![1].props.referred_by_contact_id;

    // A won deal of A's, created now (after B was referred); a sync records it as nobody's referral.
    const created = (await (
      await api('POST', '/crm/v3/objects/deals', {
        properties: {
          dealname: 'Moved deal',
          amount: '4200',
          pipeline: 'default',
          dealstage: 'closedwon',
          closedate: new Date().toISOString(),
        },
        associations: [
          { to: { id: a }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 3 }] },
        ],
      })
    ).json()) as { id: string };
    const deal = created.id;
    const before = await runSync(await tenantRuntime(runtimeOptions, tenantId), { mode: 'incremental' });
    expect(before.status).toBe('succeeded');
    expect(hs.getValue('deals', deal, 'referral_attributed')).not.toBe('true');
    expect(hs.getValue('deals', deal, 'referred_by_contact_id') ?? '').toBe('');

    // The user moves the deal from A to B, from the contacts' side.
    const received: { headers: Record<string, string | string[] | undefined>; body: Buffer }[] = [];
    const hook = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
    const target = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/webhooks/hubspot`;
    hs.setWebhookTarget(target, hs.clientSecret);
    try {
      await api('DELETE', `/crm/v4/objects/contacts/${a}/associations/deals/${deal}`);
      await api('PUT', `/crm/v4/objects/contacts/${b}/associations/default/deals/${deal}`);
      await hs.flushWebhooks();
    } finally {
      hs.setWebhookTarget(undefined);
      await new Promise<void>((r) => hook.close(() => r()));
    }

    const def = runtimeOptions.definitions.hubspot!;
    const events: ChangeEvent[] = received.flatMap((r) => {
      def.verifyWebhook?.({ method: 'POST', url: target, headers: r.headers, rawBody: r.body }, new Date());
      const parsed = def.parseWebhook?.(JSON.parse(r.body.toString('utf8')) as unknown);
      expect(parsed?.rejected).toEqual([]);
      return parsed?.events ?? [];
    });
    // The portal sent the contacts' side only; the deal is named through the "to" side.
    const raw = received.flatMap(
      (r) => JSON.parse(r.body.toString('utf8')) as { subscriptionType: string }[],
    );
    expect(new Set(raw.map((e) => e.subscriptionType))).toEqual(new Set(['contact.associationChange']));
    expect(events).toContainEqual(
      expect.objectContaining({ object: 'deals', kind: 'association_changed', ids: [deal] }),
    );

    const ctx: JobContext = {
      signal: new AbortController().signal,
      progress: async () => {},
      pageBudget: 1_000,
      kind: 'webhook',
      jobId: 'assoc-1',
      attempt: 1,
      reason: 'webhook',
      slice: 0,
    };
    const outcome = await pipelineHandlers({ runtime: runtimeOptions, logger: silent }).webhook(
      tenantId,
      events,
      ctx,
    );
    expect(outcome?.counts?.written).toBeGreaterThan(0);
    expect(hs.getValue('deals', deal, 'referral_attributed')).toBe('true');
    expect(hs.getValue('deals', deal, 'referred_by_contact_id')).toBe(referrerOfB);
  }, 120_000);
});
