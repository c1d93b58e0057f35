/**
 * Typed errors with stable codes, in the style of `jose`: every error the product raises is an
 * `AppError` whose `code` never changes once released. Tests and callers branch on `code`, never on
 * the message. Each area declares its own codes next to the code that throws them, namespaced by
 * area (`ERR_ENGINE_*`, `ERR_HUBSPOT_*`, `ERR_SALESFORCE_*`, `ERR_STORE_*`, `ERR_SYNC_*`, ...).
 */
export class AppError extends Error {
  readonly code: string;
  /** Safe-to-show structured detail (never secrets). */
  readonly details: Readonly<Record<string, unknown>> | undefined;
  /** Whether retrying the same operation later can succeed (429, 5xx, timeouts, locks). */
  readonly retryable: boolean;

  constructor(
    code: string,
    message: string,
    options: { details?: Record<string, unknown>; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.details = options.details;
    this.retryable = options.retryable ?? false;
  }

  toJSON(): { code: string; message: string; details?: Readonly<Record<string, unknown>> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/** Input from outside (config, HTTP body, webhook, CRM payload, mapping file) failed validation. */
export const ERR_INVALID_INPUT = 'ERR_INVALID_INPUT';

export function isAppError(e: unknown, code?: string): e is AppError {
  return e instanceof AppError && (code === undefined || e.code === code);
}
