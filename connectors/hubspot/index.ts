/**
 * HubSpot `CrmDefinition`: the static, per-app half (OAuth, webhook verification and parsing,
 * value encoding, rate-limit rules) and the factory of per-portal connectors.
 */
import type {
  AuthorizeRequest,
  CodeExchange,
  ConnectorContext,
  CrmDefinition,
  IncomingWebhook,
  RateLimitRule,
  TokenSet,
} from '../contract.js';
import type { OwnedFieldType } from '../../src/engine/model.js';
import { loadHubSpotManifest, parseHubSpotAppConfig } from './app-config.js';
import type { HubSpotAppConfig, HubSpotAppManifest } from './app-config.js';
import { createHubSpotConnector } from './connector.js';
import type { HubSpotConnector } from './connector.js';
import { encodeHubSpot } from './encode.js';
import { loadHubSpotFacts } from './facts.js';
import type { HubSpotFacts } from './facts.js';
import type { HubSpotHttpOptions } from './http.js';
import { buildAuthorizeUrl, exchangeCode, refreshTokens } from './oauth.js';
import { parseHubSpotWebhook, verifyHubSpotWebhook } from './webhook.js';

export interface HubSpotDefinition extends CrmDefinition {
  readonly facts: HubSpotFacts;
  readonly manifest: HubSpotAppManifest;
  create(context: ConnectorContext): HubSpotConnector;
}

export interface HubSpotDefinitionOptions {
  /** Clock for token expiry stamps (tests). */
  now?: () => Date;
  /** app.json path override (tests). */
  manifestPath?: string;
  /** HTTP retry tuning / injected sleep (tests, benchmarks). */
  http?: HubSpotHttpOptions;
}

export function hubspotDefinition(
  appConfig: HubSpotAppConfig,
  options: HubSpotDefinitionOptions = {},
): HubSpotDefinition {
  const app = parseHubSpotAppConfig(appConfig);
  const facts = loadHubSpotFacts();
  const manifest = loadHubSpotManifest(options.manifestPath);
  const now = options.now ?? (() => new Date());
  const oauth = { facts, app, now };
  return {
    crm: 'hubspot',
    facts,
    manifest,
    authorizeUrl: (request: AuthorizeRequest): string => buildAuthorizeUrl(facts, app, manifest, request),
    exchangeCode: (request: CodeExchange): Promise<TokenSet> => exchangeCode(oauth, request),
    refresh: (tokens: TokenSet): Promise<TokenSet> => refreshTokens(oauth, tokens),
    verifyWebhook: (request: IncomingWebhook, at: Date): void =>
      verifyHubSpotWebhook(facts, app.clientSecret, request, at),
    parseWebhook: (body: unknown) => parseHubSpotWebhook(body),
    encode: (type: OwnedFieldType, value: unknown) => encodeHubSpot(type, value),
    rateLimits: (mode: 'oauth' | 'private'): RateLimitRule[] =>
      (mode === 'oauth' ? facts.rateLimits.oauth : facts.rateLimits.private[app.privateAppTier]).map((r) => ({
        ...r,
      })),
    create: (context: ConnectorContext): HubSpotConnector =>
      createHubSpotConnector(context, facts, options.http),
  };
}

export { createHubSpotConnector } from './connector.js';
export type { HubSpotConnector, HubSpotSettings } from './connector.js';
export type { CallCounts } from './http.js';
export { STAGE_IS_CLOSED, STAGE_IS_WON } from './pipelines.js';
export { taskMarker } from './tasks.js';
export { privateAppTokenSet } from './oauth.js';
export { fetchPortalId, ERR_HUBSPOT_ACCOUNT_INFO } from './account.js';
export { hubspotAppConfigFromEnv, loadHubSpotManifest } from './app-config.js';
export { loadHubSpotFacts } from './facts.js';
export * from './errors.js';
