import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RecordUpdate, TaskWrite } from '../../../connectors/contract.js';
import { TASK_KEY_FIELD } from '../../../connectors/salesforce/index.js';
import { jobParts } from '../../../connectors/salesforce/push.js';
import { harness, queryPage, sfApi, soqlOf, V } from './helpers.js';

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());

function id(prefix: string, n: number): string {
  return `${prefix}${String(n).padStart(15, '0')}`;
}

describe('Salesforce push (sObject Collections)', () => {
  it('reports partial failures per record, retryable vs permanent, keeping the rest', async () => {
    const { connector } = harness();
    const updates: RecordUpdate[] = [
      { object: 'Contact', id: id('003', 1), fields: { Referral_Ready__c: true } },
      { object: 'Contact', id: id('003', 2), fields: { Referral_Ready__c: false } },
      { object: 'Lead', id: id('00Q', 3), fields: { Referral_Segment__c: 'VIP' } },
    ];
    let sent: { allOrNone: boolean; records: Record<string, unknown>[] } | undefined;
    const scope = sfApi()
      .patch(`${V}/composite/sobjects`, (b: typeof sent) => {
        sent = b;
        return true;
      })
      .reply(200, [
        { id: id('003', 1), success: true, errors: [] },
        { success: false, errors: [{ statusCode: 'UNABLE_TO_LOCK_ROW', message: 'locked', fields: [] }] },
        {
          success: false,
          errors: [{ statusCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: 'rule', fields: [] }],
        },
      ]);
    const outcomes = await connector.pushUpdates(updates);
    scope.done();
    expect(sent?.allOrNone).toBe(false);
    expect(sent?.records[0]).toEqual({
      attributes: { type: 'Contact' },
      id: id('003', 1),
      Referral_Ready__c: true,
    });
    expect(outcomes).toEqual([
      { object: 'Contact', id: id('003', 1), ok: true },
      {
        object: 'Contact',
        id: id('003', 2),
        ok: false,
        error: { code: 'UNABLE_TO_LOCK_ROW', message: 'locked', retryable: true },
      },
      {
        object: 'Lead',
        id: id('00Q', 3),
        ok: false,
        error: { code: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: 'rule', retryable: false },
      },
    ]);
  });

  it('sends at most 200 records per call', async () => {
    const { connector } = harness();
    const updates = Array.from({ length: 450 }, (_, i): RecordUpdate => ({
      object: 'Contact',
      id: id('003', i),
      fields: { Referral_Count__c: i },
    }));
    const sizes: number[] = [];
    const scope = sfApi()
      .patch(`${V}/composite/sobjects`)
      .times(3)
      .reply((_u, body) => {
        const records = (body as { records: { id: string }[] }).records;
        sizes.push(records.length);
        return [200, records.map((r) => ({ id: r.id, success: true, errors: [] }))];
      });
    const outcomes = await connector.pushUpdates(updates);
    scope.done();
    expect(sizes).toEqual([200, 200, 50]);
    expect(outcomes.filter((o) => o.ok)).toHaveLength(450);
    expect(connector.stats().calls.collections).toBe(3);
  });

  it('switches to a Bulk API 2.0 update job above the ingest threshold, fetching only the failures', async () => {
    const { connector } = harness({ bulkIngestThreshold: 2 });
    const updates = [1, 2, 3].map((n): RecordUpdate => ({
      object: 'Contact',
      id: id('003', n),
      fields: { Referral_Tags__c: n === 2 ? null : 'VIP;Segment A' },
    }));
    let csv = '';
    const scope = sfApi()
      .post(`${V}/jobs/ingest`, {
        object: 'Contact',
        operation: 'update',
        contentType: 'CSV',
        lineEnding: 'LF',
      })
      .reply(200, { id: '750I1', state: 'Open' })
      .put(`${V}/jobs/ingest/750I1/batches`, (b: string) => {
        csv = b;
        return true;
      })
      .reply(201)
      .patch(`${V}/jobs/ingest/750I1`, { state: 'UploadComplete' })
      .reply(200, { id: '750I1', state: 'UploadComplete' })
      .get(`${V}/jobs/ingest/750I1`)
      .reply(200, { id: '750I1', state: 'JobComplete', numberRecordsProcessed: 3, numberRecordsFailed: 1 })
      // No successfulResults: the two rows not in failedResults are the successes.
      .get(`${V}/jobs/ingest/750I1/failedResults`)
      .reply(
        200,
        `"sf__Id","sf__Error","Id"\n"","INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:bad value:Referral_Tags__c","${id('003', 3)}"\n`,
        {
          'Content-Type': 'text/csv',
        },
      );
    const outcomes = await connector.pushUpdates(updates);
    scope.done();
    expect(csv.split('\n')[0]).toBe('Id,Referral_Tags__c');
    expect(csv).toContain(`${id('003', 2)},#N/A`);
    expect(connector.stats().calls.bulkIngest).toBe(5);
    expect(outcomes).toEqual([
      { object: 'Contact', id: id('003', 1), ok: true },
      { object: 'Contact', id: id('003', 2), ok: true },
      {
        object: 'Contact',
        id: id('003', 3),
        ok: false,
        error: {
          code: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
          message: 'bad value:Referral_Tags__c',
          retryable: false,
        },
      },
    ]);
  });

  it('costs create + upload + close + status when every record is processed without failure', async () => {
    const { connector } = harness({ bulkIngestThreshold: 2 });
    const updates = [1, 2, 3].map((n): RecordUpdate => ({
      object: 'Contact',
      id: id('003', n),
      fields: { Referral_Count__c: n },
    }));
    const scope = sfApi()
      .post(`${V}/jobs/ingest`)
      .reply(200, { id: '750I2', state: 'Open' })
      .put(`${V}/jobs/ingest/750I2/batches`)
      .reply(201)
      .patch(`${V}/jobs/ingest/750I2`, { state: 'UploadComplete' })
      .reply(200, { id: '750I2', state: 'UploadComplete' })
      .get(`${V}/jobs/ingest/750I2`)
      .reply(200, { id: '750I2', state: 'JobComplete', numberRecordsProcessed: 3, numberRecordsFailed: 0 });
    const outcomes = await connector.pushUpdates(updates);
    scope.done();
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(outcomes).toHaveLength(3);
    expect(connector.stats().calls.bulkIngest).toBe(4);
  });

  it('asks for the successful rows when the job counts do not add up to the upload', async () => {
    const { connector } = harness({ bulkIngestThreshold: 1 });
    const updates = [1, 2].map((n): RecordUpdate => ({
      object: 'Lead',
      id: id('00Q', n),
      fields: { Referral_Count__c: n },
    }));
    const scope = sfApi()
      .post(`${V}/jobs/ingest`)
      .reply(200, { id: '750I3', state: 'Open' })
      .put(`${V}/jobs/ingest/750I3/batches`)
      .reply(201)
      .patch(`${V}/jobs/ingest/750I3`)
      .reply(200, { id: '750I3', state: 'UploadComplete' })
      .get(`${V}/jobs/ingest/750I3`)
      .reply(200, { id: '750I3', state: 'JobComplete' })
      .get(`${V}/jobs/ingest/750I3/failedResults`)
      .reply(200, '"sf__Id","sf__Error","Id"\n', { 'Content-Type': 'text/csv' })
      .get(`${V}/jobs/ingest/750I3/unprocessedrecords`)
      .reply(200, '"Id","Referral_Count__c"\n', { 'Content-Type': 'text/csv' })
      .get(`${V}/jobs/ingest/750I3/successfulResults`)
      .reply(200, `"sf__Id","sf__Created","Id"\n"${id('00Q', 1)}","false","${id('00Q', 1)}"\n`, {
        'Content-Type': 'text/csv',
      });
    const outcomes = await connector.pushUpdates(updates);
    scope.done();
    expect(outcomes.map((o) => [o.id, o.ok, o.ok ? null : o.error.code])).toEqual([
      [id('00Q', 1), true, null],
      [id('00Q', 2), false, 'UNPROCESSED'],
    ]);
  });

  it('decides per object: a large object goes through one job, the small ones share Collections', async () => {
    const { connector } = harness({ bulkIngestThreshold: 2 });
    const updates: RecordUpdate[] = [
      ...[1, 2, 3].map((n): RecordUpdate => ({ object: 'Contact', id: id('003', n), fields: { X__c: n } })),
      { object: 'Lead', id: id('00Q', 1), fields: { X__c: 1 } },
      { object: 'Account', id: id('001', 1), fields: { X__c: 1 } },
    ];
    let collection: { records: { attributes: { type: string } }[] } | undefined;
    const scope = sfApi()
      .post(`${V}/jobs/ingest`, (b: { object: string }) => b.object === 'Contact')
      .reply(200, { id: '750I4', state: 'Open' })
      .put(`${V}/jobs/ingest/750I4/batches`)
      .reply(201)
      .patch(`${V}/jobs/ingest/750I4`)
      .reply(200, { id: '750I4', state: 'UploadComplete' })
      .get(`${V}/jobs/ingest/750I4`)
      .reply(200, { id: '750I4', state: 'JobComplete', numberRecordsProcessed: 3, numberRecordsFailed: 0 })
      .patch(`${V}/composite/sobjects`, (b: typeof collection) => {
        collection = b;
        return true;
      })
      .reply(200, [
        { id: id('001', 1), success: true, errors: [] },
        { id: id('00Q', 1), success: true, errors: [] },
      ]);
    const outcomes = await connector.pushUpdates(updates);
    scope.done();
    expect(outcomes.filter((o) => o.ok)).toHaveLength(5);
    expect(collection?.records.map((r) => r.attributes.type)).toEqual(['Account', 'Lead']);
    expect(connector.stats().calls).toMatchObject({ bulkIngest: 4, collections: 1 });
  });

  it('polls a running job with doubling waits up to the ceiling, waiting before the first status', async () => {
    const { connector, sleeps } = harness({
      bulkIngestThreshold: 1,
      bulkPollIntervalMs: 100,
      bulkPollMaxIntervalMs: 300,
    });
    const running = { id: '750I5', state: 'InProgress' };
    const scope = sfApi()
      .post(`${V}/jobs/ingest`)
      .reply(200, { id: '750I5', state: 'Open' })
      .put(`${V}/jobs/ingest/750I5/batches`)
      .reply(201)
      .patch(`${V}/jobs/ingest/750I5`)
      .reply(200, { id: '750I5', state: 'UploadComplete' })
      .get(`${V}/jobs/ingest/750I5`)
      .times(3)
      .reply(200, running)
      .get(`${V}/jobs/ingest/750I5`)
      .reply(200, { id: '750I5', state: 'JobComplete', numberRecordsProcessed: 2, numberRecordsFailed: 0 });
    await connector.pushUpdates(
      [1, 2].map((n) => ({ object: 'Contact', id: id('003', n), fields: { X__c: n } })),
    );
    scope.done();
    expect(sleeps).toEqual([100, 200, 300, 300]);
  });

  it('splits one object into jobs only where an upload would pass the job data limit', () => {
    const list = Array.from({ length: 10 }, (_, i): RecordUpdate => ({
      object: 'Contact',
      id: id('003', i),
      fields: { Note__c: 'x'.repeat(1000) },
    }));
    expect(jobParts(list, 100_000_000)).toHaveLength(1);
    const parts = jobParts(list, 1024 + 3 * 1030);
    expect(parts.map((p) => p.length)).toEqual([3, 3, 3, 1]);
    expect(parts.flat()).toEqual(list);
  });
});

describe('Salesforce tasks (upsert on Referral_Task_Key__c)', () => {
  const pending = new Date('2026-11-23T08:00:00Z');
  const task = (key: string, pendingSince?: Date): TaskWrite => ({
    ...(pendingSince === undefined ? {} : { pendingSince }),
    key,
    kind: 'ask',
    subject: 'Ask for a referral',
    body: 'NPS 10',
    dueAt: new Date('2026-11-25T12:00:00Z'),
    priority: 'high',
    ownerId: id('005', 1),
    person: { object: 'Contact', id: id('003', 1) },
    deal: { object: 'Opportunity', id: id('006', 1) },
  });

  it('looks pending keys up, creates the missing ones by upsert and never re-creates an existing key', async () => {
    const { connector } = harness();
    let upserted: Record<string, unknown>[] = [];
    let soql = '';
    const scope = sfApi()
      .get(/\/query\?q=/)
      .reply((uri) => {
        soql = soqlOf(uri);
        return [200, queryPage([{ Id: id('00T', 1), [TASK_KEY_FIELD]: 'k1' }], { type: 'Task' })];
      })
      .patch(
        `${V}/composite/sobjects/Task/${TASK_KEY_FIELD}`,
        (b: { allOrNone: boolean; records: Record<string, unknown>[] }) => {
          upserted = b.records;
          return b.allOrNone === false;
        },
      )
      .reply(200, [{ id: id('00T', 2), success: true, errors: [], created: true }]);
    const outcomes = await connector.pushTasks([
      task('k1', pending),
      task('k2', pending),
      task('k2', pending),
    ]);
    scope.done();
    expect(soql).toBe(`SELECT Id, ${TASK_KEY_FIELD} FROM Task WHERE ${TASK_KEY_FIELD} IN ('k1','k2')`);
    expect(upserted).toEqual([
      {
        attributes: { type: 'Task' },
        [TASK_KEY_FIELD]: 'k2',
        Subject: 'Ask for a referral',
        Description: 'NPS 10',
        WhoId: id('003', 1),
        WhatId: id('006', 1),
        OwnerId: id('005', 1),
        ActivityDate: '2026-11-25',
        Status: 'Not Started',
        Priority: 'High',
      },
    ]);
    expect(outcomes).toEqual([
      { key: 'k1', ok: true, taskId: id('00T', 1), created: false },
      { key: 'k2', ok: true, taskId: id('00T', 2), created: true },
    ]);
  });

  it('creates first-attempt keys without a lookup (the upsert on the key is idempotent)', async () => {
    const { connector } = harness();
    const scope = sfApi()
      .patch(`${V}/composite/sobjects/Task/${TASK_KEY_FIELD}`)
      .reply(200, [
        { id: id('00T', 3), success: true, errors: [], created: true },
        { id: id('00T', 4), success: true, errors: [], created: true },
      ]);
    const outcomes = await connector.pushTasks([task('k3'), task('k4')]);
    scope.done();
    expect(outcomes.map((o) => o.ok && o.created)).toEqual([true, true]);
    expect(connector.stats().calls).toMatchObject({ query: 0, upsert: 1 });
  });

  it('looks every key up when taskLookupAlways is set', async () => {
    const { connector } = harness({ taskLookupAlways: true });
    const scope = sfApi()
      .get(/\/query\?q=/)
      .reply(200, queryPage([{ Id: id('00T', 5), [TASK_KEY_FIELD]: 'k5' }], { type: 'Task' }));
    const outcomes = await connector.pushTasks([task('k5')]);
    scope.done();
    expect(outcomes).toEqual([{ key: 'k5', ok: true, taskId: id('00T', 5), created: false }]);
  });

  it('looks long keys up in as many queries as keep each URI under the 16 KB limit', async () => {
    const { connector } = harness();
    // Keys of the engine's shape, long enough that 300 of them would pass 16,384 bytes encoded.
    const keys = Array.from({ length: 300 }, (_, i) => `ask:${id('003', i)}:2026-11-23:nps-survey`);
    const uris: string[] = [];
    const scope = sfApi()
      .get(/\/query\?q=/)
      .times(2)
      .reply((uri) => {
        uris.push(uri);
        const found = soqlOf(uri).match(/'[^']+'/g) ?? [];
        return [
          200,
          queryPage(
            found.map((k, i) => ({
              Id: id('00T', uris.length * 1000 + i),
              [TASK_KEY_FIELD]: k.slice(1, -1),
            })),
            { type: 'Task' },
          ),
        ];
      });
    const outcomes = await connector.pushTasks(keys.map((k) => task(k, pending)));
    scope.done();
    expect(uris).toHaveLength(2);
    for (const uri of uris) expect(uri.length).toBeLessThan(12_000);
    expect(outcomes.filter((o) => o.ok && !o.created)).toHaveLength(300);
  });

  it('a retried upsert that matches the first task reports created: false (one task per key)', async () => {
    const { connector } = harness();
    const scope = sfApi()
      .get(/\/query\?q=/)
      .reply(200, queryPage([], { type: 'Task' }))
      .patch(`${V}/composite/sobjects/Task/${TASK_KEY_FIELD}`)
      .reply(200, [{ id: id('00T', 7), success: true, errors: [], created: false }]);
    const outcomes = await connector.pushTasks([task('k7', pending)]);
    scope.done();
    expect(outcomes).toEqual([{ key: 'k7', ok: true, taskId: id('00T', 7), created: false }]);
    expect(connector.stats().calls.upsert).toBe(1);
  });
});
