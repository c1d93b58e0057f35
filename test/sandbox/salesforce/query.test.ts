import { afterEach, describe, expect, it } from 'vitest';
import { API_VERSION, rejectionOf, smallSeed, startHarness } from './fixtures.js';
import type { Harness } from './fixtures.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

interface Row {
  Id: string;
  SystemModstamp: string;
  LastName?: string;
  Email?: string | null;
  IsDeleted?: boolean;
}

/** n contacts, with the clock stepping so some SystemModstamps tie. */
async function withContacts(n: number): Promise<Harness> {
  let now = Date.parse('2026-11-01T00:00:00Z');
  const harness = await startHarness({ now: () => new Date(now) });
  for (let i = 0; i < n; i++) {
    if (i % 3 === 0) now += 1000;
    harness.sandbox.createRecord('Contact', {
      LastName: `C${String(i).padStart(4, '0')}`,
      Email: i % 10 === 0 ? null : `c${i}@x.test`,
    });
  }
  return harness;
}

describe('Salesforce sandbox: query / queryMore through jsforce', () => {
  it('pages with nextRecordsUrl honouring Sforce-Query-Options batchSize, and jsforce queryMore follows it', async () => {
    h = await withContacts(450);
    const headers = { 'Sforce-Query-Options': 'batchSize=200' };
    const first = await h.conn.query<Row>('SELECT Id, LastName FROM Contact ORDER BY LastName', {
      headers,
    } as never);
    expect(first.totalSize).toBe(450);
    expect(first.done).toBe(false);
    expect(first.records).toHaveLength(200);
    expect(first.nextRecordsUrl).toMatch(
      new RegExp(`/services/data/v${API_VERSION}/query/01g[A-Za-z0-9]{15}-200$`),
    );
    expect(first.records[0]).toEqual({
      attributes: {
        type: 'Contact',
        url: `/services/data/v${API_VERSION}/sobjects/Contact/${first.records[0]?.Id ?? ''}`,
      },
      Id: first.records[0]?.Id,
      LastName: 'C0000',
    });
    const second = await h.conn.queryMore<Row>(first.nextRecordsUrl ?? '');
    const third = await h.conn.queryMore<Row>(second.nextRecordsUrl ?? '');
    expect(second.records).toHaveLength(200);
    expect(third.records).toHaveLength(50);
    expect(third.done).toBe(true);
    const names = [...first.records, ...second.records, ...third.records].map((r) => r.LastName);
    expect(names).toEqual([...names].sort());
    expect(new Set(names).size).toBe(450);
    expect(h.sandbox.state.counters.query).toBe(1);
    expect(h.sandbox.state.counters.queryMore).toBe(2);
  });

  it('clamps batchSize to 200..2000 and jsforce autoFetch collects every page', async () => {
    h = await withContacts(450);
    const small = await h.conn.query<Row>('SELECT Id FROM Contact', {
      headers: { 'Sforce-Query-Options': 'batchSize=5' },
    } as never);
    expect(small.records).toHaveLength(200);
    const all = await h.conn.query<Row>('SELECT Id FROM Contact', {
      autoFetch: true,
      maxFetch: 10_000,
      headers: { 'Sforce-Query-Options': 'batchSize=200' },
    } as never);
    expect(all.records).toHaveLength(450);
  });

  it('serves the compound (SystemModstamp, Id) cursor exactly, ties included', async () => {
    h = await withContacts(60);
    const all = await h.conn.query<Row>('SELECT Id, SystemModstamp FROM Contact ORDER BY SystemModstamp, Id');
    const sorted = all.records;
    const pivot = sorted[29] as Row;
    const t = pivot.SystemModstamp.replace('+0000', 'Z');
    const soql = `SELECT Id, SystemModstamp FROM Contact WHERE SystemModstamp > ${t} OR (SystemModstamp = ${t} AND Id > '${pivot.Id}') ORDER BY SystemModstamp ASC, Id ASC LIMIT 10`;
    const page = await h.conn.query<Row>(soql);
    expect(page.records.map((r) => r.Id)).toEqual(sorted.slice(30, 40).map((r) => r.Id));
    const ties = sorted.filter((r) => r.SystemModstamp === pivot.SystemModstamp);
    expect(ties.length).toBeGreaterThan(1);
  });

  it('keeps the (SystemModstamp, Id) order exact through interleaved updates, deletes and tied stamps', async () => {
    let now = Date.parse('2026-11-01T00:00:00Z');
    h = await startHarness({ now: () => new Date(now) });
    const ids: string[] = [];
    for (let i = 0; i < 120; i++) ids.push(h.sandbox.createRecord('Contact', { LastName: `L${i}` }));
    const conn = h.conn;
    const check = async (): Promise<void> => {
      const all = (
        await conn.query<Row>('SELECT Id, SystemModstamp FROM Contact ORDER BY Id', {
          autoFetch: true,
        } as never)
      ).records;
      const expected = [...all].sort((a, b) =>
        a.SystemModstamp === b.SystemModstamp
          ? a.Id < b.Id
            ? -1
            : 1
          : a.SystemModstamp < b.SystemModstamp
            ? -1
            : 1,
      );
      const pivot = expected[40] as Row;
      const t = pivot.SystemModstamp.replace('+0000', 'Z');
      const page = await conn.query<Row>(
        `SELECT Id FROM Contact WHERE SystemModstamp > ${t} OR (SystemModstamp = ${t} AND Id > '${pivot.Id}') ORDER BY SystemModstamp, Id LIMIT 25`,
      );
      expect(page.records.map((r) => r.Id)).toEqual(expected.slice(41, 66).map((r) => r.Id));
      const full = await conn.query<Row>('SELECT Id FROM Contact ORDER BY SystemModstamp');
      expect(full.records.map((r) => r.Id)).toEqual(expected.map((r) => r.Id));
    };
    await check();
    // Updates in reverse id order within one call share a stamp: the appended tail is out of order.
    now += 5;
    await conn.sobject('Contact').update(
      ids
        .slice(10, 60)
        .reverse()
        .map((Id) => ({ Id, Title: 'a' })),
    );
    h.sandbox.deleteRecord('Contact', ids[70] ?? '');
    await check();
    // A clock step backwards (another app server) makes a stamp older than the newest ones.
    now -= 3;
    h.sandbox.simulateUserEdit('Contact', ids[5] ?? '', { Title: 'b' });
    now += 10;
    await conn.sobject('Contact').update(ids.slice(0, 30).map((Id) => ({ Id, Title: 'c' })));
    await check();
  });

  it('filters with IN, LIKE, NULL, !=, date literals and relationship fields', async () => {
    h = await startHarness({ now: () => new Date('2026-11-02T12:00:00Z') });
    const ids = h.sandbox.loadSeed(smallSeed());
    const alice = ids.people.get('p1') ?? '';
    const q = async (soql: string): Promise<Record<string, unknown>[]> =>
      (await h!.conn.query<Record<string, unknown>>(soql)).records;
    expect((await q(`SELECT Id FROM Contact WHERE Id IN ('${alice}', '${alice.slice(0, 15)}')`)).length).toBe(
      1,
    );
    expect((await q("SELECT Email FROM Contact WHERE Email LIKE '%@ACME.test'")).map((r) => r.Email)).toEqual(
      ['alice@acme.test', 'carla@acme.test'],
    );
    expect((await q('SELECT Id FROM Contact WHERE FirstName = null')).length).toBe(0);
    expect(
      (
        await q(
          "SELECT Id FROM Contact WHERE AccountId != null AND (FirstName = 'alice' OR FirstName = 'Bob')",
        )
      ).length,
    ).toBe(2);
    expect((await q('SELECT Id FROM Contact WHERE CreatedDate = LAST_N_DAYS:700')).length).toBe(1);
    const withOwner = await q(
      "SELECT Email, Owner.Email, Account.Name FROM Contact WHERE Email = 'alice@acme.test'",
    );
    expect(withOwner[0]).toMatchObject({
      Owner: { attributes: { type: 'User' }, Email: 'olivia@acme.test' },
      Account: { Name: 'Acme' },
    });
    const count = await h.conn.query('SELECT COUNT() FROM Lead WHERE IsConverted = true');
    expect(count.totalSize).toBe(1);
    expect(count.records).toEqual([]);
  });

  it('queryAll returns soft-deleted rows with IsDeleted = true; query does not; locators still say /query/', async () => {
    h = await withContacts(5);
    const rows = (await h.conn.query<Row>('SELECT Id FROM Contact')).records;
    h.sandbox.deleteRecord('Contact', rows[0]?.Id ?? '');
    expect((await h.conn.query<Row>('SELECT Id FROM Contact')).totalSize).toBe(4);
    const all = await h.conn.query<Row>('SELECT Id, IsDeleted FROM Contact WHERE IsDeleted = true', {
      scanAll: true,
    });
    expect(all.records).toEqual([expect.objectContaining({ Id: rows[0]?.Id, IsDeleted: true })]);
    expect(h.sandbox.state.counters.queryAll).toBe(1);
  });

  it('refuses what SOQL refuses, in the real error shapes', async () => {
    h = await withContacts(3);
    const malformed = await rejectionOf(h.conn.query('SELECT Id FRM Contact'));
    expect(malformed.errorCode).toBe('MALFORMED_QUERY');
    expect(malformed.message).toContain('ERROR at Row:1:Column:11');
    expect(
      (
        await rejectionOf(
          h.conn.query("SELECT Id FROM Contact WHERE LastName = 'a' AND Email = 'b' OR Email = 'c'"),
        )
      ).errorCode,
    ).toBe('MALFORMED_QUERY');
    expect(
      (await rejectionOf(h.conn.query('SELECT Id, (SELECT Id FROM Cases) FROM Contact'))).errorCode,
    ).toBe('MALFORMED_QUERY');
    expect((await rejectionOf(h.conn.query('SELECT Id FROM Contact GROUP BY Id'))).errorCode).toBe(
      'MALFORMED_QUERY',
    );
    expect((await rejectionOf(h.conn.query('SELECT Nope__c FROM Contact'))).errorCode).toBe('INVALID_FIELD');
    const quoted = await rejectionOf(
      h.conn.query("SELECT Id FROM Contact WHERE SystemModstamp > '2026-01-01T00:00:00Z'"),
    );
    expect(quoted.errorCode).toBe('INVALID_FIELD');
    expect(quoted.message).toContain('must be of type dateTime and should not be enclosed in quotes');
    expect((await rejectionOf(h.conn.query('SELECT Id FROM Nope__c'))).errorCode).toBe('INVALID_TYPE');
    const res = await fetch(`${h.url}/services/data/v${API_VERSION}/query/01g5g0000000zzzAAA-200`, {
      headers: { Authorization: `Bearer ${h.tokens.accessToken}` },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual([
      { message: 'invalid query locator', errorCode: 'INVALID_QUERY_LOCATOR' },
    ]);
  });

  it('loads a seed: converted leads carry Converted*Ids, opportunities derive IsWon/IsClosed, roles link contacts', async () => {
    h = await startHarness();
    const ids = h.sandbox.loadSeed(smallSeed());
    const leads = await h.conn.query<Record<string, unknown>>(
      'SELECT Email, IsConverted, ConvertedContactId, ConvertedOpportunityId, Referral_Code_Used__c FROM Lead ORDER BY Email',
    );
    expect(
      leads.records.map((r) => [r.Email, r.IsConverted, r.ConvertedContactId, r.ConvertedOpportunityId]),
    ).toEqual([
      ['carla@acme.test', true, ids.people.get('p3'), ids.deals.get('d2')],
      ['dan@new.test', false, null, null],
    ]);
    expect(leads.records[1]?.Referral_Code_Used__c).toBe('ALICE-10');
    const opps = await h.conn.query<Record<string, unknown>>(
      'SELECT Name, StageName, IsWon, IsClosed, Amount, CloseDate FROM Opportunity ORDER BY Name',
    );
    expect(opps.records.map((r) => [r.Name, r.StageName, r.IsWon, r.IsClosed, r.CloseDate])).toEqual([
      ['Acme expansion', 'Qualified To Buy', false, false, '2026-12-01'],
      ['Acme renewal', 'Closed Won', true, true, '2026-06-01'],
    ]);
    const roles = await h.conn.query<Record<string, unknown>>(
      `SELECT ContactId, IsPrimary FROM OpportunityContactRole WHERE OpportunityId = '${ids.deals.get('d1') ?? ''}' ORDER BY IsPrimary DESC`,
    );
    expect(roles.records.map((r) => [r.ContactId, r.IsPrimary])).toEqual([
      [ids.people.get('p1'), true],
      [ids.people.get('p3'), false],
    ]);
    const cases = await h.conn.query<Record<string, unknown>>(
      'SELECT Subject, IsClosed, ClosedDate, Is_Complaint__c FROM Case ORDER BY Subject',
    );
    expect(cases.records.map((r) => [r.Subject, r.IsClosed, r.Is_Complaint__c])).toEqual([
      ['Invoice question', false, false],
      ['Login broken', true, true],
    ]);
    expect(cases.records[1]?.ClosedDate).toBe('2026-05-03T12:00:00.000+0000');
    const bob = await h.conn.query<Record<string, unknown>>(
      "SELECT LastName, How_Did_You_Hear__c FROM Contact WHERE Email = 'bob@globex.test'",
    );
    expect(bob.records[0]).toMatchObject({
      LastName: '[not provided]',
      How_Did_You_Hear__c: 'Alice told me — ünïcode',
    });
  });
});
