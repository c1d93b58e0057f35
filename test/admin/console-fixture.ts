/**
 * The admin console under test: the real express app on 127.0.0.1:0 with a MemoryStore, a fake
 * HubSpot definition (its authorize URL is intercepted by the browser and sent straight back to
 * our callback), a recording queue, and an AdminApi that runs the REAL engine over a generated
 * account, so the page's numbers can be checked against the engine's own report.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type {
  AuthorizeRequest,
  CrmDefinition,
  CrmFieldInfo,
  JsonValue,
  Logger,
  TokenSet,
} from '../../connectors/contract.js';
import { generateAccount, parseRules, prng, runEngine } from '../../src/engine/index.js';
import type { EngineResult, GeneratedAccount, Rules } from '../../src/engine/index.js';
import type { DataFreeKind, QueueProducer } from '../../src/queue/producer.js';
import { createApp } from '../../src/server/app.js';
import type { AdminApi, ServerDeps } from '../../src/server/deps.js';
import { generateKeyRing } from '../../src/store/crypto.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { loadMapping } from '../../src/sync/mapping.js';

export const ACCESS_TOKEN = 'at-SECRET-console-1234567890';
export const REFRESH_TOKEN = 'rt-SECRET-console-0987654321';
export const SESSION_SECRET = 'console-session-secret-of-at-least-32-chars';
export const AUTH_HOST = 'https://auth.hubspot.test';
export const NOW = new Date('2026-06-01T12:00:00.000Z');

function fakeHubSpot(): CrmDefinition {
  return {
    crm: 'hubspot',
    authorizeUrl(req: AuthorizeRequest) {
      const url = new URL(`${AUTH_HOST}/oauth/authorize`);
      url.searchParams.set('redirect_uri', req.redirectUri);
      url.searchParams.set('state', req.state);
      return url.toString();
    },
    async exchangeCode(): Promise<TokenSet> {
      return {
        accessToken: ACCESS_TOKEN,
        refreshToken: REFRESH_TOKEN,
        accountId: '4242',
        expiresAt: '2030-01-01T00:00:00.000Z',
      };
    },
    async refresh(tokens: TokenSet) {
      return tokens;
    },
    encode: (_type, value) => (value === null || value === undefined ? null : String(value)),
    rateLimits: () => [{ bucket: 'burst', limit: 110, windowMs: 10_000 }],
    create: () => {
      throw new Error('the console never builds a connector');
    },
  };
}

export interface RecordingQueue extends QueueProducer {
  enqueued: { kind: DataFreeKind; tenantId: string }[];
}

function recordingQueue(): RecordingQueue {
  const enqueued: RecordingQueue['enqueued'] = [];
  const zero = { waiting: 0, active: 0, delayed: 0, failed: 0 };
  return {
    enqueued,
    async enqueue(kind, tenantId) {
      enqueued.push({ kind, tenantId });
      return { jobId: `job-${enqueued.length}`, coalesced: false };
    },
    async enqueueWebhook() {
      return { jobId: 'webhook', coalesced: false };
    },
    async schedule() {},
    async unschedule() {},
    async nextScheduledAt() {
      return new Date(NOW.getTime() + 5 * 60_000);
    },
    async cancelTenant() {
      return { removedJobs: 0, stillRunning: 0 };
    },
    async depths() {
      return {
        provision: zero,
        backfill: zero,
        incremental: { ...zero, waiting: enqueued.length },
        webhook: zero,
        reevaluate: zero,
      } as Awaited<ReturnType<QueueProducer['depths']>>;
    },
    async ping() {},
  };
}

/** Deterministic code bytes: the same rules give the same plan in the page and in the test. */
function seededBytes(seed: number): (bytes: Uint8Array) => void {
  const next = prng(seed);
  return (bytes) => {
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(next() * 256);
  };
}

/** The engine over the fixture account with these rules. */
export function engineRun(account: GeneratedAccount, rules: Rules): EngineResult {
  return runEngine(account, {
    now: NOW,
    rules,
    linkTemplate: 'https://example.com/r/{code}',
    random: seededBytes(11),
  });
}

/** What the pipeline's dry run answers: a plan preview plus the report of the same computation. */
export function summaryOf(result: EngineResult, sample: number): JsonValue {
  const tasksByOwner: Record<string, number> = {};
  const tasksByKind: Record<string, number> = {};
  for (const t of result.tasks) {
    const owner = t.ownerId ?? '(no owner)';
    tasksByOwner[owner] = (tasksByOwner[owner] ?? 0) + 1;
    tasksByKind[t.kind] = (tasksByKind[t.kind] ?? 0) + 1;
  }
  const writes = [...result.personPlans, ...result.dealPlans, ...result.companyPlans].filter(
    (p) => Object.keys(p.changes).length > 0,
  );
  const plan = {
    fieldChanges: result.counts.fieldChanges,
    records: writes.length,
    samples: result.personPlans.slice(0, sample).map((p) => ({
      kind: 'person',
      object: 'contacts',
      id: p.id,
      before: Object.fromEntries(Object.keys(p.changes).map((k) => [k, null])),
      after: p.changes,
    })),
    tasks: result.tasks.length,
    tasksByKind,
    tasksByOwner,
    taskSamples: result.tasks.slice(0, sample).map((t) => ({
      key: t.key,
      kind: t.kind,
      subject: t.subject,
      person: `contacts/${t.personId}`,
    })),
  };
  return JSON.parse(JSON.stringify({ plan, report: result.report })) as JsonValue;
}

export interface Console {
  base: string;
  app: Express;
  store: MemoryStore;
  queue: RecordingQueue;
  account: GeneratedAccount;
  /** The AdminApi fake (a test may remove its optional members). */
  admin: AdminApi;
  calls: string[];
  logs: string[];
  close(): Promise<void>;
}

export async function startConsole(): Promise<Console> {
  const store = new MemoryStore({ keyRing: generateKeyRing().ring, now: () => NOW });
  const queue = recordingQueue();
  const account = generateAccount({ seed: 7, people: 600, deals: 300, referrals: 80, now: NOW });
  const calls: string[] = [];
  const logs: string[] = [];
  const log = (level: string) => (obj: object, msg?: string) =>
    logs.push(`${level} ${msg ?? ''} ${JSON.stringify(obj)}`);
  const logger: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  const rulesOf = async (tenantId: string) =>
    parseRules((await store.getTenant(tenantId))?.config.rules ?? {});
  const admin: AdminApi = {
    async dryRun(tenantId, { sample }) {
      calls.push(`dryRun:${tenantId}`);
      return summaryOf(engineRun(account, await rulesOf(tenantId)), sample);
    },
    async previewRules(tenantId, rules, { sample }) {
      calls.push(`previewRules:${tenantId}`);
      return summaryOf(engineRun(account, parseRules(rules)), sample);
    },
    async report(tenantId) {
      calls.push(`report:${tenantId}`);
      return (await store.loadReport(tenantId))?.report ?? null;
    },
    async retryFailed(tenantId) {
      calls.push(`retryFailed:${tenantId}`);
      const errors = await store.listErrors(tenantId, 500);
      return { queued: errors.filter((e) => e.retryable).length };
    },
    async fields(tenantId, object): Promise<CrmFieldInfo[]> {
      calls.push(`fields:${tenantId}:${object}`);
      const om = loadMapping('hubspot').objects[object];
      const names = new Set<string>(['promo_code', 'survey_nps']);
      for (const source of Object.values(om?.inputs ?? {})) {
        if (typeof source === 'string') names.add(source);
        else if ('field' in source) names.add(source.field);
      }
      const mine = Object.values(om?.owned ?? {}).map((f) => ({
        name: f.name,
        label: f.label,
        type: 'string',
        owned: true,
      }));
      return [
        ...[...names].map((n) => ({ name: n, label: n.replace(/_/g, ' '), type: 'string', owned: false })),
        ...mine,
      ];
    },
  };

  // The public URL (OAuth redirect) needs the port, so the app is built after listening.
  const late: { app?: Express } = {};
  const server = createServer((req, res) => late.app!(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const deps: ServerDeps = {
    config: { publicUrl: base, sessionSecret: SESSION_SECRET, cookieSecure: false },
    store,
    queue,
    crms: { hubspot: fakeHubSpot() },
    logger,
    admin,
    validators: {
      // The real validators: the engine's rules schema and the mapping schema.
      rules: (input) => JSON.parse(JSON.stringify(parseRules(input))) as JsonValue,
      mappingOverride: (crm, input) => {
        loadMapping(crm, input);
        return input as JsonValue;
      },
    },
    now: () => NOW,
  };
  const app = createApp(deps);
  late.app = app;
  return {
    base,
    app,
    store,
    queue,
    account,
    admin,
    calls,
    logs,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
