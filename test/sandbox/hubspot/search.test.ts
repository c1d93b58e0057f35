import { afterEach, describe, expect, it } from 'vitest';
import { rejectionOf, startHarness, type Harness } from './fixtures.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

type Op =
  | 'EQ'
  | 'NEQ'
  | 'LT'
  | 'LTE'
  | 'GT'
  | 'GTE'
  | 'BETWEEN'
  | 'IN'
  | 'NOT_IN'
  | 'HAS_PROPERTY'
  | 'NOT_HAS_PROPERTY'
  | 'CONTAINS_TOKEN';
const f = (
  propertyName: string,
  operator: Op,
  value?: string,
  extra: { highValue?: string; values?: string[] } = {},
) => ({ propertyName, operator, ...(value === undefined ? {} : { value }), ...extra }) as never;

async function emails(
  hh: Harness,
  filterGroups: { filters: never[] }[],
  sorts: string[] = [],
): Promise<string[]> {
  const res = await hh.client.crm.contacts.searchApi.doSearch({
    filterGroups,
    sorts,
    properties: ['email'],
    limit: 100,
    after: '0',
  });
  return res.results.map((r) => r.properties.email ?? '');
}

describe('HubSpot sandbox: CRM search', () => {
  it('applies operators, AND within a group and OR across groups', async () => {
    h = await startHarness();
    expect(await emails(h, [{ filters: [f('nps_score', 'GTE', '9')] }])).toEqual(['alice@acme.test']);
    expect((await emails(h, [{ filters: [f('nps_score', 'LT', '9')] }])).sort()).toEqual([
      'bruno@globex.test',
    ]);
    expect(
      (await emails(h, [{ filters: [f('nps_score', 'BETWEEN', '5', { highValue: '10' })] }])).sort(),
    ).toEqual(['alice@acme.test', 'bruno@globex.test']);
    expect(await emails(h, [{ filters: [f('referral_code_used', 'HAS_PROPERTY')] }])).toEqual([
      'carla@example.test',
    ]);
    expect((await emails(h, [{ filters: [f('referral_code_used', 'NOT_HAS_PROPERTY')] }])).length).toBe(2);
    expect(
      await emails(h, [{ filters: [f('lifecyclestage', 'IN', undefined, { values: ['lead'] })] }]),
    ).toEqual(['carla@example.test']);
    expect(await emails(h, [{ filters: [f('email', 'EQ', 'ALICE@ACME.TEST')] }])).toEqual([
      'alice@acme.test',
    ]);
    expect(await emails(h, [{ filters: [f('how_did_you_hear', 'CONTAINS_TOKEN', 'friend')] }])).toEqual([
      'carla@example.test',
    ]);
    // A unique-property lookup still applies the group's other filters.
    expect(
      await emails(h, [
        {
          filters: [
            f('email', 'IN', undefined, { values: ['alice@acme.test', 'bruno@globex.test'] }),
            f('nps_score', 'LT', '9'),
          ],
        },
      ]),
    ).toEqual(['bruno@globex.test']);
    // AND inside one group: nothing is both.
    expect(
      await emails(h, [{ filters: [f('nps_score', 'GTE', '9'), f('lifecyclestage', 'EQ', 'lead')] }]),
    ).toEqual([]);
    // OR across groups.
    expect(
      (
        await emails(h, [
          { filters: [f('nps_score', 'GTE', '9')] },
          { filters: [f('lifecyclestage', 'EQ', 'lead')] },
        ])
      ).sort(),
    ).toEqual(['alice@acme.test', 'carla@example.test']);
  });

  it('sorts by one property and pages with an integer `after`', async () => {
    h = await startHarness();
    const first = await h.client.crm.contacts.searchApi.doSearch({
      filterGroups: [],
      sorts: ['-createdate'],
      properties: ['email'],
      limit: 2,
      after: '0',
    });
    expect(first.total).toBe(3);
    expect(first.results.map((r) => r.properties.email)).toEqual(['carla@example.test', 'bruno@globex.test']);
    expect(first.paging?.next?.after).toBe('2');
    const second = await h.client.crm.contacts.searchApi.doSearch({
      filterGroups: [],
      sorts: ['-createdate'],
      properties: ['email'],
      limit: 2,
      after: first.paging?.next?.after ?? '',
    });
    expect(second.results.map((r) => r.properties.email)).toEqual(['alice@acme.test']);
    expect(second.paging).toBeUndefined();
  });

  it('finds records modified after a cursor in last-modified order (incremental sync)', async () => {
    let clock = Date.parse('2026-06-10T00:00:00Z');
    h = await startHarness({ now: () => new Date(clock) });
    const page = await h.client.crm.contacts.basicApi.getPage(10, undefined, ['email']);
    const ids = page.results.map((r) => r.id);
    const cursor = clock;
    for (const id of [ids[2], ids[0]]) {
      clock += 1000;
      await h.client.crm.contacts.basicApi.update(id ?? '', { properties: { nps_score: '5' } });
    }
    const res = await h.client.crm.contacts.searchApi.doSearch({
      filterGroups: [{ filters: [f('hs_lastmodifieddate', 'GT', String(cursor))] }],
      sorts: [{ propertyName: 'hs_lastmodifieddate', direction: 'ASCENDING' } as never],
      properties: ['email'],
      limit: 100,
      after: '0',
    });
    expect(res.results.map((r) => r.id)).toEqual([ids[2], ids[0]]);
    expect(res.total).toBe(2);
  });

  it('refuses more than 200 per page, too many filters, two sorts, and paging beyond 10,000 results', async () => {
    h = await startHarness();
    const search = (body: object) =>
      rejectionOf(
        h!.client.crm.contacts.searchApi.doSearch({
          filterGroups: [],
          sorts: [],
          properties: [],
          limit: 10,
          after: '0',
          ...body,
        }),
      );
    expect((await search({ limit: 201 })).code).toBe(400);
    const six = Array.from({ length: 6 }, () => ({ filters: [f('email', 'HAS_PROPERTY')] }));
    expect((await search({ filterGroups: six })).body.category).toBe('VALIDATION_ERROR');
    const seven = [{ filters: Array.from({ length: 7 }, () => f('email', 'HAS_PROPERTY')) }];
    expect((await search({ filterGroups: seven })).code).toBe(400);
    const nineteen = [0, 1, 2, 3].map((g) => ({
      filters: Array.from({ length: g === 3 ? 1 : 6 }, () => f('email', 'HAS_PROPERTY')),
    }));
    expect((await search({ filterGroups: nineteen })).code).toBe(400);
    expect((await search({ sorts: ['email', 'createdate'] })).code).toBe(400);
    const cap = await search({ limit: 100, after: '9950' });
    expect(cap.code).toBe(400);
    expect(cap.body.category).toBe('VALIDATION_ERROR');
  });

  it('never returns archived records and hides fresh writes during the indexing lag', async () => {
    let clock = Date.parse('2026-06-10T00:00:00Z');
    h = await startHarness({ now: () => new Date(clock), indexingLagMs: 2000 });
    const created = await h.client.crm.contacts.basicApi.create({
      properties: { email: 'lag@x.test', nps_score: '10' },
      associations: [],
    });
    const q = [{ filters: [f('email', 'EQ', 'lag@x.test')] }];
    expect(await emails(h, q)).toEqual([]);
    clock += 2001;
    expect(await emails(h, q)).toEqual(['lag@x.test']);
    await h.client.crm.contacts.basicApi.update(created.id, { properties: { nps_score: '1' } });
    // Still the indexed (old) value until the lag passes.
    expect(await emails(h, [{ filters: [f('nps_score', 'EQ', '10')] }])).toContain('lag@x.test');
    clock += 2001;
    expect(await emails(h, [{ filters: [f('nps_score', 'EQ', '10')] }])).not.toContain('lag@x.test');
    await h.client.crm.contacts.basicApi.archive(created.id);
    clock += 2001;
    expect(await emails(h, q)).toEqual([]);
    expect(h.sandbox.state.calls.search).toBe(5);
  });

  it('searches tasks by association to a contact', async () => {
    h = await startHarness();
    const contact = (await h.client.crm.contacts.basicApi.getPage(1)).results[0]?.id ?? '';
    await h.client.crm.objects.tasks.basicApi.create({
      properties: { hs_timestamp: '2026-06-02T09:00:00Z', hs_task_subject: 'Follow up' },
      associations: [
        {
          to: { id: contact },
          types: [{ associationCategory: 'HUBSPOT_DEFINED' as never, associationTypeId: 204 }],
        },
      ],
    });
    const res = await h.client.crm.objects.tasks.searchApi.doSearch({
      filterGroups: [{ filters: [f('associations.contact', 'EQ', contact)] }],
      sorts: [],
      properties: ['hs_task_subject'],
      limit: 10,
      after: '0',
    });
    expect(res.results.map((r) => r.properties.hs_task_subject)).toEqual(['Follow up']);
  });
});
