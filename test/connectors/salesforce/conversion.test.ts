import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CrmRecord } from '../../../connectors/contract.js';
import { conversionUpdates } from '../../../connectors/salesforce/index.js';
import { harness, queryPage, sfApi, soqlOf, V } from './helpers.js';

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());

const CONTACT = '003000000000009AAA';
const OPP = '006000000000009AAA';

function lead(over: Partial<CrmRecord['fields']> = {}): CrmRecord {
  return {
    object: 'Lead',
    id: '00Q000000000001AAA',
    fields: {
      ConvertedContactId: CONTACT,
      ConvertedOpportunityId: OPP,
      Referral_Code_Used__c: 'ABCD-7',
      Referred_By_Contact_Id__c: '003000000000001AAA',
      Referred_By_Name__c: 'Ada Lovelace',
      Referral_Attribution_Method__c: 'code',
      ...over,
    },
    modifiedAt: '2026-11-20T10:00:00.000Z',
    deleted: false,
    links: { Contact: [CONTACT], Opportunity: [OPP] },
  };
}

describe('Lead conversion carry-over', () => {
  it('copies attribution only into empty fields of the converted Contact and Opportunity', () => {
    const current = new Map([
      [
        CONTACT,
        {
          Referral_Code_Used__c: null,
          Referred_By_Contact_Id__c: '003000000000005AAA',
          Referred_By_Name__c: '',
          Referral_Attribution_Method__c: null,
        },
      ],
      [OPP, { Referral_Code_Used__c: 'ABCD-7', Referred_By_Contact_Id__c: null, Referred_By_Name__c: null }],
    ]);
    expect(conversionUpdates([lead()], current)).toEqual([
      {
        object: 'Contact',
        id: CONTACT,
        fields: {
          Referral_Code_Used__c: 'ABCD-7',
          Referred_By_Name__c: 'Ada Lovelace',
          Referral_Attribution_Method__c: 'code',
        },
      },
      {
        object: 'Opportunity',
        id: OPP,
        fields: { Referred_By_Contact_Id__c: '003000000000001AAA', Referred_By_Name__c: 'Ada Lovelace' },
      },
    ]);
    // 'always' overwrites a different value (the admin's choice), never an equal one.
    const always = conversionUpdates([lead()], current, undefined, 'always');
    expect(always[0]?.fields.Referred_By_Contact_Id__c).toBe('003000000000001AAA');
    expect(always[1]?.fields).not.toHaveProperty('Referral_Code_Used__c');
  });

  it('ignores unconverted and deleted leads', () => {
    const unconverted = lead({ ConvertedContactId: null, ConvertedOpportunityId: null });
    unconverted.links = {};
    expect(conversionUpdates([unconverted, { ...lead(), deleted: true }], new Map())).toEqual([]);
  });

  it('reads the converted records in bulk, then writes the missing values through Collections', async () => {
    const { connector } = harness();
    const soqls: string[] = [];
    let written: unknown;
    const scope = sfApi()
      .get(/\/query\?q=/)
      .times(2)
      .reply((uri) => {
        const soql = soqlOf(uri);
        soqls.push(soql);
        return soql.includes('FROM Contact')
          ? [
              200,
              queryPage([
                {
                  Id: CONTACT,
                  Referral_Code_Used__c: null,
                  Referred_By_Contact_Id__c: null,
                  Referred_By_Name__c: null,
                  Referral_Attribution_Method__c: null,
                },
              ]),
            ]
          : [
              200,
              queryPage(
                [
                  {
                    Id: OPP,
                    Referral_Code_Used__c: 'ABCD-7',
                    Referred_By_Contact_Id__c: '003000000000001AAA',
                    Referred_By_Name__c: 'Ada Lovelace',
                  },
                ],
                { type: 'Opportunity' },
              ),
            ];
      })
      .patch(`${V}/composite/sobjects`, (b: unknown) => {
        written = b;
        return true;
      })
      .reply(200, [{ id: CONTACT, success: true, errors: [] }]);
    const outcomes = await connector.carryLeadConversions([lead()]);
    scope.done();
    expect(soqls[0]).toBe(
      `SELECT Id, Referral_Code_Used__c, Referred_By_Contact_Id__c, Referred_By_Name__c, Referral_Attribution_Method__c FROM Contact WHERE Id IN ('${CONTACT}')`,
    );
    expect(written).toEqual({
      allOrNone: false,
      records: [
        {
          attributes: { type: 'Contact' },
          id: CONTACT,
          Referral_Code_Used__c: 'ABCD-7',
          Referred_By_Contact_Id__c: '003000000000001AAA',
          Referred_By_Name__c: 'Ada Lovelace',
          Referral_Attribution_Method__c: 'code',
        },
      ],
    });
    expect(outcomes).toEqual([{ object: 'Contact', id: CONTACT, ok: true }]);
  });
});
