import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';

const harnesses: Harness[] = [];
async function harness(...args: Parameters<typeof startHarness>): Promise<Harness> {
  const h = await startHarness(...args);
  harnesses.push(h);
  return h;
}
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
});

describe('health, readiness, metrics', () => {
  it('reports liveness and readiness', async () => {
    const h = await harness();
    await request(h.app).get('/healthz').expect(200, { status: 'ok' });
    const ready = await request(h.app).get('/readyz').expect(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { store: 'ok', queue: 'ok' } });
  });

  it('is not ready when the store does not answer, with the error shape', async () => {
    const h = await harness();
    h.deps.store.ping = async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
    };
    const res = await request(h.app).get('/readyz').expect(503);
    expect(res.body.error).toMatchObject({
      code: 'ERR_NOT_READY',
      details: { checks: { store: 'connect ECONNREFUSED 127.0.0.1:6379', queue: 'ok' } },
    });
    await request(h.app).get('/healthz').expect(200);
  });

  it('serves Prometheus metrics from the injected registry, with queue depth read at scrape time', async () => {
    const h = await harness();
    h.metrics.syncsTotal.inc({ crm: 'hubspot', kind: 'backfill', status: 'succeeded' });
    await h.producer.enqueue('backfill', 't1');
    await h.producer.enqueue('backfill', 't2');
    const res = await request(h.app).get('/metrics').expect(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.text).toContain(
      'referral_sync_syncs_total{crm="hubspot",kind="backfill",status="succeeded"} 1',
    );
    expect(res.text).toContain('referral_sync_queue_depth{queue="backfill",state="waiting"} 2');
    expect(res.text).toContain('referral_sync_queue_depth{queue="webhook",state="waiting"} 0');
  });

  it('sets security headers and one log line per request without query strings', async () => {
    const h = await harness();
    const res = await request(h.app).get('/healthz?token=secret-in-query').expect(200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['strict-transport-security']).toBeDefined();
    expect(res.headers['x-powered-by']).toBeUndefined();
    const line = h.logs.find((l) => l.msg === 'request');
    expect(line?.obj).toMatchObject({
      method: 'GET',
      path: '/healthz',
      status: 200,
      requestId: expect.any(String),
    });
    expect(JSON.stringify(h.logs)).not.toContain('secret-in-query');
  });
});

describe('queue dashboard', () => {
  const basic = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  it('requires the operator credentials', async () => {
    const h = await harness();
    const none = await request(h.app).get('/admin/queues').expect(401);
    expect(none.headers['www-authenticate']).toMatch(/^Basic realm=/);
    expect(none.body.error.code).toBe('ERR_BASIC_AUTH');
    await request(h.app).get('/admin/queues').set('Authorization', basic('ops', 'wrong')).expect(401);
    await request(h.app).get('/admin/queues').set('Authorization', basic('opsx', 'ops-password')).expect(401);
    await request(h.app).get('/admin/queues').set('Authorization', 'Bearer ops-password').expect(401);
    const ok = await request(h.app)
      .get('/admin/queues')
      .set('Authorization', basic('ops', 'ops-password'))
      .expect(200);
    expect(ok.text).toContain('<div id="root">');
    const api = await request(h.app)
      .get('/admin/queues/api/queues')
      .set('Authorization', basic('ops', 'ops-password'))
      .expect(200);
    expect(JSON.stringify(api.body)).toContain('backfill');
  });

  it('is not mounted without configured credentials', async () => {
    const h = await harness({ adminPassword: '' });
    const res = await request(h.app).get('/admin/queues').expect(404);
    expect(res.body.error.code).toBe('ERR_HTTP_NOT_FOUND');
  });
});
