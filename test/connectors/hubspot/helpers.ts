/** Test doubles for the HubSpot connector: recording limiter, scripted token provider, quiet logger. */
import type {
  BudgetSnapshot,
  ConnectorContext,
  Logger,
  RateLimiter,
  TokenProvider,
  TokenSet,
} from '../../../connectors/contract.js';
import { createHubSpotConnector } from '../../../connectors/hubspot/connector.js';
import type { HubSpotConnector } from '../../../connectors/hubspot/connector.js';
import { loadHubSpotFacts } from '../../../connectors/hubspot/facts.js';
import { AppError } from '../../../src/errors.js';

export const BASE = 'https://api.hubapi.test';

export class RecordingLimiter implements RateLimiter {
  takes: string[] = [];
  observed: { bucket: string; info: Parameters<RateLimiter['observe']>[1] }[] = [];
  take(bucket: string): Promise<void> {
    this.takes.push(bucket);
    return Promise.resolve();
  }
  observe(bucket: string, info: Parameters<RateLimiter['observe']>[1]): Promise<void> {
    this.observed.push({ bucket, info });
    return Promise.resolve();
  }
  snapshot(): Promise<BudgetSnapshot> {
    return Promise.resolve({ buckets: [] });
  }
}

export class ScriptedTokens implements TokenProvider {
  refreshed = 0;
  constructor(
    public tokens: TokenSet = { accessToken: 'tok-1', refreshToken: 'r-1', accountId: '123' },
    private readonly onRefresh: (stale: TokenSet) => TokenSet = (s) => ({ ...s, accessToken: 'tok-2' }),
  ) {}
  current(): Promise<TokenSet> {
    return Promise.resolve(this.tokens);
  }
  refreshAfterRejection(stale: TokenSet): Promise<TokenSet> {
    this.refreshed++;
    try {
      this.tokens = this.onRefresh(stale);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return Promise.resolve(this.tokens);
  }
}

export function revokedRefresh(): never {
  throw new AppError('ERR_AUTH_REVOKED', 'invalid_grant');
}

export const quietLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export interface Harness {
  connector: HubSpotConnector;
  limiter: RecordingLimiter;
  tokens: ScriptedTokens;
  sleeps: number[];
}

export function harness(
  options: { tokens?: ScriptedTokens; settings?: Record<string, unknown>; now?: () => Date } = {},
): Harness {
  const limiter = new RecordingLimiter();
  const tokens = options.tokens ?? new ScriptedTokens();
  const sleeps: number[] = [];
  const ctx: ConnectorContext = {
    tenantId: 't1',
    tokens,
    limiter,
    logger: quietLogger,
    now: options.now ?? (() => new Date('2026-11-23T10:00:00Z')),
    baseUrl: BASE,
    ...(options.settings === undefined ? {} : { settings: options.settings }),
  };
  const connector = createHubSpotConnector(ctx, loadHubSpotFacts(), {
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    random: () => 0,
  });
  return { connector, limiter, tokens, sleeps };
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

export function obj(id: string, modifiedMs: number, props: Record<string, string | null> = {}) {
  return {
    id,
    properties: { hs_object_id: id, hs_lastmodifieddate: new Date(modifiedMs).toISOString(), ...props },
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: new Date(modifiedMs).toISOString(),
    archived: false,
  };
}
