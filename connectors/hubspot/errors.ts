/**
 * HubSpot error vocabulary: the HTTP error our client middleware raises for every non-2xx
 * response (with the RAW body: the SDK's own `ApiException` deserialises it into its `Error` model
 * and drops `policyName`, which tells a 10-second 429 from a daily one), its classification for
 * retries, and the stable `AppError` codes callers branch on.
 */
import { z } from 'zod';
import type { RecordError } from '../contract.js';
import { AppError } from '../../src/errors.js';

export const ERR_HUBSPOT_RATE_LIMITED = 'ERR_HUBSPOT_RATE_LIMITED';
export const ERR_HUBSPOT_DAILY_LIMIT = 'ERR_HUBSPOT_DAILY_LIMIT';
export const ERR_HUBSPOT_UNAUTHORIZED = 'ERR_HUBSPOT_UNAUTHORIZED';
export const ERR_HUBSPOT_MISSING_SCOPES = 'ERR_HUBSPOT_MISSING_SCOPES';
export const ERR_HUBSPOT_NOT_FOUND = 'ERR_HUBSPOT_NOT_FOUND';
export const ERR_HUBSPOT_CONFLICT = 'ERR_HUBSPOT_CONFLICT';
export const ERR_HUBSPOT_BAD_REQUEST = 'ERR_HUBSPOT_BAD_REQUEST';
export const ERR_HUBSPOT_SERVER = 'ERR_HUBSPOT_SERVER';
export const ERR_HUBSPOT_NETWORK = 'ERR_HUBSPOT_NETWORK';
/** A HubSpot response did not have the shape we rely on. */
export const ERR_HUBSPOT_PAYLOAD = 'ERR_HUBSPOT_PAYLOAD';
export const ERR_HUBSPOT_OAUTH = 'ERR_HUBSPOT_OAUTH';
export const ERR_HUBSPOT_UNKNOWN_OBJECT = 'ERR_HUBSPOT_UNKNOWN_OBJECT';
export const ERR_HUBSPOT_SETTINGS_INVALID = 'ERR_HUBSPOT_SETTINGS_INVALID';
/** Same code as the token provider's (src/store/tokens.ts): the refresh token is invalid/revoked. */
export const ERR_AUTH_REVOKED = 'ERR_AUTH_REVOKED';
export const ERR_WEBHOOK_SIGNATURE = 'ERR_WEBHOOK_SIGNATURE';
export const ERR_WEBHOOK_STALE = 'ERR_WEBHOOK_STALE';

/** HubSpot's error body (API_FACTS §CRM v3 objects "Error body", §Rate limits "429 body"). */
export const HubSpotErrorBodySchema = z.looseObject({
  status: z.string().optional(),
  message: z.string().optional(),
  category: z.string().optional(),
  subCategory: z.unknown().optional(),
  correlationId: z.string().optional(),
  policyName: z.string().optional(),
  errorType: z.string().optional(),
  error: z.string().optional(),
  error_description: z.string().optional(),
});
export type HubSpotErrorBody = z.infer<typeof HubSpotErrorBodySchema>;

export class HubSpotHttpError extends Error {
  readonly status: number;
  readonly body: HubSpotErrorBody;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, rawBody: string, headers: Record<string, string>) {
    const body = parseErrorBody(rawBody);
    super(`HubSpot HTTP ${status}: ${body.category ?? body.error ?? ''} ${body.message ?? ''}`.trim());
    this.name = 'HubSpotHttpError';
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

function parseErrorBody(raw: string): HubSpotErrorBody {
  try {
    const parsed = HubSpotErrorBodySchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : { message: raw.slice(0, 500) };
  } catch {
    return { message: raw.slice(0, 500) };
  }
}

/** Network-level failures of node-fetch (the SDK 13.x transport) and of sockets. */
export function isNetworkError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return (
    error.name === 'FetchError' ||
    error.name === 'AbortError' ||
    (typeof code === 'string' && /^(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|UND_ERR_)/.test(code))
  );
}

/** Convert anything a call threw into a stable `AppError` (never leaks tokens: bodies are HubSpot's). */
export function toAppError(error: unknown, op: string): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof HubSpotHttpError) {
    const details = {
      op,
      status: error.status,
      category: error.body.category,
      correlationId: error.body.correlationId,
      hubspotMessage: error.body.message,
    };
    const message = `HubSpot ${op} failed (${error.status} ${error.body.category ?? ''})`;
    if (error.status === 429) {
      const daily = error.body.policyName === 'DAILY';
      return new AppError(daily ? ERR_HUBSPOT_DAILY_LIMIT : ERR_HUBSPOT_RATE_LIMITED, message, {
        details: { ...details, policyName: error.body.policyName },
        retryable: true,
        cause: error,
      });
    }
    if (error.status === 401)
      return new AppError(ERR_HUBSPOT_UNAUTHORIZED, message, { details, cause: error });
    if (error.status === 403)
      return new AppError(ERR_HUBSPOT_MISSING_SCOPES, message, { details, cause: error });
    if (error.status === 404) return new AppError(ERR_HUBSPOT_NOT_FOUND, message, { details, cause: error });
    if (error.status === 409) return new AppError(ERR_HUBSPOT_CONFLICT, message, { details, cause: error });
    if (error.status === 423 || error.status >= 500)
      return new AppError(ERR_HUBSPOT_SERVER, message, { details, retryable: true, cause: error });
    return new AppError(ERR_HUBSPOT_BAD_REQUEST, message, { details, cause: error });
  }
  if (isNetworkError(error))
    return new AppError(ERR_HUBSPOT_NETWORK, `HubSpot ${op}: network error`, {
      details: { op, reason: (error as Error).message },
      retryable: true,
      cause: error,
    });
  return new AppError(ERR_HUBSPOT_PAYLOAD, `HubSpot ${op}: ${(error as Error)?.message ?? String(error)}`, {
    details: { op },
    cause: error,
  });
}

/** A whole failed call, applied to each record of the batch it carried. */
export function recordErrorOf(error: AppError): RecordError {
  const category = typeof error.details?.category === 'string' ? error.details.category : undefined;
  return { code: category ?? error.code, message: error.message, retryable: error.retryable };
}

/**
 * One 207 batch error entry → RecordError. Transient categories (rate limit, lock, server) are
 * retryable; VALIDATION_ERROR, OBJECT_NOT_FOUND, PROPERTY_DOESNT_EXIST... wait for a change.
 */
export function recordErrorFromBatch(entry: {
  category?: string | undefined;
  message?: string | undefined;
  subCode?: string | undefined;
}): RecordError {
  const code = entry.subCode ?? entry.category ?? 'UNKNOWN';
  const retryable = /RATE_LIMIT|LOCKED|INTERNAL|TIMEOUT|SERVER|CONFLICT_RETRY/i.test(entry.category ?? '');
  return { code, message: entry.message ?? 'HubSpot rejected the record', retryable };
}
