/**
 * The marketplace app description (`app.json`, key `hubspot`) and the app's credentials. app.json
 * is the one source of truth for scopes, redirect URLs and webhook subscriptions: the authorize
 * URL reads its scopes from here, the admin page lists its subscriptions.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { parseOrThrow } from '../../src/validation.js';

export const ERR_HUBSPOT_APP_CONFIG = 'ERR_HUBSPOT_APP_CONFIG';

export const HubSpotAppManifestSchema = z.object({
  name: z.string().min(1),
  description: z.string().min(1),
  scopes: z.array(z.string().min(1)).min(1),
  optionalScopes: z.array(z.string().min(1)).default([]),
  redirectUrls: z.array(z.url()).min(1),
  webhookTargetPath: z.string().startsWith('/'),
  webhookSubscriptions: z.array(
    z.strictObject({
      subscriptionType: z.string().regex(/^(contact|company|deal|ticket)\.[a-zA-Z]+$/),
      propertyName: z.string().min(1).optional(),
    }),
  ),
  environment: z.record(z.string(), z.string()),
});
export type HubSpotAppManifest = z.infer<typeof HubSpotAppManifestSchema>;

const AppFileSchema = z.object({ hubspot: HubSpotAppManifestSchema });

export function loadHubSpotManifest(path?: string): HubSpotAppManifest {
  const file = path ?? fileURLToPath(new URL('../../app.json', import.meta.url));
  const raw: unknown = JSON.parse(readFileSync(file, 'utf8'));
  return parseOrThrow(AppFileSchema, raw, 'app.json', ERR_HUBSPOT_APP_CONFIG).hubspot;
}

/** The app's credentials and mode, from the environment (see app.json `environment`). */
export const HubSpotAppConfigSchema = z.strictObject({
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  appId: z.string().min(1).optional(),
  /** Private-app mode: one portal, a static token, HubSpot's private-app limits of this tier. */
  privateAppTier: z.enum(['starter', 'professional', 'enterprise']).default('starter'),
  /** OAuth/token endpoints base (the sandbox in tests); default facts.apiBaseUrl. */
  apiBaseUrl: z.url().optional(),
  /** Authorize page (the sandbox's in tests); default facts.authorizeUrl. */
  authorizeUrl: z.url().optional(),
});
export type HubSpotAppConfig = z.input<typeof HubSpotAppConfigSchema>;
export type HubSpotAppSettings = z.infer<typeof HubSpotAppConfigSchema>;

export function parseHubSpotAppConfig(input: unknown): HubSpotAppSettings {
  return parseOrThrow(HubSpotAppConfigSchema, input, 'HubSpot app config', ERR_HUBSPOT_APP_CONFIG);
}

/** Reads the app config from environment variables named in app.json. */
export function hubspotAppConfigFromEnv(env: NodeJS.ProcessEnv = process.env): HubSpotAppSettings {
  return parseHubSpotAppConfig({
    clientId: env.HUBSPOT_CLIENT_ID,
    clientSecret: env.HUBSPOT_CLIENT_SECRET,
    ...(env.HUBSPOT_APP_ID === undefined ? {} : { appId: env.HUBSPOT_APP_ID }),
    ...(env.HUBSPOT_PRIVATE_APP_TIER === undefined ? {} : { privateAppTier: env.HUBSPOT_PRIVATE_APP_TIER }),
  });
}
