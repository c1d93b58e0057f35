/**
 * CRM-agnostic retry with backoff, shared by every connector. Each connector classifies its own
 * errors (which are transient, how long the CRM asked us to wait); this runs the loop.
 * Backoff: exponential with full jitter (AWS architecture blog "Exponential Backoff And Jitter"),
 * capped, and never shorter than what the server asked for (Retry-After / rate-limit headers).
 */
import { AppError } from '../../src/errors.js';

export const ERR_RETRIES_EXHAUSTED = 'ERR_RETRIES_EXHAUSTED';

export interface RetryDecision {
  /** Retry this error? */
  retry: boolean;
  /** The server said: not before this many ms (Retry-After, rate-limit window). */
  waitAtLeastMs?: number;
}

export interface RetryOptions {
  /** Total attempts including the first. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  classify: (error: unknown, attempt: number) => RetryDecision;
  /** Injected for tests: resolves after ms (default: setTimeout). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Injected for tests: [0,1) (default Math.random). */
  random?: () => number;
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  signal?: AbortSignal;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return Math.round(random() * ceiling);
}

export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const wait = options.sleep ?? sleep;
  const random = options.random ?? Math.random;
  let lastError: unknown;
  for (let attempt = 1; attempt <= options.attempts; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      lastError = error;
      const decision = options.classify(error, attempt);
      if (!decision.retry) throw error;
      if (attempt === options.attempts) break;
      const delayMs = Math.max(
        decision.waitAtLeastMs ?? 0,
        backoffDelay(attempt, options.baseDelayMs, options.maxDelayMs, random),
      );
      options.onRetry?.({ attempt, delayMs, error });
      await wait(delayMs, options.signal);
    }
  }
  if (lastError instanceof AppError) throw lastError;
  throw new AppError(ERR_RETRIES_EXHAUSTED, `gave up after ${options.attempts} attempts`, {
    retryable: true,
    cause: lastError,
  });
}

/** Parse an HTTP Retry-After header (seconds or HTTP date) into ms from `now`. */
export function retryAfterMs(value: string | null | undefined, now: Date): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}
