import { afterEach, describe, expect, it } from 'vitest';
import { rejectionOf, smallSeed, startHarness } from './fixtures.js';
import type { Harness } from './fixtures.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

interface SaveResult {
  fullName: string;
  success: boolean;
  created?: boolean;
  errors?: { statusCode: string; message: string } | { statusCode: string; message: string }[];
}

const firstError = (r: SaveResult): string | undefined =>
  Array.isArray(r.errors) ? r.errors[0]?.statusCode : r.errors?.statusCode;

/** The custom fields referral-sync provisions, one of each type it uses. */
const FIELDS = [
  { fullName: 'Contact.Referral_Ready__c', label: 'Referral Ready', type: 'Checkbox', defaultValue: 'false' },
  { fullName: 'Contact.Referral_Score__c', label: 'Referral Score', type: 'Number', precision: 5, scale: 0 },
  { fullName: 'Contact.Referral_Rewards__c', label: 'Rewards', type: 'Currency', precision: 16, scale: 2 },
  { fullName: 'Contact.Referral_Last_Ask__c', label: 'Last Ask', type: 'Date' },
  { fullName: 'Contact.Referral_Synced_At__c', label: 'Synced At', type: 'DateTime' },
  {
    fullName: 'Contact.Referral_Code__c',
    label: 'Referral Code',
    type: 'Text',
    length: 40,
    externalId: true,
    unique: true,
  },
  { fullName: 'Contact.Referral_Why__c', label: 'Why', type: 'LongTextArea', length: 32768, visibleLines: 5 },
  {
    fullName: 'Contact.Referral_Tags__c',
    label: 'Tags',
    type: 'MultiselectPicklist',
    visibleLines: 4,
    valueSet: {
      valueSetDefinition: {
        value: [
          { fullName: 'promoter', default: false, label: 'promoter' },
          { fullName: 'at_risk', default: false, label: 'at_risk' },
        ],
      },
    },
  },
];

async function grant(harness: Harness, fields: string[]): Promise<void> {
  const ps = (await harness.conn.metadata.upsert('PermissionSet', {
    fullName: 'Referral_Sync_Fields',
    label: 'Referral Sync Fields',
    fieldPermissions: fields.map((field) => ({ field, readable: true, editable: true })),
  } as never)) as unknown as SaveResult;
  expect(ps.success).toBe(true);
  const found = await harness.conn.query<{ Id: string }>(
    "SELECT Id, Name FROM PermissionSet WHERE Name = 'Referral_Sync_Fields'",
  );
  const psId = found.records[0]?.Id ?? '';
  const existing = await harness.conn.query(
    `SELECT Id FROM PermissionSetAssignment WHERE PermissionSetId = '${psId}' AND AssigneeId = '${harness.tokens.userId}'`,
  );
  if (existing.totalSize === 0)
    await harness.conn
      .sobject('PermissionSetAssignment')
      .create({ AssigneeId: harness.tokens.userId, PermissionSetId: psId });
}

describe('Salesforce sandbox: Metadata API custom fields and field-level security', () => {
  it('creates fields that stay invisible (query INVALID_FIELD, describe omits, writes refused) until a permission set is assigned', async () => {
    h = await startHarness();
    h.sandbox.loadSeed(smallSeed());
    const created = (await h.conn.metadata.create('CustomField', FIELDS as never)) as unknown as SaveResult[];
    expect(created.map((r) => [r.fullName, r.success])).toEqual(FIELDS.map((f) => [f.fullName, true]));

    expect((await rejectionOf(h.conn.query('SELECT Id, Referral_Score__c FROM Contact'))).errorCode).toBe(
      'INVALID_FIELD',
    );
    const before = await h.conn.sobject('Contact').describe();
    expect(before.fields.map((f) => f.name)).not.toContain('Referral_Score__c');
    const [alice] = (
      await h.conn.query<{ Id: string }>("SELECT Id FROM Contact WHERE Email = 'alice@acme.test'")
    ).records;
    const refused = await h.conn.sobject('Contact').update([{ Id: alice?.Id ?? '', Referral_Score__c: 80 }]);
    expect(refused[0]).toMatchObject({ success: false, errors: [{ statusCode: 'INVALID_FIELD' }] });

    await grant(
      h,
      FIELDS.map((f) => f.fullName),
    );
    const after = await h.conn.describe('Contact');
    const tags = after.fields.find((f) => f.name === 'Referral_Tags__c');
    expect(tags).toMatchObject({ type: 'multipicklist', custom: true, updateable: true });
    expect(tags?.picklistValues?.map((p) => p.value)).toEqual(['promoter', 'at_risk']);
    expect(after.fields.find((f) => f.name === 'Referral_Code__c')).toMatchObject({
      type: 'string',
      externalId: true,
      unique: true,
      length: 40,
    });

    const ok = await h.conn.sobject('Contact').update([
      {
        Id: alice?.Id ?? '',
        Referral_Score__c: 80,
        Referral_Ready__c: true,
        Referral_Tags__c: 'promoter;at_risk',
        Referral_Synced_At__c: '2026-11-23T09:00:00+01:00',
        Referral_Rewards__c: 12.345,
      },
    ]);
    expect(ok[0]?.success).toBe(true);
    const row = await h.conn.query<Record<string, unknown>>(
      `SELECT Referral_Score__c, Referral_Ready__c, Referral_Tags__c, Referral_Synced_At__c, Referral_Rewards__c FROM Contact WHERE Id = '${alice?.Id ?? ''}'`,
    );
    expect(row.records[0]).toMatchObject({
      Referral_Score__c: 80,
      Referral_Ready__c: true,
      Referral_Tags__c: 'promoter;at_risk',
      Referral_Synced_At__c: '2026-11-23T08:00:00.000+0000',
      Referral_Rewards__c: 12.35,
    });
    const others = await h.conn.query<Record<string, unknown>>(
      "SELECT Referral_Ready__c FROM Contact WHERE Email = 'bob@globex.test'",
    );
    expect(others.records[0]?.Referral_Ready__c).toBe(false);
  });

  it('is idempotent through upsert, refuses duplicates and type changes, reads and deletes', async () => {
    h = await startHarness();
    const field = FIELDS[1] ?? {};
    const first = (await h.conn.metadata.upsert('CustomField', field as never)) as unknown as SaveResult;
    const again = (await h.conn.metadata.upsert('CustomField', field as never)) as unknown as SaveResult;
    expect([first.created, again.created, again.success]).toEqual([true, false, true]);
    const dup = (await h.conn.metadata.create('CustomField', field as never)) as unknown as SaveResult;
    expect(firstError(dup)).toBe('DUPLICATE_DEVELOPER_NAME');
    const conflict = (await h.conn.metadata.upsert('CustomField', {
      ...field,
      type: 'Checkbox',
      defaultValue: 'false',
    } as never)) as unknown as SaveResult;
    expect(conflict.success).toBe(false);
    expect(firstError(conflict)).toBe('FIELD_INTEGRITY_EXCEPTION');
    const read = (await h.conn.metadata.read(
      'CustomField',
      'Contact.Referral_Score__c',
    )) as unknown as Record<string, unknown>;
    expect(read).toMatchObject({
      fullName: 'Contact.Referral_Score__c',
      type: 'Number',
      precision: 5,
      label: 'Referral Score',
    });
    const missing = (await h.conn.metadata.read('CustomField', 'Contact.Nope__c')) as unknown as Record<
      string,
      unknown
    >;
    expect(missing.fullName ?? '').toBe('');
    const del = (await h.conn.metadata.delete(
      'CustomField',
      'Contact.Referral_Score__c',
    )) as unknown as SaveResult;
    expect(del.success).toBe(true);
    const gone = (await h.conn.metadata.create('CustomField', field as never)) as unknown as SaveResult;
    expect(gone.success).toBe(true);
  });

  it('activity fields are created on Activity and appear on Task; Task.X__c is refused', async () => {
    h = await startHarness();
    const onTask = (await h.conn.metadata.create('CustomField', {
      fullName: 'Task.Referral_Key__c',
      label: 'Key',
      type: 'Text',
      length: 80,
    } as never)) as unknown as SaveResult;
    expect(onTask.success).toBe(false);
    const onActivity = (await h.conn.metadata.create('CustomField', {
      fullName: 'Activity.Referral_Key__c',
      label: 'Key',
      type: 'Text',
      length: 80,
    } as never)) as unknown as SaveResult;
    expect(onActivity.success).toBe(true);
    await grant(h, ['Task.Referral_Key__c']);
    const task = await h.conn.sobject('Task').create({ Subject: 'Ask', Referral_Key__c: 'rs:1' });
    expect(task.success).toBe(true);
    const q = await h.conn.query<Record<string, unknown>>('SELECT Referral_Key__c FROM Task');
    expect(q.records[0]?.Referral_Key__c).toBe('rs:1');
  });

  it('refuses invalid definitions and permission sets on unknown fields', async () => {
    h = await startHarness();
    const noLength = (await h.conn.metadata.create('CustomField', {
      fullName: 'Contact.Bad__c',
      label: 'Bad',
      type: 'Text',
    } as never)) as unknown as SaveResult;
    expect(firstError(noLength)).toBe('FIELD_INTEGRITY_EXCEPTION');
    const ps = (await h.conn.metadata.upsert('PermissionSet', {
      fullName: 'X',
      label: 'X',
      fieldPermissions: [{ field: 'Contact.Nope__c', readable: true, editable: false }],
    } as never)) as unknown as SaveResult;
    expect(firstError(ps)).toBe('INVALID_CROSS_REFERENCE_KEY');
    expect(h.sandbox.state.counters.metadata).toBe(2);
  });

  it('an expired session on the SOAP endpoint is refreshed by jsforce (500 sf:INVALID_SESSION_ID)', async () => {
    h = await startHarness();
    const conn = h.refreshingConn();
    h.sandbox.expireSessions();
    const r = (await conn.metadata.create('CustomField', FIELDS[0] as never)) as unknown as SaveResult;
    expect(r.success).toBe(true);
    expect(h.sandbox.state.counters.invalidSession).toBe(1);
    expect(h.sandbox.state.counters.oauthToken).toBe(1);
  });
});
