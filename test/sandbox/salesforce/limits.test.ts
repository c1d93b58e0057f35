import { afterEach, describe, expect, it } from 'vitest';
import { API_VERSION, rejectionOf, startHarness } from './fixtures.js';
import type { Harness } from './fixtures.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('Salesforce sandbox: daily API allowance', () => {
  it('reports api-usage on every response (jsforce limitInfo) and DailyApiRequests in /limits', async () => {
    h = await startHarness({ dailyApiLimit: 15_000 });
    await h.conn.query('SELECT Id FROM Contact');
    expect(h.conn.limitInfo).toEqual({ apiUsage: { used: 1, limit: 15_000 } });
    h.sandbox.consumeApiRequests(100);
    const limits = (await h.conn.limits()) as unknown as {
      DailyApiRequests: { Max: number; Remaining: number };
    };
    expect(limits.DailyApiRequests).toEqual({ Max: 15_000, Remaining: 15_000 - 102 });
    expect(h.conn.limitInfo).toEqual({ apiUsage: { used: 102, limit: 15_000 } });
    expect(h.sandbox.state.counters.limits).toBe(1);
  });

  it('refuses with 403 REQUEST_LIMIT_EXCEEDED once spent, still sending Sforce-Limit-Info', async () => {
    h = await startHarness({ dailyApiLimit: 3 });
    for (let i = 0; i < 3; i++) await h.conn.query('SELECT Id FROM Contact');
    const err = await rejectionOf(h.conn.query('SELECT Id FROM Contact'));
    expect(err.errorCode).toBe('REQUEST_LIMIT_EXCEEDED');
    expect(err.message).toBe('TotalRequests Limit exceeded.');
    const res = await fetch(`${h.url}/services/data/v${API_VERSION}/limits`, {
      headers: { Authorization: `Bearer ${h.tokens.accessToken}` },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('sforce-limit-info')).toBe('api-usage=3/3');
    expect(await res.json()).toEqual([
      { message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' },
    ]);
    const soap = await rejectionOf(h.conn.metadata.read('CustomField', 'Contact.X__c'));
    expect(soap.message).toContain('REQUEST_LIMIT_EXCEEDED');
    expect(h.sandbox.state.counters.requestLimitExceeded).toBe(3);
  });

  it('the allowance rolls over 24 hours and is not enforced when limits are off', async () => {
    let now = Date.parse('2026-11-23T00:00:00Z');
    h = await startHarness({ dailyApiLimit: 2, sessionTtlSeconds: 7 * 86_400, now: () => new Date(now) });
    await h.conn.query('SELECT Id FROM Contact');
    now += 12 * 3_600_000;
    await h.conn.query('SELECT Id FROM Contact');
    expect((await rejectionOf(h.conn.query('SELECT Id FROM Contact'))).errorCode).toBe(
      'REQUEST_LIMIT_EXCEEDED',
    );
    now += 12 * 3_600_000 + 60_000;
    await h.conn.query('SELECT Id FROM Contact');
    expect(h.conn.limitInfo).toEqual({ apiUsage: { used: 2, limit: 2 } });
    await h.close();

    h = await startHarness({ dailyApiLimit: 1, limitsEnabled: false });
    for (let i = 0; i < 3; i++) await h.conn.query('SELECT Id FROM Contact');
    expect(h.conn.limitInfo).toEqual({ apiUsage: { used: 3, limit: 1 } });
  });
});

describe('Salesforce sandbox: injected faults', () => {
  it('rate-limit bursts answer the transient REQUEST_LIMIT_EXCEEDED; 5xx answer UNKNOWN_EXCEPTION / SERVER_UNAVAILABLE', async () => {
    h = await startHarness();
    h.sandbox.faults.configure({ rateLimitBurst: { afterCalls: 1, count: 2 } });
    await h.conn.query('SELECT Id FROM Contact');
    const limited = await rejectionOf(h.conn.query('SELECT Id FROM Contact'));
    expect(limited.errorCode).toBe('REQUEST_LIMIT_EXCEEDED');
    expect(limited.message).toBe('ConcurrentPerOrgLongTxn Limit exceeded.');
    await rejectionOf(h.conn.query('SELECT Id FROM Contact'));
    await h.conn.query('SELECT Id FROM Contact');
    expect(h.sandbox.faults.counters.rateLimited).toBe(2);

    // jsforce itself retries GETs on 5xx with backoff (request.js retryOpts), so ask with fetch.
    h.sandbox.faults.configure({ serverErrorRate: 1 });
    const res = await fetch(`${h.url}/services/data/v${API_VERSION}/limits`, {
      headers: { Authorization: `Bearer ${h.tokens.accessToken}` },
    });
    expect([500, 502, 503]).toContain(res.status);
    const [body] = (await res.json()) as { errorCode: string }[];
    expect(['UNKNOWN_EXCEPTION', 'SERVER_UNAVAILABLE']).toContain(body?.errorCode);
    const post = await rejectionOf(h.conn.sobject('Account').create([{ Name: 'x' }]));
    expect(['UNKNOWN_EXCEPTION', 'SERVER_UNAVAILABLE']).toContain(post.errorCode);
    h.sandbox.faults.configure({ dropRate: 1 });
    const dropped = await rejectionOf(fetch(`${h.url}/services/data/v${API_VERSION}/limits`));
    expect(dropped).toBeInstanceOf(Error);
  });

  it('reset() clears records, sessions, counters and faults', async () => {
    h = await startHarness();
    h.sandbox.createRecord('Account', { Name: 'A' });
    await h.conn.query('SELECT Id FROM Account');
    h.sandbox.faults.configure({ serverErrorRate: 1 });
    h.sandbox.reset();
    expect(h.sandbox.state.recordCounts().Account).toBe(0);
    expect(h.sandbox.state.counters.total).toBe(0);
    expect(h.sandbox.faults.current.serverErrorRate).toBe(0);
    expect((await rejectionOf(h.conn.query('SELECT Id FROM Account'))).errorCode).toBe('INVALID_SESSION_ID');
  });
});
