import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Signature } from '@hubspot/api-client';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './fixtures.js';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
  url: string;
}

let h: Harness | undefined;
let receiver: Server | undefined;
afterEach(async () => {
  await h?.close();
  await new Promise<void>((r) => (receiver === undefined ? r() : receiver.close(() => r())));
  h = undefined;
  receiver = undefined;
});

async function startReceiver(status = 200): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.push({ headers: req.headers, body, url: req.url ?? '' });
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((r) => receiver?.listen(0, '127.0.0.1', () => r()));
  const port = (receiver.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/hooks/hubspot?x=1`, received };
}

describe('HubSpot sandbox: webhooks', () => {
  it('delivers signed v3 batches for API writes (INTEGRATION) and UI edits (CRM_UI)', async () => {
    const target = await startReceiver();
    h = await startHarness();
    h.sandbox.setWebhookTarget(target.url);
    const id = (await h.client.crm.contacts.basicApi.getPage(1)).results[0]?.id ?? '';
    await h.client.crm.contacts.basicApi.update(id, { properties: { nps_score: '4' } });
    h.sandbox.simulateUserEdit('contacts', id, { referral_code_used: 'BOB-7' });
    await h.sandbox.flushWebhooks();

    const events = target.received.flatMap((r) => JSON.parse(r.body) as Record<string, unknown>[]);
    const api = events.find((e) => e.propertyName === 'nps_score');
    expect(api).toMatchObject({
      subscriptionType: 'contact.propertyChange',
      objectId: Number(id),
      propertyValue: '4',
      changeSource: 'INTEGRATION',
      sourceId: String(h.sandbox.appId),
      portalId: 424242,
      appId: h.sandbox.appId,
      attemptNumber: 0,
    });
    expect(typeof api?.occurredAt).toBe('number');
    expect(typeof api?.eventId).toBe('number');
    const ui = events.find((e) => e.propertyName === 'referral_code_used');
    expect(ui).toMatchObject({ changeSource: 'CRM_UI', propertyValue: 'BOB-7' });

    for (const r of target.received) {
      const timestamp = String(r.headers['x-hubspot-request-timestamp']);
      const signature = String(r.headers['x-hubspot-signature-v3']);
      expect(
        Signature.isValid({
          signature,
          clientSecret: h.sandbox.clientSecret,
          requestBody: r.body,
          signatureVersion: 'v3',
          url: target.url,
          method: 'POST',
          timestamp: Number(timestamp),
        }),
      ).toBe(true);
      expect(
        Signature.isValid({
          signature,
          clientSecret: 'wrong',
          requestBody: r.body,
          signatureVersion: 'v3',
          url: target.url,
          method: 'POST',
          timestamp: Number(timestamp),
        }),
      ).toBe(false);
    }
  });

  it('splits more than 100 events into several requests and retries failed deliveries', async () => {
    const target = await startReceiver(500);
    h = await startHarness({ webhookRetryDelayMs: 1, webhookMaxAttempts: 2 });
    h.sandbox.setWebhookTarget(target.url);
    await h.client.crm.companies.batchApi.create({
      inputs: Array.from({ length: 60 }, (_, i) => ({ properties: { name: `Co ${i}` }, associations: [] })),
    });
    await h.sandbox.flushWebhooks();
    const firstAttempts = target.received.filter(
      (r) => (JSON.parse(r.body) as { attemptNumber: number }[])[0]?.attemptNumber === 0,
    );
    // 60 creations + 60 name changes = 120 events → 2 requests, each retried once.
    expect(firstAttempts.map((r) => (JSON.parse(r.body) as unknown[]).length).sort()).toEqual([100, 20]);
    expect(target.received).toHaveLength(4);
    expect(h.sandbox.webhooks.deliveries.filter((d) => d.status === 500)).toHaveLength(4);
  });
});
