import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rejectionOf, startHarness, type Harness } from './fixtures.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

describe('HubSpot sandbox: CRM v3 objects through the real SDK', () => {
  it('lists contacts with paging, requested properties (repeated and comma-separated) and associations', async () => {
    const page1 = await h.client.crm.contacts.basicApi.getPage(
      2,
      undefined,
      ['email', 'nps_score'],
      undefined,
      ['companies'],
    );
    expect(page1.results).toHaveLength(2);
    expect(page1.paging?.next?.after).toBeDefined();
    const alice = page1.results.find((r) => r.properties.email === 'alice@acme.test');
    expect(alice?.properties.nps_score).toBe('10');
    expect(alice?.properties.hs_object_id).toBe(alice?.id);
    expect(alice?.properties.createdate).toBe('2025-01-05T10:00:00.000Z');
    expect(alice?.associations?.companies?.results.map((a) => a.type).sort()).toEqual([
      'contact_to_company',
      'contact_to_company_unlabeled',
    ]);
    const page2 = await h.client.crm.contacts.basicApi.getPage(2, page1.paging?.next?.after);
    expect(page2.results).toHaveLength(1);
    expect(page2.paging).toBeUndefined();
    // HubSpot's defaults when no properties are named.
    expect(Object.keys(page2.results[0]?.properties ?? {}).sort()).toEqual(
      ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'].sort(),
    );

    const raw = await fetch(
      `${h.server.url}/crm/v3/objects/contacts?limit=5&properties=email,referrer_email`,
      {
        headers: { authorization: `Bearer ${h.token}` },
      },
    );
    const body = (await raw.json()) as { results: { properties: Record<string, string | null> }[] };
    const carla = body.results.find((r) => r.properties.email === 'carla@example.test');
    expect(carla?.properties.referrer_email).toBe('alice@acme.test');
  });

  it('rejects a list limit above 100', async () => {
    const err = await rejectionOf(h.client.crm.contacts.basicApi.getPage(101));
    expect(err.code).toBe(400);
    expect(err.body.category).toBe('VALIDATION_ERROR');
  });

  it('creates (201), reads, updates (200) and archives (204) a contact, maintaining hs_lastmodifieddate', async () => {
    const created = await h.client.crm.contacts.basicApi.create({
      properties: { email: 'new@x.test', nps_score: '9' },
      associations: [],
    });
    expect(created.id).toMatch(/^\d+$/);
    expect(created.properties.nps_score).toBe('9');
    const before = created.updatedAt.getTime();
    await new Promise((r) => setTimeout(r, 5));
    const updated = await h.client.crm.contacts.basicApi.update(created.id, {
      properties: { nps_score: '7', left_review: 'true' },
    });
    expect(updated.properties.nps_score).toBe('7');
    expect(updated.properties.left_review).toBe('true');
    expect(updated.updatedAt.getTime()).toBeGreaterThan(before);
    expect(updated.properties.lastmodifieddate).toBe(updated.updatedAt.toISOString());
    const got = await h.client.crm.contacts.basicApi.getById(created.id, [
      'nps_score',
      'hs_lastmodifieddate',
    ]);
    expect(got.properties.nps_score).toBe('7');
    expect(got.properties.hs_lastmodifieddate).toBe(updated.updatedAt.toISOString());
    await h.client.crm.contacts.basicApi.archive(created.id);
    const gone = await rejectionOf(h.client.crm.contacts.basicApi.getById(created.id));
    expect(gone.code).toBe(404);
    const archived = await h.client.crm.contacts.basicApi.getById(
      created.id,
      undefined,
      undefined,
      undefined,
      true,
    );
    expect(archived.archived).toBe(true);
    expect(h.sandbox.state.written.map((w) => w.op)).toEqual(['create', 'update', 'archive']);
    expect(h.sandbox.state.calls.write).toBe(3);
  });

  it('answers 400 PROPERTY_DOESNT_EXIST for an unknown property, 400 for a bad value, 409 for a duplicate email', async () => {
    const unknown = await rejectionOf(
      h.client.crm.contacts.basicApi.create({ properties: { nope_field: 'x' }, associations: [] }),
    );
    expect(unknown.code).toBe(400);
    expect(unknown.body.category).toBe('VALIDATION_ERROR');
    expect(JSON.stringify(unknown.body.errors)).toContain('PROPERTY_DOESNT_EXIST');
    const badNumber = await rejectionOf(
      h.client.crm.contacts.basicApi.create({ properties: { nps_score: 'ten' }, associations: [] }),
    );
    expect(badNumber.code).toBe(400);
    const badDate = await rejectionOf(
      h.client.crm.contacts.basicApi.create({
        properties: { last_purchase_date: '2026-01-01T10:00:00Z' },
        associations: [],
      }),
    );
    expect(badDate.code).toBe(400);
    const readOnly = await rejectionOf(
      h.client.crm.deals.basicApi.create({ properties: { hs_is_closed_won: 'true' }, associations: [] }),
    );
    expect(readOnly.code).toBe(400);
    const dup = await rejectionOf(
      h.client.crm.contacts.basicApi.create({ properties: { email: 'ALICE@acme.test' }, associations: [] }),
    );
    expect(dup.code).toBe(409);
    expect(dup.body.category).toBe('CONFLICT');
    expect(String(dup.body.message)).toMatch(/Existing ID: \d+/);
    expect(h.sandbox.state.written).toHaveLength(0);
  });

  it('derives hs_is_closed / hs_is_closed_won from the deal stage on every write', async () => {
    const deal = await h.client.crm.deals.basicApi.create({
      properties: { dealname: 'X', dealstage: 'contractsent' },
      associations: [],
    });
    let got = await h.client.crm.deals.basicApi.getById(deal.id, ['hs_is_closed', 'hs_is_closed_won']);
    expect(got.properties).toMatchObject({ hs_is_closed: 'false', hs_is_closed_won: 'false' });
    await h.client.crm.deals.basicApi.update(deal.id, { properties: { dealstage: 'closedwon' } });
    got = await h.client.crm.deals.basicApi.getById(deal.id, ['hs_is_closed', 'hs_is_closed_won']);
    expect(got.properties).toMatchObject({ hs_is_closed: 'true', hs_is_closed_won: 'true' });
    await h.client.crm.deals.basicApi.update(deal.id, { properties: { dealstage: 'closedlost' } });
    got = await h.client.crm.deals.basicApi.getById(deal.id, ['hs_is_closed', 'hs_is_closed_won']);
    expect(got.properties).toMatchObject({ hs_is_closed: 'true', hs_is_closed_won: 'false' });
  });

  it('creates tasks with associations and requires hs_timestamp', async () => {
    const contacts = await h.client.crm.contacts.basicApi.getPage(1);
    const contactId = contacts.results[0]?.id ?? '';
    const task = await h.client.crm.objects.tasks.basicApi.create({
      properties: {
        hs_timestamp: '2026-06-02T09:00:00Z',
        hs_task_subject: 'Ask Alice for a referral',
        hs_task_status: 'NOT_STARTED',
      },
      associations: [
        {
          to: { id: contactId },
          types: [{ associationCategory: 'HUBSPOT_DEFINED' as never, associationTypeId: 204 }],
        },
      ],
    });
    expect(task.properties.hs_task_subject).toBe('Ask Alice for a referral');
    expect(h.sandbox.state.tasks.map((t) => t.properties.hs_task_subject)).toEqual([
      'Ask Alice for a referral',
    ]);
    const assoc = await h.client.crm.associations.v4.batchApi.getPage('tasks', 'contacts', {
      inputs: [{ id: task.id }],
    });
    expect(assoc.results[0]?.to[0]?.toObjectId).toBe(contactId);
    const missing = await rejectionOf(
      h.client.crm.objects.tasks.basicApi.create({ properties: { hs_task_subject: 'x' }, associations: [] }),
    );
    expect(missing.code).toBe(400);
  });

  it('merges contacts: the survivor keeps hs_merged_object_ids and the merged id resolves to it', async () => {
    const page = await h.client.crm.contacts.basicApi.getPage(10, undefined, ['email']);
    const alice = page.results.find((r) => r.properties.email === 'alice@acme.test');
    const bruno = page.results.find((r) => r.properties.email === 'bruno@globex.test');
    if (alice === undefined || bruno === undefined) throw new Error('seed missing');
    const merged = await h.client.crm.contacts.basicApi.merge({
      primaryObjectId: alice.id,
      objectIdToMerge: bruno.id,
    });
    expect(merged.id).toBe(alice.id);
    const survivor = await h.client.crm.contacts.basicApi.getById(bruno.id, [
      'hs_merged_object_ids',
      'email',
    ]);
    expect(survivor.id).toBe(alice.id);
    expect(survivor.properties.hs_merged_object_ids).toBe(bruno.id);
    const list = await h.client.crm.contacts.basicApi.getPage(10);
    expect(list.results.map((r) => r.id)).not.toContain(bruno.id);
    const deals = await h.client.crm.associations.v4.batchApi.getPage('contacts', 'deals', {
      inputs: [{ id: alice.id }],
    });
    expect(deals.results[0]?.to).toHaveLength(2);
  });
});

describe('HubSpot sandbox: batch endpoints', () => {
  it('batch read returns 207 with OBJECT_NOT_FOUND for unknown ids', async () => {
    const page = await h.client.crm.contacts.basicApi.getPage(1);
    const id = page.results[0]?.id ?? '';
    const res = await h.client.crm.contacts.batchApi.read({
      inputs: [{ id }, { id: '999999' }],
      properties: ['email'],
      propertiesWithHistory: [],
    });
    expect(res.results).toHaveLength(1);
    const withErrors = res as typeof res & {
      numErrors?: number;
      errors?: { category: string; context: Record<string, string[]> }[];
    };
    expect(withErrors.numErrors).toBe(1);
    expect(withErrors.errors?.[0]?.category).toBe('OBJECT_NOT_FOUND');
    expect(withErrors.errors?.[0]?.context.ids).toEqual(['999999']);
  });

  it('batch read by a unique idProperty (email)', async () => {
    const res = await h.client.crm.contacts.batchApi.read({
      inputs: [{ id: 'alice@acme.test' }],
      idProperty: 'email',
      properties: ['firstname'],
      propertiesWithHistory: [],
    });
    expect(res.results[0]?.properties.firstname).toBe('Alice');
  });

  it('refuses more than 100 inputs with VALIDATION_ERROR', async () => {
    const inputs = Array.from({ length: 101 }, (_, i) => ({
      id: String(i + 1),
      properties: { nps_score: '1' },
    }));
    const err = await rejectionOf(h.client.crm.contacts.batchApi.update({ inputs }));
    expect(err.code).toBe(400);
    expect(err.body.category).toBe('VALIDATION_ERROR');
  });

  it('batch update reports injected per-record failures as 207 and writes the rest', async () => {
    const page = await h.client.crm.contacts.basicApi.getPage(10);
    const ids = page.results.map((r) => r.id);
    h.sandbox.faults.configure({ recordFailureRate: 0.5, seed: 3 });
    const res = await h.client.crm.contacts.batchApi.update({
      inputs: ids.map((id) => ({ id, properties: { nps_score: '8' } })),
    });
    const withErrors = res as typeof res & {
      numErrors?: number;
      errors?: { context: Record<string, string[]> }[];
    };
    const failed = (withErrors.errors ?? []).flatMap((e) => e.context.id ?? []);
    expect(withErrors.numErrors ?? 0).toBe(h.sandbox.faults.counters.recordFailures);
    expect(failed.length + res.results.length).toBe(ids.length);
    for (const id of ids)
      expect(h.sandbox.getValue('contacts', id, 'nps_score') === '8').toBe(!failed.includes(id));
  });

  it('batch create: 201 normally; 207 per record only with objectWriteTraceId, otherwise the whole batch fails', async () => {
    const ok = await h.client.crm.companies.batchApi.create({
      inputs: [{ properties: { name: 'A' }, associations: [] }],
    });
    expect(ok.results).toHaveLength(1);
    h.sandbox.faults.configure({ recordFailureRate: 1 });
    const whole = await rejectionOf(
      h.client.crm.companies.batchApi.create({
        inputs: [
          { properties: { name: 'B' }, associations: [] },
          { properties: { name: 'C' }, associations: [] },
        ],
      }),
    );
    expect(whole.code).toBe(400);
    expect(h.sandbox.state.objects.companies.size).toBe(3);
    const partial = await h.client.crm.companies.batchApi.create({
      inputs: [
        { properties: { name: 'D' }, associations: [], objectWriteTraceId: 't-d' },
        { properties: { name: 'E' }, associations: [], objectWriteTraceId: 't-e' },
      ],
    });
    const withErrors = partial as typeof partial & {
      numErrors?: number;
      errors?: { context: Record<string, string[]> }[];
    };
    expect(withErrors.numErrors).toBe(2);
    expect(withErrors.errors?.map((e) => e.context.objectWriteTraceId?.[0])).toEqual(['t-d', 't-e']);
  });

  it('batch create refuses two new contacts with the same email (409, nothing written)', async () => {
    const before = h.sandbox.state.objects.contacts.size;
    const err = await rejectionOf(
      h.client.crm.contacts.batchApi.create({
        inputs: [
          { properties: { email: 'twin@x.test' }, associations: [] },
          { properties: { email: 'TWIN@x.test' }, associations: [] },
        ],
      }),
    );
    expect(err.code).toBe(409);
    expect(h.sandbox.state.objects.contacts.size).toBe(before);
  });

  it('batch upsert by email creates new records and updates existing ones, flagging `new`', async () => {
    const res = await h.client.crm.contacts.batchApi.upsert({
      inputs: [
        { id: 'alice@acme.test', idProperty: 'email', properties: { nps_score: '3' } },
        { id: 'zed@new.test', idProperty: 'email', properties: { firstname: 'Zed' } },
      ],
    });
    const byEmail = new Map(
      res.results.map((r) => [r.properties.email ?? h.sandbox.getValue('contacts', r.id, 'email'), r]),
    );
    expect(byEmail.get('alice@acme.test')?._new).toBe(false);
    expect(byEmail.get('zed@new.test')?._new).toBe(true);
    expect(h.sandbox.getValue('contacts', byEmail.get('zed@new.test')?.id ?? '', 'firstname')).toBe('Zed');
  });

  it('batch archive answers 204 and hides records from list and search', async () => {
    const page = await h.client.crm.deals.basicApi.getPage(10);
    await h.client.crm.deals.batchApi.archive({ inputs: page.results.map((r) => ({ id: r.id })) });
    expect((await h.client.crm.deals.basicApi.getPage(10)).results).toHaveLength(0);
    expect(
      (await h.client.crm.deals.basicApi.getPage(10, undefined, undefined, undefined, undefined, true))
        .results,
    ).toHaveLength(2);
    const s = await h.client.crm.deals.searchApi.doSearch({
      filterGroups: [],
      sorts: [],
      properties: [],
      limit: 10,
      after: '0',
    });
    expect(s.total).toBe(0);
  });
});
