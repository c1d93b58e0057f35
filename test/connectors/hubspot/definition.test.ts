import { createHmac } from 'node:crypto';
import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hubspotDefinition } from '../../../connectors/hubspot/index.js';
import { parseHubSpotFacts } from '../../../connectors/hubspot/facts.js';
import { loadMapping } from '../../../src/sync/mapping.js';
import { BASE } from './helpers.js';

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());

const NOW = new Date('2026-11-23T10:00:00Z');
const def = hubspotDefinition({ clientId: 'cid', clientSecret: 'shh', apiBaseUrl: BASE }, { now: () => NOW });

function signed(body: string, url: string, ts: number, secret = 'shh') {
  const uriForSig = url
    .replace(/%3A/gi, ':')
    .replace(/%2F/gi, '/')
    .replace(/%3F/gi, '?')
    .replace(/%40/gi, '@')
    .replace(/%2C/gi, ',');
  const sig = createHmac('sha256', secret).update(`POST${uriForSig}${body}${ts}`).digest('base64');
  return {
    method: 'POST',
    url,
    headers: { 'X-HubSpot-Signature-v3': sig, 'X-HubSpot-Request-Timestamp': String(ts) },
    rawBody: Buffer.from(body, 'utf8'),
  };
}

describe('webhook signature v3', () => {
  const body = JSON.stringify([
    { eventId: 1, portalId: 42, occurredAt: 1, subscriptionType: 'contact.creation', objectId: 5 },
  ]);
  const url = 'https://app.example/webhooks/hubspot?tenant=a%3Ab%40c';

  it('accepts a valid signature (uri decoded as documented)', () => {
    expect(() => def.verifyWebhook?.(signed(body, url, NOW.getTime() - 60_000), NOW)).not.toThrow();
  });

  it('rejects a wrong signature or a tampered body', () => {
    expect(() => def.verifyWebhook?.(signed(body, url, NOW.getTime(), 'other'), NOW)).toThrow(
      expect.objectContaining({ code: 'ERR_WEBHOOK_SIGNATURE' }),
    );
    const req = signed(body, url, NOW.getTime());
    expect(() =>
      def.verifyWebhook?.({ ...req, rawBody: Buffer.from(body.replace('42', '43')) }, NOW),
    ).toThrow(expect.objectContaining({ code: 'ERR_WEBHOOK_SIGNATURE' }));
    expect(() => def.verifyWebhook?.({ ...req, headers: {} }, NOW)).toThrow(
      expect.objectContaining({ code: 'ERR_WEBHOOK_SIGNATURE' }),
    );
  });

  it('rejects a timestamp older than 5 minutes even when signed correctly', () => {
    expect(() => def.verifyWebhook?.(signed(body, url, NOW.getTime() - 5 * 60_000 - 1), NOW)).toThrow(
      expect.objectContaining({ code: 'ERR_WEBHOOK_STALE' }),
    );
  });
});

describe('parseWebhook', () => {
  it('turns events into change events and lists malformed ones without failing the batch', () => {
    const { events, rejected } = def.parseWebhook?.([
      {
        eventId: 1,
        portalId: 42,
        occurredAt: 1_700_000_000_000,
        subscriptionType: 'contact.propertyChange',
        objectId: 5,
        propertyName: 'nps_score',
        propertyValue: '9',
        changeSource: 'CRM_UI',
      },
      {
        eventId: 2,
        portalId: 42,
        occurredAt: 1_700_000_000_000,
        subscriptionType: 'contact.merge',
        objectId: 7,
        primaryObjectId: 7,
        mergedObjectIds: [7, 8, 9],
      },
      { eventId: 3, portalId: 42, subscriptionType: 'deal.creation', objectId: 3 },
      {
        eventId: 4,
        portalId: 42,
        occurredAt: 1_700_000_000_000,
        subscriptionType: 'product.creation',
        objectId: 1,
      },
      'garbage',
      {
        eventId: 5,
        portalId: '42',
        occurredAt: 1_700_000_000_000,
        subscriptionType: 'contact.privacyDeletion',
        objectId: '11',
      },
      {
        eventId: 6,
        portalId: 42,
        occurredAt: 1_700_000_000_000,
        subscriptionType: 'deal.associationChange',
        fromObjectId: 3,
        toObjectId: 5,
        associationType: 'DEAL_TO_CONTACT',
      },
    ]) ?? { events: [], rejected: [] };
    expect(events.map((e) => [e.object, e.kind, e.ids, e.field ?? e.mergedInto ?? null])).toEqual([
      ['contacts', 'changed', ['5'], 'nps_score'],
      ['contacts', 'merged', ['8', '9'], '7'],
      ['contacts', 'privacy_deleted', ['11'], null],
      ['deals', 'association_changed', ['3'], null],
      ['contacts', 'association_changed', ['5'], null],
    ]);
    expect(events[0]).toMatchObject({
      accountId: '42',
      source: 'CRM_UI',
      eventId: '1',
      occurredAt: new Date(1_700_000_000_000),
    });
    expect(rejected.map((r) => r.index)).toEqual([2, 3, 4]);
  });

  it('rejects a body that is not an array', () => {
    expect(def.parseWebhook?.({})).toEqual({
      events: [],
      rejected: [{ index: -1, reason: 'body is not a JSON array' }],
    });
  });
});

describe('encode', () => {
  it('encodes each owned type the way HubSpot stores it', () => {
    expect(def.encode('boolean', true)).toBe('true');
    expect(def.encode('boolean', false)).toBe('false');
    expect(def.encode('number', 72.5)).toBe('72.5');
    expect(def.encode('currency', { amount: 1234.567, currency: 'EUR' })).toBe('1234.57');
    expect(def.encode('date', new Date('2026-03-04T22:30:00Z'))).toBe('2026-03-04');
    expect(def.encode('datetime', new Date('2026-03-04T22:30:00.123Z'))).toBe('2026-03-04T22:30:00.123Z');
    expect(def.encode('multi', ['VIP', 'Segment A', 'VIP'])).toBe('VIP;Segment A');
    expect(def.encode('string', null)).toBeNull();
    expect(() => def.encode('boolean', 'yes')).toThrow(
      expect.objectContaining({ code: 'ERR_HUBSPOT_ENCODE' }),
    );
  });
});

describe('OAuth', () => {
  it('builds the authorize URL with the scopes of app.json', () => {
    const url = new URL(
      def.authorizeUrl({ state: 's1', redirectUri: 'http://localhost:3000/oauth/hubspot/callback' }),
    );
    expect(url.origin + url.pathname).toBe('https://app.hubspot.com/oauth/authorize');
    expect(url.searchParams.get('scope')?.split(' ')).toEqual(def.manifest.scopes);
    expect(url.searchParams.get('state')).toBe('s1');
    expect(() => def.authorizeUrl({ state: 's', redirectUri: 'https://evil.example/cb' })).toThrow(
      expect.objectContaining({ code: 'ERR_HUBSPOT_APP_CONFIG' }),
    );
  });

  it('exchanges a code and reads the portal id from token introspection', async () => {
    const scope = nock(BASE)
      .post(
        '/oauth/v1/token',
        (b: Record<string, string>) =>
          b.grant_type === 'authorization_code' && b.code === 'c1' && b.client_secret === 'shh',
      )
      .reply(200, { token_type: 'bearer', access_token: 'at', refresh_token: 'rt', expires_in: 1800 })
      .get('/oauth/v1/access-tokens/at')
      .reply(200, {
        token: 'at',
        hub_id: 4242,
        scopes: ['oauth'],
        user_id: 9,
        app_id: 1,
        expires_in: 1799,
        token_type: 'access',
        hub_domain: 'x',
        user: 'u',
      });
    const tokens = await def.exchangeCode({ code: 'c1', redirectUri: 'http://localhost:3000/cb' });
    scope.done();
    expect(tokens).toMatchObject({
      accessToken: 'at',
      refreshToken: 'rt',
      accountId: '4242',
      expiresAt: '2026-11-23T10:30:00.000Z',
    });
  });

  it('maps invalid_grant on refresh to ERR_AUTH_REVOKED', async () => {
    const scope = nock(BASE).post('/oauth/v1/token').reply(400, {
      status: 'BAD_REFRESH_TOKEN',
      message: 'missing or invalid refresh token',
      error: 'invalid_grant',
      error_description: 'refresh token is invalid, expired or revoked',
    });
    await expect(def.refresh({ accessToken: 'a', refreshToken: 'r', accountId: '1' })).rejects.toMatchObject({
      code: 'ERR_AUTH_REVOKED',
    });
    scope.done();
  });

  it('keeps the refresh token when HubSpot does not rotate it', async () => {
    const scope = nock(BASE)
      .post('/oauth/v1/token')
      .reply(200, { access_token: 'a2', refresh_token: 'r', expires_in: 1800, token_type: 'bearer' });
    const t = await def.refresh({ accessToken: 'a', refreshToken: 'r', accountId: '1' });
    scope.done();
    expect(t).toMatchObject({ accessToken: 'a2', refreshToken: 'r', accountId: '1' });
  });
});

describe('facts, limits and mapping', () => {
  it('gives the public-app and private-app rate rules from facts.json', () => {
    expect(def.rateLimits('oauth')).toEqual([
      { bucket: 'default', limit: 110, windowMs: 10_000 },
      { bucket: 'search', limit: 5, windowMs: 1000 },
    ]);
    expect(def.rateLimits('private').find((r) => r.bucket === 'daily')?.limit).toBe(250_000);
  });

  it('refuses a facts file with a batch cap above HubSpot’s', () => {
    const bad = structuredClone(def.facts) as unknown as { batch: { maxInputs: number } };
    bad.batch.maxInputs = 250;
    expect(() => parseHubSpotFacts(bad)).toThrow(
      expect.objectContaining({ code: 'ERR_HUBSPOT_FACTS_INVALID' }),
    );
  });

  it('ships a mapping that loads and names the seed fields', () => {
    const m = loadMapping('hubspot');
    expect(m.objects.contacts?.inputs.isCustomer).toEqual({
      field: 'lifecyclestage',
      in: ['customer', 'evangelist'],
    });
    expect(m.objects.deals?.inputs.amount).toEqual({ field: 'amount', currencyField: 'deal_currency_code' });
    expect(m.objects.contacts?.owned.referral_code?.unique).toBe(true);
  });
});
