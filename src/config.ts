/**
 * Service configuration: every environment variable parsed with zod at boot. A bad deployment
 * fails at once with ONE `ERR_CONFIG_INVALID` naming every bad variable (never its value: several
 * are secrets), instead of failing later one variable at a time.
 *
 * Empty strings count as unset (Docker/Compose `VAR=` lines).
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AppError } from './errors.js';
import type { KeyRing } from './store/crypto.js';
import { generateKeyRing, parseKeyRing } from './store/crypto.js';
import { issuesOf } from './validation.js';

export const ERR_CONFIG_INVALID = 'ERR_CONFIG_INVALID';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface AppConfig {
  env: 'production' | 'development' | 'test';
  port: number;
  /** Public base URL (OAuth redirect URIs, webhook URLs), no trailing slash. */
  publicUrl: string;
  redis: { url: string; prefix: string };
  /** Token encryption key ring (TOKEN_KEYS); the raw spec is not kept. */
  tokenKeys: KeyRing;
  /** Signs admin sessions and OAuth state. */
  sessionSecret: string;
  hubspot: {
    /** Public-app OAuth; absent when only a private-app token is used. */
    oauth?: { clientId: string; clientSecret: string; appId: string };
    /** Single-account self-hosted mode. */
    privateAppToken?: string;
    /** Portal of the private-app token (else asked from HubSpot's account-info API at boot). */
    portalId?: string;
    /** API base override (sandbox); default from connectors/hubspot/facts.json. */
    apiBaseUrl?: string;
  };
  salesforce: {
    oauth?: { clientId: string; clientSecret: string };
    loginUrl: string;
    /** Share (0–1] of the org's daily API allowance we may use. */
    dailyBudgetShare: number;
  };
  /** Basic-auth credentials of the operators' queue dashboard; absent = dashboard not mounted. */
  admin?: { user: string; password: string };
  logLevel: LogLevel;
  worker: { concurrency: number; syncIntervalMinutes: number; shutdownTimeoutMs: number };
  http: { bodyLimitBytes: number };
}

const blankToUndefined = (v: unknown): unknown => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const opt = <T extends z.ZodType>(schema: T) => z.preprocess(blankToUndefined, schema.optional());
const withDefault = <T extends z.ZodType>(schema: T, fallback: z.input<T>) =>
  z.preprocess(blankToUndefined, schema.default(fallback as never));
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const httpUrl = z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, ''));

const EnvSchema = z.object({
  NODE_ENV: withDefault(z.enum(['production', 'development', 'test']), 'development'),
  PORT: withDefault(int(0, 65535), 3000),
  PUBLIC_URL: opt(httpUrl),
  REDIS_URL: withDefault(z.url({ protocol: /^rediss?$/ }), 'redis://127.0.0.1:6379'),
  REDIS_PREFIX: withDefault(z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, _ or -'), 'rs'),
  TOKEN_KEYS: z.preprocess(blankToUndefined, z.string({ error: 'required ("kid:base64-32-byte-key[,…]")' })),
  SESSION_SECRET: z.preprocess(
    blankToUndefined,
    z.string({ error: 'required (at least 32 characters)' }).min(32, 'must be at least 32 characters'),
  ),
  HUBSPOT_CLIENT_ID: opt(z.string()),
  HUBSPOT_CLIENT_SECRET: opt(z.string()),
  HUBSPOT_APP_ID: opt(z.string().regex(/^\d+$/, 'must be the numeric app id')),
  HUBSPOT_PRIVATE_APP_TOKEN: opt(z.string().min(10, 'too short to be a private app token')),
  HUBSPOT_PORTAL_ID: opt(z.string().regex(/^\d+$/, 'must be the numeric portal (hub) id')),
  HUBSPOT_API_BASE_URL: opt(httpUrl),
  SALESFORCE_CLIENT_ID: opt(z.string()),
  SALESFORCE_CLIENT_SECRET: opt(z.string()),
  SALESFORCE_LOGIN_URL: withDefault(httpUrl, 'https://login.salesforce.com'),
  SALESFORCE_DAILY_BUDGET_SHARE: withDefault(z.coerce.number().gt(0).max(1), 0.2),
  ADMIN_USER: opt(z.string().min(1)),
  ADMIN_PASSWORD: opt(z.string().min(12, 'must be at least 12 characters')),
  LOG_LEVEL: withDefault(z.enum(LOG_LEVELS), 'info'),
  WORKER_CONCURRENCY: withDefault(int(1, 64), 4),
  SYNC_INTERVAL_MINUTES: withDefault(int(1, 24 * 60), 15),
  SHUTDOWN_TIMEOUT_MS: withDefault(int(1000, 600_000), 30_000),
  HTTP_BODY_LIMIT_BYTES: withDefault(int(1024, 50 * 1024 * 1024), 1024 * 1024),
});

type Env = z.infer<typeof EnvSchema>;

/** Variables that only make sense together: all or none. */
const GROUPS: readonly (readonly (keyof Env)[])[] = [
  ['HUBSPOT_CLIENT_ID', 'HUBSPOT_CLIENT_SECRET', 'HUBSPOT_APP_ID'],
  ['SALESFORCE_CLIENT_ID', 'SALESFORCE_CLIENT_SECRET'],
  ['ADMIN_USER', 'ADMIN_PASSWORD'],
];

interface Problem {
  variable: string;
  message: string;
}

/** Parses the environment; throws one `ERR_CONFIG_INVALID` listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const problems: Problem[] = [];
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    for (const issue of issuesOf(parsed.error))
      problems.push({ variable: issue.path, message: issue.message });
  }
  const bad = new Set(problems.map((p) => p.variable));
  const raw = (name: string): string | undefined => blankToUndefined(env[name]) as string | undefined;

  // TOKEN_KEYS shape is checked by the key ring parser (the same one the store uses).
  let tokenKeys: KeyRing | undefined;
  const tokenSpec = raw('TOKEN_KEYS');
  if (tokenSpec !== undefined) {
    try {
      tokenKeys = parseKeyRing(tokenSpec);
    } catch (error) {
      const details = (error as AppError).details as { problems?: string[] } | undefined;
      problems.push({ variable: 'TOKEN_KEYS', message: (details?.problems ?? ['invalid']).join('; ') });
    }
  }
  for (const group of GROUPS) {
    const set = group.filter((name) => raw(name) !== undefined);
    if (set.length > 0 && set.length < group.length) {
      for (const name of group) {
        if (raw(name) === undefined && !bad.has(name)) {
          problems.push({ variable: name, message: `required together with ${set.join(', ')}` });
        }
      }
    }
  }
  const nodeEnv = raw('NODE_ENV') ?? 'development';
  if (nodeEnv === 'production' && raw('PUBLIC_URL') === undefined && !bad.has('PUBLIC_URL')) {
    problems.push({
      variable: 'PUBLIC_URL',
      message: 'required in production (OAuth redirect and webhook URLs)',
    });
  }

  if (problems.length > 0 || !parsed.success || tokenKeys === undefined) {
    problems.sort((a, b) => a.variable.localeCompare(b.variable));
    throw new AppError(
      ERR_CONFIG_INVALID,
      `configuration is invalid:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`,
      { details: { problems } },
    );
  }
  return toConfig(parsed.data, tokenKeys);
}

function toConfig(e: Env, tokenKeys: KeyRing): AppConfig {
  const config: AppConfig = {
    env: e.NODE_ENV,
    port: e.PORT,
    publicUrl: e.PUBLIC_URL ?? `http://localhost:${e.PORT}`,
    redis: { url: e.REDIS_URL, prefix: e.REDIS_PREFIX },
    tokenKeys,
    sessionSecret: e.SESSION_SECRET,
    hubspot: {},
    salesforce: { loginUrl: e.SALESFORCE_LOGIN_URL, dailyBudgetShare: e.SALESFORCE_DAILY_BUDGET_SHARE },
    logLevel: e.LOG_LEVEL,
    worker: {
      concurrency: e.WORKER_CONCURRENCY,
      syncIntervalMinutes: e.SYNC_INTERVAL_MINUTES,
      shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    },
    http: { bodyLimitBytes: e.HTTP_BODY_LIMIT_BYTES },
  };
  if (
    e.HUBSPOT_CLIENT_ID !== undefined &&
    e.HUBSPOT_CLIENT_SECRET !== undefined &&
    e.HUBSPOT_APP_ID !== undefined
  ) {
    config.hubspot.oauth = {
      clientId: e.HUBSPOT_CLIENT_ID,
      clientSecret: e.HUBSPOT_CLIENT_SECRET,
      appId: e.HUBSPOT_APP_ID,
    };
  }
  if (e.HUBSPOT_PRIVATE_APP_TOKEN !== undefined) config.hubspot.privateAppToken = e.HUBSPOT_PRIVATE_APP_TOKEN;
  if (e.HUBSPOT_PORTAL_ID !== undefined) config.hubspot.portalId = e.HUBSPOT_PORTAL_ID;
  if (e.HUBSPOT_API_BASE_URL !== undefined) config.hubspot.apiBaseUrl = e.HUBSPOT_API_BASE_URL;
  if (e.SALESFORCE_CLIENT_ID !== undefined && e.SALESFORCE_CLIENT_SECRET !== undefined) {
    config.salesforce.oauth = { clientId: e.SALESFORCE_CLIENT_ID, clientSecret: e.SALESFORCE_CLIENT_SECRET };
  }
  if (e.ADMIN_USER !== undefined && e.ADMIN_PASSWORD !== undefined) {
    config.admin = { user: e.ADMIN_USER, password: e.ADMIN_PASSWORD };
  }
  return config;
}

/**
 * Configuration for the embedded demo (`npm run demo`): nothing to set up. Fresh random keys each
 * run (the demo's state is in memory and dies with it); sandbox OAuth client credentials; the
 * operator dashboard gets a generated password that the demo prints.
 */
export function demoConfig(overrides: { port?: number; publicUrl?: string } = {}): AppConfig {
  const port = overrides.port ?? 3000;
  return {
    env: 'development',
    port,
    publicUrl: overrides.publicUrl ?? `http://localhost:${port}`,
    redis: { url: 'redis://127.0.0.1:6379', prefix: 'rs-demo' },
    tokenKeys: generateKeyRing('demo').ring,
    sessionSecret: randomBytes(32).toString('base64url'),
    hubspot: {
      oauth: { clientId: 'demo-hubspot-client', clientSecret: randomBytes(16).toString('hex'), appId: '1' },
    },
    salesforce: {
      oauth: { clientId: 'demo-salesforce-client', clientSecret: randomBytes(16).toString('hex') },
      loginUrl: 'https://login.salesforce.com',
      dailyBudgetShare: 0.2,
    },
    admin: { user: 'admin', password: randomBytes(12).toString('base64url') },
    logLevel: 'info',
    worker: { concurrency: 2, syncIntervalMinutes: 15, shutdownTimeoutMs: 10_000 },
    http: { bodyLimitBytes: 1024 * 1024 },
  };
}
