/** What every route module of the Salesforce sandbox shares. */
import type { Request } from 'express';
import type { FaultInjector } from '../common/faults.js';
import type { Sessions } from './sessions.js';
import type { SalesforceState } from './state.js';

export interface SalesforceSandboxConfig {
  clientId: string;
  clientSecret: string;
  orgId: string;
  /** Rolling 24 h allowance (Enterprise: 100,000 + 1,000 per license — API_FACTS §2). */
  dailyApiLimit: number;
  /** Refuse calls with REQUEST_LIMIT_EXCEEDED once the allowance is spent (counting always runs). */
  limitsEnabled: boolean;
  /** Org session timeout: access tokens die after this (default 2 h). */
  sessionTtlSeconds: number;
  /** Refresh grant returns a new refresh token and revokes the used one. */
  rotateRefreshTokens: boolean;
  /** Bulk 2.0 query result page size when the client sends no maxRecords. */
  bulkResultPageSize: number;
  /** Polls answering InProgress before a bulk job completes (0 = complete on first poll). */
  bulkPollsBeforeComplete: number;
  /** Open query cursors per user before the oldest is dropped (SF: 10). */
  maxOpenCursors: number;
  now: () => Date;
}

export interface SandboxContext {
  config: SalesforceSandboxConfig;
  state: SalesforceState;
  sessions: Sessions;
  faults: FaultInjector;
}

/** Base URL the client used (instance URL == login URL in the sandbox). */
export function baseUrl(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? '127.0.0.1'}`;
}

/** `vNN.N` from the path, as a number-ish string "NN.N". */
export function versionOf(req: Request): string {
  const v = req.params.version;
  return typeof v === 'string' ? v.slice(1) : '62.0';
}
