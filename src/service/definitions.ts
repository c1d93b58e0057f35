/** The CRM definitions this deployment serves, from the validated configuration. */
import { hubspotDefinition } from '../../connectors/hubspot/index.js';
import { salesforceDefinition } from '../../connectors/salesforce/index.js';
import type { AppConfig } from '../config.js';
import type { Definitions } from '../sync/tenant-runtime.js';

export function definitionsFrom(config: AppConfig): Definitions {
  const defs: Definitions = {};
  const hs = config.hubspot;
  if (hs.oauth !== undefined || hs.privateAppToken !== undefined) {
    defs.hubspot = hubspotDefinition({
      // Private-app mode has no OAuth client: the definition only needs the names to be present.
      clientId: hs.oauth?.clientId ?? 'private-app',
      clientSecret: hs.oauth?.clientSecret ?? 'private-app',
      ...(hs.oauth === undefined ? {} : { appId: hs.oauth.appId }),
      // An API base override is the sandbox (or a test double), which serves the authorize page on
      // the same host; real HubSpot's authorize page is on app.hubspot.com (facts default).
      ...(hs.apiBaseUrl === undefined
        ? {}
        : { apiBaseUrl: hs.apiBaseUrl, authorizeUrl: `${hs.apiBaseUrl}/oauth/authorize` }),
    });
  }
  const sf = config.salesforce;
  if (sf.oauth !== undefined) {
    defs.salesforce = salesforceDefinition({
      clientId: sf.oauth.clientId,
      clientSecret: sf.oauth.clientSecret,
      loginUrl: sf.loginUrl,
      settings: { dailyBudgetShare: sf.dailyBudgetShare },
    });
  }
  return defs;
}
