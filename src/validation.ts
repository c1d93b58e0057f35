import type { z } from 'zod';
import { AppError, ERR_INVALID_INPUT } from './errors.js';

/** One issue of a failed parse: where (dotted path) and what. */
export interface InputIssue {
  path: string;
  message: string;
}

export function issuesOf(error: z.ZodError): InputIssue[] {
  return error.issues.map((i) => ({
    path: i.path.length === 0 ? '(root)' : i.path.map(String).join('.'),
    message: i.message,
  }));
}

/**
 * Parse untrusted input at a boundary. On failure throws `AppError(code)` whose message names every
 * path and problem at once ("rules.threshold: Too big: expected number to be <=100"), and whose
 * `details.issues` carries them structured for API responses.
 */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: string,
  code: string = ERR_INVALID_INPUT,
): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = issuesOf(result.error);
  const message = `${what} is invalid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`;
  throw new AppError(code, message, { details: { issues } });
}
