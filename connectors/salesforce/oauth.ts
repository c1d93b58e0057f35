/**
 * Install and auth: OAuth 2.0 web-server flow with PKCE (S256), against login.salesforce.com,
 * test.salesforce.com (sandboxes) or the org's My Domain (SF "OAuth 2.0 Web Server Flow for Web
 * App Integration"; API_FACTS §2 OAuth). The token response has no `expires_in` (the session lives
 * as long as the org's session timeout), carries `instance_url` (where every API call goes: it is
 * validated, since a forged one would receive our bearer token) and the identity URL
 * `https://login.salesforce.com/id/{orgId}/{userId}` from which the org id is read.
 */
import { createHash, randomBytes } from 'node:crypto';
import { OAuth2 } from 'jsforce';
import { z } from 'zod';
import type { AuthorizeRequest, CodeExchange, TokenSet } from '../contract.js';
import { AppError } from '../../src/errors.js';
import { parseOrThrow } from '../../src/validation.js';
import {
  ERR_AUTH_REVOKED,
  ERR_SALESFORCE_INSTANCE_URL,
  ERR_SALESFORCE_LOGIN_URL,
  ERR_SALESFORCE_OAUTH,
  ERR_SALESFORCE_PAYLOAD,
  errorMessage,
  isTransientCode,
  salesforceErrorCode,
} from './errors.js';
import { SALESFORCE_FACTS } from './facts.js';
import type { SalesforceFacts } from './facts.js';

export interface SalesforceAppConfig {
  clientId: string;
  clientSecret?: string;
  /** Default login host (login / test / My Domain). */
  loginUrl?: string;
  /** `host:port` of the sandbox emulator, accepted as login host and instance URL (http allowed). */
  sandboxHost?: string;
  /** Default per-tenant settings (`ConnectorContext.settings` overrides). */
  settings?: Record<string, unknown>;
}

export const SalesforceAppConfigSchema = z.strictObject({
  clientId: z.string().min(1),
  clientSecret: z.string().min(1).optional(),
  loginUrl: z.url().optional(),
  sandboxHost: z
    .string()
    .regex(/^[a-z0-9.-]+(:\d{1,5})?$/i, 'host or host:port')
    .optional(),
  settings: z.record(z.string(), z.unknown()).optional(),
});

function hostMatches(hostname: string, suffixes: readonly string[]): boolean {
  const h = hostname.toLowerCase();
  return suffixes.some((s) => (s.startsWith('.') ? h.endsWith(s) && h.length > s.length : h === s));
}

/**
 * The origin of a Salesforce instance URL, or ERR_SALESFORCE_INSTANCE_URL. Accepted: https on
 * `*.salesforce.com`, `*.my.salesforce.com`, `*.force.com`; or exactly the configured sandbox host.
 * `trusted` is an operator-configured base URL (ConnectorContext.baseUrl), accepted as is.
 */
export function validateInstanceUrl(
  raw: string,
  sandboxHost: string | undefined,
  trusted?: string,
  suffixes: readonly string[] = SALESFORCE_FACTS.oauth.instanceHostSuffixes,
): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError(ERR_SALESFORCE_INSTANCE_URL, 'the Salesforce instance URL is not a URL', {
      details: { instanceUrl: raw.slice(0, 200) },
    });
  }
  if (trusted !== undefined && url.origin === new URL(trusted).origin) return url.origin;
  const clean = url.username === '' && url.password === '' && (url.pathname === '/' || url.pathname === '');
  const isSandbox = sandboxHost !== undefined && url.host.toLowerCase() === sandboxHost.toLowerCase();
  const isSalesforce = url.protocol === 'https:' && hostMatches(url.hostname, suffixes);
  if (!clean || !(isSandbox || isSalesforce) || !/^https?:$/.test(url.protocol)) {
    throw new AppError(
      ERR_SALESFORCE_INSTANCE_URL,
      `refusing instance URL ${url.origin}: not a Salesforce domain (*.salesforce.com, *.my.salesforce.com, *.force.com) or the configured sandbox host`,
      { details: { instanceUrl: url.origin } },
    );
  }
  return url.origin;
}

/** Login host for authorize/token: login, test, a My Domain, or the sandbox emulator. */
export function resolveLoginUrl(raw: string, facts: SalesforceFacts, sandboxHost?: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError(ERR_SALESFORCE_LOGIN_URL, 'the Salesforce login URL is not a URL');
  }
  const isSandbox = sandboxHost !== undefined && url.host.toLowerCase() === sandboxHost.toLowerCase();
  const ok =
    isSandbox || (url.protocol === 'https:' && hostMatches(url.hostname, facts.oauth.loginHostSuffixes));
  if (!ok) {
    throw new AppError(
      ERR_SALESFORCE_LOGIN_URL,
      `refusing login host ${url.host}: use login.salesforce.com, test.salesforce.com or a My Domain (*.my.salesforce.com)`,
      { details: { loginUrl: url.origin } },
    );
  }
  return url.origin;
}

/** A PKCE pair (RFC 7636 S256): the server keeps `verifier` with the OAuth state. */
export function createPkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(64).toString('base64url');
  return { verifier, challenge: pkceChallenge(verifier) };
}

export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

export function buildAuthorizeUrl(
  app: SalesforceAppConfig,
  facts: SalesforceFacts,
  request: AuthorizeRequest,
): string {
  if (request.codeChallenge === undefined || request.codeChallenge === '') {
    throw new AppError(
      ERR_SALESFORCE_OAUTH,
      'a PKCE code challenge is required for the Salesforce web-server flow',
    );
  }
  const loginUrl = resolveLoginUrl(
    request.loginUrl ?? app.loginUrl ?? facts.oauth.loginUrl,
    facts,
    app.sandboxHost,
  );
  const oauth2 = new OAuth2({ loginUrl, clientId: app.clientId, redirectUri: request.redirectUri });
  return oauth2.getAuthorizationUrl({
    state: request.state,
    scope: facts.oauth.scopes.join(' '),
    code_challenge: request.codeChallenge,
    code_challenge_method: 'S256',
    prompt: 'login consent',
  });
}

const TokenResponseSchema = z.looseObject({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1).optional(),
  instance_url: z.string().min(1),
  id: z.string().min(1),
  scope: z.string().optional(),
  token_type: z.string().optional(),
  issued_at: z.string().optional(),
});

const ID_URL = /\/id\/(00D[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?)\/(005[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?)\/?$/;

/** Org id and user id from the identity URL `…/id/{orgId}/{userId}`. */
export function parseIdentityUrl(id: string): { orgId: string; userId: string } {
  const m = ID_URL.exec(id);
  if (m === null || m[1] === undefined || m[2] === undefined) {
    throw new AppError(
      ERR_SALESFORCE_PAYLOAD,
      'the Salesforce identity URL does not name an org and a user',
      {
        details: { id: id.slice(0, 200) },
      },
    );
  }
  return { orgId: m[1], userId: m[2] };
}

function toTokenSet(raw: unknown, sandboxHost: string | undefined, previous?: TokenSet): TokenSet {
  const res = parseOrThrow(TokenResponseSchema, raw, 'Salesforce token response', ERR_SALESFORCE_PAYLOAD);
  const instanceUrl = validateInstanceUrl(res.instance_url, sandboxHost);
  const { orgId, userId } = parseIdentityUrl(res.id);
  if (previous !== undefined && previous.accountId !== orgId) {
    throw new AppError(ERR_SALESFORCE_OAUTH, 'the refreshed Salesforce session belongs to another org', {
      details: { expected: previous.accountId, got: orgId },
    });
  }
  const refreshToken = res.refresh_token ?? previous?.refreshToken;
  // On refresh the stored set decides whether a user id is kept (the store validates its shape).
  const user = previous === undefined ? userId : previous.userId;
  const scopes = res.scope?.split(/\s+/).filter((s) => s !== '') ?? previous?.scopes;
  return {
    accessToken: res.access_token,
    ...(refreshToken === undefined ? {} : { refreshToken }),
    instanceUrl,
    accountId: orgId,
    ...(user === undefined ? {} : { userId: user }),
    ...(scopes === undefined ? {} : { scopes }),
  };
}

function oauthError(error: unknown, what: string, revokedCode?: string): AppError {
  const code = salesforceErrorCode(error);
  if (revokedCode !== undefined && code === 'invalid_grant') {
    return new AppError(revokedCode, `${what}: the Salesforce refresh token was revoked or expired`, {
      details: { oauthError: code },
      cause: error,
    });
  }
  const transient = isTransientCode(code) || /^ERROR_HTTP_5\d\d$/.test(code ?? '');
  return new AppError(ERR_SALESFORCE_OAUTH, `${what} failed: ${code ?? 'error'}: ${errorMessage(error)}`, {
    details: { oauthError: code ?? null },
    retryable: transient,
    cause: error,
  });
}

export async function exchangeCode(
  app: SalesforceAppConfig,
  facts: SalesforceFacts,
  request: CodeExchange,
): Promise<TokenSet> {
  const loginUrl = resolveLoginUrl(
    request.loginUrl ?? app.loginUrl ?? facts.oauth.loginUrl,
    facts,
    app.sandboxHost,
  );
  const oauth2 = new OAuth2({
    loginUrl,
    clientId: app.clientId,
    redirectUri: request.redirectUri,
    ...(app.clientSecret === undefined ? {} : { clientSecret: app.clientSecret }),
  });
  // jsforce sends `code_verifier` with the token request when `codeVerifier` is set (its
  // `useVerifier` mechanism); the verifier is ours, kept with the OAuth state by the server.
  if (request.codeVerifier !== undefined) oauth2.codeVerifier = request.codeVerifier;
  let raw: unknown;
  try {
    raw = await oauth2.requestToken(request.code);
  } catch (error) {
    throw oauthError(error, 'Salesforce code exchange');
  }
  return toTokenSet(raw, app.sandboxHost);
}

/**
 * Refresh grant. The token endpoint of the org's own instance (My Domain) serves the refresh, so a
 * sandbox org installed through test.salesforce.com refreshes where it lives. A rotated refresh
 * token (refresh token rotation, or a single-use token) replaces the old one in the returned set.
 */
export async function refreshTokens(
  app: SalesforceAppConfig,
  facts: SalesforceFacts,
  tokens: TokenSet,
): Promise<TokenSet> {
  if (tokens.refreshToken === undefined) {
    throw new AppError(ERR_AUTH_REVOKED, 'no Salesforce refresh token is stored: reinstall the app');
  }
  const instanceUrl = validateInstanceUrl(tokens.instanceUrl ?? facts.oauth.loginUrl, app.sandboxHost);
  const oauth2 = new OAuth2({
    loginUrl: instanceUrl,
    clientId: app.clientId,
    ...(app.clientSecret === undefined ? {} : { clientSecret: app.clientSecret }),
  });
  let raw: unknown;
  try {
    raw = await oauth2.refreshToken(tokens.refreshToken);
  } catch (error) {
    throw oauthError(error, 'Salesforce token refresh', ERR_AUTH_REVOKED);
  }
  return toTokenSet(raw, app.sandboxHost, tokens);
}
