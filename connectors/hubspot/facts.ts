/**
 * HubSpot facts (facts.json), validated with zod at load so a typo in the data file fails loudly
 * instead of silently changing a batch cap or a rate limit.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { parseOrThrow } from '../../src/validation.js';

export const ERR_HUBSPOT_FACTS_INVALID = 'ERR_HUBSPOT_FACTS_INVALID';

const Positive = z.number().int().positive();
const Rule = z.strictObject({ bucket: z.string().min(1), limit: Positive, windowMs: Positive });

export const HubSpotFactsSchema = z.strictObject({
  $comment: z.string().optional(),
  apiBaseUrl: z.url(),
  authorizeUrl: z.url(),
  batch: z.strictObject({
    maxInputs: Positive.max(100),
    listPageSize: Positive.max(100),
    searchPageSize: Positive.max(200),
    associationReadInputs: Positive.max(1000),
    searchResultCap: Positive,
    searchMaxFilterGroups: Positive,
    searchMaxFiltersPerGroup: Positive,
  }),
  rateLimits: z.strictObject({
    oauth: z.array(Rule).min(1),
    private: z.strictObject({
      starter: z.array(Rule).min(1),
      professional: z.array(Rule).min(1),
      enterprise: z.array(Rule).min(1),
    }),
  }),
  rateLimitPolicies: z.strictObject({
    tenSecondly: z.string().min(1),
    daily: z.string().min(1),
    secondlyMessage: z.string().min(1),
    tenSecondlyPauseMs: Positive,
    secondlyPauseMs: Positive,
  }),
  oauth: z.strictObject({ accessTokenTtlSeconds: Positive, refreshMarginSeconds: Positive }),
  sync: z.strictObject({
    incrementalOverlapMs: z.number().int().min(0),
    bookmarkMarginMs: z.number().int().min(0),
    searchIndexLagMs: z.number().int().min(0),
    modifiedProperty: z.string().min(1),
    idProperty: z.string().min(1),
    mergedIdsProperty: z.string().min(1),
  }),
  associationTypeIds: z.record(z.string().regex(/^[a-z_]+>[a-z_]+$/), Positive),
  webhooks: z.strictObject({
    signatureHeader: z.string().min(1),
    timestampHeader: z.string().min(1),
    maxAgeMs: Positive,
    maxEventsPerRequest: Positive,
    uriDecodes: z.array(z.string().regex(/^%[0-9A-F]{2}$/)),
  }),
});
export type HubSpotFacts = z.infer<typeof HubSpotFactsSchema>;
export type PrivateAppTier = keyof HubSpotFacts['rateLimits']['private'];

export function parseHubSpotFacts(input: unknown): HubSpotFacts {
  return parseOrThrow(HubSpotFactsSchema, input, 'connectors/hubspot/facts.json', ERR_HUBSPOT_FACTS_INVALID);
}

let cached: HubSpotFacts | undefined;

export function loadHubSpotFacts(): HubSpotFacts {
  cached ??= parseHubSpotFacts(
    JSON.parse(readFileSync(fileURLToPath(new URL('./facts.json', import.meta.url)), 'utf8')) as unknown,
  );
  return cached;
}

/** Default association type id `from → to` (API_FACTS §Associations v4). */
export function associationTypeId(facts: HubSpotFacts, from: string, to: string): number | undefined {
  return facts.associationTypeIds[`${from}>${to}`];
}
