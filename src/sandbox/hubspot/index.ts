/**
 * Local HubSpot emulator: an express 5 app that speaks the parts of the HubSpot API referral-sync
 * uses, faithfully enough for the unmodified `@hubspot/api-client` 13.5
 * (`new Client({ accessToken, basePath: url })`).
 *
 * Where each behaviour comes from (API_FACTS = /work/shared/API_FACTS.md; SDK = installed
 * node_modules/@hubspot/api-client/lib/codegen/…):
 * - Paths, methods, accepted status codes: SDK `crm/<type>/apis/{Basic,Batch,Search}Api.js`,
 *   `crm/objects/tasks/apis`, `crm/associations/v4/apis/{Basic,Batch}Api.js`,
 *   `crm/properties/apis/{Core,Groups}Api.js`, `crm/owners/apis/OwnersApi.js` (trailing slash),
 *   `crm/pipelines/apis/PipelinesApi.js`, `oauth/apis/{Tokens,AccessTokens,RefreshTokens}Api.js`.
 *   The SDK throws on any status it does not list (create 201; batch create 201/207; batch
 *   read/update/upsert 200/207; archive 204; v4 default associate 200; property create 201), and
 *   parses bodies only with `Content-Type: application/json` — every answer here is JSON.
 * - Object list/get/create/update/archive, batch caps (100) and 207 shape, upsert `new`, search
 *   limits (200/page, 10,000 cap, 5 groups × 6 filters / 18, one sort, 5 req/s, indexing lag),
 *   error body `{status,message,correlationId,category,errors?}`, PROPERTY_DOESNT_EXIST:
 *   API_FACTS §CRM v3 objects (HubSpot docs api_crm_using-object-apis, api_crm_search-the-crm).
 * - "Contact already exists. Existing ID: N" 409 CONFLICT: issues corpus, HubSpot/hubspot-api-nodejs#545.
 * - Associations v4 shapes and default type ids: API_FACTS §Associations v4 (SDK AssociationTypes).
 * - Properties, groups, type/fieldType pairs, hasUniqueValue ≤ 10, owners: API_FACTS §Properties.
 *   409 on an existing property name: HubSpot v2 properties doc ("Returns a 409 Conflict");
 *   category OBJECT_ALREADY_EXISTS and message wording: unverified.
 * - OAuth endpoints, token response, invalid_grant body, introspection fields: API_FACTS §OAuth.
 *   401 INVALID_AUTHENTICATION message: publicly quoted HubSpot body; EXPIRED_AUTHENTICATION
 *   category: API_FACTS (community-observed), message wording unverified.
 * - Rate limits, headers and 429 bodies: API_FACTS §Rate limits (usage-guidelines; SDK
 *   RetryDecorator matches "You have reached your secondly limit." and TEN_SECONDLY_ROLLING).
 * - Webhook payload fields, ≤ 100 events per request, signature v3: API_FACTS §Webhooks.
 * - Deal stages / closed-won derivation: seed SEED_DEAL_STAGES (HubSpot's default sales pipeline).
 * Unverified choices are marked "unverified" where they are made.
 *
 * One sandbox = one HubSpot account (portal); `loadSeed` sets its portal id. Routes run on the lean
 * router of `http-kit.ts` (express 5's own per-request cost was several times the emulator's);
 * `listen()` serves it on node:http and `app` is an express app mounting the same handler.
 * Measured on the shared 2-core machine (load ≈ 16–19): GET one contact ≈ 3,000–7,800 requests per
 * server CPU-second; 1M-contact seed (970,709 contacts, 354,892 deals, 156,250 companies, 78,519
 * tickets, 2.7M associations) loads in ≈ 33 s CPU and holds ≈ 1.35 GB of heap; incremental search
 * on hs_lastmodifieddate ≈ 50 ms CPU, a full-scan search ≈ 0.4 s CPU at that size.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { FaultInjector } from '../common/faults.js';
import { BodyError, MiniApp, type Middleware, type SbRequest, type SbResponse } from './http-kit.js';
import type { SeedAccount } from '../seed/types.js';
import { bearerAuth, oauthRouter, TokenStore, type TokenRecord } from './auth.js';
import {
  findRecord,
  normalizeProps,
  readProp,
  uniqueConflict,
  updateRecord,
  type CrmContext,
  type CrmEvent,
} from './crm.js';
import { DEFAULT_LIMITS, rateLimitBody, RateLimiter, type LimitsConfig } from './limits.js';
import { loadSeedAccount, type SeedIdMap } from './load-seed.js';
import { associationsRouter } from './routes/associations.js';
import { batchRouter } from './routes/batch.js';
import { objectsRouter } from './routes/objects.js';
import { propertiesRouter } from './routes/properties.js';
import { HubSpotState } from './state.js';
import { parseId } from './table.js';
import { WebhookDispatcher } from './webhooks.js';
import { errorBody, HubSpotHttpError, objectTypeOf, type ObjectType } from './wire.js';

export { HubSpotState } from './state.js';
export type { CallKind, WrittenValue, Owner } from './state.js';
export { signV3, type WebhookEvent, type WebhookDelivery } from './webhooks.js';
export type { TokenRecord } from './auth.js';
export type { SeedIdMap } from './load-seed.js';
export type { ObjectType } from './wire.js';

export interface HubSpotSandboxOptions {
  clientId?: string;
  clientSecret?: string;
  appId?: number;
  /** Portal (hub) id before any `loadSeed`. */
  portalId?: number;
  privateAppTokens?: string[];
  limits?: Partial<LimitsConfig>;
  accessTokenTtlSeconds?: number;
  authCodeTtlSeconds?: number;
  now?: () => Date;
  webhookTargetUrl?: string;
  /** Search sees writes only after this many ms (HubSpot's indexing lag). */
  indexingLagMs?: number;
  webhookMaxAttempts?: number;
  webhookRetryDelayMs?: number;
  webhookBatchDelayMs?: number;
}

export interface ListeningSandbox {
  url: string;
  close(): Promise<void>;
}

export interface HubSpotSandbox {
  app: Express;
  state: HubSpotState;
  faults: FaultInjector;
  tokens: TokenStore;
  limiter: RateLimiter;
  webhooks: WebhookDispatcher;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly appId: number;
  listen(port?: number, host?: string): Promise<ListeningSandbox>;
  loadSeed(account: SeedAccount, opts?: { portalId?: number }): SeedIdMap;
  /** Clear data, tokens (private-app tokens stay), counters, faults, limits and webhook queue. */
  reset(): void;
  /** Single-use authorization code as `/oauth/authorize` would redirect with. */
  issueAuthCode(opts?: { redirectUri?: string; scopes?: string[] }): string;
  /** A valid OAuth access token without the OAuth dance. */
  issueAccessToken(opts?: { ttlSeconds?: number; scopes?: string[] }): TokenRecord;
  /** Expire every OAuth access token now. */
  expireAccessTokens(): void;
  revokeRefreshToken(token: string): boolean;
  setWebhookTarget(url: string | undefined, clientSecret?: string): void;
  /** Wait until queued webhook batches are delivered (or have failed every attempt). */
  flushWebhooks(): Promise<void>;
  /** An edit "in the HubSpot UI": changes values with changeSource CRM_UI, no API call counted. */
  simulateUserEdit(type: ObjectType | string, id: string, properties: Record<string, string | null>): void;
  /** Current wire value of one property (test convenience). */
  getValue(type: ObjectType | string, id: string, property: string): string | null | undefined;
  setLimits(limits: Partial<LimitsConfig>): void;
}

function errorHandler(err: unknown, _req: SbRequest, res: SbResponse): void {
  if (res.headersSent) return;
  if (err instanceof HubSpotHttpError) {
    res.status(err.httpStatus).json(errorBody(err.category, err.message, err.extra));
    return;
  }
  if (err instanceof BodyError) {
    const tooLarge = err.kind === 'too-large';
    res
      .status(tooLarge ? 413 : 400)
      .json(errorBody('VALIDATION_ERROR', tooLarge ? err.message : `Invalid input JSON: ${err.message}`));
    return;
  }
  res.status(500).json(errorBody('INTERNAL_ERROR', 'internal error'));
}

export function createHubSpotSandbox(options: HubSpotSandboxOptions = {}): HubSpotSandbox {
  const now = options.now ?? (() => new Date());
  const clientId = options.clientId ?? 'sandbox-client-id';
  const clientSecret = options.clientSecret ?? 'sandbox-client-secret';
  const appId = options.appId ?? 1_234_567;
  const state = new HubSpotState(options.portalId ?? 62_515);
  state.indexingLagMs = options.indexingLagMs ?? 0;
  const faults = new FaultInjector();
  const limits: LimitsConfig = { ...DEFAULT_LIMITS, ...options.limits };
  const limiter = new RateLimiter(limits, state, now);
  const webhooks = new WebhookDispatcher({
    appId,
    portalId: () => state.portalId,
    userId: 9_000_001,
    now,
    maxAttempts: options.webhookMaxAttempts ?? 3,
    retryDelayMs: options.webhookRetryDelayMs ?? 200,
    batchDelayMs: options.webhookBatchDelayMs ?? 20,
  });
  webhooks.setTarget(options.webhookTargetUrl, clientSecret);
  const ctx: CrmContext = { state, now, emit: (e: CrmEvent) => webhooks.enqueue(e) };
  const oauthConfig = {
    clientId,
    clientSecret,
    appId,
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 1800,
    codeTtlSeconds: options.authCodeTtlSeconds ?? 600,
    now,
  };
  const tokens = new TokenStore(oauthConfig, state, options.privateAppTokens ?? []);

  const mini = new MiniApp({
    bodyLimitBytes: 20 * 1024 * 1024,
    onError: errorHandler,
    notFound: (req, res) =>
      res.status(404).json(errorBody('OBJECT_NOT_FOUND', `Unable to route ${req.method} ${req.path}`)),
  });
  // The FaultInjector is written against express types; it only uses path, socket and the responders.
  const faultMiddleware = faults.middleware({
    rateLimited: (res) => {
      state.rateLimited.total++;
      res.setHeader('X-HubSpot-RateLimit-Interval-Milliseconds', '10000');
      res.setHeader('X-HubSpot-RateLimit-Max', String(limiter.config.tenSecondly));
      res.setHeader('X-HubSpot-RateLimit-Remaining', '0');
      res.status(429).json(rateLimitBody('TEN_SECONDLY_ROLLING'));
    },
    serverError: (res, status) => {
      res.status(status).json(errorBody('INTERNAL_ERROR', 'internal error'));
    },
  }) as unknown as Middleware;
  mini.use('/', faultMiddleware);
  mini.use('/crm', bearerAuth(tokens, faults, now), limiter.middleware());
  mini.routes(
    oauthRouter(oauthConfig, tokens, state),
    objectsRouter(ctx),
    batchRouter(ctx, faults),
    associationsRouter(ctx),
    propertiesRouter(ctx),
  );

  // The express app serves the same routes (for supertest or mounting); `listen()` skips express.
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((req: Request, res: Response, _next: NextFunction) => mini.handle(req, res));

  const typeOf = (t: string): ObjectType => {
    const type = objectTypeOf(t);
    if (type === undefined) throw new Error(`unknown object type ${t}`);
    return type;
  };

  return {
    app,
    state,
    faults,
    tokens,
    limiter,
    webhooks,
    clientId,
    clientSecret,
    appId,
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        const server = createServer({ keepAliveTimeout: 30_000 }, mini.handle);
        server.listen(port, host);
        server.once('error', reject);
        server.once('listening', () => {
          const addr = server.address() as AddressInfo;
          resolve({
            url: `http://${host}:${addr.port}`,
            close: () =>
              new Promise<void>((done) => {
                server.closeAllConnections();
                server.close(() => done());
              }),
          });
        });
      });
    },
    loadSeed(account, opts = {}) {
      state.reset();
      state.indexingLagMs = options.indexingLagMs ?? 0;
      if (opts.portalId !== undefined) state.portalId = opts.portalId;
      tokens.rehome(state.portalId);
      return loadSeedAccount(ctx, account);
    },
    reset() {
      state.reset();
      state.indexingLagMs = options.indexingLagMs ?? 0;
      tokens.reset();
      faults.reset();
      limiter.reset();
      limiter.config = { ...DEFAULT_LIMITS, ...options.limits };
      webhooks.reset();
    },
    issueAuthCode(opts = {}) {
      return tokens.issueAuthCode({
        redirectUri: opts.redirectUri ?? '',
        ...(opts.scopes === undefined ? {} : { scopes: opts.scopes }),
      });
    },
    issueAccessToken: (opts) => tokens.issueAccessToken(opts),
    expireAccessTokens: () => tokens.expireAll(),
    revokeRefreshToken: (t) => tokens.revokeRefreshToken(t),
    setWebhookTarget(url, secret = clientSecret) {
      webhooks.setTarget(url, secret);
    },
    flushWebhooks: () => webhooks.flush(),
    simulateUserEdit(t, id, properties) {
      const type = typeOf(t);
      const rec = findRecord(ctx, type, parseId(id));
      if (rec === undefined || rec.archived) throw new Error(`no live ${type} ${id}`);
      const props = normalizeProps(ctx, type, properties, rec.props, { source: 'CRM_UI' });
      const conflict = uniqueConflict(ctx, type, props, rec.num);
      if (conflict !== undefined) throw conflict;
      updateRecord(ctx, type, rec, props, { source: 'CRM_UI' });
    },
    getValue(t, id, property) {
      const type = typeOf(t);
      const rec = findRecord(ctx, type, parseId(id));
      return rec === undefined ? undefined : readProp(type, rec, property);
    },
    setLimits(l) {
      limiter.config = { ...limiter.config, ...l };
    },
  };
}
