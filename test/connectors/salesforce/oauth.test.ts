import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createPkcePair,
  ERR_AUTH_REVOKED,
  ERR_SALESFORCE_INSTANCE_URL,
  ERR_SALESFORCE_LOGIN_URL,
  pkceChallenge,
  salesforceDefinition,
  validateInstanceUrl,
} from '../../../connectors/salesforce/index.js';
import { isAppError } from '../../../src/errors.js';
import { HOST, INSTANCE, ORG_ID, tokenSet, USER_ID } from './helpers.js';

const LOGIN = 'https://login.salesforce.com';
const def = salesforceDefinition({ clientId: 'client-id', clientSecret: 'client-secret', sandboxHost: HOST });

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return isAppError(e) ? e.code : `raw:${String(e)}`;
  }
}

describe('Salesforce OAuth (web-server flow with PKCE)', () => {
  it('builds the authorize URL with an S256 challenge on login, test and My Domain hosts', () => {
    const { verifier, challenge } = createPkcePair();
    expect(challenge).toBe(pkceChallenge(verifier));
    for (const loginUrl of [LOGIN, 'https://test.salesforce.com', 'https://acme.my.salesforce.com']) {
      const url = new URL(
        def.authorizeUrl({
          state: 's1',
          redirectUri: 'https://app.example/cb',
          codeChallenge: challenge,
          loginUrl,
        }),
      );
      expect(url.origin).toBe(loginUrl);
      expect(url.pathname).toBe('/services/oauth2/authorize');
      expect(url.searchParams.get('response_type')).toBe('code');
      expect(url.searchParams.get('client_id')).toBe('client-id');
      expect(url.searchParams.get('code_challenge')).toBe(challenge);
      expect(url.searchParams.get('code_challenge_method')).toBe('S256');
      expect(url.searchParams.get('state')).toBe('s1');
    }
  });

  it('refuses a login host that is not Salesforce', () => {
    expect(() =>
      def.authorizeUrl({
        state: 's',
        redirectUri: 'https://a/cb',
        codeChallenge: 'c',
        loginUrl: 'https://evil.example.com',
      }),
    ).toThrowError(expect.objectContaining({ code: ERR_SALESFORCE_LOGIN_URL }) as Error);
  });

  it('exchanges code + verifier for a token set with the org id from the identity URL', async () => {
    const scope = nock(LOGIN)
      .post('/services/oauth2/token', (body: Record<string, string>) => {
        return (
          body.grant_type === 'authorization_code' &&
          body.code === 'the-code' &&
          body.code_verifier === 'the-verifier' &&
          body.client_id === 'client-id' &&
          body.redirect_uri === 'https://app.example/cb'
        );
      })
      .reply(200, {
        access_token: 'at',
        refresh_token: 'rt',
        instance_url: 'https://acme.my.salesforce.com',
        id: `${LOGIN}/id/${ORG_ID}/${USER_ID}`,
        token_type: 'Bearer',
        scope: 'api refresh_token',
        issued_at: '1700000000000',
        signature: 'sig',
      });
    const tokens = await def.exchangeCode({
      code: 'the-code',
      codeVerifier: 'the-verifier',
      redirectUri: 'https://app.example/cb',
    });
    expect(tokens).toMatchObject({
      accessToken: 'at',
      refreshToken: 'rt',
      instanceUrl: 'https://acme.my.salesforce.com',
      accountId: ORG_ID,
      userId: USER_ID,
      scopes: ['api', 'refresh_token'],
    });
    scope.done();
  });

  it('rejects a token response whose instance_url is not a Salesforce domain', async () => {
    const scope = nock(LOGIN)
      .post('/services/oauth2/token')
      .reply(200, {
        access_token: 'at',
        instance_url: 'https://evil.example.com',
        id: `${LOGIN}/id/${ORG_ID}/${USER_ID}`,
      });
    expect(
      await codeOf(def.exchangeCode({ code: 'c', codeVerifier: 'v', redirectUri: 'https://a/cb' })),
    ).toBe(ERR_SALESFORCE_INSTANCE_URL);
    scope.done();
  });

  it('validates instance URLs: Salesforce domains over https or the configured sandbox host', () => {
    expect(validateInstanceUrl('https://na1.salesforce.com', undefined)).toBe('https://na1.salesforce.com');
    expect(validateInstanceUrl('https://acme.my.salesforce.com/', undefined)).toBe(
      'https://acme.my.salesforce.com',
    );
    expect(validateInstanceUrl('https://acme--uat.sandbox.my.salesforce.com', undefined)).toBe(
      'https://acme--uat.sandbox.my.salesforce.com',
    );
    expect(validateInstanceUrl('https://acme.lightning.force.com', undefined)).toBe(
      'https://acme.lightning.force.com',
    );
    expect(validateInstanceUrl('http://127.0.0.1:4010', '127.0.0.1:4010')).toBe('http://127.0.0.1:4010');
    for (const bad of [
      'http://na1.salesforce.com',
      'https://salesforce.com.evil.com',
      'https://evilsalesforce.com',
      'https://user:pw@na1.salesforce.com',
      'https://na1.salesforce.com/path',
      'http://127.0.0.1:4011',
    ]) {
      expect(() => validateInstanceUrl(bad, '127.0.0.1:4010'), bad).toThrowError(
        expect.objectContaining({ code: ERR_SALESFORCE_INSTANCE_URL }) as Error,
      );
    }
  });

  it('refresh keeps a rotated refresh token, and the old one when none is returned', async () => {
    const scope = nock(INSTANCE)
      .post(
        '/services/oauth2/token',
        (b: Record<string, string>) => b.grant_type === 'refresh_token' && b.refresh_token === 'rt-1',
      )
      .reply(200, {
        access_token: 'at-2',
        refresh_token: 'rt-2',
        instance_url: INSTANCE,
        id: `${LOGIN}/id/${ORG_ID}/${USER_ID}`,
      })
      .post('/services/oauth2/token', (b: Record<string, string>) => b.refresh_token === 'rt-2')
      .reply(200, { access_token: 'at-3', instance_url: INSTANCE, id: `${LOGIN}/id/${ORG_ID}/${USER_ID}` });
    const rotated = await def.refresh(tokenSet('at-1', 'rt-1'));
    expect(rotated).toMatchObject({ accessToken: 'at-2', refreshToken: 'rt-2', accountId: ORG_ID });
    const again = await def.refresh(rotated);
    expect(again).toMatchObject({ accessToken: 'at-3', refreshToken: 'rt-2' });
    scope.done();
  });

  it('a revoked refresh token (invalid_grant) is ERR_AUTH_REVOKED', async () => {
    const scope = nock(INSTANCE)
      .post('/services/oauth2/token')
      .reply(400, { error: 'invalid_grant', error_description: 'expired access/refresh token' });
    expect(await codeOf(def.refresh(tokenSet()))).toBe(ERR_AUTH_REVOKED);
    scope.done();
  });
});
