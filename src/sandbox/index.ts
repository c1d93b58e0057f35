/**
 * Both CRM emulators at once, loaded with the same seeded account: what `npm run sandbox`, the
 * demo, the end-to-end tests and the benchmarks start. HubSpot listens on `port` and Salesforce on
 * `port + 1` (both on free ports when `port` is 0 or absent).
 */
import { z } from 'zod';
import { parseOrThrow } from '../validation.js';
import {
  createHubSpotSandbox,
  type HubSpotSandbox,
  type HubSpotSandboxOptions,
  type SeedIdMap as HubSpotIdMap,
} from './hubspot/index.js';
import {
  createSalesforceSandbox,
  type SalesforceSandbox,
  type SalesforceSandboxOptions,
  type SeedIdMap as SalesforceIdMap,
} from './salesforce/index.js';
import { generateSeedAccount } from './seed/generate.js';
import type { SeedAccount } from './seed/types.js';

export { createHubSpotSandbox, createSalesforceSandbox, generateSeedAccount };
export type {
  HubSpotSandbox,
  HubSpotSandboxOptions,
  SalesforceSandbox,
  SalesforceSandboxOptions,
  SeedAccount,
};

export const ERR_SANDBOX_OPTIONS = 'ERR_SANDBOX_OPTIONS';

/**
 * Demo private-app token. Deliberately NOT HubSpot's real `pat-<region>-<uuid>` shape, so secret
 * scanners do not flag it; only this sandbox accepts it (it takes any string in `privateAppTokens`).
 */
export const DEMO_HUBSPOT_PRIVATE_APP_TOKEN = 'pat-sandbox-demo-token';

const StartOptionsSchema = z.strictObject({
  seed: z.number().int(),
  contacts: z.number().int(),
  /** "Now" of the seeded data; default: the start of today (UTC), so recent-activity rules fire. */
  asOf: z.date().optional(),
  port: z.number().int().min(0).max(65_534).optional(),
  host: z.string().min(1).optional(),
  /** HubSpot portal (hub) id the account is loaded as. */
  portalId: z.number().int().positive().optional(),
  hubspot: z.custom<HubSpotSandboxOptions>((v) => typeof v === 'object' && v !== null).optional(),
  salesforce: z.custom<SalesforceSandboxOptions>((v) => typeof v === 'object' && v !== null).optional(),
});
export type StartSandboxesOptions = z.input<typeof StartOptionsSchema>;

export interface HubSpotCredentials {
  clientId: string;
  clientSecret: string;
  appId: number;
  portalId: number;
  /** Never expires; use as `new Client({ accessToken, basePath: url })`. */
  privateAppToken: string;
  /** Start of the OAuth install flow (add `&redirect_uri=…&scope=…`). */
  authorizeUrl: string;
  tokenUrl: string;
}

export interface SalesforceCredentials {
  clientId: string;
  clientSecret: string;
  /** jsforce `instanceUrl` and `loginUrl` are both the sandbox URL. */
  instanceUrl: string;
  loginUrl: string;
  orgId: string;
  userId: string;
  /** Ready session for the API user (expires after the org session timeout; refresh works). */
  accessToken: string;
  refreshToken: string;
}

export interface RunningSandboxes {
  account: SeedAccount;
  hubspot: { url: string; sandbox: HubSpotSandbox; credentials: HubSpotCredentials; ids: HubSpotIdMap };
  salesforce: {
    url: string;
    sandbox: SalesforceSandbox;
    credentials: SalesforceCredentials;
    ids: SalesforceIdMap;
  };
  close(): Promise<void>;
}

export function startOfUtcDay(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
}

export async function startSandboxes(options: StartSandboxesOptions): Promise<RunningSandboxes> {
  const o = parseOrThrow(StartOptionsSchema, options, 'sandbox options', ERR_SANDBOX_OPTIONS);
  const host = o.host ?? '127.0.0.1';
  const account = generateSeedAccount({
    seed: o.seed,
    contacts: o.contacts,
    asOf: o.asOf ?? startOfUtcDay(new Date()),
  });

  const hubspotOptions: HubSpotSandboxOptions = { ...o.hubspot };
  const privateAppToken = hubspotOptions.privateAppTokens?.[0] ?? DEMO_HUBSPOT_PRIVATE_APP_TOKEN;
  hubspotOptions.privateAppTokens = [privateAppToken, ...(hubspotOptions.privateAppTokens ?? []).slice(1)];
  const hubspot = createHubSpotSandbox(hubspotOptions);
  const hubspotIds = hubspot.loadSeed(account, o.portalId === undefined ? {} : { portalId: o.portalId });
  const salesforce = createSalesforceSandbox(o.salesforce ?? {});
  const salesforceIds = salesforce.loadSeed(account);

  const port = o.port ?? 0;
  const hubspotServer = await hubspot.listen(port, host);
  let salesforceServer: { url: string; close(): Promise<void> };
  try {
    salesforceServer = await salesforce.listen(port === 0 ? 0 : port + 1, host);
  } catch (e) {
    await hubspotServer.close();
    throw e;
  }

  const tokens = salesforce.issueTokens();
  return {
    account,
    hubspot: {
      url: hubspotServer.url,
      sandbox: hubspot,
      ids: hubspotIds,
      credentials: {
        clientId: hubspot.clientId,
        clientSecret: hubspot.clientSecret,
        appId: hubspot.appId,
        portalId: hubspot.state.portalId,
        privateAppToken,
        authorizeUrl: `${hubspotServer.url}/oauth/authorize?client_id=${encodeURIComponent(hubspot.clientId)}`,
        tokenUrl: `${hubspotServer.url}/oauth/v1/token`,
      },
    },
    salesforce: {
      url: salesforceServer.url,
      sandbox: salesforce,
      ids: salesforceIds,
      credentials: {
        clientId: salesforce.config.clientId,
        clientSecret: salesforce.config.clientSecret,
        instanceUrl: salesforceServer.url,
        loginUrl: salesforceServer.url,
        orgId: tokens.orgId,
        userId: tokens.userId,
        accessToken: tokens.accessToken,
        refreshToken: tokens.refreshToken,
      },
    },
    async close() {
      await Promise.all([hubspotServer.close(), salesforceServer.close()]);
    },
  };
}

/**
 * The `npm run sandbox` banner: URLs and demo credentials. Printing secrets is deliberate here:
 * they are throwaway credentials that only this local sandbox accepts.
 */
export function printSandboxBanner(
  running: RunningSandboxes,
  write: (line: string) => void = console.log,
): void {
  const { account, hubspot: hs, salesforce: sf } = running;
  const leads = account.people.filter((p) => p.kind === 'lead').length;
  const lines = [
    `referral-sync CRM sandbox (seed ${account.seed}, data as of ${account.asOf.toISOString().slice(0, 10)})`,
    `  ${account.people.length - leads} contacts, ${leads} leads, ${account.companies.length} companies, ` +
      `${account.deals.length} deals, ${account.tickets.length} tickets, ${account.owners.length} owners`,
    '',
    `HubSpot     ${hs.url}   (portal ${hs.credentials.portalId})`,
    `  private-app token  ${hs.credentials.privateAppToken}`,
    `  OAuth client id    ${hs.credentials.clientId}`,
    `  OAuth secret       ${hs.credentials.clientSecret}`,
    `  authorize          ${hs.credentials.authorizeUrl}&redirect_uri=<your callback>`,
    `  token              ${hs.credentials.tokenUrl}`,
    `  client             new Client({ accessToken: '<token>', basePath: '${hs.url}' })`,
    '',
    `Salesforce  ${sf.url}   (org ${sf.credentials.orgId})`,
    `  access token       ${sf.credentials.accessToken}`,
    `  refresh token      ${sf.credentials.refreshToken}`,
    `  OAuth client id    ${sf.credentials.clientId}`,
    `  OAuth secret       ${sf.credentials.clientSecret}`,
    `  authorize          ${sf.url}/services/oauth2/authorize?response_type=code&client_id=<id>&redirect_uri=<cb>`,
    `  client             new jsforce.Connection({ instanceUrl: '${sf.url}', accessToken: '<token>' })`,
  ];
  for (const line of lines) write(line);
}
