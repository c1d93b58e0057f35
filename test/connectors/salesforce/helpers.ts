/** Shared fakes for the Salesforce nock tests: token provider, limiter, context, SOAP envelopes. */
import nock from 'nock';
import type {
  BudgetSnapshot,
  ConnectorContext,
  RateLimiter,
  TokenProvider,
  TokenSet,
} from '../../../connectors/contract.js';
import { salesforceDefinition } from '../../../connectors/salesforce/index.js';
import type { SalesforceConnector } from '../../../connectors/salesforce/index.js';

export const HOST = 'acme.my.salesforce.test';
export const INSTANCE = `https://${HOST}`;
export const V = '/services/data/v62.0';
export const ORG_ID = '00D000000000001AAA';
export const USER_ID = '005000000000001AAA';

export function tokenSet(accessToken = 'at-1', refreshToken = 'rt-1'): TokenSet {
  return { accessToken, refreshToken, instanceUrl: INSTANCE, accountId: ORG_ID, userId: USER_ID };
}

export class FakeTokens implements TokenProvider {
  refreshCalls: TokenSet[] = [];
  constructor(
    public tokens: TokenSet = tokenSet(),
    private readonly onRefresh: (stale: TokenSet, n: number) => Promise<TokenSet> = async (_s, n) =>
      tokenSet(`at-${n + 1}`, `rt-${n + 1}`),
  ) {}
  async current(): Promise<TokenSet> {
    return this.tokens;
  }
  async refreshAfterRejection(stale: TokenSet): Promise<TokenSet> {
    this.refreshCalls.push(stale);
    this.tokens = await this.onRefresh(stale, this.refreshCalls.length);
    return this.tokens;
  }
}

export class FakeLimiter implements RateLimiter {
  takes: { bucket: string; cost: number }[] = [];
  observed: { bucket: string; info: Record<string, unknown> }[] = [];
  snap: BudgetSnapshot = { buckets: [] };
  async take(bucket: string, cost = 1): Promise<void> {
    this.takes.push({ bucket, cost });
  }
  async observe(bucket: string, info: Record<string, unknown>): Promise<void> {
    this.observed.push({ bucket, info });
    const until = info.pauseUntil;
    if (until instanceof Date) this.snap = { ...this.snap, pausedUntil: until.toISOString() };
  }
  async snapshot(): Promise<BudgetSnapshot> {
    return this.snap;
  }
}

export const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

export interface Harness {
  connector: SalesforceConnector;
  tokens: FakeTokens;
  limiter: FakeLimiter;
  ctx: ConnectorContext;
  /** Every wait the connector asked for (retry backoff, Bulk 2.0 polling), in order. */
  sleeps: number[];
}

export function harness(
  settings: Record<string, unknown> = {},
  tokens: FakeTokens = new FakeTokens(),
  now: () => Date = () => new Date('2026-11-23T09:00:00Z'),
): Harness {
  const limiter = new FakeLimiter();
  const sleeps: number[] = [];
  const ctx: ConnectorContext = {
    tenantId: 't1',
    tokens,
    limiter,
    logger: silentLogger,
    now,
    settings: { retryBaseDelayMs: 1, bulkPollIntervalMs: 1, ...settings },
  };
  const def = salesforceDefinition(
    { clientId: 'client-id', clientSecret: 'client-secret', sandboxHost: HOST },
    {
      sleep: async (ms: number) => {
        sleeps.push(ms);
      },
    },
  );
  return { connector: def.create(ctx), tokens, limiter, ctx, sleeps };
}

export function sfApi(): nock.Scope {
  return nock(INSTANCE);
}

/** A REST query page. */
export function queryPage(
  records: Record<string, unknown>[],
  opts: { total?: number; next?: string; type?: string } = {},
): Record<string, unknown> {
  return {
    totalSize: opts.total ?? records.length,
    done: opts.next === undefined,
    ...(opts.next === undefined ? {} : { nextRecordsUrl: `${V}/query/${opts.next}` }),
    records: records.map((r) => ({
      attributes: { type: opts.type ?? 'Contact', url: `${V}/sobjects/x/${String(r.Id)}` },
      ...r,
    })),
  };
}

/** Decode the SOQL of a `/query?q=` or `/queryAll?q=` path. */
export function soqlOf(path: string): string {
  const q = new URL(`https://x${path}`).searchParams.get('q');
  return q ?? '';
}

const SOAP_HEAD =
  '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>';
const SOAP_TAIL = '</soapenv:Body></soapenv:Envelope>';

export function soap(method: string, inner: string): string {
  return `${SOAP_HEAD}<${method}Response>${inner}</${method}Response>${SOAP_TAIL}`;
}

export function soapFault(code: string, message: string): string {
  return `${SOAP_HEAD}<soapenv:Fault><faultcode>sf:${code}</faultcode><faultstring>${message}</faultstring></soapenv:Fault>${SOAP_TAIL}`;
}

export function xmlFields(obj: Record<string, unknown>): string {
  return Object.entries(obj)
    .map(([k, v]) =>
      Array.isArray(v)
        ? v
            .map(
              (x) =>
                `<${k}>${typeof x === 'object' ? xmlFields(x as Record<string, unknown>) : String(x)}</${k}>`,
            )
            .join('')
        : typeof v === 'object' && v !== null
          ? `<${k}>${xmlFields(v as Record<string, unknown>)}</${k}>`
          : `<${k}>${String(v)}</${k}>`,
    )
    .join('');
}
