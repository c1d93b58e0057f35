import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './fixtures.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function get(url: string, token: string): Promise<Response> {
  return fetch(`${url}/crm/v3/objects/contacts?limit=1`, { headers: { authorization: `Bearer ${token}` } });
}

describe('HubSpot sandbox: rate limits', () => {
  it('refuses a burst over the rolling 10-second limit with the real headers and 429 body, then recovers', async () => {
    let clock = Date.parse('2026-06-10T00:00:00Z');
    h = await startHarness({ now: () => new Date(clock), limits: { enabled: true, tenSecondly: 5 } });
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 7; i++) {
      last = await get(h.server.url, h.token);
      statuses.push(last.status);
      if (i === 0) {
        expect(last.headers.get('x-hubspot-ratelimit-max')).toBe('5');
        expect(last.headers.get('x-hubspot-ratelimit-remaining')).toBe('4');
        expect(last.headers.get('x-hubspot-ratelimit-interval-milliseconds')).toBe('10000');
        // OAuth calls carry no daily headers.
        expect(last.headers.get('x-hubspot-ratelimit-daily')).toBeNull();
      }
      if (i < 6) await last.arrayBuffer();
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect(last?.headers.get('x-hubspot-ratelimit-remaining')).toBe('0');
    expect(await last?.json()).toMatchObject({
      status: 'error',
      errorType: 'RATE_LIMIT',
      policyName: 'TEN_SECONDLY_ROLLING',
      message: 'You have reached your ten_secondly_rolling limit.',
    });
    expect(h.sandbox.state.rateLimited.tenSecondly).toBe(2);
    clock += 10_001;
    expect((await get(h.server.url, h.token)).status).toBe(200);
  });

  it('the SDK sees the 429 as an ApiException with the rate-limit headers', async () => {
    h = await startHarness({ limits: { enabled: true, tenSecondly: 1 } });
    await h.client.crm.contacts.basicApi.getPage(1);
    const err = (await h.client.crm.contacts.basicApi.getPage(1).catch((e: unknown) => e)) as {
      code: number;
      headers: Record<string, string>;
    };
    expect(err.code).toBe(429);
    expect(err.headers['x-hubspot-ratelimit-remaining']).toBe('0');
  });

  it('limits search to 5 per second with the secondly message and no rate-limit headers', async () => {
    const clock = Date.parse('2026-06-10T00:00:00Z');
    h = await startHarness({ now: () => new Date(clock), limits: { enabled: true } });
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 6; i++) {
      last = await fetch(`${h.server.url}/crm/v3/objects/contacts/search`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ filterGroups: [], limit: 1 }),
      });
      statuses.push(last.status);
      if (i === 0) expect(last.headers.get('x-hubspot-ratelimit-max')).toBeNull();
      if (i < 5) await last.arrayBuffer();
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    expect(await last?.json()).toMatchObject({
      message: 'You have reached your secondly limit.',
      errorType: 'RATE_LIMIT',
    });
    expect(h.sandbox.state.rateLimited.secondly).toBe(1);
  });

  it('private-app tokens carry the daily quota and its headers', async () => {
    h = await startHarness({ privateAppTokens: ['pat-1'], limits: { enabled: true, daily: 2 } });
    const a = await get(h.server.url, 'pat-1');
    expect(a.headers.get('x-hubspot-ratelimit-daily')).toBe('2');
    expect(a.headers.get('x-hubspot-ratelimit-daily-remaining')).toBe('1');
    await a.arrayBuffer();
    await (await get(h.server.url, 'pat-1')).arrayBuffer();
    const c = await get(h.server.url, 'pat-1');
    expect(c.status).toBe(429);
    expect(await c.json()).toMatchObject({
      policyName: 'DAILY',
      message: 'You have reached your daily limit.',
    });
  });

  it('limits can be switched off', async () => {
    h = await startHarness({ limits: { enabled: false, tenSecondly: 1 } });
    for (let i = 0; i < 5; i++) expect((await get(h.server.url, h.token)).status).toBe(200);
    expect(h.sandbox.state.rateLimited.total).toBe(0);
  });

  it('fault-injected 429 bursts use HubSpot bodies and are counted', async () => {
    h = await startHarness();
    h.sandbox.faults.configure({ rateLimitBurst: { afterCalls: 1, count: 2 } });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await get(h.server.url, h.token);
      statuses.push(r.status);
      await r.arrayBuffer();
    }
    expect(statuses).toEqual([200, 429, 429, 200]);
    expect(h.sandbox.state.rateLimited.total).toBe(2);
  });
});
