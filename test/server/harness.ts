/**
 * A server under test: real RedisStore and real bull queues on a random prefix (no worker, so
 * queued jobs stay visible), fake CRM definitions and a fake pipeline (AdminApi), a movable clock
 * and a log sink to check that nothing secret is logged.
 */
import { createHmac } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import { z } from 'zod';
import type {
  AuthorizeRequest,
  ChangeEvent,
  CodeExchange,
  CrmDefinition,
  CrmFieldInfo,
  CrmName,
  IncomingWebhook,
  JsonValue,
  Logger,
  TokenSet,
} from '../../connectors/contract.js';
import { AppError } from '../../src/errors.js';
import { createMetrics } from '../../src/metrics.js';
import type { Metrics } from '../../src/metrics.js';
import { BullQueueProducer } from '../../src/queue/producer.js';
import { QueueSet } from '../../src/queue/queues.js';
import { createApp } from '../../src/server/app.js';
import type { AdminApi, ServerConfig, ServerDeps } from '../../src/server/deps.js';
import { generateKeyRing } from '../../src/store/crypto.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { parseOrThrow } from '../../src/validation.js';
import { dropPrefix, randomPrefix, REDIS_URL } from '../queue/helpers.js';

export const PUBLIC_URL = 'https://referral.example.test';
export const WEBHOOK_SECRET = 'hubspot-client-secret-for-tests';

/** Access tokens handed out by the fake CRMs: they must never reach the browser or the logs. */
export function accessTokenFor(accountId: string): string {
  return `at-secret-${accountId}`;
}

export interface FakeCrm extends CrmDefinition {
  exchanges: CodeExchange[];
}

/**
 * Codes: `code-<accountId>` succeeds for that account; `code-bad` fails like a CRM rejecting it.
 * Webhook signature: hex HMAC-SHA256(secret, method + url + rawBody) in `x-test-signature`.
 */
export function fakeCrm(crm: CrmName, options: { webhooks: boolean }): FakeCrm {
  const exchanges: CodeExchange[] = [];
  const def: FakeCrm = {
    crm,
    exchanges,
    authorizeUrl(req: AuthorizeRequest) {
      const url = new URL(`https://auth.${crm}.test/authorize`);
      url.searchParams.set('client_id', 'client-1');
      url.searchParams.set('redirect_uri', req.redirectUri);
      url.searchParams.set('state', req.state);
      if (req.codeChallenge !== undefined) url.searchParams.set('code_challenge', req.codeChallenge);
      return url.toString();
    },
    async exchangeCode(req: CodeExchange): Promise<TokenSet> {
      exchanges.push(req);
      if (req.code === 'code-bad') throw new AppError(`ERR_${crm.toUpperCase()}_OAUTH`, 'invalid_grant');
      const accountId = req.code.replace(/^code-/, '');
      return {
        accessToken: accessTokenFor(accountId),
        refreshToken: `rt-secret-${accountId}`,
        accountId,
        expiresAt: '2030-01-01T00:00:00.000Z',
      };
    },
    async refresh(tokens: TokenSet) {
      return tokens;
    },
    encode: (_type, value) => (value === null || value === undefined ? null : String(value)),
    rateLimits: () => [{ bucket: 'default', limit: 110, windowMs: 10_000 }],
    create: () => {
      throw new Error('not used by the server');
    },
  };
  if (options.webhooks) {
    def.verifyWebhook = (req: IncomingWebhook) => {
      const expected = createHmac('sha256', WEBHOOK_SECRET)
        .update(req.method + req.url)
        .update(req.rawBody)
        .digest('hex');
      if (req.headers['x-test-signature'] !== expected)
        throw new AppError('ERR_WEBHOOK_SIGNATURE', 'bad signature');
    };
    def.parseWebhook = (body: unknown) => {
      if (!Array.isArray(body)) throw new AppError('ERR_WEBHOOK_BODY', 'not an array');
      const events: ChangeEvent[] = [];
      const rejected: { index: number; reason: string }[] = [];
      body.forEach((raw: unknown, index) => {
        const e = raw as {
          portalId?: unknown;
          objectId?: unknown;
          propertyName?: unknown;
          occurredAt?: unknown;
        };
        if (
          typeof e.portalId !== 'number' ||
          typeof e.objectId !== 'number' ||
          typeof e.occurredAt !== 'number'
        ) {
          rejected.push({ index, reason: 'missing portalId/objectId/occurredAt' });
          return;
        }
        const event: ChangeEvent = {
          accountId: String(e.portalId),
          object: 'contacts',
          kind: 'changed',
          ids: [String(e.objectId)],
          occurredAt: new Date(e.occurredAt),
        };
        if (typeof e.propertyName === 'string') event.field = e.propertyName;
        events.push(event);
      });
      return { events, rejected };
    };
  }
  return def;
}

export function sign(method: string, path: string, rawBody: string | Buffer): string {
  return createHmac('sha256', WEBHOOK_SECRET)
    .update(method + PUBLIC_URL + path)
    .update(rawBody)
    .digest('hex');
}

export interface FakeAdmin extends AdminApi {
  calls: string[];
}

function fakeAdmin(): FakeAdmin {
  const calls: string[] = [];
  return {
    calls,
    async dryRun(tenantId, { sample }) {
      calls.push(`dryRun:${tenantId}:${sample}`);
      return { tenantId, fields: { referral_ready: 3 }, sample };
    },
    async report(tenantId) {
      calls.push(`report:${tenantId}`);
      return { tenantId, referralRate: 0.12 };
    },
    async retryFailed(tenantId) {
      calls.push(`retryFailed:${tenantId}`);
      return { queued: 2 };
    },
    async fields(tenantId, object): Promise<CrmFieldInfo[]> {
      calls.push(`fields:${tenantId}:${object}`);
      return [{ name: 'nps', label: 'NPS', type: 'number', owned: false }];
    },
  };
}

const rulesSchema = z.strictObject({
  threshold: z.number().int().min(0).max(100),
  cooldownDays: z.number().optional(),
});
const overrideSchema = z.strictObject({ fields: z.record(z.string(), z.string()) });

export interface LogLine {
  level: string;
  obj: object;
  msg: string | undefined;
}

export interface Harness {
  app: Express;
  deps: ServerDeps;
  store: RedisStore;
  queues: QueueSet;
  producer: BullQueueProducer;
  admin: FakeAdmin;
  crms: { hubspot: FakeCrm; salesforce: FakeCrm };
  logs: LogLine[];
  metrics: Metrics;
  clock: { now: Date };
  close(): Promise<void>;
}

export async function startHarness(config: Partial<ServerConfig> = {}, overrides: Partial<ServerDeps> = {}) {
  const prefix = randomPrefix();
  const store = new RedisStore({
    redis: REDIS_URL,
    prefix: `${prefix}:store`,
    keyRing: generateKeyRing().ring,
  });
  const queues = new QueueSet({ redis: REDIS_URL, prefix: `${prefix}:q` });
  const producer = new BullQueueProducer(queues);
  const logs: LogLine[] = [];
  const logger: Logger = {
    debug: (obj, msg) => logs.push({ level: 'debug', obj, msg }),
    info: (obj, msg) => logs.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => logs.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => logs.push({ level: 'error', obj, msg }),
  };
  const metrics = createMetrics({ processMetrics: false });
  // Starts at the real time: the store expires revocations and nonces with Redis' own clock.
  const clock = { now: new Date() };
  const crms = {
    hubspot: fakeCrm('hubspot', { webhooks: true }),
    salesforce: fakeCrm('salesforce', { webhooks: false }),
  };
  const admin = fakeAdmin();
  const deps: ServerDeps = {
    config: {
      publicUrl: PUBLIC_URL,
      sessionSecret: 'a-session-secret-of-at-least-32-characters',
      cookieSecure: false,
      adminUser: 'ops',
      adminPassword: 'ops-password',
      ...config,
    },
    store,
    queue: producer,
    crms,
    logger,
    admin,
    validators: {
      rules: (input: unknown): JsonValue =>
        parseOrThrow(rulesSchema, input, 'rules', 'ERR_ENGINE_RULES_INVALID') as JsonValue,
      mappingOverride: (_crm, input: unknown): JsonValue =>
        parseOrThrow(overrideSchema, input, 'mapping override', 'ERR_SYNC_MAPPING_INVALID') as JsonValue,
    },
    metrics,
    now: () => clock.now,
    dashboardQueues: queues.all(),
    ...overrides,
  };
  const app = createApp(deps);
  const harness: Harness = {
    app,
    deps,
    store,
    queues,
    producer,
    admin,
    crms,
    logs,
    metrics,
    clock,
    async close() {
      await queues.close();
      await store.close();
      await dropPrefix(prefix);
    },
  };
  return harness;
}

/** Cookie pairs (`name=value`) from a response, for the next request. */
export function cookiesOf(res: request.Response): Record<string, string> {
  const raw = res.headers['set-cookie'] as unknown as string[] | undefined;
  const out: Record<string, string> = {};
  for (const line of raw ?? []) {
    const [pair] = line.split(';');
    const eq = pair!.indexOf('=');
    out[pair!.slice(0, eq)] = pair!.slice(eq + 1);
  }
  return out;
}

export function cookieHeader(cookies: Record<string, string>): string {
  return Object.entries(cookies)
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');
}

/** Runs the OAuth install for an account; returns the tenant id and the session cookies. */
export async function install(
  h: Harness,
  crm: CrmName,
  accountId: string,
  cookies: Record<string, string> = {},
): Promise<{ tenantId: string; cookies: Record<string, string>; csrf: string }> {
  const start = await request(h.app).get(`/install/${crm}`).expect(302);
  const state = new URL(start.headers.location as string).searchParams.get('state')!;
  const cb = await request(h.app)
    .get(`/oauth/${crm}/callback`)
    .query({ code: `code-${accountId}`, state })
    .set('Cookie', cookieHeader(cookies))
    .expect(303);
  const tenantId = new URL(cb.headers.location as string, PUBLIC_URL).searchParams.get('tenant')!;
  const next = cookiesOf(cb);
  return { tenantId, cookies: next, csrf: decodeURIComponent(next.rs_csrf!) };
}
