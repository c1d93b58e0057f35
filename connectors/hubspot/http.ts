/**
 * Every HubSpot API call goes through `HubSpotHttp.call()`:
 *  - the shared per-portal budget first (`limiter.take('default')`; CRM search has its own
 *    per-second bucket and is excluded from the 10-second one: API_FACTS §Rate limits);
 *  - the official client, built with NO retries and NO Bottleneck limiter (`numberOfApiCallRetries`
 *    0 and no `limiterOptions`: the SDK then installs no decorator, lib/src/client.js
 *    getDecorators) because our limiter and retry own that: the SDK's retry ignores Retry-After and
 *    sleeps 10 s × n on every 429 [HSDK RetryDecorator.js];
 *  - a client middleware that feeds `X-HubSpot-RateLimit-*` headers back into the limiter and
 *    turns every non-2xx into a `HubSpotHttpError` carrying the RAW body (the SDK's ApiException
 *    deserialises it into its `Error` model and loses `policyName`);
 *  - retries: 429 → pause the bucket (Retry-After, else the policy window) and retry; 5xx/423 and
 *    network errors → jittered backoff; 401 → ONE `tokens.refreshAfterRejection()` then retry
 *    (HubSpot: a 401 is not the refresh signal, refreshing ahead of expiry is the token provider's
 *    job, so a second 401 is a real failure).
 * It also counts calls per kind for the benchmark (`counts`).
 */
import { Client } from '@hubspot/api-client';
import type { ConnectorContext, TokenSet } from '../contract.js';
import { retryAfterMs, withRetry } from '../shared/retry.js';
import type { RetryDecision } from '../shared/retry.js';
import { AppError, isAppError } from '../../src/errors.js';
import { HubSpotHttpError, isNetworkError, toAppError } from './errors.js';
import type { HubSpotFacts } from './facts.js';

export type CallKind = 'read' | 'write' | 'search' | 'associations';

export interface CallCounts {
  read: number;
  write: number;
  search: number;
  associations: number;
  /** Attempts that were retried (429, 5xx, network, 401 refresh). */
  retries: number;
  /** 429 responses seen (all handled by pausing and retrying unless attempts ran out). */
  rateLimited: number;
  /** 429s that ended a call (attempts exhausted or daily limit): the benchmark wants 0. */
  unhandled429: number;
  refreshes: number;
}

export interface HubSpotHttpOptions {
  /** Total attempts per call, including the first. Default 6. */
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

interface ResponseContextLike {
  httpStatusCode: number;
  headers: Record<string, string>;
  body: { text(): Promise<string>; binary(): Promise<Buffer> };
}

/** Thrown inside the retry loop after a successful token refresh: retry at once. */
class RetryAfterRefresh extends Error {}

function numberHeader(headers: Record<string, string>, name: string): number | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

export class HubSpotHttp {
  readonly counts: CallCounts = {
    read: 0,
    write: 0,
    search: 0,
    associations: 0,
    retries: 0,
    rateLimited: 0,
    unhandled429: 0,
    refreshes: 0,
  };
  private client: { token: string; client: Client } | undefined;
  private readonly baseUrl: string;
  private readonly attempts: number;

  constructor(
    private readonly ctx: ConnectorContext,
    private readonly facts: HubSpotFacts,
    private readonly options: HubSpotHttpOptions = {},
  ) {
    this.baseUrl = (ctx.baseUrl ?? facts.apiBaseUrl).replace(/\/+$/, '');
    this.attempts = options.attempts ?? 6;
  }

  /** One client per access token; rebuilt after a refresh. */
  private clientFor(token: string): Client {
    if (this.client?.token === token) return this.client.client;
    const client = new Client({
      accessToken: token,
      basePath: this.baseUrl,
      numberOfApiCallRetries: 0,
      middleware: [
        { pre: (c: unknown) => c, post: (c: unknown) => this.afterResponse(c as ResponseContextLike) },
      ],
    });
    // The SDK applies its (process-wide) decorators lazily on first access of each API group;
    // touch ours now, while the decorator list is the empty one this client just installed.
    void client.crm.objects;
    void client.crm.associations.v4;
    void client.crm.properties;
    void client.crm.owners;
    void client.crm.pipelines;
    this.client = { token, client };
    return client;
  }

  /**
   * Per-call options carrying our middleware. In 13.5 the generated ObservableAPI starts every call
   * with `allMiddleware = []` and only fills it from the call's own `_options`, so middleware given
   * to `new Client({ middleware })` is never run (lib/codegen/crm/objects/types/ObservableAPI.js);
   * 'append' keeps the configuration's own (user-agent) middleware too.
   */
  readonly callOptions = {
    middlewareMergeStrategy: 'append' as const,
    middleware: [
      {
        pre: (c: unknown): Promise<unknown> => Promise.resolve(c),
        post: (c: unknown): Promise<unknown> => this.afterResponse(c as ResponseContextLike),
      },
    ],
  };

  private async afterResponse(response: ResponseContextLike): Promise<ResponseContextLike> {
    const h = response.headers;
    const max = numberHeader(h, 'x-hubspot-ratelimit-max');
    const remaining = numberHeader(h, 'x-hubspot-ratelimit-remaining');
    const interval = numberHeader(h, 'x-hubspot-ratelimit-interval-milliseconds');
    if (remaining !== undefined) {
      await this.ctx.limiter.observe('default', {
        remaining,
        ...(max === undefined ? {} : { limit: max }),
        ...(interval === undefined ? {} : { windowMs: interval }),
      });
    }
    const dailyRemaining = numberHeader(h, 'x-hubspot-ratelimit-daily-remaining');
    const daily = numberHeader(h, 'x-hubspot-ratelimit-daily');
    if (dailyRemaining !== undefined) {
      await this.ctx.limiter.observe('daily', {
        remaining: dailyRemaining,
        ...(daily === undefined ? {} : { limit: daily }),
        windowMs: 86_400_000,
      });
    }
    if (response.httpStatusCode >= 400) {
      throw new HubSpotHttpError(response.httpStatusCode, await response.body.text(), h);
    }
    return response;
  }

  /**
   * A JSON call through the client's generic `apiRequest` (same base path, token and user agent)
   * for bodies the typed models would strip: e.g. `objectWriteTraceId` on batch create, which the
   * 13.x `SimplePublicObjectInputForCreate` model does not know, and without which HubSpot answers a
   * partially invalid create batch with one 400 for all (API_FACTS §CRM v3 objects "207").
   */
  async requestJson(
    client: Client,
    request: { method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'; path: string; body?: unknown },
  ): Promise<{ status: number; body: unknown }> {
    const response = await client.apiRequest({
      method: request.method,
      path: request.path,
      ...(request.body === undefined ? {} : { body: request.body as object }),
    });
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name.toLowerCase()] = value;
    });
    const text = await response.text();
    await this.afterResponse({
      httpStatusCode: response.status,
      headers,
      body: { text: () => Promise.resolve(text), binary: () => Promise.resolve(Buffer.from(text)) },
    });
    return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  }

  /**
   * Run one API call with budget, token, retries and counting. `ambiguousRetry: false` (creates):
   * retry only failures that prove the request was NOT executed (429, 401, connection refused);
   * a 5xx or a dropped connection may hide a success, so the caller reconciles instead.
   */
  async call<T>(
    kind: CallKind,
    op: string,
    fn: (client: Client, options: never) => Promise<T>,
    signal?: AbortSignal,
    ambiguousRetry = true,
  ): Promise<T> {
    let refreshed = false;
    const bucket = kind === 'search' ? 'search' : 'default';
    try {
      return await withRetry(
        async () => {
          await this.ctx.limiter.take(bucket, 1, signal);
          const tokens = await this.ctx.tokens.current();
          this.counts[kind]++;
          try {
            return await fn(this.clientFor(tokens.accessToken), this.callOptions as never);
          } catch (error) {
            if (error instanceof HubSpotHttpError && error.status === 401 && !refreshed) {
              refreshed = true;
              await this.refresh(tokens);
              throw new RetryAfterRefresh();
            }
            if (error instanceof HubSpotHttpError && error.status === 429) await this.pause(error, bucket);
            throw error;
          }
        },
        {
          attempts: this.attempts,
          baseDelayMs: this.options.baseDelayMs ?? 250,
          maxDelayMs: this.options.maxDelayMs ?? 20_000,
          classify: (error) => this.classify(error, ambiguousRetry),
          ...(this.options.sleep === undefined ? {} : { sleep: this.options.sleep }),
          ...(this.options.random === undefined ? {} : { random: this.options.random }),
          ...(signal === undefined ? {} : { signal }),
          onRetry: ({ attempt, delayMs, error }) => {
            this.counts.retries++;
            this.ctx.logger.debug(
              {
                tenantId: this.ctx.tenantId,
                op,
                attempt,
                delayMs,
                status: (error as { status?: number }).status,
              },
              'hubspot call retried',
            );
          },
        },
      );
    } catch (error) {
      const unwrapped =
        isAppError(error, 'ERR_RETRIES_EXHAUSTED') && error.cause !== undefined ? error.cause : error;
      if (unwrapped instanceof HubSpotHttpError && unwrapped.status === 429) this.counts.unhandled429++;
      throw toAppError(unwrapped, op);
    }
  }

  private async refresh(stale: TokenSet): Promise<void> {
    this.counts.refreshes++;
    // Throws ERR_AUTH_REVOKED (tenant marked disconnected by the store) when the grant is gone.
    await this.ctx.tokens.refreshAfterRejection(stale);
  }

  /** Tell every worker to stop sending in this bucket until HubSpot's window has passed. */
  private async pause(error: HubSpotHttpError, bucket: string): Promise<void> {
    this.counts.rateLimited++;
    const p = this.facts.rateLimitPolicies;
    const policy = error.body.policyName;
    const now = this.ctx.now();
    const daily = policy === p.daily;
    const fallback = daily
      ? nextUtcMidnight(now).getTime() - now.getTime()
      : error.body.message === p.secondlyMessage || bucket === 'search'
        ? p.secondlyPauseMs
        : p.tenSecondlyPauseMs;
    const waitMs = retryAfterMs(error.headers['retry-after'], now) ?? fallback;
    await this.ctx.limiter.observe(daily ? 'daily' : bucket, {
      pauseUntil: new Date(now.getTime() + waitMs),
      reason: `HubSpot 429 ${policy ?? error.body.message ?? 'rate limit'}`,
    });
  }

  private classify(error: unknown, ambiguousRetry: boolean): RetryDecision {
    if (error instanceof RetryAfterRefresh) return { retry: true, waitAtLeastMs: 0 };
    if (error instanceof HubSpotHttpError) {
      if (error.status === 429) {
        if (error.body.policyName === this.facts.rateLimitPolicies.daily) return { retry: false };
        const now = this.ctx.now();
        const wait =
          retryAfterMs(error.headers['retry-after'], now) ??
          (error.body.message === this.facts.rateLimitPolicies.secondlyMessage
            ? this.facts.rateLimitPolicies.secondlyPauseMs
            : this.facts.rateLimitPolicies.tenSecondlyPauseMs);
        return { retry: true, waitAtLeastMs: wait };
      }
      // 423 Locked on heavy upserts: "wait at least 2 s" (API_FACTS §Rate limits).
      if (error.status === 423) return { retry: ambiguousRetry, waitAtLeastMs: 2000 };
      return { retry: ambiguousRetry && error.status >= 500 };
    }
    if (error instanceof AppError) return { retry: false };
    if (!ambiguousRetry) return { retry: (error as { code?: unknown }).code === 'ECONNREFUSED' };
    return { retry: isNetworkError(error) };
  }
}

function nextUtcMidnight(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
}
