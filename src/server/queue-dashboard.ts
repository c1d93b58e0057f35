/**
 * The operators' queue dashboard (`@bull-board/express`) at `/admin/queues`, behind HTTP basic
 * auth (ADMIN_USER / ADMIN_PASSWORD) compared in constant time. Not mounted without credentials.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullAdapter } from '@bull-board/api/bullAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bull';
import type { RequestHandler, Router } from 'express';
import { AppError } from '../errors.js';
import { errorBody } from './http-errors.js';

export const ERR_BASIC_AUTH = 'ERR_BASIC_AUTH';
export const DASHBOARD_PATH = '/admin/queues';

/** Equal-length digests, so neither the length nor the content leaks through timing. */
function sameSecret(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

export function basicAuth(user: string, password: string, realm: string): RequestHandler {
  return (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header);
    const decoded = match?.[1] === undefined ? '' : Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    // Evaluate both compares whatever the first says.
    const userOk = sameSecret(colon < 0 ? '' : decoded.slice(0, colon), user);
    const passwordOk = sameSecret(colon < 0 ? '' : decoded.slice(colon + 1), password);
    if (colon >= 0 && userOk && passwordOk) {
      next();
      return;
    }
    res
      .status(401)
      .set('WWW-Authenticate', `Basic realm="${realm}", charset="UTF-8"`)
      .json(errorBody(new AppError(ERR_BASIC_AUTH, 'operator credentials required')));
  };
}

export function queueDashboard(queues: readonly Queue[]): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  // @bull-board/express 9.10.1 pins its own @bull-board/api 9.10.1 next to our 9.10.2: the classes
  // are the same at runtime but TypeScript sees two declarations of private members.
  type BoardAdapter = Parameters<typeof createBullBoard>[0]['serverAdapter'];
  createBullBoard({
    queues: queues.map((q) => new BullAdapter(q)),
    serverAdapter: serverAdapter as unknown as BoardAdapter,
  });
  return serverAdapter.getRouter() as Router;
}
