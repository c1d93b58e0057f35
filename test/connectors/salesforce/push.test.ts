import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RecordUpdate, TaskWrite } from '../../../connectors/contract.js';
import { TASK_KEY_FIELD } from '../../../connectors/salesforce/index.js';
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

  it('switches to a Bulk API 2.0 update job above the ingest threshold', async () => {
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
      .get(`${V}/jobs/ingest/750I1/successfulResults`)
      .reply(
        200,
        `"sf__Id","sf__Created","Id"\n"${id('003', 1)}","false","${id('003', 1)}"\n"${id('003', 2)}","false","${id('003', 2)}"\n`,
        {
          'Content-Type': 'text/csv',
        },
      )
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
});

describe('Salesforce tasks (upsert on Referral_Task_Key__c)', () => {
  const task = (key: string): TaskWrite => ({
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

  it('creates missing tasks by upsert and never re-creates an existing key', async () => {
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
    const outcomes = await connector.pushTasks([task('k1'), task('k2'), task('k2')]);
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

  it('a retried upsert that matches the first task reports created: false (one task per key)', async () => {
    const { connector } = harness();
    const scope = sfApi()
      .get(/\/query\?q=/)
      .reply(200, queryPage([], { type: 'Task' }))
      .patch(`${V}/composite/sobjects/Task/${TASK_KEY_FIELD}`)
      .reply(200, [{ id: id('00T', 7), success: true, errors: [], created: false }]);
    const outcomes = await connector.pushTasks([task('k7')]);
    scope.done();
    expect(outcomes).toEqual([{ key: 'k7', ok: true, taskId: id('00T', 7), created: false }]);
    expect(connector.stats().calls.upsert).toBe(1);
  });
});
