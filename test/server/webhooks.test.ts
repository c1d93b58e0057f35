import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { install, sign, startHarness } from './harness.js';
import type { Harness } from './harness.js';

let h: Harness;
let tenantId: string;

beforeEach(async () => {
  h = await startHarness();
  ({ tenantId } = await install(h, 'hubspot', '555'));
});
afterEach(async () => {
  await h.close();
});

function post(body: string, signature: string | null, path = '/webhooks/hubspot') {
  const req = request(h.app).post(path).set('Content-Type', 'application/json');
  if (signature !== null) req.set('X-Test-Signature', signature);
  return req.send(body);
}

async function webhookJobs() {
  return h.queues.byKind.webhook.getWaiting();
}

const event = (portalId: number, objectId: number, extra: Record<string, unknown> = {}) => ({
  portalId,
  objectId,
  occurredAt: 1767225600000,
  subscriptionType: 'contact.propertyChange',
  propertyName: 'nps',
  ...extra,
});

describe('POST /webhooks/hubspot', () => {
  it('rejects a bad signature with 401 and queues nothing', async () => {
    const body = JSON.stringify([event(555, 1)]);
    const res = await post(body, sign('POST', '/webhooks/hubspot', body.replace('555', '556'))).expect(401);
    expect(res.body).toEqual({ error: { code: 'ERR_WEBHOOK_SIGNATURE', message: expect.any(String) } });
    await post(body, null).expect(401);
    expect(await webhookJobs()).toHaveLength(0);
  });

  it('verifies the signature over the raw bytes, not re-serialised JSON', async () => {
    const body = `[ {"portalId": 555,   "objectId": 7, "occurredAt": 1767225600000} ]\n`;
    await post(body, sign('POST', '/webhooks/hubspot', body)).expect(200);
    expect(await webhookJobs()).toHaveLength(1);
  });

  it('queues the known account, skips unknown accounts and malformed events without losing the rest', async () => {
    const body = JSON.stringify([
      event(555, 1),
      { portalId: 555, subscriptionType: 'contact.propertyChange' }, // no objectId
      event(999, 2), // not installed
      event(555, 3, { propertyName: 'email' }),
    ]);
    const res = await post(body, sign('POST', '/webhooks/hubspot', body)).expect(200);
    expect(res.body).toEqual({
      received: 4,
      queued: 2,
      jobs: 1,
      skipped: { unknownAccount: 1, disconnected: 0, malformed: 1 },
    });
    const jobs = await webhookJobs();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]?.data.tenantId).toBe(tenantId);
    const counted = await h.metrics.webhookEventsTotal.get();
    const value = (outcome: string) => counted.values.find((v) => v.labels.outcome === outcome)?.value;
    expect([value('accepted'), value('ignored'), value('rejected')]).toEqual([2, 1, 1]);
    expect(jobs[0]?.data.events.map((e: { ids: string[] }) => e.ids[0])).toEqual(['1', '3']);
  });

  it('skips events of a disconnected tenant', async () => {
    await h.store.updateTenant(tenantId, { status: 'disconnected', statusReason: 'revoked' });
    const body = JSON.stringify([event(555, 1)]);
    const res = await post(body, sign('POST', '/webhooks/hubspot', body)).expect(200);
    expect(res.body.skipped.disconnected).toBe(1);
    expect(await webhookJobs()).toHaveLength(0);
  });

  it('answers a signed body that is not JSON or not an event list with 400', async () => {
    const notJson = '{oops';
    expect(
      (await post(notJson, sign('POST', '/webhooks/hubspot', notJson)).expect(400)).body.error.code,
    ).toBe('ERR_WEBHOOK_BODY');
    const notList = '{"portalId":555}';
    expect(
      (await post(notList, sign('POST', '/webhooks/hubspot', notList)).expect(400)).body.error.code,
    ).toBe('ERR_WEBHOOK_BODY');
    expect(await webhookJobs()).toHaveLength(0);
  });

  it('refuses bodies over 5 MB with 413', async () => {
    const big = `[${'"x",'.repeat(1_400_000)}"x"]`;
    expect(big.length).toBeGreaterThan(5 * 1024 * 1024);
    const res = await post(big, sign('POST', '/webhooks/hubspot', big)).expect(413);
    expect(res.body.error.code).toBe('ERR_HTTP_BODY_TOO_LARGE');
  });

  it('answers 404 for a CRM whose connector has no webhooks', async () => {
    const res = await post('[]', 'x', '/webhooks/salesforce').expect(404);
    expect(res.body.error.code).toBe('ERR_WEBHOOK_UNSUPPORTED');
  });

  it('answers 503 (so the CRM retries) when the queue cannot take the events', async () => {
    h.deps.queue.enqueueWebhook = async () => {
      throw new Error('Connection is closed.');
    };
    const body = JSON.stringify([event(555, 1)]);
    const res = await post(body, sign('POST', '/webhooks/hubspot', body)).expect(503);
    expect(res.body.error.code).toBe('ERR_WEBHOOK_NOT_QUEUED');
  });
});
