import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CrmRecord, JsonValue, PullOptions, PullPage } from '../../../connectors/contract.js';
import type { SalesforceConnector } from '../../../connectors/salesforce/index.js';
import { toCrmRecord } from '../../../connectors/salesforce/records.js';
import { harness, queryPage, sfApi, soqlOf, V } from './helpers.js';

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());

const RUN = new Date('2026-11-23T09:00:00Z');
const CEILING = '2026-11-23T08:58:00Z'; // run start minus the default 2-minute margin

function options(over: Partial<PullOptions> = {}): PullOptions {
  return { fields: ['Email'], links: [], mode: 'incremental', cursor: null, runStartedAt: RUN, ...over };
}

async function collect(c: SalesforceConnector, object: string, o: PullOptions): Promise<PullPage[]> {
  const pages: PullPage[] = [];
  for await (const p of c.pull(object, o)) pages.push(p);
  return pages;
}

const c1 = {
  Id: '003000000000001AAA',
  SystemModstamp: '2026-11-20T10:00:00.000+0000',
  IsDeleted: false,
  Email: 'a@x.test',
};
const c2 = {
  Id: '003000000000002AAA',
  SystemModstamp: '2026-11-20T10:00:00.000+0000',
  IsDeleted: false,
  Email: 'b@x.test',
};
const c3 = {
  Id: '003000000000003AAA',
  SystemModstamp: '2026-11-21T10:00:00.000+0000',
  IsDeleted: true,
  MasterRecordId: null,
  Email: null,
};
/** Merged into c1 (Merge Contacts): deleted, MasterRecordId = the survivor. */
const c4 = {
  Id: '003000000000004AAA',
  SystemModstamp: '2026-11-21T10:00:00.000+0000',
  IsDeleted: true,
  MasterRecordId: c1.Id,
  Email: null,
};

describe('Salesforce pull', () => {
  it('pages with queryAll + queryMore and keeps a compound (SystemModstamp, Id) cursor', async () => {
    const { connector } = harness();
    const seen: string[] = [];
    const scope = sfApi()
      .get(/\/services\/data\/v62\.0\/queryAll\?q=/)
      .reply(function (uri) {
        seen.push(soqlOf(uri));
        expect(this.req.headers['sforce-query-options']).toBe('batchSize=2000');
        return [200, queryPage([c1, c2], { total: 3, next: '01gLOC-2000' })];
      })
      .get(`${V}/query/01gLOC-2000`)
      .reply(200, queryPage([c3, c4]));
    const pages = await collect(connector, 'Contact', options());
    scope.done();
    expect(seen[0]).toBe(
      // Read up to now: the safety margin caps the saved bookmark, not the read.
      `SELECT Id, SystemModstamp, IsDeleted, MasterRecordId, Email FROM Contact WHERE SystemModstamp != null ORDER BY SystemModstamp ASC, Id ASC`,
    );
    expect(pages.map((p) => p.records.map((r) => r.id))).toEqual([
      [c1.Id, c2.Id],
      [c3.Id, c4.Id],
    ]);
    // A merged-away contact is a tombstone naming the survivor (as HubSpot merges are).
    expect(pages[1]?.records[1]).toMatchObject({ deleted: true, mergedInto: c1.Id });
    expect(pages[1]?.records[0]?.mergedInto).toBeUndefined();
    expect(pages[0]?.cursor).toMatchObject({
      t: '2026-11-20T10:00:00.000Z',
      id: c2.Id,
      rest: { locator: `${V}/query/01gLOC-2000` },
    });
    expect(pages[1]?.cursor).toEqual({ v: 1, t: '2026-11-21T10:00:00.000Z', id: c4.Id });
    const deleted = pages[1]?.records[0] as CrmRecord;
    expect(deleted.deleted).toBe(true);
    expect(pages[0]?.records[0]).toMatchObject({
      object: 'Contact',
      fields: { Email: 'a@x.test' },
      modifiedAt: '2026-11-20T10:00:00.000Z',
      deleted: false,
    });
  });

  it('resumes after tied timestamps with (SystemModstamp = t AND Id > id)', async () => {
    const { connector } = harness();
    let soql = '';
    const scope = sfApi()
      .get(/queryAll\?q=/)
      .reply((uri) => {
        soql = soqlOf(uri);
        return [200, queryPage([])];
      });
    const cursor: JsonValue = { v: 1, t: '2026-11-20T10:00:00.000Z', id: c1.Id };
    const pages = await collect(connector, 'Contact', options({ cursor }));
    scope.done();
    expect(soql).toContain(
      `WHERE SystemModstamp >= 2026-11-20T10:00:00Z AND (SystemModstamp > 2026-11-20T10:00:00Z OR Id > '${c1.Id}') ORDER BY`,
    );
    // Nothing new: the cursor stays where it was.
    expect(pages).toHaveLength(1);
    expect(pages[0]?.cursor).toEqual(cursor);
  });

  it('reads a change made after the ceiling but never bookmarks past the ceiling', async () => {
    const { connector } = harness();
    const fresh = { ...c3, SystemModstamp: '2026-11-23T08:59:30.000+0000', IsDeleted: false };
    const scope = sfApi()
      .get(/queryAll\?q=/)
      .reply(200, queryPage([fresh]));
    const pages = await collect(
      connector,
      'Contact',
      options({ cursor: { v: 1, t: '2026-11-20T10:00:00.000Z', id: c1.Id } }),
    );
    scope.done();
    expect(pages[0]?.records.map((r) => r.id)).toEqual([fresh.Id]);
    expect(pages.at(-1)?.cursor).toEqual({ v: 1, t: '2026-11-23T08:57:59.999Z', id: null });
  });

  it('continues an interrupted stream from the saved query locator', async () => {
    const { connector } = harness();
    const scope = sfApi()
      .get(`${V}/query/01gLOC-4000`)
      .reply(200, queryPage([c3]));
    const cursor: JsonValue = {
      v: 1,
      t: c2.SystemModstamp,
      id: c2.Id,
      ceiling: CEILING,
      rest: { locator: `${V}/query/01gLOC-4000` },
    };
    const pages = await collect(connector, 'Contact', options({ cursor }));
    scope.done();
    expect(pages[0]?.records.map((r) => r.id)).toEqual([c3.Id]);
  });

  it('switches to Bulk API 2.0 queryAll above the threshold, paging results by Sforce-Locator', async () => {
    const { connector } = harness({ bulkQueryThreshold: 2 });
    let bulkSoql = '';
    const scope = sfApi()
      .get(/queryAll\?q=/)
      .reply(200, queryPage([c1], { total: 5, next: '01gLOC-1' }))
      .post(`${V}/jobs/query`, (b: { operation: string; query: string }) => {
        bulkSoql = b.query;
        return b.operation === 'queryAll';
      })
      .reply(200, { id: '750J1', state: 'UploadComplete', operation: 'queryAll' })
      .get(`${V}/jobs/query/750J1`)
      .reply(200, { id: '750J1', state: 'InProgress' })
      .get(`${V}/jobs/query/750J1`)
      .reply(200, { id: '750J1', state: 'JobComplete' })
      .get(`${V}/jobs/query/750J1/results`)
      .query({ maxRecords: '10000' })
      .reply(
        200,
        `"Id","SystemModstamp","IsDeleted","Email"\n"003000000000005AAA","2026-11-22T10:00:00.000Z","false","e@x.test"\n"003000000000004AAA","2026-11-22T11:00:00.000Z","true",""\n`,
        { 'Content-Type': 'text/csv', 'Sforce-Locator': 'LOC2', 'Sforce-NumberOfRecords': '2' },
      )
      .get(`${V}/jobs/query/750J1/results`)
      .query({ maxRecords: '10000', locator: 'LOC2' })
      .reply(
        200,
        `"Id","SystemModstamp","IsDeleted","Email"\n"003000000000002AAA","2026-11-21T09:00:00.000Z","false","b@x.test"\n`,
        {
          'Content-Type': 'text/csv',
          'Sforce-Locator': 'null',
        },
      );
    const pages = await collect(connector, 'Contact', options());
    scope.done();
    expect(bulkSoql).not.toContain('ORDER BY');
    expect(bulkSoql).toContain(`(SystemModstamp > 2026-11-20T10:00:00Z OR Id > '${c1.Id}')`);
    const records = pages.flatMap((p) => p.records);
    expect(records.map((r) => r.id)).toEqual([c1.Id, '003000000000005AAA', '003000000000004AAA', c2.Id]);
    expect(records[1]?.fields).toEqual({ Email: 'e@x.test' });
    expect(records[2]).toMatchObject({ deleted: true, fields: { Email: null } });
    // The final cursor is the greatest (SystemModstamp, Id) seen, since bulk rows are unordered.
    expect(pages.at(-1)?.cursor).toEqual({ v: 1, t: '2026-11-22T11:00:00.000Z', id: '003000000000004AAA' });
    expect(connector.stats().calls.bulkQuery).toBe(5);
  });

  it('falls back to REST when the bulk job fails', async () => {
    const { connector } = harness({ bulkQueryThreshold: 1 });
    const soqls: string[] = [];
    const scope = sfApi()
      .get(/queryAll\?q=/)
      .reply((uri) => {
        soqls.push(soqlOf(uri));
        return [200, queryPage([c1], { total: 3, next: '01gLOC-1' })];
      })
      .post(`${V}/jobs/query`)
      .reply(200, { id: '750J2', state: 'UploadComplete' })
      .get(`${V}/jobs/query/750J2`)
      .reply(200, { id: '750J2', state: 'Failed', errorMessage: 'internal' })
      .get(/queryAll\?q=/)
      .reply((uri) => {
        soqls.push(soqlOf(uri));
        return [200, queryPage([c2, c3])];
      });
    const pages = await collect(connector, 'Contact', options());
    scope.done();
    expect(pages.flatMap((p) => p.records.map((r) => r.id))).toEqual([c1.Id, c2.Id, c3.Id]);
    expect(soqls[1]).toContain(`Id > '${c1.Id}'`);
    expect(connector.stats().bulkFallbacks).toBe(1);
    expect(pages.at(-1)?.cursor).toEqual({ v: 1, t: '2026-11-21T10:00:00.000Z', id: c3.Id });
  });

  it('exposes lead conversion links from the converted lookups, without extra calls', async () => {
    const { connector } = harness();
    const lead = {
      Id: '00Q000000000001AAA',
      SystemModstamp: '2026-11-20T10:00:00.000+0000',
      IsDeleted: false,
      IsConverted: true,
      ConvertedContactId: '003000000000009AAA',
      ConvertedOpportunityId: '006000000000009AAA',
      ConvertedAccountId: '001000000000009AAA',
    };
    const open = {
      ...lead,
      Id: '00Q000000000002AAA',
      IsConverted: false,
      ConvertedContactId: null,
      ConvertedOpportunityId: null,
      ConvertedAccountId: null,
    };
    let soql = '';
    const scope = sfApi()
      .get(/queryAll\?q=/)
      .reply((uri) => {
        soql = soqlOf(uri);
        return [200, queryPage([lead, open], { type: 'Lead' })];
      });
    const pages = await collect(
      connector,
      'Lead',
      options({ fields: ['IsConverted'], links: ['Contact', 'Opportunity', 'Account'] }),
    );
    scope.done();
    expect(soql).toContain('ConvertedContactId, ConvertedOpportunityId, ConvertedAccountId');
    const [converted, notConverted] = pages[0]?.records ?? [];
    expect(converted?.links).toEqual({
      Contact: ['003000000000009AAA'],
      Opportunity: ['006000000000009AAA'],
      Account: ['001000000000009AAA'],
    });
    expect(converted?.fields.ConvertedContactId).toBe('003000000000009AAA');
    expect(notConverted?.links).toEqual({ Contact: [], Opportunity: [], Account: [] });
  });

  it('links opportunities to contacts through OpportunityContactRole: one window query per page, ids for the rest', async () => {
    const { connector } = harness();
    const o1 = {
      Id: '006000000000001AAA',
      SystemModstamp: '2026-11-20T10:00:00.000+0000',
      IsDeleted: false,
      IsWon: true,
      AccountId: '001000000000001AAA',
    };
    const o2 = {
      ...o1,
      Id: '006000000000002AAA',
      SystemModstamp: '2026-11-21T10:00:00.000+0000',
      IsWon: false,
      AccountId: null,
    };
    const soqls: string[] = [];
    const scope = sfApi()
      .get(/queryAll\?q=/)
      .reply(200, queryPage([o1, o2], { type: 'Opportunity' }))
      .get(/\/query\?q=/)
      .reply((uri) => {
        soqls.push(soqlOf(uri));
        // o2 changed since the page was read (left the window): no rows for it here.
        return [
          200,
          queryPage(
            [
              { Id: '00K1', OpportunityId: o1.Id, ContactId: '003000000000001AAA' },
              { Id: '00K2', OpportunityId: o1.Id, ContactId: '003000000000002AAA' },
            ],
            { type: 'OpportunityContactRole' },
          ),
        ];
      })
      .get(/\/query\?q=/)
      .reply((uri) => {
        soqls.push(soqlOf(uri));
        return [
          200,
          queryPage([{ Id: '00K3', OpportunityId: o2.Id, ContactId: '003000000000001AAA' }], {
            type: 'OpportunityContactRole',
          }),
        ];
      });
    const pages = await collect(
      connector,
      'Opportunity',
      options({ fields: ['IsWon'], links: ['Contact', 'Account'] }),
    );
    scope.done();
    expect(soqls[0]).toBe(
      'SELECT OpportunityId, ContactId FROM OpportunityContactRole WHERE Opportunity.SystemModstamp >= 2026-11-20T10:00:00Z' +
        ' AND Opportunity.SystemModstamp <= 2026-11-21T10:00:00Z' +
        ` AND (Opportunity.SystemModstamp > 2026-11-20T10:00:00Z OR OpportunityId >= '${o1.Id}')` +
        ` AND (Opportunity.SystemModstamp < 2026-11-21T10:00:00Z OR OpportunityId <= '${o2.Id}')`,
    );
    expect(soqls[1]).toBe(
      `SELECT OpportunityId, ContactId FROM OpportunityContactRole WHERE OpportunityId IN ('${o2.Id}')`,
    );
    const [r1, r2] = pages[0]?.records ?? [];
    expect(r1?.links).toEqual({
      Contact: ['003000000000001AAA', '003000000000002AAA'],
      Account: ['001000000000001AAA'],
    });
    expect(r1?.fields.IsWon).toBe(true);
    expect(r2?.links).toEqual({ Contact: ['003000000000001AAA'], Account: [] });
  });

  it('in Bulk 2.0 mode reads contact roles for the whole range with one prefetch job, before the parents', async () => {
    const { connector } = harness({ bulkQueryThreshold: 1 });
    const o1 = { Id: '006000000000001AAA', SystemModstamp: '2026-11-20T10:00:00.000+0000', IsDeleted: false };
    const jobs: string[] = [];
    const scope = sfApi()
      .get(/queryAll\?q=/)
      .reply(200, queryPage([o1], { total: 3, next: '01gLOC-1', type: 'Opportunity' }))
      .get(/\/query\?q=/)
      .reply(200, queryPage([{ Id: '00K1', OpportunityId: o1.Id, ContactId: '003000000000001AAA' }]))
      .post(`${V}/jobs/query`, (b: { query: string; operation: string }) => {
        jobs.push(`${b.operation}: ${b.query}`);
        return b.query.includes('FROM OpportunityContactRole');
      })
      .reply(200, { id: '750P', state: 'UploadComplete' })
      .get(`${V}/jobs/query/750P`)
      .reply(200, { id: '750P', state: 'JobComplete' })
      .get(`${V}/jobs/query/750P/results`)
      .query(true)
      .reply(
        200,
        `"OpportunityId","ContactId"\n"006000000000002AAA","003000000000002AAA"\n"006000000000002AAA","003000000000003AAA"\n`,
        { 'Content-Type': 'text/csv', 'Sforce-Locator': 'null' },
      )
      .post(`${V}/jobs/query`, (b: { query: string; operation: string }) => {
        jobs.push(`${b.operation}: ${b.query}`);
        return b.query.includes('FROM Opportunity WHERE');
      })
      .reply(200, { id: '750O', state: 'UploadComplete' })
      .get(`${V}/jobs/query/750O`)
      .reply(200, { id: '750O', state: 'JobComplete' })
      .get(`${V}/jobs/query/750O/results`)
      .query(true)
      .reply(
        200,
        `"Id","SystemModstamp","IsDeleted"\n"006000000000003AAA","2026-11-22T10:00:00.000Z","false"\n"006000000000002AAA","2026-11-21T10:00:00.000Z","false"\n`,
        { 'Content-Type': 'text/csv', 'Sforce-Locator': 'null' },
      );
    const pages = await collect(connector, 'Opportunity', options({ fields: [], links: ['Contact'] }));
    scope.done();
    expect(jobs[0]).toBe(
      'query: SELECT OpportunityId, ContactId FROM OpportunityContactRole WHERE Opportunity.SystemModstamp >= 2026-11-20T10:00:00Z' +
        ` AND (Opportunity.SystemModstamp > 2026-11-20T10:00:00Z OR OpportunityId > '${o1.Id}') AND Opportunity.SystemModstamp <= ${CEILING}`,
    );
    expect(jobs[1]?.startsWith('queryAll: SELECT Id, SystemModstamp, IsDeleted FROM Opportunity WHERE')).toBe(
      true,
    );
    const links = new Map(pages.flatMap((p) => p.records).map((r) => [r.id, r.links.Contact]));
    expect(links).toEqual(
      new Map([
        [o1.Id, ['003000000000001AAA']],
        ['006000000000003AAA', []],
        ['006000000000002AAA', ['003000000000002AAA', '003000000000003AAA']],
      ]),
    );
    expect(connector.stats().calls.query).toBe(2);
  });

  it('reads User without IsDeleted (the field does not exist there) through /query', async () => {
    const { connector } = harness();
    let soql = '';
    const scope = sfApi()
      .get(/\/query\?q=/)
      .reply((uri) => {
        soql = soqlOf(uri);
        return [
          200,
          queryPage(
            [{ Id: '005000000000001AAA', SystemModstamp: '2026-11-20T10:00:00.000+0000', Email: 'o@x.test' }],
            { type: 'User' },
          ),
        ];
      });
    const pages = await collect(connector, 'User', options());
    scope.done();
    expect(soql.startsWith('SELECT Id, SystemModstamp, Email FROM User')).toBe(true);
    expect(pages[0]?.records[0]?.deleted).toBe(false);
  });

  it('reads a merge from Bulk 2.0 CSV: MasterRecordId on a deleted row, empty cell when not merged', () => {
    const merged = toCrmRecord(
      'Lead',
      {
        Id: '00Q000000000002AAA',
        SystemModstamp: '2026-11-22T10:00:00.000Z',
        IsDeleted: 'true',
        MasterRecordId: '00Q000000000001AAA',
      },
      [],
      true,
    );
    expect(merged).toMatchObject({ deleted: true, mergedInto: '00Q000000000001AAA' });
    const deleted = toCrmRecord(
      'Lead',
      {
        Id: '00Q000000000003AAA',
        SystemModstamp: '2026-11-22T10:00:00.000Z',
        IsDeleted: 'true',
        MasterRecordId: '',
      },
      [],
      true,
    );
    expect(deleted.deleted).toBe(true);
    expect(deleted.mergedInto).toBeUndefined();
  });
});
