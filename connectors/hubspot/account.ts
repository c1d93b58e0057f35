/**
 * The portal a private-app token belongs to: `GET /account-info/v3/details` answers `portalId`
 * (https://developers.hubspot.com/docs/api-reference/account-account-information-v3/guide). OAuth
 * installs learn it from token introspection instead (oauth.ts); a private-app token has none.
 */
import { Client } from '@hubspot/api-client';
import { z } from 'zod';
import { AppError } from '../../src/errors.js';
import { ERR_HUBSPOT_PAYLOAD } from './errors.js';
import { loadHubSpotFacts } from './facts.js';

export const ERR_HUBSPOT_ACCOUNT_INFO = 'ERR_HUBSPOT_ACCOUNT_INFO';

const DetailsSchema = z.looseObject({ portalId: z.union([z.number().int(), z.string().regex(/^\d+$/)]) });

export async function fetchPortalId(accessToken: string, baseUrl?: string): Promise<string> {
  const client = new Client({
    accessToken,
    basePath: (baseUrl ?? loadHubSpotFacts().apiBaseUrl).replace(/\/+$/, ''),
    numberOfApiCallRetries: 0,
  });
  const response = await client.apiRequest({ method: 'GET', path: '/account-info/v3/details' });
  if (!response.ok) {
    throw new AppError(ERR_HUBSPOT_ACCOUNT_INFO, `HubSpot account-info answered HTTP ${response.status}`, {
      details: { status: response.status },
      retryable: response.status === 429 || response.status >= 500,
    });
  }
  const parsed = DetailsSchema.safeParse(await response.json());
  if (!parsed.success)
    throw new AppError(ERR_HUBSPOT_PAYLOAD, 'HubSpot account-info response has no portalId');
  return String(parsed.data.portalId);
}
