/**
 * node:http fast path for the simplest, hottest calls (GET a record by id, GET /limits) when no
 * fault plan is active. Express 5's per-request machinery costs several times the emulator's own
 * work (profile: router + express ≈ 17% of CPU vs ≈ 5% for the emulator), which kept GET-by-id
 * under the 5,000 requests/s target. Everything else, and every call while faults are configured,
 * goes through the express app, so behaviour is identical: same session check, allowance,
 * counters, headers and body (the express routes in rest.ts share `columnsFor`/`limitsBody`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SandboxContext } from './context.js';
import { toJsonRecord } from './cursors.js';
import { SESSION_EXPIRED_BODY } from './gateway.js';
import { toId18 } from './ids.js';
import { columnsFor, limitsBody } from './rest.js';

const RECORD = /^\/services\/data\/v(\d{2,3}\.\d)\/sobjects\/([A-Za-z]+)\/([a-zA-Z0-9]{15,18})$/;
const LIMITS = /^\/services\/data\/v(\d{2,3}\.\d)\/limits\/?$/;

function faultsIdle(ctx: SandboxContext): boolean {
  const p = ctx.faults.current;
  return (
    p.rateLimitRate === 0 &&
    p.rateLimitBurst === undefined &&
    p.serverErrorRate === 0 &&
    p.latencyMs === 0 &&
    p.timeoutRate === 0 &&
    p.dropRate === 0 &&
    p.expireTokensAfterCalls === undefined
  );
}

function send(res: ServerResponse, status: number, body: unknown, limitInfo?: string): void {
  const text = JSON.stringify(body);
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  };
  if (limitInfo !== undefined) headers['Sforce-Limit-Info'] = limitInfo;
  res.writeHead(status, headers);
  res.end(text);
}

/** Serve the request if it is a fast-path call; false hands it to express. */
export function fastPath(ctx: SandboxContext, req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== 'GET' || req.url === undefined || req.url.includes('?') || !faultsIdle(ctx))
    return false;
  const record = RECORD.exec(req.url);
  const limits = record === null ? LIMITS.exec(req.url) : null;
  if (record === null && limits === null) return false;
  const version = (record ?? limits)?.[1] ?? '';
  if (Number(version.split('.')[0]) < 20) return false;
  const { state, sessions, config } = ctx;
  ctx.faults.counters.calls++;
  const auth = /^(?:Bearer|OAuth)\s+(.+)$/i.exec(req.headers.authorization ?? '');
  const session = auth?.[1] === undefined ? undefined : sessions.check(auth[1].trim());
  if (session === undefined) {
    state.counters.invalidSession++;
    send(res, 401, SESSION_EXPIRED_BODY);
    return true;
  }
  const used = state.usage.used();
  if (config.limitsEnabled && used >= config.dailyApiLimit) {
    state.counters.requestLimitExceeded++;
    send(
      res,
      403,
      [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }],
      `api-usage=${used}/${config.dailyApiLimit}`,
    );
    return true;
  }
  state.usage.record();
  state.counters.total++;
  const limitInfo = `api-usage=${used + 1}/${config.dailyApiLimit}`;
  if (limits !== null) {
    send(res, 200, limitsBody(ctx), limitInfo);
    return true;
  }
  state.counters.sobject++;
  const notFound = [{ message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }];
  const table = state.table(record?.[2] ?? '');
  const id = toId18(record?.[3] ?? '');
  const rec = table === undefined || id === undefined ? undefined : table.records.get(id);
  if (table === undefined || rec === undefined || rec.IsDeleted === true) {
    send(res, 404, notFound, limitInfo);
    return true;
  }
  const cols = columnsFor(ctx, table, undefined);
  send(res, 200, toJsonRecord(table, Array.isArray(cols) ? cols : [], rec, version), limitInfo);
  return true;
}
