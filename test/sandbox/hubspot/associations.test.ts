import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rejectionOf, startHarness, type Harness } from './fixtures.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

async function idOf(type: 'contacts' | 'deals' | 'companies', prop: string, value: string): Promise<string> {
  const page = await h.client.crm[type].basicApi.getPage(100, undefined, [prop]);
  const rec = page.results.find((r) => r.properties[prop] === value);
  if (rec === undefined) throw new Error(`${value} not seeded`);
  return rec.id;
}

describe('HubSpot sandbox: associations v4', () => {
  it('batch read returns toObjectId and associationTypes, with 207 for ids without associations', async () => {
    const alice = await idOf('contacts', 'email', 'alice@acme.test');
    const carla = await idOf('contacts', 'email', 'carla@example.test');
    const deal = await idOf('deals', 'dealname', 'Acme renewal');
    const res = await h.client.crm.associations.v4.batchApi.getPage('contacts', 'deals', {
      inputs: [{ id: alice }, { id: carla }],
    });
    expect(res.results).toHaveLength(1);
    expect(res.results[0]?._from.id).toBe(alice);
    expect(res.results[0]?.to[0]?.toObjectId).toBe(deal);
    expect(res.results[0]?.to[0]?.associationTypes[0]).toMatchObject({
      category: 'HUBSPOT_DEFINED',
      typeId: 4,
    });
    const withErrors = res as typeof res & { numErrors?: number };
    expect(withErrors.numErrors).toBe(1);
    const reverse = await h.client.crm.associations.v4.batchApi.getPage('deals', 'contacts', {
      inputs: [{ id: deal }],
    });
    expect(reverse.results[0]?.to[0]?.associationTypes[0]?.typeId).toBe(3);
    expect(h.sandbox.state.calls.association).toBe(2);
  });

  it('creates default associations one at a time and in batch', async () => {
    const carla = await idOf('contacts', 'email', 'carla@example.test');
    const acme = await idOf('companies', 'name', 'Acme');
    const globexDeal = await idOf('deals', 'dealname', 'Globex pilot');
    await h.client.crm.associations.v4.basicApi.createDefault('contacts', carla, 'companies', acme);
    await h.client.crm.associations.v4.batchApi.createDefault('contacts', 'deals', {
      inputs: [{ _from: { id: carla }, to: { id: globexDeal } }],
    });
    const companies = await h.client.crm.associations.v4.batchApi.getPage('contacts', 'companies', {
      inputs: [{ id: carla }],
    });
    expect(companies.results[0]?.to[0]?.associationTypes[0]?.typeId).toBe(279);
    const deals = await h.client.crm.associations.v4.batchApi.getPage('deals', 'contacts', {
      inputs: [{ id: globexDeal }],
    });
    expect(deals.results[0]?.to.map((t) => t.toObjectId)).toContain(carla);
    const bad = await rejectionOf(
      h.client.crm.associations.v4.basicApi.createDefault('contacts', carla, 'companies', '1'),
    );
    expect(bad.code).toBe(404);
  });

  it('refuses more than 1,000 inputs in a batch read', async () => {
    const inputs = Array.from({ length: 1001 }, (_, i) => ({ id: String(i + 1) }));
    const err = await rejectionOf(
      h.client.crm.associations.v4.batchApi.getPage('contacts', 'deals', { inputs }),
    );
    expect(err.code).toBe(400);
  });
});
