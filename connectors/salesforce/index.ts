/**
 * Salesforce: the static app definition (`CrmDefinition`) — OAuth web-server flow with PKCE, value
 * encoding, rate-limit rules — and the per-tenant connector factory. No webhooks yet: Salesforce
 * changes are polled with the `(SystemModstamp, Id)` cursor (see connector.ts for how Change Data
 * Capture would plug into `ChangeEvent` later).
 */
import type { ConnectorContext, CrmDefinition, RateLimitRule } from '../contract.js';
import { parseOrThrow } from '../../src/validation.js';
import { SalesforceConnector } from './connector.js';
import { encodeSalesforce } from './encode.js';
import { parseSettings, SALESFORCE_FACTS } from './facts.js';
import type { SalesforceFacts } from './facts.js';
import { buildAuthorizeUrl, exchangeCode, refreshTokens, SalesforceAppConfigSchema } from './oauth.js';
import type { SalesforceAppConfig } from './oauth.js';

export { SalesforceConnector } from './connector.js';
export type { SalesforceStats } from './connector.js';
export { SALESFORCE_FACTS, parseSettings } from './facts.js';
export type { SalesforceFacts, SalesforceSettings } from './facts.js';
export type { SalesforceAppConfig } from './oauth.js';
export { createPkcePair, pkceChallenge, parseIdentityUrl, validateInstanceUrl } from './oauth.js';
export { encodeSalesforce } from './encode.js';
export { conversionUpdates, DEFAULT_CONVERSION_FIELDS } from './conversion.js';
export { TASK_KEY_FIELD } from './tasks.js';
export { SalesforceCursorSchema } from './pull.js';
export * from './errors.js';
export { ERR_SALESFORCE_BULK_JOB } from './bulk.js';

export interface SalesforceDefinitionOptions {
  facts?: SalesforceFacts;
  /** Injected sleep (tests): retries and bulk polling. */
  sleep?: (ms: number) => Promise<void>;
}

export interface SalesforceDefinition extends CrmDefinition {
  create(context: ConnectorContext): SalesforceConnector;
}

export function salesforceDefinition(
  appConfig: SalesforceAppConfig,
  options: SalesforceDefinitionOptions = {},
): SalesforceDefinition {
  const app = parseOrThrow(
    SalesforceAppConfigSchema,
    appConfig,
    'Salesforce app config',
  ) as SalesforceAppConfig;
  const facts = options.facts ?? SALESFORCE_FACTS;
  return {
    crm: 'salesforce',
    authorizeUrl: (request) => buildAuthorizeUrl(app, facts, request),
    exchangeCode: (request) => exchangeCode(app, facts, request),
    refresh: (tokens) => refreshTokens(app, facts, tokens),
    encode: encodeSalesforce,
    rateLimits(_mode): RateLimitRule[] {
      const settings = parseSettings(app.settings);
      return [
        { bucket: 'default', limit: facts.budget.burstLimit, windowMs: facts.budget.burstWindowMs },
        {
          bucket: 'daily',
          limit: Math.floor(facts.budget.fallbackDailyAllowance * settings.dailyBudgetShare),
          windowMs: facts.budget.windowMs,
        },
      ];
    },
    create(context) {
      const settings = parseSettings({ ...(app.settings ?? {}), ...(context.settings ?? {}) });
      return new SalesforceConnector(context, facts, settings, app.sandboxHost, options.sleep);
    },
  };
}
