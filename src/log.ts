/**
 * Structured JSON logs (pino) with secrets redacted. Two layers, because pino's path-based
 * `redact` cannot match a key at any depth:
 *  1. `redact` paths for the usual places (request headers, `tokens`), cheap and always on;
 *  2. a `formatters.log` walk that censors any key that names a secret at ANY depth
 *     (access_token, refresh_token, client_secret, authorization, cookie, password, ...) and
 *     scrubs token-looking substrings from strings (`Bearer …`, `access_token=…`), plus a
 *     `logMethod` hook doing the same for the message string.
 * Tokens must never be logged; this is the safety net, not a licence to log them.
 */
import type { DestinationStream, Logger as PinoLogger } from 'pino';
import { pino } from 'pino';
import type { LogLevel } from './config.js';

export type AppLogger = PinoLogger;

export const REDACTED = '[REDACTED]';

/** Keys whose values are secrets wherever they appear (case-insensitive, `-`/`_` ignored). */
const SECRET_KEY =
  /^(authorization|proxyauthorization|cookie|setcookie|password|passwd|secret|clientsecret|sessionsecret|token|tokens|accesstoken|refreshtoken|idtoken|privateapptoken|apikey|hapikey|codeverifier|assertion|signature|xhubspotsignature|xhubspotsignaturev3|sessionid|tokenkeys|jwe)$/;
const SECRETISH = /(token|secret|password|cookie|authorization)/;

function isSecretKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[-_]/g, '');
  return SECRET_KEY.test(k) || SECRETISH.test(k);
}

/** Token-looking substrings inside free text (URLs, error messages, headers dumped as text). */
const SCRUBS: readonly [RegExp, string][] = [
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}/gi, `$1 ${REDACTED}`],
  [
    /\b(access_token|refresh_token|client_secret|id_token|code|code_verifier|hapikey|token|password)=([^&\s"']+)/gi,
    `$1=${REDACTED}`,
  ],
  [/"(access_token|refresh_token|client_secret|id_token)"\s*:\s*"[^"]*"/gi, `"$1":"${REDACTED}"`],
  // HubSpot private-app / OAuth access tokens (pat-na1-…, CJ…) and Salesforce session ids (00D…!…).
  [/\bpat-[a-z]{2}\d-[0-9a-f-]{20,}/gi, REDACTED],
  [/\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9._]{20,}/g, REDACTED],
];

export function scrubString(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SCRUBS) out = out.replace(pattern, replacement);
  return out;
}

/** Deep copy with secrets censored; bounded depth so a cyclic or huge object cannot hang a log call. */
export function redactDeep(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return scrubString(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 8) return '[depth]';
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (value instanceof Error) {
    const e = value as Error & { code?: unknown; details?: unknown; retryable?: unknown };
    const out: Record<string, unknown> = { type: e.name, message: scrubString(e.message) };
    if (e.stack !== undefined) out['stack'] = scrubString(e.stack);
    if (e.code !== undefined) out['code'] = e.code;
    if (e.details !== undefined) out['details'] = redactDeep(e.details, depth + 1, seen);
    if (e.retryable !== undefined) out['retryable'] = e.retryable;
    if (e.cause !== undefined) out['cause'] = redactDeep(e.cause, depth + 1, seen);
    return out;
  }
  if (value instanceof Date) return value;
  if (Buffer.isBuffer(value)) return `[${value.length} bytes]`;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = isSecretKey(k) && v !== undefined && v !== null ? REDACTED : redactDeep(v, depth + 1, seen);
  }
  return out;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Component name (`server`, `worker`, `cli`). */
  name?: string;
  /** Output stream (tests capture it); default stdout. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): AppLogger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'referral-sync', ...(options.name === undefined ? {} : { component: options.name }) },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'res.headers["set-cookie"]',
          'headers.authorization',
          'headers.cookie',
          'tokens',
          '*.tokens',
        ],
        censor: REDACTED,
      },
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redactDeep(object) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? scrubString(a) : a));
          method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
    },
    options.destination ?? pino.destination(1),
  );
}
