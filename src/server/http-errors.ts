/**
 * One error shape for every HTTP error: `{ "error": { "code", "message", "details"? } }`, with a
 * stable `code` (clients branch on it, never on the message). Browser-facing flows (install and
 * OAuth callback) get the same code and message as a small HTML page when the browser asks for HTML.
 */
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import type { Logger } from '../../connectors/contract.js';
import { AppError, ERR_INVALID_INPUT, isAppError } from '../errors.js';

export const ERR_HTTP_NOT_FOUND = 'ERR_HTTP_NOT_FOUND';
export const ERR_HTTP_BODY_TOO_LARGE = 'ERR_HTTP_BODY_TOO_LARGE';
export const ERR_HTTP_BODY_MALFORMED = 'ERR_HTTP_BODY_MALFORMED';
export const ERR_INTERNAL = 'ERR_INTERNAL';

/** An AppError that knows its HTTP status. */
export class HttpError extends AppError {
  readonly status: number;
  constructor(
    status: number,
    code: string,
    message: string,
    options: { details?: Record<string, unknown>; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(code, message, options);
    this.status = status;
  }
}

/** Status of AppErrors thrown by other areas (store, validators) that reach the handler as they are. */
const STATUS_BY_CODE: Record<string, number> = {
  [ERR_INVALID_INPUT]: 400,
  ERR_STORE_TENANT_NOT_FOUND: 404,
  ERR_STORE_TENANT_EXISTS: 409,
};

export function statusOf(e: AppError): number {
  if (e instanceof HttpError) return e.status;
  const known = STATUS_BY_CODE[e.code];
  if (known !== undefined) return known;
  if (e.code.endsWith('_INVALID')) return 400;
  return e.retryable ? 503 : 500;
}

export interface ErrorBody {
  error: { code: string; message: string; details?: Readonly<Record<string, unknown>> };
}

export function errorBody(e: AppError): ErrorBody {
  return { error: e.toJSON() };
}

/** Turns whatever was thrown (body-parser errors included) into an AppError with a status. */
export function normalise(e: unknown): { status: number; error: AppError } {
  if (isAppError(e)) return { status: statusOf(e), error: e };
  const parserType = (e as { type?: unknown } | null)?.type;
  if (parserType === 'entity.too.large') {
    const limit = (e as { limit?: number }).limit;
    return {
      status: 413,
      error: new AppError(ERR_HTTP_BODY_TOO_LARGE, 'request body is too large', {
        details: limit === undefined ? {} : { limitBytes: limit },
      }),
    };
  }
  if (parserType === 'entity.parse.failed' || parserType === 'encoding.unsupported') {
    return { status: 400, error: new AppError(ERR_HTTP_BODY_MALFORMED, 'request body is not valid JSON') };
  }
  const status = (e as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, error: new AppError(ERR_HTTP_BODY_MALFORMED, 'request could not be read') };
  }
  return { status: 500, error: new AppError(ERR_INTERNAL, 'internal error') };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function wantsHtml(req: Request): boolean {
  const browserFlow = req.path.startsWith('/install/') || req.path.startsWith('/oauth/');
  return browserFlow && req.accepts(['json', 'html']) === 'html';
}

export function sendError(req: Request, res: Response, status: number, error: AppError): void {
  if (res.headersSent) return;
  if (wantsHtml(req)) {
    res
      .status(status)
      .type('html')
      .send(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>referral-sync: ${escapeHtml(error.code)}</title></head>` +
          `<body><main><h1>Installation could not be completed</h1><p>${escapeHtml(error.message)}</p>` +
          `<p>Error code: <code>${escapeHtml(error.code)}</code></p><p><a href="/admin">Back to referral-sync</a></p></main></body></html>`,
      );
    return;
  }
  res.status(status).json(errorBody(error));
}

export function notFoundHandler(): RequestHandler {
  return (req, res) => {
    sendError(req, res, 404, new AppError(ERR_HTTP_NOT_FOUND, `no route for ${req.method} ${req.path}`));
  };
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const { status, error } = normalise(err);
    if (status >= 500) {
      // Log the original for operators (never the request body or headers).
      const original =
        err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : { err };
      logger.error({ code: error.code, method: req.method, path: req.path, err: original }, 'request failed');
    }
    sendError(req, res, status, error);
  };
}
