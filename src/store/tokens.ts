/**
 * Token access for connectors: `createTokenProvider()` implements `TokenProvider`
 * (connectors/contract.ts) over any `Store`, following Nango's refresh design (SYNC_LESSONS §1.1
 * "OAuth"): refresh AHEAD of expiry (HubSpot: a 401 is "not a valid indicator" that a new token is
 * needed, so we go by `expiresAt`), under a per-tenant lock shared by every worker, re-reading the
 * stored tokens after the lock is acquired (another worker may have refreshed), storing a rotated
 * set in one SET, and a failure cooldown so a broken refresh endpoint is not hammered.
 * Tokens are never logged: only tenant id, error code and timestamps are.
 */
import type { Logger, TokenProvider, TokenSet } from '../../connectors/contract.js';
import { AppError, isAppError } from '../errors.js';
import { abortableSleep } from './rate-limiter.js';
import type { Store } from './types.js';
import { ERR_STORE_TENANT_NOT_FOUND } from './types.js';

/** The refresh function throws this (invalid_grant: the admin revoked or uninstalled the app). */
export const ERR_AUTH_REVOKED = 'ERR_AUTH_REVOKED';
/** No token set stored for the tenant (never installed, or uninstalled). */
export const ERR_AUTH_NO_TOKENS = 'ERR_AUTH_NO_TOKENS';
/** A recent refresh failed; we wait out the cooldown instead of hammering the token endpoint. */
export const ERR_AUTH_REFRESH_COOLDOWN = 'ERR_AUTH_REFRESH_COOLDOWN';
/** Another worker held the refresh lock for longer than we wait. */
export const ERR_AUTH_REFRESH_BUSY = 'ERR_AUTH_REFRESH_BUSY';

const LOCK = 'refresh';
const COOLDOWN_FLAG = 'refresh-failed';

export interface TokenProviderOptions {
  /** Refresh when the token expires within this margin. Default 5 minutes. */
  marginMs?: number;
  /** Refresh lock TTL: longer than one refresh call can take. Default 30 s. */
  lockTtlMs?: number;
  /** After a failed refresh, no new attempt (by any worker) for this long. Default 30 s. */
  cooldownMs?: number;
  /** How long to wait for another worker's refresh. Default lockTtlMs + 5 s. */
  lockWaitMs?: number;
  /** Poll interval while another worker holds the lock. Default 100 ms. */
  pollMs?: number;
  clock?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  logger?: Logger;
}

export function createTokenProvider(
  store: Store,
  tenantId: string,
  refresh: (tokens: TokenSet) => Promise<TokenSet>,
  options: TokenProviderOptions = {},
): TokenProvider {
  const marginMs = options.marginMs ?? 5 * 60_000;
  const lockTtlMs = options.lockTtlMs ?? 30_000;
  const cooldownMs = options.cooldownMs ?? 30_000;
  const lockWaitMs = options.lockWaitMs ?? lockTtlMs + 5_000;
  const pollMs = options.pollMs ?? 100;
  const clock = options.clock ?? (() => new Date());
  const sleep = options.sleep ?? ((ms: number) => abortableSleep(ms));
  const logger = options.logger;

  const expiring = (t: TokenSet): boolean =>
    t.expiresAt !== undefined && Date.parse(t.expiresAt) - marginMs <= clock().getTime();
  const expired = (t: TokenSet): boolean =>
    t.expiresAt !== undefined && Date.parse(t.expiresAt) <= clock().getTime();

  async function load(): Promise<TokenSet> {
    const tokens = await store.loadTokens(tenantId);
    if (tokens === null) {
      throw new AppError(ERR_AUTH_NO_TOKENS, `tenant ${tenantId} has no stored tokens (reinstall the app)`, {
        details: { tenantId },
      });
    }
    return tokens;
  }

  async function cooldownError(): Promise<AppError | undefined> {
    const flag = await store.getFlag(tenantId, COOLDOWN_FLAG);
    if (flag === null) return undefined;
    const info = (typeof flag === 'object' && !Array.isArray(flag) ? flag : {}) as Record<string, unknown>;
    return new AppError(
      ERR_AUTH_REFRESH_COOLDOWN,
      `token refresh for tenant ${tenantId} failed recently; retrying later`,
      {
        retryable: true,
        details: { tenantId, until: info['until'] ?? null, lastError: info['code'] ?? null },
      },
    );
  }

  async function markDisconnected(error: AppError): Promise<void> {
    try {
      await store.updateTenant(tenantId, {
        status: 'disconnected',
        statusReason: `authorisation revoked: ${error.message}`,
      });
    } catch (e) {
      if (!isAppError(e, ERR_STORE_TENANT_NOT_FOUND)) throw e;
    }
    logger?.warn({ tenantId, code: error.code }, 'tenant disconnected: refresh token rejected');
  }

  /** Refresh under the shared lock unless, after re-reading, `needed(stored)` is false. */
  async function refreshUnderLock(needed: (stored: TokenSet) => boolean): Promise<TokenSet> {
    const deadline = clock().getTime() + lockWaitMs;
    for (;;) {
      const cooling = await cooldownError();
      if (cooling !== undefined) throw cooling;
      const lock = await store.acquireLock(tenantId, LOCK, lockTtlMs);
      if (lock === null) {
        // Another worker is refreshing: wait for its result rather than refreshing twice.
        if (clock().getTime() >= deadline) {
          throw new AppError(
            ERR_AUTH_REFRESH_BUSY,
            `token refresh for tenant ${tenantId} is taking too long`,
            {
              retryable: true,
              details: { tenantId },
            },
          );
        }
        await sleep(pollMs);
        const stored = await load();
        if (!needed(stored)) return stored;
        continue;
      }
      try {
        const stored = await load(); // re-read under the lock
        if (!needed(stored)) return stored;
        let next: TokenSet;
        try {
          next = await refresh(stored);
        } catch (error) {
          if (isAppError(error, ERR_AUTH_REVOKED)) {
            await markDisconnected(error);
            throw error;
          }
          const code = isAppError(error) ? error.code : 'ERR_UNKNOWN';
          const until = new Date(clock().getTime() + cooldownMs).toISOString();
          await store.setFlag(tenantId, COOLDOWN_FLAG, { until, code }, cooldownMs);
          logger?.warn({ tenantId, code, until }, 'token refresh failed; cooling down');
          throw error;
        }
        // Salesforce and HubSpot may omit the refresh token (not rotated): keep the one we had.
        const merged: TokenSet = {
          ...stored,
          ...next,
          ...(next.refreshToken === undefined && stored.refreshToken !== undefined
            ? { refreshToken: stored.refreshToken }
            : {}),
        };
        if (next.expiresAt === undefined) delete merged.expiresAt;
        await store.saveTokens(tenantId, merged); // one SET: the rotated pair is never half-saved
        await store.clearFlag(tenantId, COOLDOWN_FLAG);
        logger?.info({ tenantId, expiresAt: merged.expiresAt ?? null }, 'access token refreshed');
        return merged;
      } finally {
        await store.releaseLock(tenantId, LOCK, lock);
      }
    }
  }

  return {
    async current(): Promise<TokenSet> {
      const stored = await load();
      if (!expiring(stored) || stored.refreshToken === undefined) return stored;
      try {
        return await refreshUnderLock(expiring);
      } catch (error) {
        // Refreshing AHEAD of expiry failed transiently: the token is still valid, use it.
        if (!expired(stored) && !isAppError(error, ERR_AUTH_REVOKED)) return stored;
        throw error;
      }
    },
    async refreshAfterRejection(stale: TokenSet): Promise<TokenSet> {
      const stored = await load();
      if (stored.accessToken !== stale.accessToken) return stored; // someone already refreshed
      if (stored.refreshToken === undefined) {
        // A private-app / static token the CRM rejects is revoked: nothing can refresh it.
        const error = new AppError(
          ERR_AUTH_REVOKED,
          `tenant ${tenantId}: the access token was rejected and cannot be refreshed`,
          { details: { tenantId } },
        );
        await markDisconnected(error);
        throw error;
      }
      return refreshUnderLock((t) => t.accessToken === stale.accessToken);
    },
  };
}
