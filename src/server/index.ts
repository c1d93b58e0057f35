/** Public surface of the HTTP server. */
export { createApp } from './app.js';
export type { AdminApi, InputValidators, ServerConfig, ServerDeps } from './deps.js';
export {
  HttpError,
  ERR_HTTP_NOT_FOUND,
  ERR_HTTP_BODY_TOO_LARGE,
  ERR_HTTP_BODY_MALFORMED,
  ERR_INTERNAL,
} from './http-errors.js';
export type { ErrorBody } from './http-errors.js';
export {
  ERR_SESSION_REQUIRED,
  ERR_SESSION_FORBIDDEN,
  ERR_CSRF,
  SESSION_COOKIE,
  CSRF_COOKIE,
  CSRF_HEADER,
} from './session.js';
export { ERR_OAUTH_STATE_INVALID, ERR_OAUTH_STATE_EXPIRED, ERR_OAUTH_STATE_USED } from './oauth-state.js';
export { ERR_SERVER_UNKNOWN_CRM, ERR_OAUTH_DENIED, ERR_OAUTH_EXCHANGE_FAILED } from './routes/install.js';
export {
  ERR_WEBHOOK_SIGNATURE,
  ERR_WEBHOOK_BODY,
  ERR_WEBHOOK_UNSUPPORTED,
  ERR_WEBHOOK_NOT_QUEUED,
} from './routes/webhooks.js';
export { ERR_TENANT_NOT_FOUND } from './routes/admin-api.js';
export { ERR_NOT_READY } from './routes/health.js';
export { ERR_BASIC_AUTH, DASHBOARD_PATH } from './queue-dashboard.js';
export { serverConfigFrom } from './config.js';
