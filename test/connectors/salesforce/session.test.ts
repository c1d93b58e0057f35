import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PullOptions, TokenSet } from '../../../connectors/contract.js';
import { ERR_AUTH_REVOKED, ERR_SALESFORCE_SESSION_REJECTED } from '../../../connectors/salesforce/index.js';
import type { SalesforceConnector } from '../../../connectors/salesforce/index.js';
import { AppError, isAppError } from '../../../src/errors.js';
import { FakeTokens, harness, queryPage, sfApi, tokenSet } from './helpers.js';

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());

const opts: PullOptions = {
  fields: [],
  links: [],
  mode: 'incremental',
  cursor: null,
  runStartedAt: new Date('2026-11-23T09:00:00Z'),
};
const EXPIRED = [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }];

async function drain(c: SalesforceConnector): Promise<number> {
  let n = 0;
  for await (const p of c.pull('Contact', opts)) n += p.records.length;
  return n;
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return isAppError(e) ? e.code : `raw:${String(e)}`;
  }
}

describe('Salesforce session expiry', () => {
  it('refreshes exactly once through the token provider and retries with the new token', async () => {
    const tokens = new FakeTokens();
    const { connector } = harness({}, tokens);
    const auth: string[] = [];
    const scope = sfApi()
      .get(/queryAll/)
      .reply(function () {
        auth.push(String(this.req.headers.authorization));
        return [401, EXPIRED];
      })
      .get(/queryAll/)
      .reply(function () {
        auth.push(String(this.req.headers.authorization));
        return [
          200,
          queryPage([
            { Id: '003000000000001AAA', SystemModstamp: '2026-11-20T10:00:00.000Z', IsDeleted: false },
          ]),
        ];
      });
    expect(await drain(connector)).toBe(1);
    scope.done();
    expect(auth).toEqual(['Bearer at-1', 'Bearer at-2']);
    expect(tokens.refreshCalls.map((t) => t.accessToken)).toEqual(['at-1']);
    expect(connector.stats().refreshes).toBe(1);
  });

  it('concurrent rejections of the same token share one refresh', async () => {
    const tokens = new FakeTokens();
    const { connector } = harness({}, tokens);
    const scope = sfApi()
      .get(/queryAll/)
      .times(2)
      .reply(401, EXPIRED)
      .get(/queryAll/)
      .times(2)
      .reply(200, queryPage([]));
    await Promise.all([drain(connector), drain(connector)]);
    scope.done();
    expect(tokens.refreshCalls).toHaveLength(1);
  });

  it('gives up after one refresh when the new session is rejected too', async () => {
    const tokens = new FakeTokens();
    const { connector } = harness({}, tokens);
    const scope = sfApi()
      .get(/queryAll/)
      .times(2)
      .reply(401, EXPIRED);
    expect(await codeOf(drain(connector))).toBe(ERR_SALESFORCE_SESSION_REJECTED);
    scope.done();
    expect(tokens.refreshCalls).toHaveLength(1);
  });

  it('a revoked refresh token surfaces as ERR_AUTH_REVOKED without further calls', async () => {
    const tokens = new FakeTokens(tokenSet(), async (): Promise<TokenSet> => {
      throw new AppError(ERR_AUTH_REVOKED, 'refresh token revoked');
    });
    const { connector } = harness({}, tokens);
    const scope = sfApi()
      .get(/queryAll/)
      .reply(401, EXPIRED);
    expect(await codeOf(drain(connector))).toBe(ERR_AUTH_REVOKED);
    scope.done();
    expect(tokens.refreshCalls).toHaveLength(1);
    expect(connector.stats().calls.query).toBe(1);
  });

  it('refuses a refreshed token set whose instance URL is not allowed', async () => {
    const tokens = new FakeTokens(tokenSet(), async () => ({
      ...tokenSet('at-2'),
      instanceUrl: 'https://evil.example.com',
    }));
    const { connector } = harness({}, tokens);
    const scope = sfApi()
      .get(/queryAll/)
      .reply(401, EXPIRED);
    expect(await codeOf(drain(connector))).toBe('ERR_SALESFORCE_INSTANCE_URL');
    scope.done();
  });
});
