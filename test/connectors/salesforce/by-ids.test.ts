import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PullByIdsOptions, PullByIdsPage } from '../../../connectors/contract.js';
import { ERR_SALESFORCE_QUERY_TOO_LONG } from '../../../connectors/salesforce/by-ids.js';
import { SALESFORCE_FACTS } from '../../../connectors/salesforce/facts.js';
import type { SalesforceConnector } from '../../../connectors/salesforce/index.js';
import { harness, queryPage, sfApi, soqlOf, V } from './helpers.js';

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());

const Q = SALESFORCE_FACTS.query;
/** What the facts leave for the request line's URI (host, API path, headers have the reserve). */
const URI_ROOM = Q.requestUriMaxBytes - Q.requestReserveBytes;

async function collect(
  c: SalesforceConnector,
  object: string,
  ids: readonly string[],
  o: Partial<PullByIdsOptions> = {},
): Promise<PullByIdsPage[]> {
  const pages: PullByIdsPage[] = [];
  for await (const p of c.pullByIds(object, ids, { fields: ['Email'], links: [], ...o })) pages.push(p);
  return pages;
}

/** A distinct 18-character Contact id. */
const cid = (n: number): string => `003${String(n).padStart(12, '0')}AAA`;

const live = (id: string, extra: Record<string, unknown> = {}) => ({
  Id: id,
  SystemModstamp: '2026-11-20T10:00:00.000+0000',
  IsDeleted: false,
  MasterRecordId: null,
  Email: `${id}@x.test`,
  ...extra,
});

/** The ids of a `… WHERE Id IN ('a','b')` SOQL. */
function idsIn(soql: string): string[] {
  const list = /WHERE Id IN \((.*)\)$/.exec(soql)?.[1] ?? '';
  return list === '' ? [] : list.split(',').map((s) => s.slice(1, -1));
}

describe('Salesforce pullByIds', () => {
  it('reads the pull columns by Id through queryAll: deleted and merged ids as tombstones, missing ids absent', async () => {
    const { connector } = harness();
    const [a, b, c, gone] = [cid(1), cid(2), cid(3), cid(4)];
    const seen: string[] = [];
    const scope = sfApi()
      .get(/\/services\/data\/v62\.0\/queryAll\?q=/)
      .reply(function (uri) {
        seen.push(soqlOf(uri));
        expect(this.req.headers['sforce-query-options']).toBe('batchSize=2000');
        return [
          200,
          queryPage([
            live(a),
            live(b, { IsDeleted: true, Email: null }),
            live(c, { IsDeleted: true, MasterRecordId: a, Email: null }),
          ]),
        ];
      });
    // A malformed id cannot name a record: never sent (Salesforce would fail the whole query).
    const pages = await collect(connector, 'Contact', [a, b, c, gone, a, "x' OR Name != '"]);
    scope.done();
    expect(seen).toEqual([
      `SELECT Id, SystemModstamp, IsDeleted, MasterRecordId, Email FROM Contact WHERE Id IN ('${a}','${b}','${c}','${gone}')`,
    ]);
    const records = pages.flatMap((p) => p.records);
    expect(records.map((r) => [r.id, r.deleted, r.mergedInto ?? null])).toEqual([
      [a, false, null],
      [b, true, null],
      [c, true, a],
    ]);
    expect(records[0]).toMatchObject({
      object: 'Contact',
      fields: { Email: `${a}@x.test` },
      modifiedAt: '2026-11-20T10:00:00.000Z',
    });
    // `gone` is simply absent: the pipeline treats what was not returned as deleted.
    expect(records.some((r) => r.id === gone)).toBe(false);
  });

  it('chunks by inClauseMaxIds, every id once, each URI within the facts', async () => {
    const { connector } = harness();
    const ids = Array.from({ length: Q.inClauseMaxIds * 2 + 7 }, (_, i) => cid(i + 1));
    const asked: string[][] = [];
    const scope = sfApi()
      .get(/\/services\/data\/v62\.0\/queryAll\?q=/)
      .times(3)
      .reply(function (uri) {
        expect(uri.length - V.length).toBeLessThanOrEqual(URI_ROOM);
        const part = idsIn(soqlOf(uri));
        asked.push(part);
        // One of them was hard-deleted: not returned.
        return [200, queryPage(part.filter((id) => id !== ids[5]).map((id) => live(id)))];
      });
    const pages = await collect(connector, 'Contact', ids);
    scope.done();
    expect(asked.map((p) => p.length)).toEqual([Q.inClauseMaxIds, Q.inClauseMaxIds, 7]);
    expect(asked.flat()).toEqual(ids);
    const got = pages.flatMap((p) => p.records.map((r) => r.id));
    expect(got).toHaveLength(ids.length - 1);
    expect(got).not.toContain(ids[5]);
  });

  it('a long SELECT leaves fewer ids per query, never a longer URI', async () => {
    const { connector } = harness();
    // 150 mapped custom fields of ~60 characters: ~9 KB of columns before the first id.
    const fields = Array.from(
      { length: 150 },
      (_, i) => `Referral_Long_Custom_Field_Name_${String(i).padStart(3, '0')}_Extra__c`,
    );
    const ids = Array.from({ length: Q.inClauseMaxIds }, (_, i) => cid(i + 1));
    const asked: string[][] = [];
    const scope = sfApi()
      .persist()
      .get(/\/services\/data\/v62\.0\/queryAll\?q=/)
      .reply(function (uri) {
        expect(uri.length - V.length).toBeLessThanOrEqual(URI_ROOM);
        const soql = soqlOf(uri);
        expect(soql.length).toBeLessThanOrEqual(Q.soqlMaxChars);
        const part = idsIn(soql);
        asked.push(part);
        return [200, queryPage(part.map((id) => live(id)))];
      });
    const pages = await collect(connector, 'Contact', ids, { fields });
    scope.done();
    expect(asked.length).toBeGreaterThan(1);
    expect(asked.every((p) => p.length < Q.inClauseMaxIds)).toBe(true);
    expect(asked.flat()).toEqual(ids);
    expect(pages.flatMap((p) => p.records)).toHaveLength(ids.length);
  });

  it('refuses a SELECT that leaves no room for one id, without calling Salesforce', async () => {
    const { connector } = harness();
    const fields = Array.from(
      { length: 300 },
      (_, i) => `F${String(i).padStart(3, '0')}_${'x'.repeat(60)}__c`,
    );
    await expect(collect(connector, 'Contact', [cid(1)], { fields })).rejects.toMatchObject({
      code: ERR_SALESFORCE_QUERY_TOO_LONG,
    });
  });

  it('follows queryMore within a chunk, and reads the survivor of a merge it was not asked for', async () => {
    const { connector } = harness({ queryBatchSize: 200 });
    const [a, b, survivor] = [cid(1), cid(2), cid(99)];
    const seen: string[] = [];
    const scope = sfApi()
      .get(/\/services\/data\/v62\.0\/queryAll\?q=/)
      .reply(function (uri) {
        seen.push(soqlOf(uri));
        expect(this.req.headers['sforce-query-options']).toBe('batchSize=200');
        return [200, queryPage([live(a)], { total: 2, next: '01gBYID-200' })];
      })
      .get(`${V}/query/01gBYID-200`)
      .reply(200, queryPage([live(b, { IsDeleted: true, MasterRecordId: survivor, Email: null })]))
      .get(/\/services\/data\/v62\.0\/queryAll\?q=/)
      .reply(function (uri) {
        seen.push(soqlOf(uri));
        return [200, queryPage([live(survivor)])];
      });
    const pages = await collect(connector, 'Contact', [a, b]);
    scope.done();
    expect(seen.map(idsIn)).toEqual([[a, b], [survivor]]);
    expect(pages.map((p) => p.records.map((r) => r.id))).toEqual([[a], [b], [survivor]]);
    expect(pages[1]?.records[0]).toMatchObject({ deleted: true, mergedInto: survivor });
  });

  it('opportunities: Account from the lookup, contacts from OpportunityContactRole by the same ids', async () => {
    const { connector } = harness();
    const o1 = '006000000000001AAA';
    const o2 = '006000000000002AAA';
    const acc = '001000000000001AAA';
    const seen: string[] = [];
    const scope = sfApi()
      .get(/\/services\/data\/v62\.0\/queryAll\?q=/)
      .reply(function (uri) {
        seen.push(soqlOf(uri));
        return [
          200,
          queryPage(
            [
              {
                Id: o1,
                SystemModstamp: '2026-11-20T10:00:00.000+0000',
                IsDeleted: false,
                Amount: 10,
                AccountId: acc,
              },
              {
                Id: o2,
                SystemModstamp: '2026-11-19T10:00:00.000+0000',
                IsDeleted: false,
                Amount: 5,
                AccountId: null,
              },
            ],
            { type: 'Opportunity' },
          ),
        ];
      })
      .get(/\/services\/data\/v62\.0\/query\?q=/)
      .reply(function (uri) {
        seen.push(soqlOf(uri));
        return [
          200,
          queryPage([{ Id: '00K000000000001AAA', OpportunityId: o2, ContactId: cid(7) }], {
            type: 'OpportunityContactRole',
          }),
        ];
      });
    const pages = await collect(connector, 'Opportunity', [o1, o2], {
      fields: ['Amount'],
      links: ['Contact', 'Account'],
    });
    scope.done();
    expect(seen).toEqual([
      `SELECT Id, SystemModstamp, IsDeleted, Amount, AccountId FROM Opportunity WHERE Id IN ('${o1}','${o2}')`,
      `SELECT OpportunityId, ContactId FROM OpportunityContactRole WHERE OpportunityId IN ('${o1}','${o2}')`,
    ]);
    expect(pages.flatMap((p) => p.records.map((r) => [r.id, r.links]))).toEqual([
      [o1, { Contact: [], Account: [acc] }],
      [o2, { Contact: [cid(7)], Account: [] }],
    ]);
  });

  it('objects without IsDeleted use /query; an unknown object fails with a code', async () => {
    const { connector } = harness();
    const u = '005000000000009AAA';
    const scope = sfApi()
      .get(/\/services\/data\/v62\.0\/query\?q=/)
      .reply(function (uri) {
        expect(soqlOf(uri)).toBe(`SELECT Id, SystemModstamp, Email FROM User WHERE Id IN ('${u}')`);
        return [
          200,
          queryPage([{ Id: u, SystemModstamp: '2026-11-20T10:00:00.000+0000', Email: 'u@x.test' }], {
            type: 'User',
          }),
        ];
      });
    const pages = await collect(connector, 'User', [u]);
    scope.done();
    expect(pages.flatMap((p) => p.records.map((r) => [r.id, r.deleted]))).toEqual([[u, false]]);
    await expect(collect(connector, 'Widget__c', [u])).rejects.toMatchObject({
      code: 'ERR_SALESFORCE_UNKNOWN_OBJECT',
    });
  });

  it('asks nothing when no id can name a record', async () => {
    const { connector } = harness();
    expect(await collect(connector, 'Contact', ['', 'nope'])).toEqual([]);
    expect(nock.pendingMocks()).toEqual([]);
  });
});
