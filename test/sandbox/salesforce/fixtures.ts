/** Shared harness for the Salesforce sandbox contract tests: a sandbox on port 0 + a jsforce Connection. */
import jsforce from 'jsforce';
import type { Connection } from 'jsforce';
import { createSalesforceSandbox } from '../../../src/sandbox/salesforce/index.js';
import type {
  SalesforceSandbox,
  SalesforceSandboxOptions,
  TokenPair,
} from '../../../src/sandbox/salesforce/index.js';
import type { SeedAccount } from '../../../src/sandbox/seed/types.js';

export const API_VERSION = '62.0';

export interface Harness {
  sandbox: SalesforceSandbox;
  url: string;
  tokens: TokenPair;
  conn: Connection;
  /** A connection with oauth2 client info and a refresh token (auto-refresh on 401). */
  refreshingConn(): Connection;
  close(): Promise<void>;
}

export async function startHarness(options: SalesforceSandboxOptions = {}): Promise<Harness> {
  const sandbox = createSalesforceSandbox(options);
  const server = await sandbox.listen();
  const tokens = sandbox.issueTokens();
  const conn = new jsforce.Connection({
    instanceUrl: server.url,
    accessToken: tokens.accessToken,
    version: API_VERSION,
  });
  return {
    sandbox,
    url: server.url,
    tokens,
    conn,
    refreshingConn: () =>
      new jsforce.Connection({
        oauth2: {
          clientId: sandbox.config.clientId,
          clientSecret: sandbox.config.clientSecret,
          redirectUri: 'http://127.0.0.1/callback',
          loginUrl: server.url,
        },
        instanceUrl: server.url,
        accessToken: tokens.accessToken,
        refreshToken: tokens.refreshToken,
        version: API_VERSION,
      }),
    close: server.close,
  };
}

/** The rejection of a promise (fails the test when it resolves). */
export async function rejectionOf(
  p: PromiseLike<unknown>,
): Promise<Error & { errorCode?: string; name: string; data?: unknown }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { errorCode?: string };
  }
  throw new Error('expected a rejection');
}

/** A small seeded org: 2 owners, 2 companies, 3 contacts, 2 leads (one converted), 2 deals, 2 tickets. */
export function smallSeed(): SeedAccount {
  const at = (d: string): Date => new Date(`${d}T12:00:00Z`);
  return {
    seed: 7,
    asOf: at('2026-11-01'),
    owners: [
      { id: 'o1', email: 'olivia@acme.test', firstName: 'Olivia', lastName: 'Owner', active: true },
      { id: 'o2', email: 'oscar@acme.test', firstName: 'Oscar', lastName: 'Owner', active: false },
    ],
    companies: [
      {
        id: 'c1',
        name: 'Acme',
        domain: 'acme.test',
        ownerId: 'o1',
        isPartner: false,
        createdAt: at('2024-01-01'),
      },
      {
        id: 'c2',
        name: 'Globex',
        domain: 'globex.test',
        ownerId: 'o2',
        isPartner: true,
        createdAt: at('2024-02-01'),
      },
    ],
    people: [
      {
        id: 'p1',
        kind: 'contact',
        email: 'alice@acme.test',
        firstName: 'Alice',
        lastName: 'Ng',
        companyId: 'c1',
        ownerId: 'o1',
        createdAt: at('2024-03-01'),
        nps: 10,
        lastPurchaseAt: at('2026-10-01'),
        leftReview: true,
      },
      {
        id: 'p2',
        kind: 'contact',
        email: 'bob@globex.test',
        firstName: 'Bob',
        companyId: 'c2',
        ownerId: 'o2',
        createdAt: at('2024-04-01'),
        howHeard: 'Alice told me — ünïcode',
      },
      {
        id: 'p3',
        kind: 'contact',
        email: 'carla@acme.test',
        firstName: 'Carla',
        lastName: 'Diaz',
        companyId: 'c1',
        ownerId: 'o1',
        createdAt: at('2025-01-01'),
      },
      {
        id: 'l1',
        kind: 'lead',
        email: 'dan@new.test',
        firstName: 'Dan',
        lastName: 'Lee',
        ownerId: 'o1',
        createdAt: at('2026-09-01'),
        codeUsed: 'ALICE-10',
        referrerEmail: 'alice@acme.test',
      },
      {
        id: 'l2',
        kind: 'lead',
        email: 'carla@acme.test',
        firstName: 'Carla',
        lastName: 'Diaz',
        ownerId: 'o1',
        createdAt: at('2024-12-01'),
        convertedContactId: 'p3',
        convertedDealId: 'd2',
      },
    ],
    deals: [
      {
        id: 'd1',
        name: 'Acme renewal',
        amount: 1200,
        currency: 'USD',
        stage: 'closedwon',
        isClosed: true,
        isWon: true,
        closeDate: at('2026-06-01'),
        createdAt: at('2026-01-01'),
        ownerId: 'o1',
        personIds: ['p1', 'p3'],
        companyId: 'c1',
      },
      {
        id: 'd2',
        name: 'Acme expansion',
        amount: 500,
        currency: 'EUR',
        stage: 'qualifiedtobuy',
        isClosed: false,
        isWon: false,
        closeDate: at('2026-12-01'),
        createdAt: at('2026-02-01'),
        ownerId: 'o1',
        personIds: ['p3'],
        companyId: 'c1',
      },
    ],
    tickets: [
      {
        id: 't1',
        subject: 'Login broken',
        personIds: ['p1'],
        companyId: 'c1',
        isOpen: false,
        isComplaint: true,
        createdAt: at('2026-05-01'),
        closedAt: at('2026-05-03'),
      },
      {
        id: 't2',
        subject: 'Invoice question',
        personIds: ['p2'],
        companyId: 'c2',
        isOpen: true,
        isComplaint: false,
        createdAt: at('2026-10-20'),
      },
    ],
  };
}
