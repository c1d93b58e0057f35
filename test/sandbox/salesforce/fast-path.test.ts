import { afterEach, describe, expect, it } from 'vitest';
import { API_VERSION, startHarness } from './fixtures.js';
import type { Harness } from './fixtures.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

interface Answer {
  status: number;
  limitInfo: string | null;
  contentType: string | null;
  body: unknown;
}

async function ask(harness: Harness, path: string, token: string): Promise<Answer> {
  const res = await fetch(`${harness.url}/services/data/v${API_VERSION}${path}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  return {
    status: res.status,
    limitInfo: res.headers.get('sforce-limit-info'),
    contentType: res.headers.get('content-type'),
    body: await res.json(),
  };
}

describe('Salesforce sandbox: node:http fast path', () => {
  it('answers GET record / limits exactly as the express routes do (status, headers, body, counters)', async () => {
    h = await startHarness({ dailyApiLimit: 9 });
    const id = h.sandbox.createRecord('Contact', { LastName: 'Fast', Email: 'f@x.test' });
    const gone = h.sandbox.createRecord('Contact', { LastName: 'Gone' });
    h.sandbox.deleteRecord('Contact', gone);
    const cases = [
      `/sobjects/Contact/${id}`,
      `/sobjects/Contact/${id.slice(0, 15)}`,
      `/sobjects/Contact/${gone}`,
      `/sobjects/Nope/${id}`,
      '/limits',
    ];
    const fast: Answer[] = [];
    for (const c of cases) fast.push(await ask(h, c, h.tokens.accessToken));
    const fastCounters = { ...h.sandbox.state.counters };
    // A fault plan that never fires on these paths still routes every call through express.
    h.sandbox.faults.configure({ latencyMs: 1, pathPattern: '^/never$' });
    h.sandbox.state.usage.reset();
    Object.assign(h.sandbox.state.counters, { total: 0, sobject: 0, limits: 0 });
    const slow: Answer[] = [];
    for (const c of cases) slow.push(await ask(h, c, h.tokens.accessToken));
    expect(slow).toEqual(fast);
    expect(h.sandbox.state.counters).toEqual(fastCounters);
    expect(fast[0]?.body).toMatchObject({
      Id: id,
      LastName: 'Fast',
      Email: 'f@x.test',
      attributes: { type: 'Contact' },
    });
    expect(fast.map((a) => a.status)).toEqual([200, 200, 404, 404, 200]);

    const badFast = await ask(h, `/sobjects/Contact/${id}`, 'nope');
    h.sandbox.faults.reset();
    const badSlow = await ask(h, `/sobjects/Contact/${id}`, 'nope');
    expect(badFast).toEqual(badSlow);
    expect(badFast.status).toBe(401);

    for (let i = 0; i < 10; i++) await ask(h, '/limits', h.tokens.accessToken);
    const spentFast = await ask(h, '/limits', h.tokens.accessToken);
    h.sandbox.faults.configure({ latencyMs: 1, pathPattern: '^/never$' });
    const spentSlow = await ask(h, '/limits', h.tokens.accessToken);
    expect(spentFast).toEqual(spentSlow);
    expect(spentFast).toMatchObject({ status: 403, limitInfo: 'api-usage=9/9' });
  });
});
