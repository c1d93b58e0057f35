import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OwnedFieldDefinition } from '../../../connectors/contract.js';
import { harness, queryPage, sfApi, soap, soqlOf, USER_ID, V, xmlFields } from './helpers.js';

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());

const SOAP_PATH = '/services/Soap/m/62.0';
const XML = { 'Content-Type': 'text/xml' };
const PS = 'Referral_Sync_Fields';
const PS_ID = '0PS000000000001AAA';

const FIELDS: OwnedFieldDefinition[] = [
  { object: 'Contact', name: 'Referral_Ready__c', label: 'Referral ready', type: 'boolean' },
  {
    object: 'Contact',
    name: 'Referral_Tags__c',
    label: 'Referral tags',
    type: 'multi',
    options: ['VIP', 'Segment A'],
  },
  { object: 'Lead', name: 'Referral_Ready__c', label: 'Referral ready', type: 'boolean' },
];
const ALL = [
  'Contact.Referral_Ready__c',
  'Contact.Referral_Tags__c',
  'Lead.Referral_Ready__c',
  'Activity.Referral_Task_Key__c',
];

function soapCall(method: string, type?: string) {
  return (body: string): boolean =>
    body.includes(`<${method}`) && (type === undefined || body.includes(type));
}

function field(fullName: string, type: string, options?: string[]): string {
  const extra =
    options === undefined
      ? {}
      : {
          valueSet: {
            valueSetDefinition: { value: options.map((o) => ({ fullName: o, default: false, label: o })) },
          },
        };
  return `<records xsi:type="CustomField">${xmlFields({ fullName, label: fullName, type, ...extra })}</records>`;
}

function permissionSet(fields: string[]): string {
  const perms = fields.map((f) => ({ field: f, readable: true, editable: true }));
  return `<records xsi:type="PermissionSet">${xmlFields({ fullName: PS, label: 'Referral Sync fields', fieldPermissions: perms })}</records>`;
}

describe('Salesforce provisioning (Metadata API + permission set)', () => {
  it('creates fields, extends picklists, grants and assigns access; a second run writes nothing', async () => {
    const { connector } = harness();
    const created: string[] = [];
    let psBody = '';
    let assignment: unknown;
    const first = sfApi()
      .post(SOAP_PATH, soapCall('readMetadata', 'CustomField'))
      .reply(
        200,
        soap(
          'readMetadata',
          `<result><records xsi:nil="true"/>${field('Contact.Referral_Tags__c', 'MultiselectPicklist', ['VIP'])}<records xsi:nil="true"/><records xsi:nil="true"/></result>`,
        ),
        XML,
      )
      // Not returned by readMetadata: one describe per object confirms they do not exist yet.
      .get(`${V}/sobjects/Contact/describe`)
      .reply(200, { fields: [{ name: 'Email', type: 'email' }] })
      .get(`${V}/sobjects/Lead/describe`)
      .reply(200, { fields: [{ name: 'Email', type: 'email' }] })
      .get(`${V}/sobjects/Task/describe`)
      .reply(200, { fields: [{ name: 'Subject', type: 'string' }] })
      .post(SOAP_PATH, (b: string) => {
        if (!soapCall('createMetadata', 'CustomField')(b)) return false;
        created.push(...[...b.matchAll(/<fullName>([^<]+)<\/fullName>/g)].map((m) => m[1] as string));
        return true;
      })
      .reply(
        200,
        soap(
          'createMetadata',
          ['Contact.Referral_Ready__c', 'Lead.Referral_Ready__c', 'Activity.Referral_Task_Key__c']
            .map((n) => `<result><fullName>${n}</fullName><success>true</success></result>`)
            .join(''),
        ),
        XML,
      )
      .post(
        SOAP_PATH,
        (b: string) =>
          soapCall('updateMetadata', 'CustomField')(b) && b.includes('Segment A') && b.includes('VIP'),
      )
      .reply(
        200,
        soap(
          'updateMetadata',
          '<result><fullName>Contact.Referral_Tags__c</fullName><success>true</success></result>',
        ),
        XML,
      )
      .post(SOAP_PATH, soapCall('readMetadata', 'PermissionSet'))
      .reply(200, soap('readMetadata', '<result><records xsi:nil="true"/></result>'), XML)
      .post(SOAP_PATH, (b: string) => {
        if (!soapCall('createMetadata', 'PermissionSet')(b)) return false;
        psBody = b;
        return true;
      })
      .reply(
        200,
        soap('createMetadata', `<result><fullName>${PS}</fullName><success>true</success></result>`),
        XML,
      )
      .get(/\/query\?q=/)
      .reply((uri) => {
        expect(soqlOf(uri)).toBe(`SELECT Id FROM PermissionSet WHERE Name = '${PS}'`);
        return [200, queryPage([{ Id: PS_ID }], { type: 'PermissionSet' })];
      })
      .get(/\/query\?q=/)
      .reply((uri) => {
        expect(soqlOf(uri)).toContain(`AssigneeId = '${USER_ID}'`);
        return [200, queryPage([], { type: 'PermissionSetAssignment' })];
      })
      .post(`${V}/sobjects/PermissionSetAssignment`, (b: unknown) => {
        assignment = b;
        return true;
      })
      .reply(201, { id: '0Pa000000000001AAA', success: true, errors: [] });

    const report = await connector.provision(FIELDS);
    first.done();
    expect(created).toEqual([
      'Contact.Referral_Ready__c',
      'Lead.Referral_Ready__c',
      'Activity.Referral_Task_Key__c',
    ]);
    expect(report).toEqual({
      created: ['Contact.Referral_Ready__c', 'Lead.Referral_Ready__c', 'Activity.Referral_Task_Key__c'],
      updated: ['Contact.Referral_Tags__c'],
      unchanged: [],
      conflicts: [],
      writeCalls: 4,
    });
    for (const f of ALL) expect(psBody).toContain(`<field>${f}</field>`);
    expect(assignment).toEqual({ AssigneeId: USER_ID, PermissionSetId: PS_ID });

    // Second run: everything is in place; only reads happen (a write would find no interceptor).
    const second = sfApi()
      .post(SOAP_PATH, soapCall('readMetadata', 'CustomField'))
      .reply(
        200,
        soap(
          'readMetadata',
          `<result>${field('Contact.Referral_Ready__c', 'Checkbox')}${field('Contact.Referral_Tags__c', 'MultiselectPicklist', ['VIP', 'Segment A'])}${field('Lead.Referral_Ready__c', 'Checkbox')}${field('Activity.Referral_Task_Key__c', 'Text')}</result>`,
        ),
        XML,
      )
      .post(SOAP_PATH, soapCall('readMetadata', 'PermissionSet'))
      .reply(200, soap('readMetadata', `<result>${permissionSet(ALL)}</result>`), XML)
      .get(/\/query\?q=/)
      .reply(200, queryPage([{ Id: PS_ID }], { type: 'PermissionSet' }))
      .get(/\/query\?q=/)
      .reply(200, queryPage([{ Id: '0Pa000000000001AAA' }], { type: 'PermissionSetAssignment' }));
    const again = await connector.provision(FIELDS);
    second.done();
    expect(again).toEqual({ created: [], updated: [], unchanged: ALL, conflicts: [], writeCalls: 0 });
  });

  it('treats a field that only describe shows (pre-existing, e.g. seeded) as existing, not as one to create', async () => {
    const { connector } = harness();
    const scope = sfApi()
      .post(SOAP_PATH, soapCall('readMetadata', 'CustomField'))
      .reply(
        200,
        soap(
          'readMetadata',
          `<result><records xsi:nil="true"/>${field('Contact.Referral_Tags__c', 'MultiselectPicklist', ['VIP', 'Segment A'])}${field('Lead.Referral_Ready__c', 'Checkbox')}${field('Activity.Referral_Task_Key__c', 'Text')}</result>`,
        ),
        XML,
      )
      .get(`${V}/sobjects/Contact/describe`)
      .reply(200, { fields: [{ name: 'referral_ready__c', type: 'boolean' }] })
      .post(SOAP_PATH, soapCall('readMetadata', 'PermissionSet'))
      .reply(
        200,
        soap('readMetadata', `<result>${permissionSet(ALL.map((f) => f.toLowerCase()))}</result>`),
        XML,
      )
      .get(/\/query\?q=/)
      .reply(200, queryPage([{ Id: PS_ID }]))
      .get(/\/query\?q=/)
      .reply(200, queryPage([{ Id: '0Pa1' }]));
    const report = await connector.provision(FIELDS);
    scope.done();
    expect(report).toMatchObject({ created: [], unchanged: ALL, writeCalls: 0 });
  });

  it('reports a same-named field of another type as a conflict and leaves it alone', async () => {
    const { connector } = harness();
    let psBody = '';
    const scope = sfApi()
      .post(SOAP_PATH, soapCall('readMetadata', 'CustomField'))
      .reply(
        200,
        soap(
          'readMetadata',
          `<result>${field('Contact.Referral_Ready__c', 'Text')}${field('Contact.Referral_Tags__c', 'MultiselectPicklist', ['VIP', 'Segment A'])}${field('Lead.Referral_Ready__c', 'Checkbox')}${field('Activity.Referral_Task_Key__c', 'Text')}</result>`,
        ),
        XML,
      )
      .post(SOAP_PATH, soapCall('readMetadata', 'PermissionSet'))
      .reply(200, soap('readMetadata', `<result>${permissionSet(ALL.slice(2))}</result>`), XML)
      .post(SOAP_PATH, (b: string) => {
        psBody = b;
        return soapCall('updateMetadata', 'PermissionSet')(b);
      })
      .reply(
        200,
        soap('updateMetadata', `<result><fullName>${PS}</fullName><success>true</success></result>`),
        XML,
      )
      .get(/\/query\?q=/)
      .reply(200, queryPage([{ Id: PS_ID }]))
      .get(/\/query\?q=/)
      .reply(200, queryPage([{ Id: '0Pa1' }]));
    const report = await connector.provision(FIELDS);
    scope.done();
    expect(report.conflicts).toEqual([
      {
        object: 'Contact',
        name: 'Referral_Ready__c',
        reason: expect.stringContaining('exists as Text') as string,
      },
    ]);
    expect(report.created).toEqual([]);
    expect(report.unchanged).toEqual(ALL.slice(1));
    // The permission set gains the missing compatible field, never the conflicting one.
    expect(psBody).toContain('<field>Contact.Referral_Tags__c</field>');
    expect(psBody).not.toContain('<field>Contact.Referral_Ready__c</field>');
    expect(report.writeCalls).toBe(1);
  });
});
