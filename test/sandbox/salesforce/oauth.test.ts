import { createHmac } from 'node:crypto';
import jsforce from 'jsforce';
import { afterEach, describe, expect, it } from 'vitest';
import { API_VERSION, rejectionOf, startHarness } from './fixtures.js';
import type { Harness } from './fixtures.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const REDIRECT = 'http://127.0.0.1:9/callback';

function oauth2(harness: Harness, useVerifier = true): jsforce.OAuth2 {
  return new jsforce.OAuth2({
    clientId: harness.sandbox.config.clientId,
    clientSecret: harness.sandbox.config.clientSecret,
    redirectUri: REDIRECT,
    loginUrl: harness.url,
    useVerifier,
  });
}

/** Follow the authorize URL like a browser whose user approves: returns the redirect's query. */
async function authorize(url: string): Promise<URLSearchParams> {
  const res = await fetch(url, { redirect: 'manual' });
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get('location') ?? '');
  expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
  return location.searchParams;
}

describe('Salesforce sandbox: OAuth web-server flow with PKCE', () => {
  it('jsforce authorize(code) with a code verifier yields instance URL, org id from the identity URL and a refresh token', async () => {
    h = await startHarness();
    const o = oauth2(h);
    const params = await authorize(o.getAuthorizationUrl({ state: 'st-123', scope: 'api refresh_token' }));
    expect(params.get('state')).toBe('st-123');
    const conn = new jsforce.Connection({ oauth2: o, version: API_VERSION });
    const userInfo = await conn.authorize(params.get('code') ?? '');
    expect(userInfo.organizationId).toBe(h.sandbox.config.orgId);
    expect(userInfo.id).toBe(h.sandbox.state.apiUserId);
    expect(userInfo.url).toBe(`${h.url}/id/${h.sandbox.config.orgId}/${h.sandbox.state.apiUserId}`);
    expect(conn.instanceUrl).toBe(h.url);
    expect(conn.refreshToken).toBeTruthy();
    const identity = await conn.identity();
    expect(identity.organization_id).toBe(h.sandbox.config.orgId);
    const count = await conn.query('SELECT COUNT() FROM User');
    expect(count.totalSize).toBe(1);
  });

  it('answers the documented token shape: no expires_in, signature = HMAC-SHA256(secret, id + issued_at)', async () => {
    h = await startHarness();
    const o = oauth2(h, false);
    const params = await authorize(o.getAuthorizationUrl());
    const body = new URLSearchParams({
      grant_type: 'authorization_code',
      code: params.get('code') ?? '',
      client_id: h.sandbox.config.clientId,
      client_secret: h.sandbox.config.clientSecret,
      redirect_uri: REDIRECT,
    });
    const res = await fetch(`${h.url}/services/oauth2/token`, { method: 'POST', body });
    const token = (await res.json()) as Record<string, string>;
    expect(Object.keys(token).sort()).toEqual([
      'access_token',
      'id',
      'instance_url',
      'issued_at',
      'refresh_token',
      'scope',
      'signature',
      'token_type',
    ]);
    const expected = createHmac('sha256', h.sandbox.config.clientSecret)
      .update(`${token.id}${token.issued_at}`)
      .digest('base64');
    expect(token.signature).toBe(expected);
    expect(token.token_type).toBe('Bearer');
  });

  it('refuses a reused code and a wrong code verifier with invalid_grant', async () => {
    h = await startHarness();
    const o = oauth2(h);
    const code = (await authorize(o.getAuthorizationUrl())).get('code') ?? '';
    await o.requestToken(code);
    expect((await rejectionOf(o.requestToken(code))).name).toBe('invalid_grant');

    const other = oauth2(h); // a different code_verifier than the one the challenge was made from
    const code2 = (await authorize(o.getAuthorizationUrl())).get('code') ?? '';
    const err = await rejectionOf(other.requestToken(code2));
    expect(err.name).toBe('invalid_grant');
    expect(err.message).toBe('invalid code verifier');
  });

  it('refuses a wrong client secret and an unknown refresh token', async () => {
    h = await startHarness();
    const bad = new jsforce.OAuth2({
      clientId: h.sandbox.config.clientId,
      clientSecret: 'nope',
      redirectUri: REDIRECT,
      loginUrl: h.url,
    });
    expect((await rejectionOf(bad.refreshToken(h.tokens.refreshToken))).name).toBe('invalid_client');
    expect((await rejectionOf(oauth2(h).refreshToken('5Aep861unknown'))).name).toBe('invalid_grant');
  });
});

describe('Salesforce sandbox: expired sessions', () => {
  it('answers 401 INVALID_SESSION_ID with the documented body once the session is gone', async () => {
    h = await startHarness();
    h.sandbox.expireSessions();
    const res = await fetch(`${h.url}/services/data/v${API_VERSION}/query?q=SELECT+Id+FROM+Contact`, {
      headers: { Authorization: `Bearer ${h.tokens.accessToken}` },
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual([
      { message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' },
    ]);
    const err = await rejectionOf(h.conn.query('SELECT Id FROM Contact'));
    expect(err.errorCode).toBe('INVALID_SESSION_ID');
    expect(h.sandbox.state.counters.invalidSession).toBe(2);
  });

  it('jsforce refreshes on INVALID_SESSION_ID, emits refresh with the new token and retries the call', async () => {
    h = await startHarness();
    const conn = h.refreshingConn();
    const refreshed: string[] = [];
    conn.on('refresh', (token: string) => refreshed.push(token));
    h.sandbox.createRecord('Contact', { LastName: 'Zed' });
    h.sandbox.expireSessions();
    const res = await conn.query<{ LastName: string }>('SELECT LastName FROM Contact');
    expect(res.records.map((r) => r.LastName)).toEqual(['Zed']);
    expect(refreshed).toHaveLength(1);
    expect(refreshed[0]).not.toBe(h.tokens.accessToken);
    expect(conn.accessToken).toBe(refreshed[0]);
    expect(h.sandbox.state.counters.oauthToken).toBe(1);
  });

  it('access tokens die after the session timeout (clock injected)', async () => {
    let now = Date.parse('2026-11-23T09:00:00Z');
    h = await startHarness({ sessionTtlSeconds: 60, now: () => new Date(now) });
    await h.conn.query('SELECT Id FROM Contact');
    now += 61_000;
    expect((await rejectionOf(h.conn.query('SELECT Id FROM Contact'))).errorCode).toBe('INVALID_SESSION_ID');
  });

  it('mid-run expiry from the fault plan is absorbed by jsforce auto-refresh, queries and metadata alike', async () => {
    h = await startHarness();
    const conn = h.refreshingConn();
    let refreshes = 0;
    conn.on('refresh', () => refreshes++);
    h.sandbox.faults.configure({ expireTokensAfterCalls: 2 });
    for (let i = 0; i < 4; i++) await conn.query('SELECT Id FROM Contact');
    const read = await conn.metadata.read('CustomField', 'Contact.Nope__c');
    expect(read).toBeDefined();
    expect(refreshes).toBeGreaterThanOrEqual(2);
    expect(h.sandbox.faults.counters.tokenExpiries).toBe(refreshes);
  });

  it('rotating refresh tokens: the refresh response carries a new one and the used one is refused', async () => {
    h = await startHarness({ rotateRefreshTokens: true });
    const o = oauth2(h, false);
    const first = await o.refreshToken(h.tokens.refreshToken);
    expect(first.refresh_token).toBeTruthy();
    expect(first.refresh_token).not.toBe(h.tokens.refreshToken);
    expect((await rejectionOf(o.refreshToken(h.tokens.refreshToken))).name).toBe('invalid_grant');
    const second = await o.refreshToken(first.refresh_token ?? '');
    expect(second.access_token).toBeTruthy();
  });
});
