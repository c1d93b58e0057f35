/**
 * The express app of the sync service: install/OAuth, webhooks, the admin JSON API, health and
 * metrics, the operators' queue dashboard. Everything it talks to is injected (`ServerDeps`).
 *
 * Order matters: request log → security headers → routes (each route parses its own body: raw
 * bytes for webhooks, JSON ≤ 1 MB for the API) → 404 → the one error handler.
 */
import express from 'express';
import helmet from 'helmet';
import type { ServerDeps } from './deps.js';
import { errorHandler, notFoundHandler } from './http-errors.js';
import { OAuthStates } from './oauth-state.js';
import { basicAuth, DASHBOARD_PATH, queueDashboard } from './queue-dashboard.js';
import { requestLog } from './request-log.js';
import { adminPage } from './admin/router.js';
import { adminApiRouter } from './routes/admin-api.js';
import { adminConsoleRouter } from './routes/admin-console.js';
import { healthRouter } from './routes/health.js';
import { installRouter } from './routes/install.js';
import { referralLinkRouter } from './routes/referral-link.js';
import { webhookRouter } from './routes/webhooks.js';
import { Sessions } from './session.js';

export function createApp(deps: ServerDeps): express.Express {
  const now = deps.now ?? (() => new Date());
  if (!/^https?:\/\/[^/]+(\/.*[^/])?$/.test(deps.config.publicUrl)) {
    throw new RangeError('publicUrl must be an absolute http(s) URL without a trailing slash');
  }
  const sessions = new Sessions(deps.config.sessionSecret, {
    secure: deps.config.cookieSecure,
    now,
    store: deps.store,
    ...(deps.config.sessionTtlSeconds === undefined ? {} : { ttlSeconds: deps.config.sessionTtlSeconds }),
  });
  const states = new OAuthStates(deps.config.sessionSecret, deps.store, now);

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.config.trustProxy ?? 0);
  app.use(requestLog(deps.logger));
  app.use(helmet());

  app.use(healthRouter(deps));
  app.use(webhookRouter(deps));
  app.use(installRouter(deps, states, sessions));
  app.use(referralLinkRouter(deps));
  app.use(adminApiRouter(deps, sessions));
  app.use(adminConsoleRouter(deps, sessions));
  const { adminUser, adminPassword } = deps.config;
  if (deps.dashboardQueues !== undefined && adminUser && adminPassword) {
    app.use(
      DASHBOARD_PATH,
      basicAuth(adminUser, adminPassword, 'referral-sync queues'),
      queueDashboard(deps.dashboardQueues),
    );
  }
  app.use('/admin', deps.adminPage ?? adminPage());

  app.use(notFoundHandler());
  app.use(errorHandler(deps.logger));
  return app;
}
