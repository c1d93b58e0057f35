import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BASE, ScriptedTokens, collect, harness, obj, revokedRefresh } from './helpers.js';

const pullOpts = {
  fields: ['email'],
  links: [],
  mode: 'full' as const,
  cursor: null,
  runStartedAt: new Date('2026-11-23T10:00:00Z'),
};

/** A full re-sync (a cursor exists): the list pass is followed by the archived pass. */
const resyncOpts = { ...pullOpts, cursor: { v: 1, phase: 'idle', bookmark: 0 } };

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());

describe('HubSpot HTTP layer', () => {
  it('honours Retry-After on a 429, pauses the bucket, then succeeds', async () => {
    const h = harness();
    const scope = nock(BASE)
      .get('/crm/v3/objects/contacts')
      .query(true)
      .reply(
        429,
        {
          status: 'error',
          message: 'You have reached your ten_secondly_rolling limit.',
          policyName: 'TEN_SECONDLY_ROLLING',
        },
        { 'Retry-After': '3' },
      )
      .get('/crm/v3/objects/contacts')
      .query(true)
      .reply(
        200,
        { results: [obj('1', 1000, { email: 'a@x.io' })] },
        {
          'X-HubSpot-RateLimit-Max': '110',
          'X-HubSpot-RateLimit-Remaining': '97',
          'X-HubSpot-RateLimit-Interval-Milliseconds': '10000',
        },
      )
      .get('/crm/v3/objects/contacts')
      .query((q) => q.archived === 'true')
      .reply(200, { results: [] });
    const pages = await collect(h.connector.pull('contacts', resyncOpts));
    scope.done();
    expect(pages.flatMap((p) => p.records).map((r) => r.id)).toEqual(['1']);
    expect(h.sleeps[0]).toBeGreaterThanOrEqual(3000);
    const pause = h.limiter.observed.find((o) => o.info.pauseUntil !== undefined);
    expect(pause?.bucket).toBe('default');
    expect(pause?.info.pauseUntil?.getTime()).toBe(new Date('2026-11-23T10:00:03Z').getTime());
    expect(h.limiter.observed).toContainEqual({
      bucket: 'default',
      info: { remaining: 97, limit: 110, windowMs: 10000 },
    });
    expect(h.connector.counts.rateLimited).toBe(1);
    expect(h.connector.counts.unhandled429).toBe(0);
  });

  it('retries a 5xx with backoff', async () => {
    const h = harness();
    const scope = nock(BASE)
      .get('/crm/v3/owners/')
      .query(true)
      .reply(502, 'bad gateway')
      .get('/crm/v3/owners/')
      .query(true)
      .reply(200, {
        results: [{ id: '7', email: 'o@x.io', firstName: 'Ada', lastName: 'L', archived: false }],
      })
      .get('/crm/v3/owners/')
      .query((q) => q.archived === 'true')
      .reply(200, { results: [{ id: '8', email: 'old@x.io', archived: true }] });
    const pages = await collect(h.connector.pull('owners', { ...pullOpts, fields: [] }));
    scope.done();
    const records = pages.flatMap((p) => p.records);
    expect(records.map((r) => [r.id, r.fields.name, r.fields.active, r.deleted])).toEqual([
      ['7', 'Ada L', 'true', false],
      ['8', null, 'false', true],
    ]);
    expect(h.connector.counts.retries).toBe(1);
  });

  it('on a 401 refreshes once and retries with the new token', async () => {
    const h = harness();
    const scope = nock(BASE)
      .get('/crm/v3/objects/contacts')
      .query(true)
      .matchHeader('authorization', 'Bearer tok-1')
      .reply(401, { status: 'error', category: 'EXPIRED_AUTHENTICATION', message: 'expired' })
      .get('/crm/v3/objects/contacts')
      .query(true)
      .matchHeader('authorization', 'Bearer tok-2')
      .reply(200, { results: [] })
      .get('/crm/v3/objects/contacts')
      .query((q) => q.archived === 'true')
      .matchHeader('authorization', 'Bearer tok-2')
      .reply(200, { results: [] });
    await collect(h.connector.pull('contacts', resyncOpts));
    scope.done();
    expect(h.tokens.refreshed).toBe(1);
  });

  it('a second 401 after the refresh is a failure, not a refresh loop', async () => {
    const h = harness();
    const scope = nock(BASE)
      .get('/crm/v3/objects/contacts')
      .query(true)
      .times(2)
      .reply(401, { status: 'error', category: 'INVALID_AUTHENTICATION' });
    await expect(collect(h.connector.pull('contacts', resyncOpts))).rejects.toMatchObject({
      code: 'ERR_HUBSPOT_UNAUTHORIZED',
    });
    scope.done();
    expect(h.tokens.refreshed).toBe(1);
  });

  it('surfaces a revoked refresh token as ERR_AUTH_REVOKED', async () => {
    const h = harness({ tokens: new ScriptedTokens(undefined, revokedRefresh) });
    const scope = nock(BASE)
      .get('/crm/v3/objects/contacts')
      .query(true)
      .reply(401, { status: 'error', category: 'EXPIRED_AUTHENTICATION' });
    await expect(collect(h.connector.pull('contacts', resyncOpts))).rejects.toMatchObject({
      code: 'ERR_AUTH_REVOKED',
    });
    scope.done();
  });

  it('does not retry a daily-limit 429 and pauses the daily bucket', async () => {
    const h = harness();
    const scope = nock(BASE)
      .get('/crm/v3/objects/contacts')
      .query(true)
      .reply(429, { status: 'error', message: 'You have reached your daily limit.', policyName: 'DAILY' });
    await expect(collect(h.connector.pull('contacts', resyncOpts))).rejects.toMatchObject({
      code: 'ERR_HUBSPOT_DAILY_LIMIT',
      retryable: true,
    });
    scope.done();
    expect(h.limiter.observed.some((o) => o.bucket === 'daily' && o.info.pauseUntil !== undefined)).toBe(
      true,
    );
    expect(h.connector.counts.unhandled429).toBe(1);
  });
});
