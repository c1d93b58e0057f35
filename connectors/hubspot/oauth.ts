/**
 * OAuth for the public app (API_FACTS §OAuth): authorize URL with app.json's scopes, code
 * exchange `POST /oauth/v1/token` (authorization_code), portal id from token introspection
 * `GET /oauth/v1/access-tokens/{token}` (`hub_id`), refresh (refresh_token grant). The access
 * token lives 30 minutes (`expires_in`); refreshing ahead of expiry under the per-tenant lock is
 * the token provider's job (src/store/tokens.ts). `invalid_grant` / BAD_REFRESH_TOKEN on refresh
 * = the app was uninstalled or the grant revoked → `ERR_AUTH_REVOKED`.
 * Private-app mode: a static token for one portal, no refresh.
 */
import { Client } from '@hubspot/api-client';
import type { AuthorizeRequest, CodeExchange, TokenSet } from '../contract.js';
import { AppError } from '../../src/errors.js';
import type { HubSpotAppManifest, HubSpotAppSettings } from './app-config.js';
import { ERR_HUBSPOT_APP_CONFIG } from './app-config.js';
import { ERR_AUTH_REVOKED, ERR_HUBSPOT_OAUTH, HubSpotHttpError, isNetworkError } from './errors.js';
import type { HubSpotFacts } from './facts.js';
import { AccessTokenInfoSchema, SdkTokenResponseSchema, parseWire } from './wire.js';

interface ResponseLike {
  httpStatusCode: number;
  headers: Record<string, string>;
  body: { text(): Promise<string> };
}

function oauthClient(basePath: string): Client {
  return new Client({ basePath, numberOfApiCallRetries: 0 });
}

/**
 * Middleware turning a non-2xx into a HubSpotHttpError with the raw body (the `error`
 * "invalid_grant" field would be lost in the SDK's model). Passed per call: 13.5 ignores
 * configuration middleware (see http.ts).
 */
const callOptions = {
  middlewareMergeStrategy: 'append' as const,
  middleware: [
    {
      pre: (c: unknown): Promise<unknown> => Promise.resolve(c),
      post: async (c: unknown): Promise<unknown> => {
        const r = c as ResponseLike;
        if (r.httpStatusCode >= 400)
          throw new HubSpotHttpError(r.httpStatusCode, await r.body.text(), r.headers);
        return r;
      },
    },
  ],
} as never;

function isLocal(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
}

export function buildAuthorizeUrl(
  facts: HubSpotFacts,
  app: HubSpotAppSettings,
  manifest: HubSpotAppManifest,
  request: AuthorizeRequest,
): string {
  // app.json lists the redirect URLs registered with HubSpot; local ones are allowed for dev/sandbox.
  if (!manifest.redirectUrls.includes(request.redirectUri) && !isLocal(request.redirectUri)) {
    throw new AppError(ERR_HUBSPOT_APP_CONFIG, 'redirect URI is not listed in app.json', {
      details: { redirectUri: request.redirectUri },
    });
  }
  const url = new URL(app.authorizeUrl ?? facts.authorizeUrl);
  url.searchParams.set('client_id', app.clientId);
  url.searchParams.set('redirect_uri', request.redirectUri);
  url.searchParams.set('scope', manifest.scopes.join(' '));
  if (manifest.optionalScopes.length > 0)
    url.searchParams.set('optional_scope', manifest.optionalScopes.join(' '));
  url.searchParams.set('state', request.state);
  return url.toString();
}

function oauthFailure(error: unknown, what: string, permanentCode: string): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof HubSpotHttpError) {
    const grant = error.body.error === 'invalid_grant' || error.body.status === 'BAD_REFRESH_TOKEN';
    const transient = error.status >= 500 || error.status === 429;
    return new AppError(grant ? permanentCode : ERR_HUBSPOT_OAUTH, `HubSpot ${what} failed`, {
      details: {
        status: error.status,
        error: error.body.error ?? error.body.category,
        hubspotMessage: error.body.message,
      },
      retryable: transient,
      cause: error,
    });
  }
  return new AppError(ERR_HUBSPOT_OAUTH, `HubSpot ${what} failed`, {
    details: { reason: (error as Error)?.message },
    retryable: isNetworkError(error),
    cause: error,
  });
}

export interface OAuthDeps {
  facts: HubSpotFacts;
  app: HubSpotAppSettings;
  now: () => Date;
}

function basePath(deps: OAuthDeps): string {
  return (deps.app.apiBaseUrl ?? deps.facts.apiBaseUrl).replace(/\/+$/, '');
}

export async function exchangeCode(deps: OAuthDeps, request: CodeExchange): Promise<TokenSet> {
  const client = oauthClient(basePath(deps));
  try {
    const raw = await client.oauth.tokensApi.create(
      'authorization_code',
      request.code,
      request.redirectUri,
      deps.app.clientId,
      deps.app.clientSecret,
      undefined,
      callOptions,
    );
    const token = parseWire(SdkTokenResponseSchema, raw, 'token');
    const info = parseWire(
      AccessTokenInfoSchema,
      await client.oauth.accessTokensApi.get(token.accessToken, callOptions),
      'token info',
    );
    return {
      accessToken: token.accessToken,
      ...(token.refreshToken === undefined ? {} : { refreshToken: token.refreshToken }),
      expiresAt: new Date(deps.now().getTime() + token.expiresIn * 1000).toISOString(),
      accountId: String(info.hubId),
      ...(info.userId === undefined ? {} : { userId: String(info.userId) }),
      ...(info.scopes === undefined ? {} : { scopes: info.scopes }),
    };
  } catch (error) {
    throw oauthFailure(error, 'code exchange', ERR_HUBSPOT_OAUTH);
  }
}

export async function refreshTokens(deps: OAuthDeps, tokens: TokenSet): Promise<TokenSet> {
  if (tokens.refreshToken === undefined) {
    throw new AppError(
      ERR_AUTH_REVOKED,
      'no HubSpot refresh token (private-app token rejected?): reconnect the portal',
    );
  }
  const client = oauthClient(basePath(deps));
  try {
    const raw = await client.oauth.tokensApi.create(
      'refresh_token',
      undefined,
      undefined,
      deps.app.clientId,
      deps.app.clientSecret,
      tokens.refreshToken,
      callOptions,
    );
    const token = parseWire(SdkTokenResponseSchema, raw, 'token');
    return {
      ...tokens,
      accessToken: token.accessToken,
      refreshToken: token.refreshToken ?? tokens.refreshToken,
      expiresAt: new Date(deps.now().getTime() + token.expiresIn * 1000).toISOString(),
    };
  } catch (error) {
    throw oauthFailure(error, 'token refresh', ERR_AUTH_REVOKED);
  }
}

/** Private-app mode: the admin's static token for one portal (no expiry, no refresh). */
export function privateAppTokenSet(accessToken: string, portalId: string): TokenSet {
  return { accessToken, accountId: portalId };
}
