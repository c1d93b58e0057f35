import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rejectionOf, startHarness, type Harness } from './fixtures.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

describe('HubSpot sandbox: properties, groups, owners, pipelines', () => {
  it('the seed created the account input properties with fitting types', async () => {
    const nps = await h.client.crm.properties.coreApi.getByName('contacts', 'nps_score');
    expect(nps.type).toBe('number');
    const review = await h.client.crm.properties.coreApi.getByName('contacts', 'left_review');
    expect(review.type).toBe('bool');
    expect(review.fieldType).toBe('booleancheckbox');
    const purchase = await h.client.crm.properties.coreApi.getByName('contacts', 'last_purchase_date');
    expect(purchase.type).toBe('date');
    const partner = await h.client.crm.properties.coreApi.getByName('companies', 'is_partner');
    expect(partner.groupName).toBe('customer_data');
  });

  it('creates a group and a property (201), and answers 409 OBJECT_ALREADY_EXISTS the second time', async () => {
    const group = await h.client.crm.properties.groupsApi.create('contacts', {
      name: 'referral_sync',
      label: 'Referral Sync',
    });
    expect(group.name).toBe('referral_sync');
    const groupAgain = await rejectionOf(
      h.client.crm.properties.groupsApi.create('contacts', { name: 'referral_sync', label: 'x' }),
    );
    expect(groupAgain.code).toBe(409);
    const body = {
      name: 'rs_referral_code',
      label: 'Referral code',
      type: 'string' as never,
      fieldType: 'text' as never,
      groupName: 'referral_sync',
      hasUniqueValue: true,
    };
    const created = await h.client.crm.properties.coreApi.create('contacts', body);
    expect(created.hasUniqueValue).toBe(true);
    const again = await rejectionOf(h.client.crm.properties.coreApi.create('contacts', body));
    expect(again.code).toBe(409);
    expect(again.body.category).toBe('OBJECT_ALREADY_EXISTS');
    const all = await h.client.crm.properties.coreApi.getAll('contacts');
    expect(all.results.map((p) => p.name)).toContain('rs_referral_code');
  });

  it('rejects a wrong type/fieldType pair and an unknown group', async () => {
    const bad = await rejectionOf(
      h.client.crm.properties.coreApi.create('contacts', {
        name: 'x1',
        label: 'x',
        type: 'bool' as never,
        fieldType: 'text' as never,
        groupName: 'contactinformation',
      }),
    );
    expect(bad.code).toBe(400);
    const noGroup = await rejectionOf(
      h.client.crm.properties.coreApi.create('contacts', {
        name: 'x2',
        label: 'x',
        type: 'string' as never,
        fieldType: 'text' as never,
        groupName: 'nope',
      }),
    );
    expect(noGroup.code).toBe(400);
  });

  it('unique-value properties refuse a duplicate value and serve as idProperty', async () => {
    await h.client.crm.properties.coreApi.create('contacts', {
      name: 'rs_code',
      label: 'code',
      type: 'string' as never,
      fieldType: 'text' as never,
      groupName: 'contactinformation',
      hasUniqueValue: true,
    });
    const a = await h.client.crm.contacts.basicApi.create({
      properties: { rs_code: 'ALICE-1' },
      associations: [],
    });
    const dup = await rejectionOf(
      h.client.crm.contacts.basicApi.create({ properties: { rs_code: 'ALICE-1' }, associations: [] }),
    );
    expect(dup.code).toBe(409);
    const byCode = await h.client.crm.contacts.basicApi.getById(
      'ALICE-1',
      undefined,
      undefined,
      undefined,
      false,
      'rs_code',
    );
    expect(byCode.id).toBe(a.id);
  });

  it('enumeration options: writes must use an option; PATCH adds options', async () => {
    await h.client.crm.properties.coreApi.create('contacts', {
      name: 'rs_tier',
      label: 'Tier',
      type: 'enumeration' as never,
      fieldType: 'select' as never,
      groupName: 'contactinformation',
      options: [{ label: 'Gold', value: 'gold', hidden: false, displayOrder: 0 }],
    });
    const c = await h.client.crm.contacts.basicApi.create({
      properties: { rs_tier: 'gold' },
      associations: [],
    });
    const bad = await rejectionOf(
      h.client.crm.contacts.basicApi.update(c.id, { properties: { rs_tier: 'platinum' } }),
    );
    expect(bad.code).toBe(400);
    expect(JSON.stringify(bad.body.errors)).toContain('INVALID_OPTION');
    const patched = await h.client.crm.properties.coreApi.update('contacts', 'rs_tier', {
      options: [
        { label: 'Gold', value: 'gold', hidden: false, displayOrder: 0 },
        { label: 'Platinum', value: 'platinum', hidden: false, displayOrder: 1 },
      ],
    });
    expect(patched.options.map((o) => o.value)).toEqual(['gold', 'platinum']);
    const ok = await h.client.crm.contacts.basicApi.update(c.id, { properties: { rs_tier: 'platinum' } });
    expect(ok.properties.rs_tier).toBe('platinum');
  });

  it('tasks accept custom properties once created', async () => {
    await h.client.crm.properties.coreApi.create('tasks', {
      name: 'rs_task_key',
      label: 'Task key',
      type: 'string' as never,
      fieldType: 'text' as never,
      groupName: 'taskinformation',
    });
    const t = await h.client.crm.objects.tasks.basicApi.create({
      properties: { hs_timestamp: '2026-06-02T09:00:00Z', rs_task_key: 'k1' },
      associations: [],
    });
    expect(t.properties.rs_task_key).toBe('k1');
  });

  it('lists owners through the SDK (trailing-slash path) with paging', async () => {
    const first = await h.client.crm.owners.ownersApi.getPage(undefined, undefined, 1);
    expect(first.results).toHaveLength(1);
    expect(first.results[0]?.email).toBe('ann@acme.test');
    const second = await h.client.crm.owners.ownersApi.getPage(undefined, first.paging?.next?.after, 1);
    expect(second.results[0]?.email).toBe('bob@acme.test');
    expect(second.paging).toBeUndefined();
    const archived = await h.client.crm.owners.ownersApi.getPage(undefined, undefined, 10, true);
    expect(archived.results.map((o) => o.email)).toEqual(['gone@acme.test']);
    const contact = await h.client.crm.contacts.basicApi.getPage(1, undefined, ['hubspot_owner_id']);
    expect(contact.results[0]?.properties.hubspot_owner_id).toBe(first.results[0]?.id);
  });

  it('serves deal and ticket pipelines with stage metadata', async () => {
    const deals = await h.client.crm.pipelines.pipelinesApi.getAll('deals');
    const stages = deals.results[0]?.stages ?? [];
    expect(stages.find((s) => s.id === 'closedwon')?.metadata).toMatchObject({
      isClosed: 'true',
      probability: '1.0',
    });
    expect(stages.find((s) => s.id === 'qualifiedtobuy')?.metadata).toMatchObject({ isClosed: 'false' });
    const tickets = await h.client.crm.pipelines.pipelinesApi.getAll('tickets');
    expect(tickets.results[0]?.stages.find((s) => s.id === '4')?.metadata?.ticketState).toBe('CLOSED');
    expect(h.sandbox.state.calls.pipeline).toBe(2);
  });
});
