import { afterEach, describe, expect, it } from 'vitest';
import type { Logger, TokenSet } from '../../connectors/contract.js';
import { AppError } from '../../src/errors.js';
import {
  createTokenProvider,
  ERR_AUTH_NO_TOKENS,
  ERR_AUTH_REFRESH_COOLDOWN,
  ERR_AUTH_REVOKED,
} from '../../src/store/tokens.js';
import type { Store } from '../../src/store/types.js';
import type { StoreHarness } from './helpers.js';
import { memoryHarness, redisHarness } from './helpers.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const clock = (): Date => new Date(NOW);

function tokens(n: number, expiresInMs: number): TokenSet {
  return {
    accessToken: `access-SECRET-${n}`,
    refreshToken: `refresh-SECRET-${n}`,
    expiresAt: new Date(NOW + expiresInMs).toISOString(),
    accountId: '777',
  };
}

function capturingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (obj: object, msg?: string): void => {
    lines.push(JSON.stringify({ ...obj, msg }));
  };
  return { lines, debug: log, info: log, warn: log, error: log };
}

function providerSuite(name: string, make: () => StoreHarness<Store>): void {
  describe(`createTokenProvider over ${name}`, () => {
    const harnesses: StoreHarness<Store>[] = [];
    afterEach(async () => {
      await Promise.all(harnesses.splice(0).map((h) => h.cleanup()));
    });
    async function setup(stored: TokenSet): Promise<{ h: StoreHarness<Store>; tenantId: string }> {
      const h = make();
      harnesses.push(h);
      const tenant = await h.store.createTenant({ crm: 'hubspot', accountId: '777', mode: 'oauth' });
      await h.store.saveTokens(tenant.id, stored);
      return { h, tenantId: tenant.id };
    }
    /** A refresh endpoint that takes a while and counts its calls. */
    function slowRefresh(next: TokenSet): { calls: TokenSet[]; fn: (t: TokenSet) => Promise<TokenSet> } {
      const calls: TokenSet[] = [];
      return {
        calls,
        fn: async (t) => {
          calls.push(t);
          await new Promise((r) => setTimeout(r, 60));
          return next;
        },
      };
    }

    it('returns the stored token while it is not near expiry', async () => {
      const { h, tenantId } = await setup(tokens(1, 60 * 60_000));
      const refresh = slowRefresh(tokens(2, 3_600_000));
      const provider = createTokenProvider(h.store, tenantId, refresh.fn, { clock });
      expect((await provider.current()).accessToken).toBe('access-SECRET-1');
      expect(refresh.calls).toHaveLength(0);
    });

    it('refreshes ahead of expiry exactly once across workers, and stores the rotated pair', async () => {
      const { h, tenantId } = await setup(tokens(1, 2 * 60_000)); // inside the 5-minute margin
      const refresh = slowRefresh(tokens(2, 3_600_000));
      const options = { clock, pollMs: 10 };
      const a = createTokenProvider(h.store, tenantId, refresh.fn, options);
      const b = createTokenProvider(h.sibling(), tenantId, refresh.fn, options);
      const results = await Promise.all([a, b, a, b, a, b].map((p) => p.current()));
      expect(refresh.calls).toHaveLength(1);
      expect(refresh.calls[0]?.refreshToken).toBe('refresh-SECRET-1');
      expect(new Set(results.map((r) => r.accessToken))).toEqual(new Set(['access-SECRET-2']));
      expect(await h.store.loadTokens(tenantId)).toMatchObject({
        accessToken: 'access-SECRET-2',
        refreshToken: 'refresh-SECRET-2',
      });
    });

    it('refreshAfterRejection refreshes once per stale token and keeps a non-rotated refresh token', async () => {
      const stale = tokens(1, 60 * 60_000);
      const { h, tenantId } = await setup(stale);
      const { refreshToken: _none, ...withoutRefresh } = tokens(2, 3_600_000);
      const refresh = slowRefresh(withoutRefresh);
      const a = createTokenProvider(h.store, tenantId, refresh.fn, { clock, pollMs: 10 });
      const b = createTokenProvider(h.sibling(), tenantId, refresh.fn, { clock, pollMs: 10 });
      const results = await Promise.all([a.refreshAfterRejection(stale), b.refreshAfterRejection(stale)]);
      expect(refresh.calls).toHaveLength(1);
      expect(results.map((r) => r.accessToken)).toEqual(['access-SECRET-2', 'access-SECRET-2']);
      expect(results[0]?.refreshToken).toBe('refresh-SECRET-1');
      // A late rejection of the same stale token: no second refresh.
      expect((await a.refreshAfterRejection(stale)).accessToken).toBe('access-SECRET-2');
      expect(refresh.calls).toHaveLength(1);
    });

    it('invalid_grant marks the tenant disconnected with the reason and rethrows', async () => {
      const stale = tokens(1, 60 * 60_000);
      const { h, tenantId } = await setup(stale);
      const provider = createTokenProvider(
        h.store,
        tenantId,
        () => Promise.reject(new AppError(ERR_AUTH_REVOKED, 'invalid_grant: refresh token revoked')),
        { clock },
      );
      await expect(provider.refreshAfterRejection(stale)).rejects.toMatchObject({ code: ERR_AUTH_REVOKED });
      const tenant = await h.store.getTenant(tenantId);
      expect(tenant?.status).toBe('disconnected');
      expect(tenant?.statusReason).toMatch(/invalid_grant/);
    });

    it('after a failed refresh, no worker calls the endpoint again during the cooldown', async () => {
      const stale = tokens(1, 60_000); // inside the margin but still valid
      const { h, tenantId } = await setup(stale);
      let calls = 0;
      const failing = (): Promise<TokenSet> => {
        calls++;
        return Promise.reject(new AppError('ERR_HUBSPOT_UNAVAILABLE', '503', { retryable: true }));
      };
      const a = createTokenProvider(h.store, tenantId, failing, { clock, cooldownMs: 5_000 });
      const b = createTokenProvider(h.sibling(), tenantId, failing, { clock, cooldownMs: 5_000 });
      await expect(a.refreshAfterRejection(stale)).rejects.toMatchObject({ code: 'ERR_HUBSPOT_UNAVAILABLE' });
      await expect(b.refreshAfterRejection(stale)).rejects.toMatchObject({ code: ERR_AUTH_REFRESH_COOLDOWN });
      // Ahead-of-expiry refresh failing: the still-valid token is served.
      expect((await b.current()).accessToken).toBe('access-SECRET-1');
      expect(calls).toBe(1);
    });

    it('a rejected token without a refresh token (private app) is revoked', async () => {
      const { refreshToken: _r, expiresAt: _e, ...privateToken } = tokens(1, 0);
      const { h, tenantId } = await setup(privateToken);
      const provider = createTokenProvider(h.store, tenantId, () => Promise.reject(new Error('unused')), {
        clock,
      });
      expect((await provider.current()).accessToken).toBe('access-SECRET-1');
      await expect(provider.refreshAfterRejection(privateToken)).rejects.toMatchObject({
        code: ERR_AUTH_REVOKED,
      });
      expect((await h.store.getTenant(tenantId))?.status).toBe('disconnected');
    });

    it('no stored tokens is a clear error', async () => {
      const h = make();
      harnesses.push(h);
      const provider = createTokenProvider(h.store, 'unknown', () => Promise.reject(new Error('unused')), {
        clock,
      });
      await expect(provider.current()).rejects.toMatchObject({ code: ERR_AUTH_NO_TOKENS });
    });

    it('never logs a token', async () => {
      const { h, tenantId } = await setup(tokens(1, 60_000));
      const logger = capturingLogger();
      let fail = true;
      const refresh = (t: TokenSet): Promise<TokenSet> => {
        if (fail) {
          fail = false;
          return Promise.reject(new AppError('ERR_X', `refresh of ${t.refreshToken ?? ''} failed`));
        }
        return Promise.resolve(tokens(2, 3_600_000));
      };
      const provider = createTokenProvider(h.store, tenantId, refresh, { clock, cooldownMs: 1, logger });
      await provider.current(); // fails, serves the valid one, logs the failure
      await new Promise((r) => setTimeout(r, 20));
      await provider.current(); // refreshes, logs success
      expect(logger.lines.length).toBeGreaterThanOrEqual(2);
      expect(logger.lines.join('\n')).not.toMatch(/SECRET/);
    });
  });
}

providerSuite('RedisStore', () => redisHarness());
providerSuite('MemoryStore', () => memoryHarness());
