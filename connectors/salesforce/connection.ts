/**
 * One tenant's jsforce `Connection` and the single door every API call goes through:
 * budget check → shared limiter (`take('default')`) → one HTTP request (jsforce's own transport
 * retries are switched off so every request is counted and rate limited here) → usage read from
 * `Sforce-Limit-Info` → retry of transient failures with the shared backoff.
 *
 * Session expiry: jsforce refreshes on any 401 by itself when it holds a refresh token (and retries
 * without bound if the new token is rejected too; API_FACTS §2 OAuth). A Salesforce refresh token
 * can be single-use and is shared by every worker, so the connection is built WITHOUT a refresh
 * token or client id: an `INVALID_SESSION_ID` surfaces here and triggers exactly one
 * `ctx.tokens.refreshAfterRejection(stale)` (which locks per tenant and stores the rotated set
 * atomically), then the call is retried once. Concurrent rejections of the same token share one
 * refresh.
 */
import { Connection } from 'jsforce';
import { HttpApi } from 'jsforce/lib/http-api.js';
import type { ConnectorContext, TokenSet } from '../contract.js';
import { AppError, isAppError } from '../../src/errors.js';
import { withRetry } from '../shared/retry.js';
import {
  ERR_SALESFORCE_INSTANCE_URL,
  ERR_SALESFORCE_SESSION_REJECTED,
  isConcurrencyLimit,
  isRequestLimitExceeded,
  isRetryableCallError,
  isSessionExpired,
  toAppError,
} from './errors.js';
import type { SalesforceFacts, SalesforceSettings } from './facts.js';
import { BudgetGuard, parseLimitInfo } from './limits.js';
import { validateInstanceUrl } from './oauth.js';

/** Code of the shared limiter's long-wait refusal (src/store/rate-limiter.ts). */
const ERR_RATE_LIMIT_PAUSED = 'ERR_RATE_LIMIT_PAUSED';

/** Kinds of API calls, counted separately (the benchmark reports reads vs writes per kind). */
export const CALL_KINDS = [
  'query',
  'queryMore',
  'bulkQuery',
  'bulkIngest',
  'collections',
  'upsert',
  'metadata',
  'limits',
  'describe',
  'sobject',
] as const;
export type CallKind = (typeof CALL_KINDS)[number];
export type CallCounts = Record<CallKind, number>;

export interface RawRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** Relative to `/services/data/vXX.X` (e.g. `/limits`), or starting with `/services/`. */
  path: string;
  body?: unknown;
  /** Raw text body (CSV uploads); `body` is JSON-encoded otherwise. */
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface RawResponse<T> {
  body: T;
  headers: Record<string, string>;
  status: number;
}

export interface ClientOptions {
  facts: SalesforceFacts;
  settings: SalesforceSettings;
  /** Host (with port) of a sandbox emulator that may serve as instance URL. */
  sandboxHost?: string;
  sleep?: (ms: number) => Promise<void>;
}

interface HttpResponseLike {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
}

export class SalesforceClient {
  readonly calls: CallCounts = Object.fromEntries(CALL_KINDS.map((k) => [k, 0])) as CallCounts;
  /** INVALID_SESSION_ID → refresh, counted (tests assert exactly one per rejection). */
  refreshes = 0;
  /** Bulk 2.0 query jobs that failed and were replaced by REST. */
  bulkFallbacks = 0;
  readonly budget: BudgetGuard;
  private tokens: TokenSet | undefined;
  private conn: Connection | undefined;
  private refreshing: { stale: string; promise: Promise<TokenSet> } | undefined;

  constructor(
    private readonly ctx: ConnectorContext,
    private readonly options: ClientOptions,
  ) {
    this.budget = new BudgetGuard(ctx, options.settings.dailyBudgetShare, options.facts.budget);
  }

  get log(): ConnectorContext['logger'] {
    return this.ctx.logger;
  }

  get apiVersion(): string {
    return this.options.facts.apiVersion;
  }

  /** The identity (org/user) the connection runs as. */
  async identity(): Promise<TokenSet> {
    await this.connection();
    return this.tokens as TokenSet;
  }

  async connection(): Promise<Connection> {
    if (this.conn !== undefined) return this.conn;
    const tokens = await this.ctx.tokens.current();
    this.adopt(tokens);
    return this.conn as unknown as Connection;
  }

  private adopt(tokens: TokenSet): void {
    const raw = this.ctx.baseUrl ?? tokens.instanceUrl;
    if (raw === undefined) {
      throw new AppError(ERR_SALESFORCE_INSTANCE_URL, 'the Salesforce token set has no instance URL');
    }
    const instanceUrl = validateInstanceUrl(raw, this.options.sandboxHost, this.ctx.baseUrl);
    this.tokens = tokens;
    if (this.conn === undefined) {
      // No oauth2 client and no refresh token: jsforce must never refresh on its own (see header).
      this.conn = new Connection({ instanceUrl, accessToken: tokens.accessToken, version: this.apiVersion });
    } else {
      this.conn.accessToken = tokens.accessToken;
      this.conn.instanceUrl = instanceUrl;
    }
  }

  private async refreshAfter(stale: TokenSet): Promise<void> {
    if (this.refreshing === undefined || this.refreshing.stale !== stale.accessToken) {
      const promise = this.ctx.tokens.refreshAfterRejection(stale);
      this.refreshing = { stale: stale.accessToken, promise };
      this.refreshes++;
    }
    const fresh = await this.refreshing.promise;
    if (this.tokens?.accessToken === stale.accessToken) this.adopt(fresh);
  }

  /**
   * Run one API request (`fn` must make exactly one HTTP call) under the budget, the limiter, the
   * session refresh and the retry policy.
   */
  async call<T>(kind: CallKind, what: string, fn: (conn: Connection) => Promise<T>): Promise<T> {
    const { facts, settings } = this.options;
    try {
      return await withRetry(() => this.once(kind, fn), {
        attempts: facts.retry.attempts,
        baseDelayMs: settings.retryBaseDelayMs,
        maxDelayMs: facts.retry.maxDelayMs,
        classify: (error) => ({ retry: isRetryableCallError(error) }),
        ...(this.options.sleep === undefined ? {} : { sleep: this.options.sleep }),
        onRetry: ({ attempt, delayMs, error }) =>
          this.ctx.logger.warn(
            { kind, attempt, delayMs, err: String(error) },
            `salesforce ${what}: retrying`,
          ),
      });
    } catch (error) {
      throw toAppError(error, `Salesforce ${what}`);
    }
  }

  private async once<T>(kind: CallKind, fn: (conn: Connection) => Promise<T>): Promise<T> {
    let refreshed = false;
    for (;;) {
      await this.budget.beforeCall();
      try {
        await this.ctx.limiter.take('default');
      } catch (error) {
        // The store's limiter throws ERR_RATE_LIMIT_PAUSED (retryable, details.resumeAt) rather
        // than sleeping through a long wait (src/store/rate-limiter.ts).
        if (isAppError(error, ERR_RATE_LIMIT_PAUSED)) throw this.budget.fromLimiterPause(error);
        throw error;
      }
      const conn = await this.connection();
      const stale = this.tokens as TokenSet;
      this.calls[kind]++;
      try {
        const result = await fn(conn);
        await this.observeUsage(conn);
        return result;
      } catch (error) {
        await this.observeUsage(conn);
        if (isSessionExpired(error)) {
          if (refreshed) {
            throw new AppError(
              ERR_SALESFORCE_SESSION_REJECTED,
              'Salesforce rejected a freshly refreshed session',
              {
                retryable: true,
                cause: error,
              },
            );
          }
          refreshed = true;
          await this.refreshAfter(stale);
          continue;
        }
        if (isRequestLimitExceeded(error) && !isConcurrencyLimit(error)) {
          throw await this.budget.onRequestLimitExceeded();
        }
        throw error;
      }
    }
  }

  private async observeUsage(conn: Connection): Promise<void> {
    const usage = conn.limitInfo.apiUsage;
    if (usage !== undefined) await this.budget.observeOrg(usage.used, usage.limit);
  }

  /** Absolute URL for a path relative to the versioned REST root (or to the instance). */
  url(conn: Connection, path: string): string {
    if (/^https?:\/\//.test(path)) return path;
    if (path.startsWith('/services/')) return `${conn.instanceUrl}${path}`;
    return `${conn.instanceUrl}/services/data/v${this.apiVersion}${path}`;
  }

  /**
   * One raw HTTP request through jsforce's `HttpApi` (auth header, error parsing into
   * `HttpApiError`), keeping the response headers (Sforce-Locator, Sforce-Limit-Info).
   */
  async request<T>(kind: CallKind, what: string, req: RawRequest): Promise<RawResponse<T>> {
    return this.call(kind, what, async (conn) => {
      let captured: HttpResponseLike | undefined;
      const api = new HttpApi(conn, { retry: { maxRetries: 0 } });
      api.on('response', (res: HttpResponseLike) => {
        captured = res;
        const info = parseLimitInfo(headerOf(res.headers, 'sforce-limit-info'));
        if (info !== undefined) conn.limitInfo = { apiUsage: info };
      });
      const headers: Record<string, string> = { ...(req.headers ?? {}) };
      let body: string | undefined;
      if (req.text !== undefined) {
        body = req.text;
        headers['content-type'] = req.contentType ?? 'text/csv';
      } else if (req.body !== undefined) {
        body = JSON.stringify(req.body);
        headers['content-type'] = req.contentType ?? 'application/json';
      }
      const result = (await api.request<T>({
        method: req.method,
        url: this.url(conn, req.path),
        headers,
        ...(body === undefined ? {} : { body }),
      })) as T;
      const flat: Record<string, string> = {};
      for (const [k, v] of Object.entries(captured?.headers ?? {})) {
        if (v !== undefined) flat[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
      }
      return { body: result, headers: flat, status: captured?.statusCode ?? 0 };
    });
  }

  async sleep(ms: number): Promise<void> {
    if (this.options.sleep !== undefined) return this.options.sleep(ms);
    await new Promise((resolve) => setTimeout(resolve, ms));
  }
}

function headerOf(headers: HttpResponseLike['headers'], name: string): string | undefined {
  const v = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
