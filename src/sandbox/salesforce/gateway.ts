/**
 * What every API call passes through before its route: injected faults (with Salesforce's own
 * bodies), the session check (401 INVALID_SESSION_ID, which jsforce answers by refreshing —
 * http-api.ts isSessionExpired), and the daily API allowance (Sforce-Limit-Info on every
 * response, 403 REQUEST_LIMIT_EXCEEDED once spent — SF headers_api_usage.htm, errorcodes.htm).
 */
import type { NextFunction, Request, Response } from 'express';
import type { FaultResponders } from '../common/faults.js';
import type { SandboxContext } from './context.js';
import { bearerOf } from './oauth.js';
import { sendError } from './wire.js';

export const SESSION_EXPIRED_BODY = [
  { message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' },
];

/** Rate-limit and 5xx answers as Salesforce gives them (SF has no 429 on the REST API). */
export const salesforceFaultResponders: FaultResponders = {
  rateLimited(res) {
    // Concurrent long-running request limit: 403 REQUEST_LIMIT_EXCEEDED, transient.
    sendError(res, 403, 'REQUEST_LIMIT_EXCEEDED', 'ConcurrentPerOrgLongTxn Limit exceeded.');
  },
  serverError(res, status) {
    if (status === 503)
      return sendError(res, 503, 'SERVER_UNAVAILABLE', 'Server temporarily unavailable, please retry.');
    sendError(
      res,
      status,
      'UNKNOWN_EXCEPTION',
      'An unexpected error occurred. Please include this ErrorId if you contact support: 1467338398-8764 (-1212710232)',
    );
  },
};

declare module 'express-serve-static-core' {
  interface Request {
    sfUserId?: string;
  }
}

/** Session check for REST and Bulk 2.0 calls (SOAP reads its SessionHeader instead). */
export function requireSession(ctx: SandboxContext) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const token = bearerOf(req);
    let session = token === undefined ? undefined : ctx.sessions.check(token);
    if (session !== undefined && token !== undefined && ctx.faults.shouldExpireToken()) {
      ctx.sessions.expire(token);
      session = undefined;
    }
    if (session === undefined) {
      ctx.state.counters.invalidSession++;
      res.status(401).json(SESSION_EXPIRED_BODY);
      return;
    }
    req.sfUserId = session.userId;
    next();
  };
}

/** Count the call against the rolling allowance; refuse once spent (when limits are on). */
export function apiAllowance(ctx: SandboxContext) {
  const { state, config } = ctx;
  return (_req: Request, res: Response, next: NextFunction): void => {
    const used = state.usage.used();
    if (config.limitsEnabled && used >= config.dailyApiLimit) {
      state.counters.requestLimitExceeded++;
      res.setHeader('Sforce-Limit-Info', `api-usage=${used}/${config.dailyApiLimit}`);
      sendError(res, 403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.');
      return;
    }
    state.usage.record();
    state.counters.total++;
    res.setHeader('Sforce-Limit-Info', `api-usage=${used + 1}/${config.dailyApiLimit}`);
    next();
  };
}
