/**
 * The write-back gate's fingerprint: equal configs (whatever their key order) match, and every part
 * a dry run depends on (rules, mapping override, pilot, CRM) changes it; other settings do not.
 */
import { describe, expect, it } from 'vitest';
import { configFingerprint } from '../../src/server/admin/write-back-gate.js';
import type { Tenant } from '../../src/store/types.js';

const tenant = (config: Partial<Tenant['config']>, crm: Tenant['crm'] = 'hubspot'): Tenant => ({
  id: 't1',
  crm,
  accountId: '1',
  mode: 'oauth',
  status: 'connected',
  statusAt: '2026-01-01T00:00:00.000Z',
  createdAt: '2026-01-01T00:00:00.000Z',
  config: { rules: null, mappingOverride: null, settings: {}, writeBack: 'off', pilot: null, ...config },
});

describe('write-back gate fingerprint', () => {
  it('ignores key order and the settings that do not change the plan', () => {
    const a = tenant({ rules: { threshold: 60, asks: { coolDownDays: 30, maxPerYear: 2 } } });
    const b = tenant({
      rules: { asks: { maxPerYear: 2, coolDownDays: 30 }, threshold: 60 },
      settings: { syncEveryMs: 60_000 },
      writeBack: 'on',
    });
    expect(configFingerprint(b)).toBe(configFingerprint(a));
  });

  it('changes with the rules, the mapping override, the pilot and the CRM', () => {
    const base = configFingerprint(tenant({}));
    const others = [
      tenant({ rules: { threshold: 60 } }),
      tenant({ mappingOverride: { objects: {} } }),
      tenant({ pilot: { mode: 'share' } }),
      tenant({}, 'salesforce'),
      // An array's order matters (criteria are a list).
      tenant({ rules: { criteria: [{ kind: 'nps' }, { kind: 'tenure' }] } }),
      tenant({ rules: { criteria: [{ kind: 'tenure' }, { kind: 'nps' }] } }),
    ].map(configFingerprint);
    expect(new Set([base, ...others]).size).toBe(others.length + 1);
  });
});
