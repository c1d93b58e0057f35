import { describe, expect, it } from 'vitest';
import type { CrmRecord } from '../../connectors/contract.js';
import { decodeBoolean, decodeDate, decodeNumber, decodeOwned } from '../../src/sync/decode.js';
import { fieldsToRead, inputHash, mapRecord, toRecordUpdate } from '../../src/sync/map.js';
import { ERR_MAPPING_INVALID, mergeOverride, parseMapping } from '../../src/sync/mapping.js';
import { isAppError } from '../../src/errors.js';
import type { Person } from '../../src/engine/model.js';

const mapping = parseMapping({
  crm: 'hubspot',
  version: 1,
  fieldGroup: { name: 'referral_sync', label: 'Referral Sync' },
  objects: {
    contacts: {
      kind: 'person',
      personKind: 'contact',
      links: ['companies'],
      inputs: {
        email: 'email',
        nps: 'nps_score',
        lastPurchaseAt: 'last_purchase_date',
        isCustomer: { field: 'lifecyclestage', in: ['customer', 'evangelist'] },
        companyId: { link: 'companies' },
        'capture.codeUsed': 'referral_code_used',
        totalSpend: { field: 'total_spend', currency: 'EUR' },
      },
      owned: {
        referral_ready: { name: 'referral_ready', label: 'Referral ready' },
        referral_tags: { name: 'referral_tags', label: 'Referral tags', options: ['Segment A'] },
        referral_readiness_score: { name: 'referral_readiness_score', label: 'Score' },
        referral_code: { name: 'referral_code', label: 'Code' },
      },
      mirrors: [{ from: 'referral_code', field: 'promo_code', policy: 'only-if-empty' }],
    },
    deals: {
      kind: 'deal',
      links: ['contacts'],
      inputs: {
        amount: { field: 'amount', currencyField: 'deal_currency_code' },
        personIds: { link: 'contacts' },
      },
    },
  },
});

function contact(fields: CrmRecord['fields'], links: CrmRecord['links'] = {}): CrmRecord {
  return { object: 'contacts', id: '101', fields, modifiedAt: '2026-01-01T00:00:00Z', deleted: false, links };
}

const encode = (type: string, value: unknown) =>
  Array.isArray(value)
    ? value.join(';')
    : value instanceof Date
      ? value.toISOString()
      : value === null
        ? ''
        : String(value);

describe('decode', () => {
  it('reads HubSpot strings and Salesforce scalars alike', () => {
    expect(decodeNumber('12.5')).toBe(12.5);
    expect(decodeNumber('$1,200.50')).toBe(1200.5);
    expect(decodeNumber('n/a')).toBeUndefined();
    expect(decodeNumber(true)).toBeUndefined();
    expect(decodeBoolean('true')).toBe(true);
    expect(decodeBoolean('No')).toBe(false);
    expect(decodeBoolean('maybe')).toBeUndefined();
    expect(decodeDate('2024-03-01')?.toISOString()).toBe('2024-03-01T00:00:00.000Z');
    expect(decodeDate('1709251200000')?.toISOString()).toBe('2024-03-01T00:00:00.000Z');
    expect(decodeDate('2024-03-01T10:00:00.000+0000')?.toISOString()).toBe('2024-03-01T10:00:00.000Z');
    expect(decodeDate('not a date')).toBeUndefined();
    expect(decodeOwned('multi', 'Segment A; VIP;')).toEqual(['Segment A', 'VIP']);
  });
});

describe('mapRecord', () => {
  it('maps inputs, links and current owned values', () => {
    const result = mapRecord(
      contact(
        {
          email: ' ann@example.com ',
          nps_score: '9',
          last_purchase_date: '2026-01-01',
          lifecyclestage: 'Customer',
          referral_code_used: 'ABCD-1',
          total_spend: '1200',
          referral_ready: 'true',
          referral_tags: 'Segment A;VIP',
          referral_readiness_score: '',
        },
        { companies: ['55', '56'] },
      ),
      mapping,
    );
    expect(result?.kind).toBe('person');
    const p = result?.value as Person;
    expect(p).toMatchObject({
      id: '101',
      kind: 'contact',
      email: 'ann@example.com',
      nps: 9,
      isCustomer: true,
      companyId: '55',
    });
    expect(p.capture?.codeUsed).toBe('ABCD-1');
    expect(p.totalSpend).toEqual({ amount: 1200, currency: 'EUR' });
    expect(p.lastPurchaseAt?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(p.current).toEqual({ referral_ready: true, referral_tags: ['Segment A', 'VIP'] });
  });

  it('treats unparseable values as missing, never as zero', () => {
    const p = mapRecord(contact({ nps_score: 'ten', lifecyclestage: null }), mapping)?.value as {
      nps?: number;
      isCustomer?: boolean;
    };
    expect(p.nps).toBeUndefined();
    expect(p.isCustomer).toBeUndefined();
  });

  it('maps deals with money currency from a field and all linked people', () => {
    const deal = mapRecord(
      {
        object: 'deals',
        id: '9',
        fields: { amount: '500', deal_currency_code: 'gbp' },
        modifiedAt: '',
        deleted: false,
        links: { contacts: ['1', '2'] },
      },
      mapping,
    );
    expect(deal?.value).toMatchObject({ amount: { amount: 500, currency: 'GBP' }, personIds: ['1', '2'] });
  });

  it('returns null for objects the mapping does not know', () => {
    expect(mapRecord({ ...contact({}), object: 'tickets' }, mapping)).toBeNull();
  });

  it('hash ignores owned values (our own writes) but not inputs', () => {
    const a = mapRecord(contact({ nps_score: '9', referral_ready: 'false' }), mapping)!;
    const b = mapRecord(contact({ nps_score: '9', referral_ready: 'true' }), mapping)!;
    const c = mapRecord(contact({ nps_score: '10', referral_ready: 'true' }), mapping)!;
    expect(inputHash(a)).toBe(inputHash(b));
    expect(inputHash(a)).not.toBe(inputHash(c));
  });
});

describe('fieldsToRead and toRecordUpdate', () => {
  it('reads only mapped, owned and mirrored fields', () => {
    const fields = fieldsToRead(mapping.objects.contacts!);
    expect(fields).toContain('nps_score');
    expect(fields).toContain('referral_ready');
    expect(fields).toContain('promo_code');
    expect(fields).not.toContain('companies');
  });

  it('encodes owned changes under CRM names and honours mirror policies', () => {
    const om = mapping.objects.contacts!;
    const update = toRecordUpdate(
      'contacts',
      '101',
      { referral_code: 'K7M2-9', referral_tags: ['A', 'B'] },
      om,
      { encode },
      { promo_code: '' },
    );
    expect(update).toEqual({
      object: 'contacts',
      id: '101',
      fields: { referral_code: 'K7M2-9', promo_code: 'K7M2-9', referral_tags: 'A;B' },
    });
    const kept = toRecordUpdate(
      'contacts',
      '101',
      { referral_code: 'K7M2-9' },
      om,
      { encode },
      { promo_code: 'SPRING' },
    );
    expect(kept?.fields).toEqual({ referral_code: 'K7M2-9' });
    expect(toRecordUpdate('contacts', '101', { referral_link: 'x' }, om, { encode })).toBeNull();
  });
});

describe('mapping validation', () => {
  it('names the path of an unknown canonical input', () => {
    try {
      parseMapping(
        mergeOverride(
          { crm: 'hubspot', version: 1, fieldGroup: { name: 'g', label: 'G' }, objects: {} },
          { objects: { contacts: { kind: 'person', personKind: 'contact', inputs: { shoeSize: 'x' } } } },
        ),
      );
      expect.unreachable();
    } catch (e) {
      expect(isAppError(e, ERR_MAPPING_INVALID)).toBe(true);
      expect((e as Error).message).toContain('objects.contacts.inputs.shoeSize');
    }
  });

  it('tenant override merges objects and deletes with null', () => {
    expect(mergeOverride({ a: { b: 1, c: 2 }, d: [1] }, { a: { c: null, e: 3 }, d: [2] })).toEqual({
      a: { b: 1, e: 3 },
      d: [2],
    });
  });
});
