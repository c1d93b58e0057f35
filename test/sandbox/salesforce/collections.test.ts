import { afterEach, describe, expect, it } from 'vitest';
import { API_VERSION, rejectionOf, smallSeed, startHarness } from './fixtures.js';
import type { Harness } from './fixtures.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

interface Rec {
  Id: string;
  [k: string]: unknown;
}

async function contactIds(harness: Harness): Promise<string[]> {
  return (await harness.conn.query<Rec>('SELECT Id FROM Contact ORDER BY Email')).records.map((r) => r.Id);
}

describe('Salesforce sandbox: sObject Collections through jsforce', () => {
  it('update: per-record results in request order; failures do not stop the others; one SystemModstamp per call', async () => {
    let now = Date.parse('2026-11-05T10:00:00Z');
    h = await startHarness({ now: () => new Date(now) });
    h.sandbox.loadSeed(smallSeed());
    const [a, b, c] = await contactIds(h);
    now += 60_000;
    const res = await h.conn.sobject('Contact').update([
      { Id: a ?? '', NPS_Score__c: 9 },
      { Id: b ?? '', LastName: null },
      { Id: '003bogus', Email: 'x@y.test' },
      { Id: c ?? '', Email: 'carla@new.test' },
    ]);
    expect(res).toEqual([
      { id: a, success: true, errors: [] },
      {
        id: b,
        success: false,
        errors: [
          {
            statusCode: 'REQUIRED_FIELD_MISSING',
            message: 'Required fields are missing: [LastName]',
            fields: ['LastName'],
          },
        ],
      },
      { success: false, errors: [expect.objectContaining({ statusCode: 'MALFORMED_ID' })] },
      { id: c, success: true, errors: [] },
    ]);
    const after = await h.conn.query<Rec>(
      `SELECT Id, NPS_Score__c, Email, SystemModstamp FROM Contact WHERE Id IN ('${a ?? ''}', '${c ?? ''}')`,
    );
    expect(after.records.map((r) => r.SystemModstamp)).toEqual([
      '2026-11-05T10:01:00.000+0000',
      '2026-11-05T10:01:00.000+0000',
    ]);
    expect(h.sandbox.state.writes.filter((w) => w.via === 'collections').map((w) => w.values)).toEqual([
      { NPS_Score__c: 9 },
      { Email: 'carla@new.test' },
    ]);
    expect(h.sandbox.state.counters.collections).toBe(1);
  });

  it('allOrNone: one bad record rolls back all, the valid ones report ALL_OR_NONE_OPERATION_ROLLED_BACK', async () => {
    h = await startHarness();
    h.sandbox.loadSeed(smallSeed());
    const [a] = await contactIds(h);
    const res = await h.conn.sobject('Contact').update(
      [
        { Id: a ?? '', Email: 'changed@x.test' },
        { Id: a ?? '', Nope__c: 1 },
      ],
      { allOrNone: true },
    );
    expect(res.map((r) => r.success)).toEqual([false, false]);
    expect((res[0] as { errors: { statusCode: string }[] }).errors[0]?.statusCode).toBe(
      'ALL_OR_NONE_OPERATION_ROLLED_BACK',
    );
    expect((res[1] as { errors: { statusCode: string }[] }).errors[0]?.statusCode).toBe('INVALID_FIELD');
    const still = await h.conn.sobject('Contact').retrieve(a ?? '');
    expect((still as unknown as Rec).Email).toBe('alice@acme.test');
  });

  it('create many, single create/update/delete, retrieve; read-only fields are refused', async () => {
    h = await startHarness();
    const created = await h.conn.sobject('Task').create([
      {
        Subject: 'Ask Alice for a referral',
        Status: 'Not Started',
        Priority: 'High',
        ActivityDate: '2026-11-30',
      },
      { Subject: 'Closed one', Status: 'Completed' },
    ]);
    expect(created.every((r) => r.success)).toBe(true);
    const ids = created.map((r) => (r as { id: string }).id);
    expect(ids.every((id) => id.startsWith('00T') && id.length === 18)).toBe(true);
    const tasks = await h.conn.query<Rec>(
      `SELECT Subject, IsClosed, Priority, OwnerId FROM Task WHERE Id IN ('${ids.join("','")}') ORDER BY Subject`,
    );
    expect(tasks.records.map((t) => [t.Subject, t.IsClosed])).toEqual([
      ['Ask Alice for a referral', false],
      ['Closed one', true],
    ]);
    expect(tasks.records[0]?.OwnerId).toBe(h.tokens.userId);
    const one = await h.conn.sobject('Account').create({ Name: 'Initech' });
    expect(one).toEqual({ id: expect.stringMatching(/^001/), success: true, errors: [] });
    const upd = await h.conn
      .sobject('Account')
      .update({ Id: (one as { id: string }).id, Website: 'initech.test' });
    expect(upd).toEqual({ id: (one as { id: string }).id, success: true, errors: [] });
    const ro = await rejectionOf(
      h.conn
        .sobject('Account')
        .update({ Id: (one as { id: string }).id, CreatedDate: '2020-01-01T00:00:00Z' }),
    );
    expect(ro.errorCode).toBe('INVALID_FIELD_FOR_INSERT_UPDATE');
    await h.conn.sobject('Account').destroy((one as { id: string }).id);
    expect((await h.conn.query('SELECT Id FROM Account')).totalSize).toBe(0);
    expect(
      (await rejectionOf(h.conn.sobject('Account').retrieve((one as { id: string }).id))).errorCode,
    ).toBe('NOT_FOUND');
  });

  it('upsert by External ID: created flags per record, the ext field must be an External ID', async () => {
    h = await startHarness();
    const md = await h.conn.metadata.create('CustomField', {
      fullName: 'Activity.Sync_Key__c',
      label: 'Sync Key',
      type: 'Text',
      length: 80,
      externalId: true,
      unique: true,
    } as never);
    expect(md).toMatchObject({ success: true });
    await h.conn.metadata.upsert('PermissionSet', {
      fullName: 'RS',
      label: 'RS',
      fieldPermissions: [{ field: 'Task.Sync_Key__c', readable: true, editable: true }],
    } as never);
    const ps = await h.conn.query<Rec>("SELECT Id FROM PermissionSet WHERE Name = 'RS'");
    await h.conn
      .sobject('PermissionSetAssignment')
      .create({ AssigneeId: h.tokens.userId, PermissionSetId: ps.records[0]?.Id });
    const first = await h.conn.sobject('Task').upsert(
      [
        { Sync_Key__c: 'k1', Subject: 'one' },
        { Sync_Key__c: 'k2', Subject: 'two' },
      ],
      'Sync_Key__c',
    );
    expect(first.map((r) => (r as { created: boolean }).created)).toEqual([true, true]);
    const second = await h.conn.sobject('Task').upsert(
      [
        { Sync_Key__c: 'K1', Subject: 'one again' },
        { Sync_Key__c: 'k3', Subject: 'three' },
      ],
      'Sync_Key__c',
    );
    expect(second.map((r) => [(r as { created: boolean }).created, r.success])).toEqual([
      [false, true],
      [true, true],
    ]);
    expect((await h.conn.query('SELECT Id FROM Task')).totalSize).toBe(3);
    const notExt = await h.conn.sobject('Task').upsert([{ Subject: 'x' }], 'Subject');
    expect((notExt[0] as { errors: { statusCode: string }[] }).errors[0]?.statusCode).toBe('INVALID_FIELD');
    const dup = await h.conn
      .sobject('Task')
      .create({ Subject: 'dup', Sync_Key__c: 'k2' })
      .catch((e: { errorCode: string }) => e);
    expect((dup as { errorCode: string }).errorCode).toBe('DUPLICATE_VALUE');
  });

  it('refuses more than 200 records in one collection call', async () => {
    h = await startHarness();
    const records = Array.from({ length: 201 }, (_, i) => ({ LastName: `N${i}` }));
    const err = await rejectionOf(h.conn.sobject('Contact').create(records));
    expect(err.errorCode).toBe('EXCEEDED_ID_LIMIT');
    expect((await h.conn.query('SELECT COUNT() FROM Contact')).totalSize).toBe(0);
  });

  it('converted leads are read-only; convertLead copies same-named fields to the new contact', async () => {
    h = await startHarness();
    const ids = h.sandbox.loadSeed(smallSeed());
    const dan = ids.people.get('l1') ?? '';
    const conv = h.sandbox.convertLead(dan);
    const res = await h.conn.sobject('Lead').update([{ Id: dan, Referral_Code_Used__c: 'X' }]);
    expect(res[0]).toMatchObject({
      success: false,
      errors: [{ statusCode: 'CANNOT_UPDATE_CONVERTED_LEAD' }],
    });
    const contact = await h.conn.query<Rec>(
      `SELECT Email, Referral_Code_Used__c, AccountId FROM Contact WHERE Id = '${conv.contactId}'`,
    );
    expect(contact.records[0]).toMatchObject({
      Email: 'dan@new.test',
      Referral_Code_Used__c: 'ALICE-10',
      AccountId: conv.accountId,
    });
    const lead = await h.conn.query<Rec>(
      `SELECT IsConverted, ConvertedOpportunityId FROM Lead WHERE Id = '${dan}'`,
    );
    expect(lead.records[0]).toMatchObject({ IsConverted: true, ConvertedOpportunityId: conv.opportunityId });
  });

  it('injected record failures answer UNABLE_TO_LOCK_ROW per record; the rest are saved', async () => {
    h = await startHarness();
    const ids = (
      await h.conn.sobject('Contact').create(Array.from({ length: 100 }, (_, i) => ({ LastName: `N${i}` })))
    ).map((r) => (r as { id: string }).id);
    h.sandbox.faults.configure({ seed: 3, recordFailureRate: 0.2 });
    const res = await h.conn.sobject('Contact').update(ids.map((Id) => ({ Id, Title: 'Customer' })));
    const failed = res.filter((r) => !r.success);
    expect(failed.length).toBe(h.sandbox.faults.counters.recordFailures);
    expect(failed.length).toBeGreaterThan(5);
    expect(
      failed.every(
        // jsforce types say errorCode; the wire (and SF docs) say statusCode.
        (r) =>
          (r as unknown as { errors: { statusCode: string }[] }).errors[0]?.statusCode ===
          'UNABLE_TO_LOCK_ROW',
      ),
    ).toBe(true);
    const titled = await h.conn.query("SELECT COUNT() FROM Contact WHERE Title = 'Customer'");
    expect(titled.totalSize).toBe(100 - failed.length);
  });

  it('answers 404 NOT_FOUND for unknown resources and sObjects', async () => {
    h = await startHarness();
    const res = await fetch(`${h.url}/services/data/v${API_VERSION}/sobjects/Nope/describe`, {
      headers: { Authorization: `Bearer ${h.tokens.accessToken}` },
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual([
      { message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' },
    ]);
  });
});
