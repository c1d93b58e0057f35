import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OwnedFieldDefinition } from '../../../connectors/contract.js';
import { BASE, harness } from './helpers.js';

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());

const FIELDS: OwnedFieldDefinition[] = [
  { object: 'contacts', name: 'referral_ready', label: 'Referral ready', type: 'boolean' },
  {
    object: 'contacts',
    name: 'referral_tags',
    label: 'Referral tags',
    type: 'multi',
    options: ['Segment A', 'VIP'],
  },
  { object: 'contacts', name: 'referral_code', label: 'Referral code', type: 'string', unique: true },
  { object: 'contacts', name: 'referral_last_asked_at', label: 'Last asked', type: 'datetime' },
  { object: 'deals', name: 'referral_attributed', label: 'Referral attributed', type: 'boolean' },
];

interface Prop {
  name: string;
  label: string;
  type: string;
  fieldType: string;
  groupName: string;
  hasUniqueValue?: boolean;
  options: { label: string; value: string; displayOrder?: number; hidden?: boolean }[];
}

/** Properties API with state, so a second run sees what the first created. */
function fakeProperties(initial: Record<string, Prop[]>) {
  const props = new Map(
    Object.entries(initial).map(([o, list]) => [o, new Map(list.map((p) => [p.name, p]))]),
  );
  const groups = new Map<string, Set<string>>();
  let writes = 0;
  const scope = nock(BASE)
    .get(/\/crm\/v3\/properties\/\w+\/groups$/)
    .reply((uri) => {
      const object = uri.split('/')[4] ?? '';
      return [
        200,
        {
          results: [...(groups.get(object) ?? [])].map((name) => ({
            name,
            label: name,
            displayOrder: 0,
            archived: false,
          })),
        },
      ];
    })
    .persist()
    .post(/\/crm\/v3\/properties\/\w+\/groups$/)
    .reply((uri, body) => {
      writes++;
      const object = uri.split('/')[4] ?? '';
      const set = groups.get(object) ?? new Set();
      set.add((body as { name: string }).name);
      groups.set(object, set);
      return [201, { ...(body as object), displayOrder: 0, archived: false }];
    })
    .persist()
    .get(/\/crm\/v3\/properties\/\w+$/)
    .reply((uri) => [200, { results: [...(props.get(uri.split('/')[4] ?? '')?.values() ?? [])] }])
    .persist()
    .post(/\/crm\/v3\/properties\/\w+$/)
    .reply((uri, body) => {
      writes++;
      const object = uri.split('/')[4] ?? '';
      const p = body as Prop;
      const map = props.get(object) ?? new Map<string, Prop>();
      map.set(p.name, { ...p, options: p.options ?? [] });
      props.set(object, map);
      return [201, { ...p, options: p.options ?? [] }];
    })
    .persist();
  const patchScope = nock(BASE)
    .patch(/\/crm\/v3\/properties\/\w+\/\w+$/)
    .reply((uri, body) => {
      writes++;
      const [, , , , object = '', name = ''] = uri.split('/');
      const p = props.get(object)?.get(name);
      if (p === undefined) return [404, { status: 'error', category: 'OBJECT_NOT_FOUND' }];
      Object.assign(p, body as object);
      return [200, p];
    })
    .persist();
  return { props, scope, patchScope, writes: () => writes };
}

describe('provision', () => {
  it('creates group and properties once; a second run makes zero writes', async () => {
    const fake = fakeProperties({});
    const h = harness();
    const first = await h.connector.provision(FIELDS);
    expect(first.created.sort()).toEqual([
      'contacts.referral_code',
      'contacts.referral_last_asked_at',
      'contacts.referral_ready',
      'contacts.referral_tags',
      'deals.referral_attributed',
    ]);
    expect(first.writeCalls).toBe(7); // 2 groups + 5 properties
    const tags = fake.props.get('contacts')?.get('referral_tags');
    expect(tags).toMatchObject({ type: 'enumeration', fieldType: 'checkbox', groupName: 'referral_sync' });
    expect(fake.props.get('contacts')?.get('referral_code')?.hasUniqueValue).toBe(true);
    expect(fake.props.get('contacts')?.get('referral_ready')).toMatchObject({
      type: 'bool',
      fieldType: 'booleancheckbox',
    });
    expect(fake.props.get('contacts')?.get('referral_last_asked_at')).toMatchObject({
      type: 'datetime',
      fieldType: 'date',
    });

    const writesBefore = fake.writes();
    const second = await harness().connector.provision(FIELDS);
    expect(fake.writes()).toBe(writesBefore);
    expect(second.writeCalls).toBe(0);
    expect(second.unchanged).toHaveLength(5);
    fake.scope.done();
  });

  it('adds missing enumeration options without touching existing ones', async () => {
    const fake = fakeProperties({
      contacts: [
        {
          name: 'referral_tags',
          label: 'Tags (renamed by admin)',
          type: 'enumeration',
          fieldType: 'checkbox',
          groupName: 'referral_sync',
          options: [
            { label: 'Segment A', value: 'Segment A', displayOrder: 0, hidden: false },
            { label: 'Gold', value: 'Gold', displayOrder: 1, hidden: true },
          ],
        },
      ],
    });
    const report = await harness().connector.provision(FIELDS.filter((f) => f.name === 'referral_tags'));
    expect(report.updated).toEqual(['contacts.referral_tags']);
    const p = fake.props.get('contacts')?.get('referral_tags');
    expect(p?.label).toBe('Tags (renamed by admin)');
    expect(p?.options.map((o) => [o.value, o.hidden])).toEqual([
      ['Segment A', false],
      ['Gold', true],
      ['VIP', false],
    ]);
    fake.patchScope.done();
  });

  it('reports an incompatible same-name property as a conflict and never overwrites it', async () => {
    const fake = fakeProperties({
      contacts: [
        {
          name: 'referral_ready',
          label: 'Ready?',
          type: 'string',
          fieldType: 'text',
          groupName: 'contactinformation',
          options: [],
        },
      ],
    });
    const report = await harness().connector.provision(FIELDS.filter((f) => f.name === 'referral_ready'));
    expect(report.conflicts).toEqual([
      {
        object: 'contacts',
        name: 'referral_ready',
        reason: expect.stringContaining('string/text') as string,
      },
    ]);
    expect(report.writeCalls).toBe(1); // the group only
    expect(fake.props.get('contacts')?.get('referral_ready')?.type).toBe('string');
  });
});
