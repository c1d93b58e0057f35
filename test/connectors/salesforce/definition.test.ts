import { describe, expect, it } from 'vitest';
import {
  encodeSalesforce,
  SALESFORCE_FACTS,
  salesforceDefinition,
} from '../../../connectors/salesforce/index.js';
import { OWNED_FIELDS } from '../../../src/engine/model.js';
import { SEED_INPUT_FIELDS } from '../../../src/sandbox/seed/types.js';
import { loadMapping } from '../../../src/sync/mapping.js';

describe('Salesforce definition', () => {
  it('encodes owned values in Salesforce wire formats', () => {
    expect(encodeSalesforce('boolean', true)).toBe(true);
    expect(encodeSalesforce('boolean', null)).toBe(false);
    expect(encodeSalesforce('number', 87.5)).toBe(87.5);
    expect(encodeSalesforce('currency', 1234.567)).toBe(1234.57);
    expect(encodeSalesforce('date', new Date('2026-03-01T23:30:00Z'))).toBe('2026-03-01');
    expect(encodeSalesforce('datetime', new Date('2026-03-01T23:30:00Z'))).toBe('2026-03-01T23:30:00.000Z');
    expect(encodeSalesforce('multi', ['VIP', 'Segment A', 'VIP'])).toBe('VIP;Segment A');
    expect(encodeSalesforce('multi', [])).toBeNull();
    expect(encodeSalesforce('string', 'x'.repeat(300))).toHaveLength(255);
    expect(encodeSalesforce('text', null)).toBeNull();
    expect(() => encodeSalesforce('number', 'abc')).toThrowError(
      expect.objectContaining({ code: 'ERR_INVALID_INPUT' }) as Error,
    );
  });

  it('declares a burst bucket and a daily bucket at the configured share', () => {
    const def = salesforceDefinition({ clientId: 'c', settings: { dailyBudgetShare: 0.1 } });
    const rules = def.rateLimits('oauth');
    expect(rules.find((r) => r.bucket === 'daily')).toEqual({
      bucket: 'daily',
      limit: Math.floor(SALESFORCE_FACTS.budget.fallbackDailyAllowance * 0.1),
      windowMs: 86_400_000,
    });
    expect(rules.find((r) => r.bucket === 'default')?.limit).toBeGreaterThan(0);
  });

  it('rejects invalid settings with a clear error', () => {
    const def = salesforceDefinition({ clientId: 'c' });
    expect(() =>
      def.create({
        tenantId: 't',
        tokens: {
          current: async () => ({ accessToken: 'a', accountId: 'o' }),
          refreshAfterRejection: async (s) => s,
        },
        limiter: { take: async () => {}, observe: async () => {}, snapshot: async () => ({ buckets: [] }) },
        logger: { debug() {}, info() {}, warn() {}, error() {} },
        now: () => new Date(),
        settings: { dailyBudgetShare: 2 },
      }),
    ).toThrowError(expect.objectContaining({ code: 'ERR_SALESFORCE_SETTINGS_INVALID' }) as Error);
  });
});

describe('mappings/salesforce.json', () => {
  const mapping = loadMapping('salesforce');

  it('maps Contact and Lead as people, with every person field we own on both', () => {
    expect(mapping.objects.Contact).toMatchObject({ kind: 'person', personKind: 'contact' });
    expect(mapping.objects.Lead).toMatchObject({ kind: 'person', personKind: 'lead' });
    for (const object of ['Contact', 'Lead']) {
      const owned = mapping.objects[object]?.owned ?? {};
      expect(Object.keys(owned).sort()).toEqual(Object.keys(OWNED_FIELDS.person).sort());
    }
    expect(mapping.objects.Contact?.owned.referral_ready?.name).toBe('Referral_Ready__c');
    expect(mapping.objects.Lead?.owned.referrer_tier?.name).toBe('Referrer_Tier__c');
    expect(Object.keys(mapping.objects.Opportunity?.owned ?? {}).sort()).toEqual(
      Object.keys(OWNED_FIELDS.deal).sort(),
    );
    expect(Object.keys(mapping.objects.Account?.owned ?? {}).sort()).toEqual(
      Object.keys(OWNED_FIELDS.company).sort(),
    );
  });

  it('names every owned field in Pascal_Snake__c form of the PRODUCT.md words', () => {
    for (const om of Object.values(mapping.objects)) {
      for (const [id, def] of Object.entries(om.owned)) {
        const expected = `${id
          .split('_')
          .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
          .join('_')}__c`;
        expect(def.name).toBe(expected);
      }
    }
  });

  it('reads inputs from the seeded sandbox field names', () => {
    const seed = SEED_INPUT_FIELDS.salesforce as unknown as Record<string, Record<string, string>>;
    for (const [object, om] of Object.entries(mapping.objects)) {
      const known = new Set(Object.values(seed[object] ?? {}));
      for (const source of Object.values(om.inputs)) {
        const field = typeof source === 'string' ? source : 'field' in source ? source.field : undefined;
        if (field !== undefined && object !== 'User')
          expect(known.has(field), `${object}.${field}`).toBe(true);
      }
    }
  });

  it('uses won/closed flags, not stage names, for opportunities', () => {
    expect(mapping.objects.Opportunity?.inputs.isWon).toBe('IsWon');
    expect(mapping.objects.Opportunity?.inputs.personIds).toEqual({ link: 'Contact' });
    expect(mapping.objects.Lead?.inputs.convertedToId).toBe('ConvertedContactId');
  });
});
