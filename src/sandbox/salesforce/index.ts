/**
 * Salesforce sandbox: a local express 5 emulator of the Salesforce APIs referral-sync uses, close
 * enough that the UNMODIFIED jsforce 3.10 works against it with the sandbox URL as instanceUrl
 * and loginUrl.
 *
 * Where each behaviour comes from ([JSF] = node_modules/jsforce/lib, [AF] = /work/shared/API_FACTS.md,
 * [SF:x] = developer.salesforce.com page x, read through the `search` docs corpus):
 * - OAuth web-server flow + PKCE, refresh grant, token response without expires_in, `id` =
 *   {login}/id/{orgId}/{userId}, `signature` = HMAC-SHA256(secret, id+issued_at), invalid_grant:
 *   [AF §OAuth], [SF:intro_understanding_web_server_oauth_flow], [JSF oauth2.js] (S256 challenge,
 *   no method sent, code_verifier on every token call), [JSF connection.js oauthRefreshFn] (refresh
 *   response must carry `id`). → oauth.ts, sessions.ts
 * - 401 `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`, jsforce
 *   refreshes on any REST 401 [JSF http-api.js isSessionExpired], on Bulk 2.0 401 whose body has
 *   INVALID_SESSION_ID [JSF api/bulk2.js], on SOAP 500 faultcode *:INVALID_SESSION_ID [JSF soap.js].
 *   → gateway.ts, metadata.ts
 * - Sforce-Limit-Info `api-usage=USED/LIMIT` on every response, /limits DailyApiRequests, 403
 *   REQUEST_LIMIT_EXCEEDED "TotalRequests Limit exceeded.", rolling 24 h [AF §REST basics],
 *   [SF:headers_api_usage], [JSF connection.js request() limitInfo]. Every authenticated call under
 *   /services/data (REST and Bulk 2.0) and /services/Soap counts 1; OAuth token and identity calls
 *   do not (unverified). → gateway.ts
 * - Query/queryAll/queryMore: response shape, batchSize 200..2000 via Sforce-Query-Options,
 *   nextRecordsUrl `/services/data/vXX.X/query/<id>-<offset>`, queryAll returns IsDeleted rows
 *   [AF §Query], [SF:resources_query], [SF:headers_queryoptions]; jsforce keeps only the last
 *   segment [JSF query.js locatorToUrl]. SOQL errors MALFORMED_QUERY / INVALID_FIELD /
 *   INVALID_TYPE with SF's caret message [SF:errorcodes]. → soql.ts, query-exec.ts, cursors.ts
 * - sObjects, describe (visible fields only), key prefixes, 18-char ids: [SF Object Reference],
 *   ids.ts checksum. → schema.ts, describe.ts, ids.ts
 * - Collections (POST/PATCH/DELETE /composite/sobjects, PATCH /composite/sobjects/T/extId,
 *   retrieve), ≤200 records, allOrNone, ordered SaveResults; single PATCH 204, upsert 201/200
 *   [AF §Collections], [JSF connection.js _createMany/_updateMany/_upsertMany/_retrieveMany].
 *   → rest.ts, save.ts
 * - Bulk API 2.0 query (Sforce-Locator literal "null" on the last page, Sforce-NumberOfRecords)
 *   and ingest (Open → PUT batches → UploadComplete → JobComplete; successful/failed/unprocessed
 *   CSV; `#N/A` nulls) [AF §Bulk API 2.0], [SF:query_get_job_results], [JSF api/bulk2.js].
 *   → bulk2.ts
 * - Metadata API SOAP (create/update/upsert/read/delete CustomField and PermissionSet), FLS:
 *   new fields invisible until an assigned permission set grants them [AF §Metadata API],
 *   [JSF api/metadata.js, soap.js]. → metadata.ts
 * - Faults: src/sandbox/common/faults.ts with Salesforce bodies (403 REQUEST_LIMIT_EXCEEDED
 *   ConcurrentPerOrgLongTxn for "rate limited", 500 UNKNOWN_EXCEPTION / 503 SERVER_UNAVAILABLE);
 *   per-record UNABLE_TO_LOCK_ROW in collections and bulk ingest. → gateway.ts, save.ts
 * - Throughput: listen() serves GET record and /limits on node:http directly when no fault plan
 *   is active (same answers as the express routes, tested). → fast-path.ts
 * jsforce 3.10 behaviours the connector must know (seen against this sandbox, from its source):
 * jsforce retries GET/PUT/HEAD/OPTIONS/DELETE on 420/429/5xx up to 5 times with 0.5–8 s backoff
 * [JSF request.js]; bulk2.query() breaks on results of more than one page ("write after end",
 * jsforce issues #1546/#1693) — page `…/results?locator=` yourself; SaveError is typed
 * `errorCode` but the wire field is `statusCode`.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Express, NextFunction, Request, Response } from 'express';
import { FaultInjector } from '../common/faults.js';
import type { SeedAccount } from '../seed/types.js';
import { registerBulk2, BulkJobs } from './bulk2.js';
import type { SalesforceSandboxConfig, SandboxContext } from './context.js';
import { CursorStore } from './cursors.js';
import { fastPath } from './fast-path.js';
import { salesforceFaultResponders } from './gateway.js';
import { KEY_PREFIXES, checksumSuffix, toId18 } from './ids.js';
import { loadSeed } from './load-seed.js';
import type { SeedIdMap } from './load-seed.js';
import { metadataRouter } from './metadata.js';
import { oauthRouter } from './oauth.js';
import { notFound, restRouter } from './rest.js';
import { Sessions } from './sessions.js';
import { SalesforceState } from './state.js';
import type { CallCounters, WriteLogEntry } from './state.js';
import { SoqlError } from './soql.js';
import { sendError } from './wire.js';
import type { Rec, SaveError } from './wire.js';

export type { CallCounters, WriteLogEntry, SeedIdMap, Rec, SaveError, SalesforceSandboxConfig };
export { SalesforceState } from './state.js';
export { KEY_PREFIXES } from './ids.js';

export type SalesforceSandboxOptions = Partial<SalesforceSandboxConfig>;

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  userId: string;
  orgId: string;
}

export interface ConvertLeadOptions {
  /** Existing contact to merge into; else a new Contact is created from the lead. */
  contactId?: string;
  accountId?: string;
  /** Create an Opportunity (default true) or attach an existing one. */
  createOpportunity?: boolean;
  opportunityId?: string;
}

export interface SalesforceSandbox {
  app: Express;
  state: SalesforceState;
  faults: FaultInjector;
  config: SalesforceSandboxConfig;
  listen(port?: number, host?: string): Promise<{ url: string; close(): Promise<void> }>;
  loadSeed(account: SeedAccount): SeedIdMap;
  reset(): void;
  /** Mint tokens for the API user without the browser step (tests, demo). */
  issueTokens(): TokenPair;
  /** A user edits a record in the UI: bypasses FLS, bumps SystemModstamp, logged via 'helper'. */
  simulateUserEdit(type: string, id: string, values: Record<string, unknown>): void;
  /** Create a record as an admin/user would (no FLS), returns its id. */
  createRecord(type: string, values: Record<string, unknown>): string;
  deleteRecord(type: string, id: string): void;
  /** Convert a lead like Lead Convert: Contact + Account (+ Opportunity), lead becomes read-only. */
  convertLead(
    leadId: string,
    options?: ConvertLeadOptions,
  ): { contactId: string; accountId: string; opportunityId: string | null };
  /**
   * Merge like the UI's Merge Contacts/Leads/Accounts: each duplicate gets `MasterRecordId` = the
   * survivor and goes to the recycle bin (IsDeleted, returned by queryAll). Related records are not
   * reparented here (Salesforce does; nothing in the connector reads it from the merge).
   */
  mergeRecords(type: 'Account' | 'Contact' | 'Lead', masterId: string, duplicateIds: readonly string[]): void;
  /** Expire every access token (refresh tokens stay valid). */
  expireSessions(): void;
  /** The next bulk job of this kind fails (state Failed with errorMessage). */
  failNextBulkJob(kind: 'query' | 'ingest', errorMessage?: string): void;
  /** Spend part of the daily allowance (as other integrations would). */
  consumeApiRequests(n: number): void;
}

function defaultOrgId(): string {
  const id15 = `${KEY_PREFIXES.Organization}5g000000SBX1`;
  return id15 + checksumSuffix(id15);
}

export function createSalesforceSandbox(options: SalesforceSandboxOptions = {}): SalesforceSandbox {
  const config: SalesforceSandboxConfig = {
    clientId: options.clientId ?? '3MVG9sandbox.referral-sync.client',
    clientSecret: options.clientSecret ?? 'sandbox-client-secret',
    orgId: options.orgId ?? defaultOrgId(),
    dailyApiLimit: options.dailyApiLimit ?? 100_000 + 1_000 * 50,
    limitsEnabled: options.limitsEnabled ?? true,
    sessionTtlSeconds: options.sessionTtlSeconds ?? 7200,
    rotateRefreshTokens: options.rotateRefreshTokens ?? false,
    bulkResultPageSize: options.bulkResultPageSize ?? 50_000,
    bulkPollsBeforeComplete: options.bulkPollsBeforeComplete ?? 0,
    maxOpenCursors: options.maxOpenCursors ?? 10,
    now: options.now ?? (() => new Date()),
  };
  const state = new SalesforceState(config.orgId, config.now);
  const faults = new FaultInjector();
  const sessions = new Sessions(config.orgId, config.now, config.sessionTtlSeconds);
  const ctx: SandboxContext = { config, state, sessions, faults };
  const cursors = new CursorStore(config.now, config.maxOpenCursors);
  const bulkJobs = new BulkJobs();

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  const faultMiddleware = faults.middleware(salesforceFaultResponders);
  app.use((req, res, next) => {
    if (req.path.startsWith('/services/') || req.path.startsWith('/id/'))
      return faultMiddleware(req, res, next);
    next();
  });
  const rest = restRouter(ctx, cursors);
  registerBulk2(rest, ctx, bulkJobs);
  rest.use((_req: Request, res: Response) => notFound(res));
  // Dispatch on the prefix first so a data call does not walk the OAuth and SOAP routers.
  const oauth = oauthRouter(ctx);
  const soap = metadataRouter(ctx);
  app.use('/services/data', rest);
  app.use((req, res, next) =>
    req.path.startsWith('/services/Soap/') ? soap(req, res, next) : oauth(req, res, next),
  );
  app.use((_req: Request, res: Response) => notFound(res));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof SoqlError) return sendError(res, 400, err.errorCode, err.message);
    const e = err as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.parse.failed')
      return sendError(res, 400, 'JSON_PARSER_ERROR', `Unexpected character: ${e.message ?? ''}`);
    if (e.type === 'entity.too.large')
      return sendError(res, 413, 'REQUEST_ENTITY_TOO_LARGE', 'request entity too large');
    sendError(res, 500, 'UNKNOWN_EXCEPTION', `An unexpected error occurred: ${e.message ?? String(err)}`);
  });

  const adminOpts = { via: 'helper' as const, enforceFls: false };
  const mustPrepare = (
    type: string,
    values: Record<string, unknown>,
    mode: 'create' | 'update',
    id: string | undefined,
  ): string => {
    const p = state.prepare(type, values, mode, id, adminOpts);
    if (!p.ok)
      throw new Error(
        `sandbox ${mode} ${type} failed: ${p.errors.map((e) => `${e.statusCode} ${e.message}`).join('; ')}`,
      );
    return state.commit(p, adminOpts);
  };

  const sandbox: SalesforceSandbox = {
    app,
    state,
    faults,
    config,
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        // node:http with the fast path in front of express (fast-path.ts says why).
        const server: Server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
          if (!fastPath(ctx, req, res)) app(req, res);
        });
        server.listen(port, host, () => {
          const { port: actual } = server.address() as AddressInfo;
          resolve({
            url: `http://${host}:${actual}`,
            close: () =>
              new Promise<void>((done) => {
                server.closeAllConnections();
                server.close(() => done());
              }),
          });
        });
        server.on('error', reject);
      });
    },
    loadSeed: (account) => loadSeed(state, account),
    reset() {
      state.reset();
      sessions.clear();
      cursors.clear();
      bulkJobs.clear();
      faults.reset();
    },
    issueTokens() {
      const refreshToken = sessions.issueRefresh(state.apiUserId, config.clientId);
      const accessToken = sessions.issueAccess(state.apiUserId, config.clientId, refreshToken);
      return { accessToken, refreshToken, userId: state.apiUserId, orgId: config.orgId };
    },
    simulateUserEdit(type, id, values) {
      mustPrepare(type, values, 'update', id);
    },
    createRecord(type, values) {
      return mustPrepare(type, values, 'create', undefined);
    },
    deleteRecord(type, id) {
      const err = state.softDelete(type, id, 'helper');
      if (err !== undefined) throw new Error(`sandbox delete failed: ${err.statusCode}`);
    },
    mergeRecords(type, masterId, duplicateIds) {
      const table = state.table(type);
      const master = table?.records.get(toId18(masterId) ?? '');
      if (table === undefined || master === undefined || master.IsDeleted === true)
        throw new Error(`no ${type} ${masterId} to merge into`);
      // SF merges at most three records at once (the master and two duplicates).
      if (duplicateIds.length < 1 || duplicateIds.length > 2)
        throw new Error('a merge takes one or two duplicates');
      for (const dup of duplicateIds) {
        const rec = table.records.get(toId18(dup) ?? '');
        if (rec === undefined || rec.IsDeleted === true || rec.Id === master.Id)
          throw new Error(`no ${type} ${dup} to merge`);
        rec.MasterRecordId = master.Id ?? null;
        const err = state.softDelete(type, dup, 'helper');
        if (err !== undefined) throw new Error(`sandbox merge failed: ${err.statusCode}`);
      }
    },
    convertLead(leadId, opts = {}) {
      const leads = state.table('Lead');
      const lead = leads?.records.get(leadId);
      if (leads === undefined || lead === undefined || lead.IsDeleted === true)
        throw new Error(`no lead ${leadId}`);
      if (lead.IsConverted === true) throw new Error(`lead ${leadId} is already converted`);
      const accountId =
        opts.accountId ??
        mustPrepare(
          'Account',
          { Name: lead.Company ?? '[not provided]', OwnerId: lead.OwnerId },
          'create',
          undefined,
        );
      let contactId = opts.contactId;
      if (contactId === undefined) {
        // Standard lead field mapping, and custom fields with the same API name on Contact
        // (SF "Map Custom Lead Fields": values copy only into the new record / empty fields).
        const contacts = state.table('Contact');
        const values: Record<string, unknown> = { AccountId: accountId };
        for (const f of leads.fields.values()) {
          const target = contacts?.field(f.name);
          if (target === undefined || !target.createable || ['OwnerId', 'AccountId'].includes(f.name))
            continue;
          if (lead[f.name] !== null && lead[f.name] !== undefined) values[target.name] = lead[f.name];
        }
        values.OwnerId = lead.OwnerId;
        contactId = mustPrepare('Contact', values, 'create', undefined);
      }
      let opportunityId: string | null = opts.opportunityId ?? null;
      if (opportunityId === null && opts.createOpportunity !== false) {
        const closeDate = new Date(config.now().getTime() + 30 * 86_400_000).toISOString().slice(0, 10);
        opportunityId = mustPrepare(
          'Opportunity',
          {
            Name: `${String(lead.Company ?? 'New')}-`,
            StageName: 'Prospecting',
            CloseDate: closeDate,
            AccountId: accountId,
            OwnerId: lead.OwnerId,
          },
          'create',
          undefined,
        );
        mustPrepare(
          'OpportunityContactRole',
          { OpportunityId: opportunityId, ContactId: contactId, IsPrimary: true },
          'create',
          undefined,
        );
      }
      const before = { ...lead };
      const stamp = new Date(config.now()).toISOString().replace('Z', '+0000');
      Object.assign(lead, {
        IsConverted: true,
        Status: 'Closed - Converted',
        ConvertedDate: stamp.slice(0, 10),
        ConvertedAccountId: accountId,
        ConvertedContactId: contactId,
        ConvertedOpportunityId: opportunityId,
        SystemModstamp: stamp,
        LastModifiedDate: stamp,
      } satisfies Rec);
      leads.reindex(before, lead);
      leads.trackStamp(lead);
      state.writes.push({
        seq: state.writes.length + 1,
        at: stamp,
        sobject: 'Lead',
        id: leadId,
        op: 'update',
        via: 'helper',
        values: {
          IsConverted: true,
          ConvertedContactId: contactId,
          ConvertedAccountId: accountId,
          ConvertedOpportunityId: opportunityId,
        },
      });
      return { contactId, accountId, opportunityId };
    },
    expireSessions() {
      sessions.expireAll();
    },
    failNextBulkJob(kind, errorMessage = 'InternalServerError : retry later') {
      bulkJobs.failNext[kind].push(errorMessage);
    },
    consumeApiRequests(n) {
      state.usage.record(n);
    },
  };
  return sandbox;
}
