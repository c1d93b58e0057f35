import { createHash } from 'node:crypto';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { accessTokenFor, cookiesOf, install, PUBLIC_URL, startHarness } from './harness.js';
import type { Harness } from './harness.js';

let h: Harness;

beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

async function startFlow(
  crm: 'hubspot' | 'salesforce' = 'hubspot',
): Promise<{ state: string; location: URL }> {
  const res = await request(h.app).get(`/install/${crm}`).expect(302);
  const location = new URL(res.headers.location as string);
  return { state: location.searchParams.get('state')!, location };
}

function callback(crm: string, query: Record<string, string>, accept = 'application/json') {
  return request(h.app).get(`/oauth/${crm}/callback`).query(query).set('Accept', accept);
}

describe('GET /install/:crm', () => {
  it('redirects to the CRM authorize URL with our redirect URI and a signed state', async () => {
    const { state, location } = await startFlow();
    expect(location.origin).toBe('https://auth.hubspot.test');
    expect(location.searchParams.get('redirect_uri')).toBe(`${PUBLIC_URL}/oauth/hubspot/callback`);
    expect(state.split('.')).toHaveLength(3); // a JWS
    expect(location.searchParams.has('code_challenge')).toBe(false);
  });

  it('uses PKCE for Salesforce: the verifier stays server-side and matches the challenge', async () => {
    const { state, location } = await startFlow('salesforce');
    const challenge = location.searchParams.get('code_challenge')!;
    expect(challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(state).not.toContain(challenge);
    await callback('salesforce', { code: 'code-00D1', state }).expect(303);
    const verifier = h.crms.salesforce.exchanges[0]?.codeVerifier;
    expect(verifier).toBeDefined();
    expect(Buffer.from(state.split('.')[1]!, 'base64url').toString()).not.toContain(verifier!);
    expect(createHash('sha256').update(verifier!).digest('base64url')).toBe(challenge);
  });

  it('answers an unknown CRM with the error shape', async () => {
    const res = await request(h.app).get('/install/pipedrive').expect(404);
    expect(res.body).toEqual({ error: { code: 'ERR_SERVER_UNKNOWN_CRM', message: expect.any(String) } });
  });
});

describe('GET /oauth/:crm/callback', () => {
  it('creates the tenant, stores its tokens, queues provisioning + backfill + schedule, signs the admin in', async () => {
    const { state } = await startFlow();
    const res = await callback('hubspot', { code: 'code-4242', state }).expect(303);
    const tenant = await h.store.findByAccount('hubspot', '4242');
    expect(tenant).toMatchObject({ crm: 'hubspot', accountId: '4242', mode: 'oauth', status: 'connected' });
    expect(res.headers.location).toBe(`/admin?tenant=${tenant!.id}`);
    expect((await h.store.loadTokens(tenant!.id))?.accessToken).toBe(accessTokenFor('4242'));
    expect(h.crms.hubspot.exchanges[0]).toMatchObject({
      code: 'code-4242',
      redirectUri: `${PUBLIC_URL}/oauth/hubspot/callback`,
    });

    const provision = await h.queues.byKind.provision.getWaiting();
    const backfill = await h.queues.byKind.backfill.getWaiting();
    expect(provision.map((j) => j.data)).toEqual([{ tenantId: tenant!.id, reason: 'install' }]);
    expect(backfill.map((j) => j.data)).toEqual([{ tenantId: tenant!.id, reason: 'install' }]);
    expect(await h.producer.nextScheduledAt(tenant!.id)).not.toBeNull();

    const cookies = (res.headers['set-cookie'] as unknown as string[]).join('\n');
    expect(cookies).toMatch(/rs_session=[^;]+; Max-Age=\d+; Path=\/; Expires=[^;]+; HttpOnly; SameSite=Lax/);
    expect(cookies).not.toContain(accessTokenFor('4242'));
  });

  it('reconnects an existing account instead of creating a second tenant', async () => {
    const first = await install(h, 'hubspot', '77');
    await h.store.updateTenant(first.tenantId, {
      status: 'disconnected',
      statusReason: 'refresh token revoked',
    });
    const second = await install(h, 'hubspot', '77', first.cookies);
    expect(second.tenantId).toBe(first.tenantId);
    expect(await h.store.listTenants()).toHaveLength(1);
    expect((await h.store.getTenant(first.tenantId))?.status).toBe('connected');
    const incremental = await h.queues.byKind.incremental.getWaiting();
    expect(incremental.map((j) => j.data)).toEqual([{ tenantId: first.tenantId, reason: 'install' }]);
  });

  it('rejects a reused state', async () => {
    const { state } = await startFlow();
    await callback('hubspot', { code: 'code-1', state }).expect(303);
    const res = await callback('hubspot', { code: 'code-1', state }).expect(400);
    expect(res.body.error.code).toBe('ERR_OAUTH_STATE_USED');
  });

  it('rejects a tampered state', async () => {
    const { state } = await startFlow();
    const [header, payload, signature] = state.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, crm: 'salesforce' })).toString('base64url');
    for (const bad of [`${header}.${forged}.${signature}`, `${state}x`, 'not-a-jwt', '']) {
      const res = await callback('hubspot', { code: 'code-1', state: bad }).expect(400);
      expect(res.body.error.code).toBe('ERR_OAUTH_STATE_INVALID');
    }
    expect(h.crms.hubspot.exchanges).toHaveLength(0);
    expect(await h.store.listTenants()).toHaveLength(0);
  });

  it('rejects a state started for another CRM', async () => {
    const { state } = await startFlow('salesforce');
    const res = await callback('hubspot', { code: 'code-1', state }).expect(400);
    expect(res.body.error.code).toBe('ERR_OAUTH_STATE_INVALID');
  });

  it('rejects an expired state (10 minutes)', async () => {
    const { state } = await startFlow();
    h.clock.now = new Date(h.clock.now.getTime() + 11 * 60_000);
    const res = await callback('hubspot', { code: 'code-1', state }).expect(400);
    expect(res.body.error.code).toBe('ERR_OAUTH_STATE_EXPIRED');
  });

  it('reports a CRM denial and a failed code exchange with stable codes, creating nothing', async () => {
    const denied = await callback('hubspot', {
      error: 'access_denied',
      state: (await startFlow()).state,
    }).expect(400);
    expect(denied.body.error).toMatchObject({
      code: 'ERR_OAUTH_DENIED',
      details: { crmError: 'access_denied' },
    });
    const failed = await callback('hubspot', { code: 'code-bad', state: (await startFlow()).state }).expect(
      502,
    );
    expect(failed.body.error).toMatchObject({
      code: 'ERR_OAUTH_EXCHANGE_FAILED',
      details: { cause: 'ERR_HUBSPOT_OAUTH' },
    });
    expect(await h.store.listTenants()).toHaveLength(0);
    expect(cookiesOf(failed)).toEqual({});
  });

  it('renders the error as a page for a browser', async () => {
    const res = await callback(
      'hubspot',
      { code: 'c', state: 'garbage' },
      'text/html,application/xhtml+xml',
    ).expect(400);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.text).toContain('ERR_OAUTH_STATE_INVALID');
  });

  it('never logs the code, the state or a token', async () => {
    const { state } = await startFlow();
    await callback('hubspot', { code: 'code-9001', state }).expect(303);
    const logged = JSON.stringify(h.logs);
    expect(logged).toContain('/oauth/hubspot/callback');
    expect(logged).not.toContain(state);
    expect(logged).not.toContain('code-9001');
    expect(logged).not.toContain(accessTokenFor('9001'));
  });
});
