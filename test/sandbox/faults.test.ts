import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultInjector, type FaultPlanInput } from '../../src/sandbox/common/faults.js';

/** A tiny CRM: GET /crm/thing answers 200; POST /crm/batch reports per-record failures; /oauth is outside. */
async function startApp(injector: FaultInjector): Promise<{ url: string; close: () => Promise<void> }> {
  const app = express();
  app.use(express.json());
  app.use(
    injector.middleware({
      rateLimited: (res) => void res.status(429).set('Retry-After', '1').json({ error: 'RATE_LIMIT' }),
      serverError: (res, status) => void res.status(status).json({ error: 'SERVER' }),
    }),
  );
  app.get('/crm/thing', (_req, res) => {
    res.json({ ok: true, expired: injector.shouldExpireToken() });
  });
  app.get('/oauth/thing', (_req, res) => {
    res.json({ ok: true });
  });
  app.post('/crm/batch', (req, res) => {
    const inputs = (req.body as { inputs: string[] }).inputs;
    res.json({ results: inputs.map((id) => ({ id, failed: injector.shouldFailRecord() })) });
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.map((c) => c()));
  closers = [];
});

async function withPlan(plan: FaultPlanInput): Promise<{ url: string; injector: FaultInjector }> {
  const injector = new FaultInjector();
  injector.configure(plan);
  const app = await startApp(injector);
  closers.push(app.close);
  return { url: app.url, injector };
}

async function statuses(url: string, path: string, calls: number): Promise<number[]> {
  const out: number[] = [];
  // Sequential on purpose: the fault sequence is defined per call order.
  for (let i = 0; i < calls; i++) out.push((await fetch(url + path)).status);
  return out;
}

describe('FaultInjector', () => {
  it('is deterministic for a seed: the same plan gives the same statuses call by call', async () => {
    const plan = { seed: 42, rateLimitRate: 0.3, serverErrorRate: 0.2 };
    const a = await withPlan(plan);
    const b = await withPlan(plan);
    const other = await withPlan({ ...plan, seed: 43 });
    const first = await statuses(a.url, '/crm/thing', 40);
    expect(await statuses(b.url, '/crm/thing', 40)).toEqual(first);
    expect(await statuses(other.url, '/crm/thing', 40)).not.toEqual(first);
    expect(first.filter((s) => s === 429).length).toBe(a.injector.counters.rateLimited);
    expect(first.filter((s) => s >= 500).length).toBe(a.injector.counters.serverErrors);
    expect(a.injector.counters.rateLimited).toBeGreaterThan(0);
    expect(a.injector.counters.serverErrors).toBeGreaterThan(0);
    expect(first.filter((s) => s >= 500).every((s) => [500, 502, 503].includes(s))).toBe(true);
  });

  it('answers a burst of exactly `count` 429s after `afterCalls` calls, then recovers', async () => {
    const { url, injector } = await withPlan({ rateLimitBurst: { afterCalls: 3, count: 4 } });
    expect(await statuses(url, '/crm/thing', 10)).toEqual([200, 200, 200, 429, 429, 429, 429, 200, 200, 200]);
    expect(injector.counters).toMatchObject({ calls: 10, rateLimited: 4 });
    const limited = await withPlan({ rateLimitBurst: { afterCalls: 0, count: 1 } });
    const res = await fetch(`${limited.url}/crm/thing`);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
  });

  it('fails batch records at the configured rate, deterministically, and counts them', async () => {
    const run = async (plan: FaultPlanInput): Promise<{ failed: boolean[]; counted: number }> => {
      const { url, injector } = await withPlan(plan);
      const res = await fetch(`${url}/crm/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: Array.from({ length: 100 }, (_, i) => `r${i}`) }),
      });
      const body = (await res.json()) as { results: { failed: boolean }[] };
      return { failed: body.results.map((r) => r.failed), counted: injector.counters.recordFailures };
    };
    const half = await run({ seed: 7, recordFailureRate: 0.5 });
    const failures = half.failed.filter(Boolean).length;
    expect(failures).toBe(half.counted);
    expect(failures).toBeGreaterThan(20);
    expect(failures).toBeLessThan(80);
    expect((await run({ seed: 7, recordFailureRate: 0.5 })).failed).toEqual(half.failed);
    expect((await run({ recordFailureRate: 0 })).counted).toBe(0);
    expect((await run({ recordFailureRate: 1 })).counted).toBe(100);
  });

  it('expires tokens every N authenticated calls', async () => {
    const { url, injector } = await withPlan({ expireTokensAfterCalls: 3 });
    const expired: boolean[] = [];
    for (let i = 0; i < 9; i++) {
      const body = (await (await fetch(`${url}/crm/thing`)).json()) as { expired: boolean };
      expired.push(body.expired);
    }
    expect(expired).toEqual([false, false, true, false, false, true, false, false, true]);
    expect(injector.counters.tokenExpiries).toBe(3);
    const never = await withPlan({});
    expect(never.injector.shouldExpireToken()).toBe(false);
  });

  it('injects only on paths matching the pattern, and counts only those calls', async () => {
    const { url, injector } = await withPlan({ rateLimitRate: 1, pathPattern: '^/crm/' });
    expect(await statuses(url, '/crm/thing', 3)).toEqual([429, 429, 429]);
    expect(await statuses(url, '/oauth/thing', 3)).toEqual([200, 200, 200]);
    expect(injector.counters).toMatchObject({ calls: 3, rateLimited: 3 });
  });

  it('drops connections without an answer', async () => {
    const { url, injector } = await withPlan({ dropRate: 1 });
    await expect(fetch(`${url}/crm/thing`)).rejects.toThrow();
    expect(injector.counters.drops).toBe(1);
  });

  it('holds a call for timeoutMs so a client with a shorter timeout gives up', async () => {
    const { url, injector } = await withPlan({ timeoutRate: 1, timeoutMs: 2_000 });
    await expect(fetch(`${url}/crm/thing`, { signal: AbortSignal.timeout(50) })).rejects.toThrow();
    expect(injector.counters.timeouts).toBe(1);
  });

  it('resets to no faults and zero counters', async () => {
    const { url, injector } = await withPlan({ rateLimitRate: 1 });
    expect(await statuses(url, '/crm/thing', 2)).toEqual([429, 429]);
    injector.reset();
    expect(injector.counters.rateLimited).toBe(0);
    expect(await statuses(url, '/crm/thing', 2)).toEqual([200, 200]);
    expect(injector.current.rateLimitRate).toBe(0);
  });
});
