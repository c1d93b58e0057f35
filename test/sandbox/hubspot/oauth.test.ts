import { Client } from '@hubspot/api-client';
import { afterEach, describe, expect, it } from 'vitest';
import { rejectionOf, startHarness, type Harness } from './fixtures.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const REDIRECT = 'http://127.0.0.1:9/callback';

describe('HubSpot sandbox: OAuth and bearer tokens', () => {
  it('authorize redirects with a code and state; the SDK exchanges it once, then refreshes', async () => {
    h = await startHarness();
    const { clientId, clientSecret } = h.sandbox;
    const res = await fetch(
      `${h.server.url}/oauth/authorize?client_id=${clientId}&redirect_uri=${encodeURIComponent(REDIRECT)}&scope=oauth%20crm.objects.contacts.read&state=xyz`,
      { redirect: 'manual' },
    );
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location') ?? '');
    expect(location.searchParams.get('state')).toBe('xyz');
    const code = location.searchParams.get('code') ?? '';
    const oauth = new Client({ basePath: h.server.url });
    const tokens = await oauth.oauth.tokensApi.create(
      'authorization_code',
      code,
      REDIRECT,
      clientId,
      clientSecret,
    );
    expect(tokens.tokenType).toBe('bearer');
    expect(tokens.expiresIn).toBe(1800);
    expect(tokens.refreshToken).toBeTruthy();
    const raw = tokens as unknown as { hubId?: number };
    expect(raw.hubId ?? (await oauth.oauth.accessTokensApi.get(tokens.accessToken)).hubId).toBe(424242);

    const reused = await rejectionOf(
      oauth.oauth.tokensApi.create('authorization_code', code, REDIRECT, clientId, clientSecret),
    );
    expect(reused.code).toBe(400);

    const info = await oauth.oauth.accessTokensApi.get(tokens.accessToken);
    expect(info.hubId).toBe(424242);
    expect(info.appId).toBe(h.sandbox.appId);
    expect(info.scopes).toEqual(['oauth', 'crm.objects.contacts.read']);

    const refreshed = await oauth.oauth.tokensApi.create(
      'refresh_token',
      undefined,
      undefined,
      clientId,
      clientSecret,
      tokens.refreshToken,
    );
    expect(refreshed.accessToken).not.toBe(tokens.accessToken);
    const api = new Client({ accessToken: refreshed.accessToken, basePath: h.server.url });
    expect((await api.crm.contacts.basicApi.getPage(1)).results).toHaveLength(1);

    h.sandbox.revokeRefreshToken(tokens.refreshToken);
    const revoked = await rejectionOf(
      oauth.oauth.tokensApi.create(
        'refresh_token',
        undefined,
        undefined,
        clientId,
        clientSecret,
        tokens.refreshToken,
      ),
    );
    expect(revoked.code).toBe(400);
  });

  it('answers invalid_grant with the documented body for a bad code', async () => {
    h = await startHarness();
    const res = await fetch(`${h.server.url}/oauth/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: h.sandbox.clientId,
        client_secret: h.sandbox.clientSecret,
        redirect_uri: REDIRECT,
        code: 'nope',
      }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_grant', status: 'BAD_AUTH_CODE' });
  });

  it('expires codes after their TTL and access tokens after expires_in', async () => {
    let clock = Date.parse('2026-06-10T00:00:00Z');
    h = await startHarness({ now: () => new Date(clock), accessTokenTtlSeconds: 60 });
    const code = h.sandbox.issueAuthCode({ redirectUri: REDIRECT });
    clock += 601_000;
    const oauth = new Client({ basePath: h.server.url });
    const stale = await rejectionOf(
      oauth.oauth.tokensApi.create(
        'authorization_code',
        code,
        REDIRECT,
        h.sandbox.clientId,
        h.sandbox.clientSecret,
      ),
    );
    expect(stale.code).toBe(400);
    const token = h.sandbox.issueAccessToken().token;
    const api = new Client({ accessToken: token, basePath: h.server.url });
    await api.crm.contacts.basicApi.getPage(1);
    clock += 61_000;
    const expired = await rejectionOf(api.crm.contacts.basicApi.getPage(1));
    expect(expired.code).toBe(401);
    expect(expired.body.category).toBe('EXPIRED_AUTHENTICATION');
  });

  it('401 INVALID_AUTHENTICATION for an unknown token; private-app tokens work and never expire', async () => {
    h = await startHarness({ privateAppTokens: ['pat-na1-test'] });
    const bad = new Client({ accessToken: 'nope', basePath: h.server.url });
    const err = await rejectionOf(bad.crm.contacts.basicApi.getPage(1));
    expect(err.code).toBe(401);
    expect(err.body.category).toBe('INVALID_AUTHENTICATION');
    const pat = new Client({ accessToken: 'pat-na1-test', basePath: h.server.url });
    h.sandbox.expireAccessTokens();
    expect((await pat.crm.contacts.basicApi.getPage(1)).results).toHaveLength(1);
  });

  it('the fault plan expires OAuth tokens mid-run', async () => {
    h = await startHarness();
    h.sandbox.faults.configure({ expireTokensAfterCalls: 3 });
    await h.client.crm.contacts.basicApi.getPage(1);
    await h.client.crm.contacts.basicApi.getPage(1);
    const err = await rejectionOf(h.client.crm.contacts.basicApi.getPage(1));
    expect(err.code).toBe(401);
    expect(err.body.category).toBe('EXPIRED_AUTHENTICATION');
    expect(h.sandbox.faults.counters.tokenExpiries).toBe(1);
  });
});
