import { describe, expect, it } from 'vitest';
import { OWNED_FIELDS } from '../../src/engine/model.js';
import { decodeWritten, encodeWritten, storedIndexKey } from '../../src/store/codec.js';
import { bucketOf, BUCKETS } from '../../src/store/keys.js';

describe('stored encodings are stable (they are data already in Redis)', () => {
  it('owned-field aliases never move', () => {
    // Appending to the alias table is fine; renumbering would mis-read every stored record.
    expect(encodeWritten({ referral_ready: true })).toBe('{"0":true}');
    expect(encodeWritten({ referral_rewards_due: 2 })).toBe('{"k":2}');
    expect(encodeWritten({ partner_referral_revenue: 10 })).toBe('{"p":10}');
  });

  it('every owned field of the model has an alias, so none is stored under its long name', () => {
    const names = new Set(Object.values(OWNED_FIELDS).flatMap((fields) => Object.keys(fields)));
    for (const name of names) {
      const encoded = encodeWritten({ [name]: 1 });
      expect(encoded, name).not.toContain(name);
      expect(decodeWritten(encoded)).toEqual({ [name]: 1 });
    }
  });

  it('dates, multi values, nulls and unknown names round-trip', () => {
    const values = {
      referral_last_asked_at: new Date('2026-05-01T10:00:00.000Z'),
      referral_tags: ['a', 'b'],
      referral_segment: null,
      '~weird': 'x',
      b: 'looks like an alias',
      Referral_Ready__c: false,
    };
    expect(decodeWritten(encodeWritten(values))).toEqual(values);
  });

  it('corrupt values are reported with a stable code', () => {
    expect(() => decodeWritten('{"0":{"x":1}}')).toThrow(
      expect.objectContaining({ code: 'ERR_STORE_CORRUPT' }),
    );
    expect(() => decodeWritten('not json')).toThrow(expect.objectContaining({ code: 'ERR_STORE_CORRUPT' }));
  });

  it('buckets and index digests are fixed functions of their input', () => {
    expect(bucketOf('10000001')).toBe(bucketOf('10000001'));
    expect(bucketOf('hello')).toBe(0xcab); // FNV-1a("hello") = 0x4f9f2cab, mod 4096
    const spread = new Set(Array.from({ length: 10_000 }, (_, i) => bucketOf(String(10_000_000 + i))));
    expect(spread.size).toBeGreaterThan(BUCKETS * 0.9);
    expect(storedIndexKey('abc7')).toBe('abc7');
    expect(storedIndexKey('jane@example.com.au')).toMatch(/^#[A-Za-z0-9_-]{16}$/);
    expect(storedIndexKey('#short')).not.toBe('#short');
  });
});
