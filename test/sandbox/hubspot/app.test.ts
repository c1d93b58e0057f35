import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { createHubSpotSandbox } from '../../../src/sandbox/hubspot/index.js';
import { rejectionOf, smallAccount, startHarness, type Harness } from './fixtures.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('HubSpot sandbox: express app, faults, seed, reset', () => {
  it('the exported express app serves the same API (supertest)', async () => {
    const sandbox = createHubSpotSandbox({ limits: { enabled: false } });
    sandbox.loadSeed(smallAccount(), { portalId: 1 });
    const token = sandbox.issueAccessToken().token;
    const list = await request(sandbox.app)
      .get('/crm/v3/objects/contacts?limit=2')
      .set('authorization', `Bearer ${token}`);
    expect(list.status).toBe(200);
    expect(list.body.results).toHaveLength(2);
    const created = await request(sandbox.app)
      .post('/crm/v3/objects/companies')
      .set('authorization', `Bearer ${token}`)
      .send({ properties: { name: 'Via express' } });
    expect(created.status).toBe(201);
    const noAuth = await request(sandbox.app).get('/crm/v3/objects/contacts');
    expect(noAuth.status).toBe(401);
    expect(noAuth.body.category).toBe('INVALID_AUTHENTICATION');
    const badJson = await request(sandbox.app)
      .post('/crm/v3/objects/companies')
      .set('authorization', `Bearer ${token}`)
      .set('content-type', 'application/json')
      .send('{nope');
    expect(badJson.status).toBe(400);
    expect(badJson.body.category).toBe('VALIDATION_ERROR');
  });

  it('injected server errors reach the SDK as 5xx with a HubSpot error body; dropped connections fail the call', async () => {
    h = await startHarness();
    h.sandbox.faults.configure({ serverErrorRate: 1 });
    const err = await rejectionOf(h.client.crm.contacts.basicApi.getPage(1));
    expect([500, 502, 503]).toContain(err.code);
    expect(err.body.category).toBe('INTERNAL_ERROR');
    h.sandbox.faults.configure({ dropRate: 1 });
    await expect(
      fetch(`${h.server.url}/crm/v3/objects/contacts`, { headers: { authorization: `Bearer ${h.token}` } }),
    ).rejects.toThrow();
    expect(h.sandbox.faults.counters.drops).toBe(1);
  });

  it('seeds closed-won deals with calculated properties and leads as lifecycle stage "lead"', async () => {
    h = await startHarness();
    const deals = await h.client.crm.deals.basicApi.getPage(10, undefined, [
      'dealname',
      'hs_is_closed_won',
      'hs_is_closed',
      'amount',
    ]);
    const renewal = deals.results.find((d) => d.properties.dealname === 'Acme renewal');
    expect(renewal?.properties).toMatchObject({
      hs_is_closed_won: 'true',
      hs_is_closed: 'true',
      amount: '1200',
    });
    const carla = await h.client.crm.contacts.basicApi.getById(
      'carla@example.test',
      ['lifecyclestage'],
      undefined,
      undefined,
      false,
      'email',
    );
    expect(carla.properties.lifecyclestage).toBe('lead');
  });

  it('reset clears data, counters and OAuth tokens but keeps private-app tokens', async () => {
    h = await startHarness({ privateAppTokens: ['pat-keep'] });
    await h.client.crm.contacts.basicApi.getPage(1);
    h.sandbox.reset();
    expect(h.sandbox.state.calls.read).toBe(0);
    expect(h.sandbox.state.objects.contacts.size).toBe(0);
    expect((await rejectionOf(h.client.crm.contacts.basicApi.getPage(1))).code).toBe(401);
    const res = await fetch(`${h.server.url}/crm/v3/objects/contacts`, {
      headers: { authorization: 'Bearer pat-keep' },
    });
    expect(res.status).toBe(200);
  });
});
