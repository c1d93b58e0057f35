/** A small hand-made SeedAccount and helpers for the HubSpot sandbox contract tests. */
import { Client } from '@hubspot/api-client';
import {
  createHubSpotSandbox,
  type HubSpotSandbox,
  type HubSpotSandboxOptions,
  type ListeningSandbox,
} from '../../../src/sandbox/hubspot/index.js';
import type { SeedAccount } from '../../../src/sandbox/seed/types.js';

const d = (s: string): Date => new Date(s);

export function smallAccount(): SeedAccount {
  return {
    seed: 7,
    asOf: d('2026-06-01T00:00:00Z'),
    owners: [
      { id: 'o1', email: 'ann@acme.test', firstName: 'Ann', lastName: 'Owner', active: true },
      { id: 'o2', email: 'bob@acme.test', firstName: 'Bob', lastName: 'Owner', active: true },
      { id: 'o3', email: 'gone@acme.test', firstName: 'Gone', lastName: 'Owner', active: false },
    ],
    companies: [
      {
        id: 'c1',
        name: 'Acme',
        domain: 'acme.test',
        ownerId: 'o1',
        isPartner: false,
        createdAt: d('2025-01-01T00:00:00Z'),
      },
      {
        id: 'c2',
        name: 'Globex',
        domain: 'globex.test',
        ownerId: 'o2',
        isPartner: true,
        createdAt: d('2025-02-01T00:00:00Z'),
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
        createdAt: d('2025-01-05T10:00:00Z'),
        lifecycleStage: 'customer',
        nps: 10,
        lastPurchaseAt: d('2026-03-01T00:00:00Z'),
        leftReview: true,
        lastActiveAt: d('2026-05-20T08:30:00Z'),
      },
      {
        id: 'p2',
        kind: 'contact',
        email: 'bruno@globex.test',
        firstName: 'Bruno',
        lastName: 'Díaz',
        companyId: 'c2',
        ownerId: 'o2',
        createdAt: d('2025-02-10T10:00:00Z'),
        lifecycleStage: 'customer',
        nps: 6,
      },
      {
        id: 'p3',
        kind: 'lead',
        email: 'carla@example.test',
        firstName: 'Carla',
        ownerId: 'o1',
        createdAt: d('2026-04-01T10:00:00Z'),
        codeUsed: 'ALICE-10',
        referrerEmail: 'alice@acme.test',
        howHeard: 'my friend Alice told me',
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
        closeDate: d('2026-03-01T00:00:00Z'),
        createdAt: d('2026-01-01T00:00:00Z'),
        ownerId: 'o1',
        personIds: ['p1'],
        companyId: 'c1',
      },
      {
        id: 'd2',
        name: 'Globex pilot',
        amount: 500,
        currency: 'EUR',
        stage: 'qualifiedtobuy',
        isClosed: false,
        isWon: false,
        closeDate: d('2026-07-01T00:00:00Z'),
        createdAt: d('2026-02-01T00:00:00Z'),
        ownerId: 'o2',
        personIds: ['p2'],
        companyId: 'c2',
      },
    ],
    tickets: [
      {
        id: 't1',
        subject: 'Login broken',
        personIds: ['p2'],
        companyId: 'c2',
        isOpen: true,
        isComplaint: true,
        createdAt: d('2026-05-01T00:00:00Z'),
      },
    ],
  };
}

export interface Harness {
  sandbox: HubSpotSandbox;
  server: ListeningSandbox;
  client: Client;
  token: string;
  close(): Promise<void>;
}

/** Sandbox seeded with `smallAccount()`, listening on port 0, plus an SDK client with a valid token. */
export async function startHarness(options: HubSpotSandboxOptions = {}, seed = true): Promise<Harness> {
  const sandbox = createHubSpotSandbox({ limits: { enabled: false }, ...options });
  if (seed) sandbox.loadSeed(smallAccount(), { portalId: 424242 });
  const server = await sandbox.listen();
  const token = sandbox.issueAccessToken().token;
  const client = new Client({ accessToken: token, basePath: server.url });
  return { sandbox, server, client, token, close: () => server.close() };
}

/** The rejection of a promise (fails the test when it resolves). */
export async function rejectionOf(
  p: Promise<unknown>,
): Promise<{ code: number; body: Record<string, unknown>; headers: Record<string, string> }> {
  try {
    await p;
  } catch (e) {
    const err = e as { code: number; body: unknown; headers: Record<string, string> };
    const body =
      typeof err.body === 'string'
        ? (JSON.parse(err.body) as Record<string, unknown>)
        : (err.body as Record<string, unknown>);
    return { code: err.code, body, headers: err.headers };
  }
  throw new Error('expected the call to fail');
}
