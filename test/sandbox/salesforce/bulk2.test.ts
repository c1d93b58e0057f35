import { parse } from 'csv-parse/sync';
import { afterEach, describe, expect, it } from 'vitest';
import { API_VERSION, rejectionOf, startHarness } from './fixtures.js';
import type { Harness } from './fixtures.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const base = (harness: Harness): string => `${harness.url}/services/data/v${API_VERSION}/jobs`;
const auth = (harness: Harness, extra: Record<string, string> = {}): Record<string, string> => ({
  Authorization: `Bearer ${harness.tokens.accessToken}`,
  ...extra,
});

function seedContacts(harness: Harness, n: number): void {
  for (let i = 0; i < n; i++)
    harness.sandbox.createRecord('Contact', {
      LastName: `C${String(i).padStart(4, '0')}`,
      Email: i % 7 === 0 ? null : `c${i}@x.test`,
    });
}

describe('Salesforce sandbox: Bulk API 2.0 query jobs', () => {
  it('jsforce bulk2.query returns every record of a single-page result as CSV-parsed rows', async () => {
    h = await startHarness();
    seedContacts(h, 120);
    const stream = await h.conn.bulk2.query('SELECT Id, LastName, Email, Owner.Email FROM Contact', {
      pollInterval: 10,
    });
    const rows = (await stream.toArray()) as Record<string, string>[];
    expect(rows).toHaveLength(120);
    expect(rows[0]).toEqual({
      Id: expect.stringMatching(/^003/),
      LastName: 'C0000',
      Email: '',
      'Owner.Email': 'integration@referral-sync.sandbox',
    });
    expect(h.sandbox.state.counters.bulkQueryJobs).toBe(1);
  });

  it('pages results with Sforce-Locator until the literal "null", Sforce-NumberOfRecords per page, queryAll included', async () => {
    h = await startHarness({ bulkPollsBeforeComplete: 1 });
    seedContacts(h, 250);
    const firstId =
      (await h.conn.query<{ Id: string }>('SELECT Id FROM Contact LIMIT 1')).records[0]?.Id ?? '';
    h.sandbox.deleteRecord('Contact', firstId);
    const create = await fetch(`${base(h)}/query`, {
      method: 'POST',
      headers: auth(h, { 'Content-Type': 'application/json' }),
      body: JSON.stringify({
        operation: 'queryAll',
        query: 'SELECT Id, IsDeleted, SystemModstamp FROM Contact',
      }),
    });
    const job = (await create.json()) as { id: string; state: string; apiVersion: number };
    expect(job).toMatchObject({
      state: 'UploadComplete',
      apiVersion: 62,
      contentType: 'CSV',
      lineEnding: 'LF',
      columnDelimiter: 'COMMA',
    });
    const early = await fetch(`${base(h)}/query/${job.id}/results`, { headers: auth(h) });
    expect(early.status).toBe(412);
    const poll1 = (await (await fetch(`${base(h)}/query/${job.id}`, { headers: auth(h) })).json()) as {
      state: string;
    };
    const poll2 = (await (await fetch(`${base(h)}/query/${job.id}`, { headers: auth(h) })).json()) as {
      state: string;
      numberRecordsProcessed: number;
    };
    expect([poll1.state, poll2.state, poll2.numberRecordsProcessed]).toEqual([
      'InProgress',
      'JobComplete',
      250,
    ]);
    const rows: Record<string, string>[] = [];
    const locators: string[] = [];
    let locator = '';
    do {
      const res = await fetch(
        `${base(h)}/query/${job.id}/results?maxRecords=100${locator === '' ? '' : `&locator=${locator}`}`,
        { headers: auth(h, { Accept: 'text/csv' }) },
      );
      expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
      const page = parse(await res.text(), { columns: true }) as Record<string, string>[];
      expect(Number(res.headers.get('sforce-numberofrecords'))).toBe(page.length);
      rows.push(...page);
      locator = res.headers.get('sforce-locator') ?? 'missing';
      locators.push(locator);
    } while (locator !== 'null');
    expect(locators).toHaveLength(3);
    expect(locators[2]).toBe('null');
    expect(rows).toHaveLength(250);
    expect(rows.filter((r) => r.IsDeleted === 'true').map((r) => r.Id)).toEqual([firstId]);
    expect(rows[1]?.SystemModstamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const wrongVersion = await fetch(`${h.url}/services/data/v61.0/jobs/query/${job.id}/results`, {
      headers: auth(h),
    });
    expect(wrongVersion.status).toBe(409);
  });

  it('jsforce bulk2.query pages through the sandbox default page size like a large org (jsforce 3.10 fails on the second page)', async () => {
    // jsforce pipes each page into one stream and ends it after the first (jsforce issues #1546,
    // #1693): a real org answers multi-page results the same way, so the connector must page itself.
    h = await startHarness({ bulkResultPageSize: 100 });
    seedContacts(h, 150);
    const rejected = await new Promise<Error | undefined>((resolve) => {
      process.once('uncaughtException', (err) => resolve(err));
      h!.conn.bulk2
        .query('SELECT Id FROM Contact', { pollInterval: 10 })
        .then((s) => s.toArray())
        .then(
          () => resolve(undefined),
          (err: Error) => resolve(err),
        );
    });
    expect(rejected?.message ?? '').toMatch(/write after end/);
  });

  it('a failed query job makes jsforce throw', async () => {
    h = await startHarness();
    h.sandbox.failNextBulkJob('query');
    const err = await rejectionOf(h.conn.bulk2.query('SELECT Id FROM Contact', { pollInterval: 10 }));
    expect(err.message).toBe('Query job failed to complete');
    const bad = await rejectionOf(h.conn.bulk2.query('SELECT Nope__c FROM Contact', { pollInterval: 10 }));
    expect(bad.name).toBe('INVALID_FIELD');
  });
});

describe('Salesforce sandbox: Bulk API 2.0 ingest jobs', () => {
  it('jsforce loadAndWaitForResults: successful and failed rows, #N/A nulls, records saved', async () => {
    h = await startHarness();
    seedContacts(h, 3);
    const ids = (await h.conn.query<{ Id: string }>('SELECT Id FROM Contact ORDER BY LastName')).records.map(
      (r) => r.Id,
    );
    const res = await h.conn.bulk2.loadAndWaitForResults({
      object: 'Contact',
      operation: 'update',
      input: [
        { Id: ids[0], Email: null, Title: 'VIP' },
        { Id: ids[1], Email: 'new@x.test', Title: 'x'.repeat(200) },
        { Id: '003000000000000AAA', Email: 'ghost@x.test', Title: 'Ghost' },
      ] as never,
      pollInterval: 10,
    });
    expect(res.successfulResults).toEqual([
      { sf__Id: ids[0], sf__Created: 'false', Id: ids[0], Email: '#N/A', Title: 'VIP' },
    ]);
    expect(res.failedResults.map((r) => String(r.sf__Error).split(':')[0])).toEqual([
      'STRING_TOO_LONG',
      'INVALID_CROSS_REFERENCE_KEY',
    ]);
    expect(res.unprocessedRecords).toEqual([]);
    const row = await h.conn.query<Record<string, unknown>>(
      `SELECT Email, Title FROM Contact WHERE Id = '${ids[0] ?? ''}'`,
    );
    expect(row.records[0]).toMatchObject({ Email: null, Title: 'VIP' });
    expect(h.sandbox.state.writes.filter((w) => w.via === 'bulk')).toHaveLength(1);
    const info = (await (await fetch(`${base(h)}/ingest`, { headers: auth(h) })).json()) as {
      records: { state: string }[];
    };
    expect(info.records.map((j) => j.state)).toEqual(['JobComplete']);
  });

  it('insert and upsert report sf__Created; a failed job leaves every row unprocessed', async () => {
    h = await startHarness();
    const ins = await h.conn.bulk2.loadAndWaitForResults({
      object: 'Account',
      operation: 'insert',
      input: [{ Name: 'A' }, { Name: 'B' }] as never,
      pollInterval: 10,
    });
    expect(ins.successfulResults.map((r) => r.sf__Created)).toEqual(['true', 'true']);
    h.sandbox.failNextBulkJob('ingest', 'InvalidBatch : Failed to process query');
    const err = await rejectionOf(
      h.conn.bulk2.loadAndWaitForResults({
        object: 'Account',
        operation: 'insert',
        input: [{ Name: 'C' }] as never,
        pollInterval: 10,
      }),
    );
    expect(err.message).toBe('Ingest job failed to complete due to: InvalidBatch : Failed to process query');
    expect((await h.conn.query('SELECT Id FROM Account')).totalSize).toBe(2);

    const job = h.conn.bulk2.createJob({ object: 'Account', operation: 'insert' });
    h.sandbox.failNextBulkJob('ingest');
    await job.open();
    await job.uploadData('Name\nD\nE\n');
    await job.close();
    const unprocessed = await fetch(`${base(h)}/ingest/${job.id ?? ''}/unprocessedrecords`, {
      headers: auth(h),
    });
    const info = (await (await fetch(`${base(h)}/ingest/${job.id ?? ''}`, { headers: auth(h) })).json()) as {
      state: string;
    };
    const unprocessedAfter = await fetch(`${base(h)}/ingest/${job.id ?? ''}/unprocessedrecords`, {
      headers: auth(h),
    });
    expect(info.state).toBe('Failed');
    expect(parse(await unprocessed.text(), { columns: true })).toEqual([]);
    expect(parse(await unprocessedAfter.text(), { columns: true })).toEqual([{ Name: 'D' }, { Name: 'E' }]);
  });

  it('injected record faults fail individual rows with UNABLE_TO_LOCK_ROW', async () => {
    h = await startHarness();
    h.sandbox.faults.configure({ seed: 5, recordFailureRate: 0.3 });
    const res = await h.conn.bulk2.loadAndWaitForResults({
      object: 'Account',
      operation: 'insert',
      input: Array.from({ length: 50 }, (_, i) => ({ Name: `A${i}` })) as never,
      pollInterval: 10,
    });
    expect(res.failedResults.length).toBe(h.sandbox.faults.counters.recordFailures);
    expect(res.failedResults.length).toBeGreaterThan(5);
    expect(res.successfulResults.length + res.failedResults.length).toBe(50);
    expect(res.failedResults.every((r) => String(r.sf__Error).startsWith('UNABLE_TO_LOCK_ROW'))).toBe(true);
  });
});
