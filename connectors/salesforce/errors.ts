/**
 * Salesforce error codes and the classification of what jsforce throws. Shapes (jsforce 3.10
 * `lib/http-api.js`, `lib/oauth2.js`, `lib/soap.js`):
 *  - REST: `HttpApiError` with `name === errorCode` (e.g. `INVALID_SESSION_ID`,
 *    `REQUEST_LIMIT_EXCEEDED`, `MALFORMED_QUERY`), `data` = the first element of the error array;
 *    non-JSON bodies get `ERROR_HTTP_<status>`.
 *  - OAuth: an Error whose `name` is the OAuth `error` (`invalid_grant`, `invalid_request`) and
 *    whose message is `error_description`.
 *  - SOAP (Metadata API): `errorCode` is the faultcode, e.g. `sf:INVALID_SESSION_ID`.
 *  - Transport: Node/undici errors with `code` (`ECONNRESET`, `ETIMEDOUT`, ...).
 */
import { AppError } from '../../src/errors.js';

export const ERR_SALESFORCE_BUDGET_PAUSED = 'ERR_SALESFORCE_BUDGET_PAUSED';
export const ERR_SALESFORCE_INSTANCE_URL = 'ERR_SALESFORCE_INSTANCE_URL';
export const ERR_SALESFORCE_LOGIN_URL = 'ERR_SALESFORCE_LOGIN_URL';
export const ERR_SALESFORCE_OAUTH = 'ERR_SALESFORCE_OAUTH';
export const ERR_SALESFORCE_API = 'ERR_SALESFORCE_API';
export const ERR_SALESFORCE_SESSION_REJECTED = 'ERR_SALESFORCE_SESSION_REJECTED';
export const ERR_SALESFORCE_UNKNOWN_OBJECT = 'ERR_SALESFORCE_UNKNOWN_OBJECT';
export const ERR_SALESFORCE_PAYLOAD = 'ERR_SALESFORCE_PAYLOAD';
export const ERR_SALESFORCE_PROVISION = 'ERR_SALESFORCE_PROVISION';
export const ERR_SALESFORCE_INTEGRATION_USER = 'ERR_SALESFORCE_INTEGRATION_USER';
/** Shared with the HubSpot connector and the token provider (contract.ts TokenProvider doc). */
export const ERR_AUTH_REVOKED = 'ERR_AUTH_REVOKED';

/** The Salesforce error code of anything jsforce or the transport threw, or undefined. */
export function salesforceErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { errorCode?: unknown; name?: unknown; code?: unknown };
  const raw =
    typeof e.errorCode === 'string'
      ? e.errorCode
      : typeof e.name === 'string' && e.name !== 'Error'
        ? e.name
        : undefined;
  if (raw !== undefined) return raw.includes(':') ? raw.slice(raw.lastIndexOf(':') + 1) : raw;
  return typeof e.code === 'string' ? e.code : undefined;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function isSessionExpired(error: unknown): boolean {
  return salesforceErrorCode(error) === 'INVALID_SESSION_ID';
}

export function isRequestLimitExceeded(error: unknown): boolean {
  return salesforceErrorCode(error) === 'REQUEST_LIMIT_EXCEEDED';
}

/**
 * REQUEST_LIMIT_EXCEEDED is also the answer to too many concurrent long requests
 * ("ConcurrentPerOrgLongTxn Limit exceeded", SF "salesforce-app-limits-platform-api"): that one
 * clears in seconds and is retried; the daily total ("TotalRequests Limit exceeded") pauses.
 */
export function isConcurrencyLimit(error: unknown): boolean {
  return isRequestLimitExceeded(error) && /concurrent/i.test(errorMessage(error));
}

const TRANSIENT_NETWORK = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** Codes of per-record or per-call errors that may succeed later without anyone changing anything. */
const TRANSIENT_CODES = new Set([
  'UNABLE_TO_LOCK_ROW',
  'SERVER_UNAVAILABLE',
  'ERROR_HTTP_500',
  'ERROR_HTTP_502',
  'ERROR_HTTP_503',
  'ERROR_HTTP_504',
  'ERROR_HTTP_429',
  'QUERY_TIMEOUT',
  'REQUEST_RUNNING_TOO_LONG',
  'ALL_OR_NONE_OPERATION_ROLLED_BACK',
  'TXN_SECURITY_METERING_ERROR',
]);

export function isTransientCode(code: string | undefined): boolean {
  return code !== undefined && (TRANSIENT_CODES.has(code) || TRANSIENT_NETWORK.has(code));
}

/** Should the call loop retry this error (after backoff)? Session and budget errors are handled apart. */
export function isRetryableCallError(error: unknown): boolean {
  if (error instanceof AppError) return false;
  if (isConcurrencyLimit(error)) return true;
  const code = salesforceErrorCode(error);
  if (isTransientCode(code)) return true;
  // Socket-level failures surface as plain errors with a `cause` carrying the code.
  const cause = (error as { cause?: unknown } | null)?.cause;
  return cause !== undefined && isTransientCode(salesforceErrorCode(cause));
}

/** Wrap a jsforce error in an AppError the pipeline can branch on (never the raw body: may echo data). */
export function toAppError(error: unknown, what: string): AppError {
  if (error instanceof AppError) return error;
  const code = salesforceErrorCode(error);
  return new AppError(ERR_SALESFORCE_API, `${what} failed: ${code ?? 'error'}: ${errorMessage(error)}`, {
    details: { salesforceCode: code ?? null },
    retryable: isRetryableCallError(error),
    cause: error,
  });
}
