/**
 * `GET /healthz`: the process is up (liveness; no dependency checks, so a Redis outage does not
 * get every pod restarted). `GET /readyz`: Redis answers and the queues are ready (readiness).
 * `GET /metrics`: Prometheus text format from the injected registry.
 */
import { Router } from 'express';
import { register as defaultRegistry } from 'prom-client';
import { AppError } from '../../errors.js';
import type { ServerDeps } from '../deps.js';
import { errorBody } from '../http-errors.js';

export const ERR_NOT_READY = 'ERR_NOT_READY';

const CHECK_TIMEOUT_MS = 2_000;

async function check(probe: () => Promise<void>): Promise<'ok' | string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return 'ok';
  } catch (e) {
    return e instanceof Error ? e.message.slice(0, 200) : 'failed';
  } finally {
    clearTimeout(timer);
  }
}

export function healthRouter(deps: ServerDeps): Router {
  const router = Router();
  const registry = deps.metrics?.registry ?? defaultRegistry;

  /** Queue depth is read at scrape time (5 small Redis calls), so it is never stale. */
  const refreshQueueDepth = async (): Promise<void> => {
    const gauge = deps.metrics?.queueDepth;
    if (gauge === undefined) return;
    try {
      const depths = await deps.queue.depths();
      for (const [queue, counts] of Object.entries(depths)) {
        for (const [state, value] of Object.entries(counts)) gauge.set({ queue, state }, value);
      }
    } catch {
      // Redis down: /readyz says so; keep serving the other metrics.
    }
  };

  router.get('/healthz', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
    const [store, queue] = await Promise.all([
      check(() => deps.store.ping()),
      check(() => deps.queue.ping()),
    ]);
    const checks = { store, queue };
    res.set('Cache-Control', 'no-store');
    if (store === 'ok' && queue === 'ok') {
      res.json({ status: 'ready', checks });
      return;
    }
    res.status(503).json(errorBody(new AppError(ERR_NOT_READY, 'not ready', { details: { checks } })));
  });

  router.get('/metrics', async (_req, res) => {
    await refreshQueueDepth();
    res.set('Content-Type', registry.contentType).send(await registry.metrics());
  });

  return router;
}
