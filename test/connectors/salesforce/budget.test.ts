import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PullOptions } from '../../../connectors/contract.js';
import { ERR_SALESFORCE_BUDGET_PAUSED } from '../../../connectors/salesforce/index.js';
import type { SalesforceConnector } from '../../../connectors/salesforce/index.js';
import { AppError, isAppError } from '../../../src/errors.js';
import { harness, queryPage, sfApi, V } from './helpers.js';

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());

const NOW = new Date('2026-11-23T09:00:00Z');
const opts: PullOptions = { fields: [], links: [], mode: 'incremental', cursor: null, runStartedAt: NOW };

async function drain(c: SalesforceConnector, object = 'Contact'): Promise<number> {
  let n = 0;
  for await (const p of c.pull(object, opts)) n += p.records.length;
  return n;
}

async function errorOf(p: Promise<unknown>): Promise<{ code?: string; details?: Record<string, unknown> }> {
  try {
    await p;
    return {};
  } catch (e) {
    return isAppError(e)
      ? { code: e.code, details: e.details as Record<string, unknown> }
      : { code: `raw:${String(e)}` };
  }
}

describe('Salesforce API budget', () => {
  it('REQUEST_LIMIT_EXCEEDED pauses with pauseUntil and a reason, shared through the limiter', async () => {
    const { connector, limiter } = harness();
    const scope = sfApi()
      .get(/queryAll/)
      .reply(403, [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
    const err = await errorOf(drain(connector));
    scope.done();
    expect(err.code).toBe(ERR_SALESFORCE_BUDGET_PAUSED);
    expect(err.details?.pauseUntil).toBe('2026-11-23T10:00:00.000Z');
    expect(String(err.details?.reason)).toContain('REQUEST_LIMIT_EXCEEDED');
    expect(limiter.observed).toContainEqual({
      bucket: 'daily',
      info: { pauseUntil: new Date('2026-11-23T10:00:00.000Z'), reason: err.details?.reason },
    });
    // Paused: the next call does not reach Salesforce (no interceptor left: it would fail differently).
    expect((await errorOf(drain(connector))).code).toBe(ERR_SALESFORCE_BUDGET_PAUSED);
  });

  it('stops at the configured share of the daily allowance read from Sforce-Limit-Info', async () => {
    // Allowance 100, share 20% → 20 calls for us.
    const { connector, limiter } = harness({ dailyBudgetShare: 0.2 });
    let served = 0;
    const scope = sfApi()
      .get(/queryAll/)
      .times(20)
      .reply(() => {
        served++;
        return [200, queryPage([]), { 'Sforce-Limit-Info': `api-usage=${served}/100` }];
      });
    for (let i = 0; i < 20; i++) await drain(connector);
    const err = await errorOf(drain(connector));
    scope.done();
    expect(served).toBe(20);
    expect(err.code).toBe(ERR_SALESFORCE_BUDGET_PAUSED);
    expect(err.details?.pauseUntil).toBe('2026-11-24T09:00:00.000Z');
    expect(String(err.details?.reason)).toContain('20%');
    expect(limiter.observed.find((o) => o.bucket === 'daily' && o.info.limit === 100)?.info).toMatchObject({
      remaining: 99,
    });
    expect(limiter.takes.every((t) => t.bucket === 'default')).toBe(true);
    expect(limiter.takes).toHaveLength(20);
    expect(connector.stats().budget).toMatchObject({ ourCalls: 20, ourCap: 20, orgLimit: 100 });
  });

  it('pauses before the org itself runs dry, whatever our share', async () => {
    const { connector } = harness({ dailyBudgetShare: 1 });
    const scope = sfApi()
      .get(/queryAll/)
      .reply(200, queryPage([]), { 'Sforce-Limit-Info': 'api-usage=996/1000' });
    await drain(connector);
    const err = await errorOf(drain(connector));
    scope.done();
    expect(err.code).toBe(ERR_SALESFORCE_BUDGET_PAUSED);
    expect(String(err.details?.reason)).toContain('only 4 of 1000');
  });

  it('adopts a pause another worker recorded in the shared limiter', async () => {
    const { connector, limiter } = harness();
    limiter.snap = { buckets: [], pausedUntil: '2026-11-23T12:00:00.000Z', pauseReason: 'daily share used' };
    const err = await errorOf(drain(connector));
    expect(err.code).toBe(ERR_SALESFORCE_BUDGET_PAUSED);
    expect(err.details?.pauseUntil).toBe('2026-11-23T12:00:00.000Z');
  });

  it("translates the shared limiter's long-wait refusal into the same pause", async () => {
    const { connector, limiter } = harness();
    limiter.take = async () => {
      throw new AppError('ERR_RATE_LIMIT_PAUSED', 'daily share used by another worker', {
        details: { bucket: 'daily', resumeAt: '2026-11-23T20:00:00.000Z' },
        retryable: true,
      });
    };
    const err = await errorOf(drain(connector));
    expect(err.code).toBe(ERR_SALESFORCE_BUDGET_PAUSED);
    expect(err.details).toEqual({
      pauseUntil: '2026-11-23T20:00:00.000Z',
      reason: 'daily share used by another worker',
    });
    expect(connector.stats().calls.query).toBe(0);
  });

  it('budget() reports the org allowance from GET /limits and our share', async () => {
    const { connector } = harness();
    const scope = sfApi()
      .get(`${V}/limits`)
      .reply(200, {
        DailyApiRequests: { Max: 15000, Remaining: 14000 },
        DailyBulkV2QueryJobs: { Max: 10000, Remaining: 10000 },
      });
    const snap = await connector.budget();
    scope.done();
    expect(snap.buckets).toContainEqual(
      expect.objectContaining({ bucket: 'salesforce-org-daily', used: 1000, limit: 15000 }),
    );
    expect(snap.buckets).toContainEqual(
      expect.objectContaining({ bucket: 'salesforce-our-share', used: 1, limit: 3000 }),
    );
    expect(snap.pausedUntil).toBeUndefined();
  });

  it('retries a concurrency REQUEST_LIMIT_EXCEEDED and a 503 instead of pausing', async () => {
    const { connector } = harness();
    const scope = sfApi()
      .get(/queryAll/)
      .reply(403, [
        { message: 'ConcurrentPerOrgLongTxn Limit exceeded', errorCode: 'REQUEST_LIMIT_EXCEEDED' },
      ])
      .get(/queryAll/)
      .reply(503, 'unavailable')
      .get(/queryAll/)
      .reply(
        200,
        queryPage([
          { Id: '003000000000001AAA', SystemModstamp: '2026-11-20T10:00:00.000Z', IsDeleted: false },
        ]),
      );
    expect(await drain(connector)).toBe(1);
    scope.done();
    expect(connector.stats().calls.query).toBe(3);
  });
});
