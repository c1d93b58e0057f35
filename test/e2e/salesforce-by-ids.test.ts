/**
 * `pullByIds` through the real jsforce against the sandbox Salesforce: every id of the org in
 * chunked `WHERE Id IN (…)` queries (the sandbox's HTTP server answers 431 past 16 KiB of request
 * line + headers, as Salesforce does past its URI limit), each record exactly what the cursor pull
 * reads for it — edits, soft deletes and merges included — and ids the org does not have absent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  ConnectorContext,
  CrmRecord,
  OwnedFieldDefinition,
  TokenProvider,
  TokenSet,
} from '../../connectors/contract.js';
import { SALESFORCE_FACTS } from '../../connectors/salesforce/facts.js';
import { salesforceDefinition } from '../../connectors/salesforce/index.js';
import type { SalesforceConnector, SalesforceDefinition } from '../../connectors/salesforce/index.js';
import { OWNED_FIELDS } from '../../src/engine/model.js';
import type { OwnedFieldType, OwnedKind } from '../../src/engine/model.js';
import { createSalesforceSandbox } from '../../src/sandbox/salesforce/index.js';
import type { SalesforceSandbox } from '../../src/sandbox/salesforce/index.js';
import { generateSeedAccount } from '../../src/sandbox/seed/generate.js';
import { MemoryRateLimiter, newMemoryLimiterState } from '../../src/store/rate-limiter.js';
import { fieldsToRead } from '../../src/sync/map.js';
import { loadMapping } from '../../src/sync/mapping.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const mapping = loadMapping('salesforce');

class FixedTokens implements TokenProvider {
  constructor(public tokens: TokenSet) {}
  async current(): Promise<TokenSet> {
    return this.tokens;
  }
  async refreshAfterRejection(): Promise<TokenSet> {
    return this.tokens;
  }
}

function ownedDefinitions(): OwnedFieldDefinition[] {
  const out: OwnedFieldDefinition[] = [];
  for (const [object, om] of Object.entries(mapping.objects)) {
    const types = OWNED_FIELDS[om.kind as OwnedKind] as Record<string, OwnedFieldType> | undefined;
    if (types === undefined) continue;
    for (const [id, f] of Object.entries(om.owned)) {
      const type = types[id];
      if (type === undefined) continue;
      out.push({
        object,
        name: f.name,
        label: f.label,
        type,
        ...(f.options === undefined ? {} : { options: f.options }),
        ...(f.unique === undefined ? {} : { unique: f.unique }),
      });
    }
  }
  return out;
}

let sandbox: SalesforceSandbox;
let server: { url: string; close(): Promise<void> };
let def: SalesforceDefinition;
let tokens: FixedTokens;

function connector(): SalesforceConnector {
  const ctx: ConnectorContext = {
    tenantId: 'e2e-by-ids',
    tokens,
    limiter: new MemoryRateLimiter(newMemoryLimiterState(), def.rateLimits('oauth'), { dailyShare: 0.2 }),
    logger: silent,
    now: () => new Date(),
    settings: { cursorSafetyMarginMs: 0, retryBaseDelayMs: 5 },
  };
  return def.create(ctx);
}

function readOptions(object: string) {
  const om = mapping.objects[object];
  if (om === undefined) throw new Error(object);
  return { fields: fieldsToRead(om), links: om.links };
}

async function pullAll(c: SalesforceConnector, object: string): Promise<Map<string, CrmRecord>> {
  const out = new Map<string, CrmRecord>();
  const pages = c.pull(object, {
    ...readOptions(object),
    mode: 'full',
    cursor: null,
    runStartedAt: new Date(Date.now() + 1000),
  });
  for await (const page of pages) for (const r of page.records) out.set(r.id, r);
  return out;
}

async function byIds(c: SalesforceConnector, object: string, ids: readonly string[]): Promise<CrmRecord[]> {
  const out: CrmRecord[] = [];
  for await (const page of c.pullByIds(object, ids, readOptions(object))) out.push(...page.records);
  return out;
}

/** Links in a stable order (the two reads may list contact roles in another order). */
function normal(r: CrmRecord): CrmRecord {
  return {
    ...r,
    links: Object.fromEntries(Object.entries(r.links).map(([k, v]) => [k, [...v].sort()])),
  };
}

beforeAll(async () => {
  sandbox = createSalesforceSandbox({});
  sandbox.loadSeed(generateSeedAccount({ seed: 12, contacts: 1_500 }));
  server = await sandbox.listen(0);
  def = salesforceDefinition({
    clientId: sandbox.config.clientId,
    clientSecret: sandbox.config.clientSecret,
    loginUrl: server.url,
    sandboxHost: new URL(server.url).host,
  });
  const t = sandbox.issueTokens();
  tokens = new FixedTokens({
    accessToken: t.accessToken,
    refreshToken: t.refreshToken,
    instanceUrl: server.url,
    accountId: t.orgId,
    userId: t.userId,
  });
  const report = await connector().provision(ownedDefinitions());
  expect(report.conflicts).toEqual([]);
}, 120_000);

afterAll(async () => {
  await server?.close();
});

describe('Salesforce pullByIds end to end (jsforce ↔ sandbox)', () => {
  it('reads every contact by id in chunks, as the cursor pull sees them: edits, deletes, merges; unknown ids absent', async () => {
    const c = connector();
    const before = await pullAll(c, 'Contact');
    const ids = [...before.keys()];
    expect(ids.length).toBeGreaterThan(SALESFORCE_FACTS.query.inClauseMaxIds * 2);
    const [edited, deleted, merged, survivor] = ids;
    sandbox.simulateUserEdit('Contact', edited!, { LastName: 'Renamed-By-Test' });
    sandbox.deleteRecord('Contact', deleted!);
    sandbox.mergeRecords('Contact', survivor!, [merged!]);
    // Well-formed, never in this org (hard-deleted or another org's): not returned.
    const unknown = `003${'9'.repeat(12)}ZZZ`;

    const after = await pullAll(c, 'Contact');
    const queriesBefore = c.stats().calls.query;
    // The survivor is left out of the ask: the merge tombstone brings it in.
    const asked = [...ids.filter((id) => id !== survivor), unknown];
    const read = await byIds(c, 'Contact', asked);
    const queries = c.stats().calls.query - queriesBefore;
    expect(queries).toBeGreaterThanOrEqual(Math.ceil(asked.length / SALESFORCE_FACTS.query.inClauseMaxIds));

    const got = new Map(read.map((r) => [r.id, r]));
    expect(got.has(unknown)).toBe(false);
    expect(got.size).toBe(ids.length);
    for (const [id, r] of got) expect(normal(r), id).toEqual(normal(after.get(id)!));
    expect(got.get(edited!)?.fields.LastName).toBe('Renamed-By-Test');
    expect(got.get(deleted!)).toMatchObject({ deleted: true });
    expect(got.get(merged!)).toMatchObject({ deleted: true, mergedInto: survivor });
    expect(got.get(survivor!)).toMatchObject({ deleted: false });
  }, 120_000);

  it('opportunities by id carry the same contact-role and account links as the pull', async () => {
    const c = connector();
    const all = await pullAll(c, 'Opportunity');
    const ids = [...all.keys()];
    expect(ids.length).toBeGreaterThan(0);
    expect([...all.values()].some((r) => (r.links.Contact ?? []).length > 0)).toBe(true);
    const read = await byIds(c, 'Opportunity', ids);
    expect(read.map((r) => r.id).sort()).toEqual([...ids].sort());
    for (const r of read) expect(normal(r), r.id).toEqual(normal(all.get(r.id)!));
  }, 120_000);
});
