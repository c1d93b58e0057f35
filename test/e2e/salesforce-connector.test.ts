/**
 * End to end through the real jsforce against the sandbox Salesforce (src/sandbox/salesforce) on
 * port 0: OAuth (PKCE) install, provisioning (fields invisible until the permission set), full
 * pull of a seeded org with leads and conversions, incremental pull across tied SystemModstamps,
 * push with injected record failures, tasks exactly once, Bulk 2.0 (threshold lowered) with its
 * REST fallback, and a mid-run session expiry with single-use refresh tokens.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  ConnectorContext,
  CrmRecord,
  OwnedFieldDefinition,
  PullOptions,
  TaskWrite,
  TokenProvider,
  TokenSet,
} from '../../connectors/contract.js';
import { salesforceDefinition } from '../../connectors/salesforce/index.js';
import type { SalesforceConnector, SalesforceDefinition } from '../../connectors/salesforce/index.js';
import { OWNED_FIELDS } from '../../src/engine/model.js';
import type { OwnedFieldType, OwnedKind } from '../../src/engine/model.js';
import { isAppError } from '../../src/errors.js';
import { createSalesforceSandbox } from '../../src/sandbox/salesforce/index.js';
import type { SalesforceSandbox } from '../../src/sandbox/salesforce/index.js';
import { generateSeedAccount } from '../../src/sandbox/seed/generate.js';
import { MemoryRateLimiter, newMemoryLimiterState } from '../../src/store/rate-limiter.js';
import { fieldsToRead, mapRecord } from '../../src/sync/map.js';
import { loadMapping } from '../../src/sync/mapping.js';

const CONTACTS = 10_000;
const REDIRECT = 'https://app.referral-sync.test/oauth/salesforce/callback';
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const mapping = loadMapping('salesforce');

/** A token provider like the store's: one refresh per stale token, rotated set kept. */
class TestTokens implements TokenProvider {
  refreshes = 0;
  constructor(
    public tokens: TokenSet,
    private readonly def: SalesforceDefinition,
  ) {}
  async current(): Promise<TokenSet> {
    return this.tokens;
  }
  async refreshAfterRejection(stale: TokenSet): Promise<TokenSet> {
    if (stale.accessToken !== this.tokens.accessToken) return this.tokens;
    this.refreshes++;
    this.tokens = await this.def.refresh(this.tokens);
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
let tokens: TestTokens;

function connector(settings: Record<string, unknown> = {}): SalesforceConnector {
  const ctx: ConnectorContext = {
    tenantId: 'e2e',
    tokens,
    limiter: new MemoryRateLimiter(newMemoryLimiterState(), def.rateLimits('oauth'), { dailyShare: 0.2 }),
    logger: silent,
    now: () => new Date(),
    settings: { cursorSafetyMarginMs: 0, bulkPollIntervalMs: 5, retryBaseDelayMs: 5, ...settings },
  };
  return def.create(ctx);
}

function pullOptions(object: string, over: Partial<PullOptions> = {}): PullOptions {
  const om = mapping.objects[object];
  if (om === undefined) throw new Error(object);
  return {
    fields: fieldsToRead(om),
    links: om.links,
    mode: 'full',
    cursor: null,
    runStartedAt: new Date(Date.now() + 1000),
    ...over,
  };
}

async function pullAll(c: SalesforceConnector, object: string, over: Partial<PullOptions> = {}) {
  const records: CrmRecord[] = [];
  let cursor: unknown = null;
  let pages = 0;
  for await (const page of c.pull(object, pullOptions(object, over))) {
    records.push(...page.records);
    cursor = page.cursor;
    pages++;
  }
  return { records, cursor, pages };
}

function live(type: string): Record<string, unknown>[] {
  return [...(sandbox.state.table(type)?.records.values() ?? [])].filter((r) => r.IsDeleted !== true);
}

beforeAll(async () => {
  sandbox = createSalesforceSandbox({ rotateRefreshTokens: true, bulkPollsBeforeComplete: 1 });
  sandbox.loadSeed(generateSeedAccount({ seed: 11, contacts: CONTACTS }));
  server = await sandbox.listen(0);
  def = salesforceDefinition({
    clientId: sandbox.config.clientId,
    clientSecret: sandbox.config.clientSecret,
    loginUrl: server.url,
    sandboxHost: new URL(server.url).host,
  });
}, 120_000);

afterAll(async () => {
  await server?.close();
});

describe('Salesforce connector end to end (jsforce ↔ sandbox)', () => {
  it('installs through the OAuth web-server flow with PKCE', async () => {
    const verifier = randomBytes(48).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const authorize = def.authorizeUrl({ state: 'st-1', redirectUri: REDIRECT, codeChallenge: challenge });
    const res = await fetch(authorize, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const back = new URL(res.headers.get('location') ?? '');
    expect(back.searchParams.get('state')).toBe('st-1');
    const code = back.searchParams.get('code') ?? '';

    // A wrong verifier is refused (PKCE), and the code is not burnt by the bad attempt in our favour.
    await expect(
      def.exchangeCode({ code, codeVerifier: 'not-the-verifier', redirectUri: REDIRECT }),
    ).rejects.toMatchObject({
      code: 'ERR_SALESFORCE_OAUTH',
    });
    const res2 = await fetch(authorize, { redirect: 'manual' });
    const code2 = new URL(res2.headers.get('location') ?? '').searchParams.get('code') ?? '';
    const set = await def.exchangeCode({ code: code2, codeVerifier: verifier, redirectUri: REDIRECT });
    expect(set.accountId).toBe(sandbox.config.orgId);
    expect(set.instanceUrl).toBe(server.url);
    expect(set.userId).toBe(sandbox.state.apiUserId);
    expect(set.refreshToken).toBeDefined();
    tokens = new TestTokens(set, def);
  });

  it('provisions fields and the permission set; fields stay invisible without it; a second run writes nothing', async () => {
    const c = connector();
    const defs = ownedDefinitions();
    // Before provisioning the owned fields do not exist for the API.
    const before = await pullAll(c, 'Contact').catch((e: unknown) => e);
    expect(isAppError(before) && before.details?.salesforceCode).toBe('INVALID_FIELD');

    const first = await c.provision(defs);
    expect(first.conflicts).toEqual([]);
    expect(first.created).toContain('Contact.Referral_Ready__c');
    expect(first.created).toContain('Lead.Referral_Ready__c');
    expect(first.created).toContain('Activity.Referral_Task_Key__c');
    // Referral_Code_Used__c pre-exists (a form capture field): reused, not re-created.
    expect(first.unchanged).toContain('Contact.Referral_Code_Used__c');
    expect(first.writeCalls).toBeGreaterThan(0);
    const described = await c.describeFields('Contact');
    expect(described.find((f) => f.name === 'Referral_Ready__c')).toMatchObject({
      owned: true,
      type: 'boolean',
    });
    // The picklist values are the engine's tag values (what the pipeline writes).
    expect(described.find((f) => f.name === 'Referral_Tags__c')?.options).toEqual([
      'segment-a',
      'segment-b',
      'vip',
    ]);

    // Remove the assignment: the fields vanish for the API user again...
    const assignment = live('PermissionSetAssignment').find((a) => a.AssigneeId === sandbox.state.apiUserId);
    sandbox.deleteRecord('PermissionSetAssignment', String(assignment?.Id));
    const hidden = await c.describeFields('Contact');
    expect(hidden.some((f) => f.name === 'Referral_Ready__c')).toBe(false);
    // ...and provisioning repairs exactly that: one write.
    const repair = await c.provision(defs);
    expect(repair.writeCalls).toBe(1);
    const second = await c.provision(defs);
    expect(second).toMatchObject({ created: [], updated: [], conflicts: [], writeCalls: 0 });
    expect(second.unchanged).toHaveLength(defs.length + 1); // + the task key field
  }, 60_000);

  it('pulls the whole org: people (contacts and leads), conversions, deals with contact roles, cases, owners', async () => {
    const c = connector();
    const contacts = await pullAll(c, 'Contact');
    const leads = await pullAll(c, 'Lead');
    const opps = await pullAll(c, 'Opportunity');
    const cases = await pullAll(c, 'Case');
    const users = await pullAll(c, 'User');
    const accounts = await pullAll(c, 'Account');
    expect(new Set(contacts.records.filter((r) => !r.deleted).map((r) => r.id))).toEqual(
      new Set(live('Contact').map((r) => r.Id)),
    );
    expect(leads.records.filter((r) => !r.deleted)).toHaveLength(live('Lead').length);
    expect(opps.records.filter((r) => !r.deleted)).toHaveLength(live('Opportunity').length);
    expect(cases.records.filter((r) => !r.deleted)).toHaveLength(live('Case').length);
    expect(users.records).toHaveLength(live('User').length);
    expect(accounts.records.filter((r) => !r.deleted)).toHaveLength(live('Account').length);
    expect(contacts.pages).toBe(Math.ceil(contacts.records.length / 2000));

    // Converted leads carry their conversion links; the mapping turns them into convertedToId.
    const converted = leads.records.filter((r) => typeof r.fields.ConvertedContactId === 'string');
    expect(converted.length).toBeGreaterThan(0);
    for (const lead of converted) {
      expect(lead.links.Contact).toEqual([lead.fields.ConvertedContactId]);
      const person = mapRecord(lead, mapping);
      expect(person?.kind).toBe('person');
      expect(person?.value).toMatchObject({ kind: 'lead', convertedToId: lead.fields.ConvertedContactId });
    }
    // Opportunities: people from OpportunityContactRole, closed-won from IsWon.
    const roles = live('OpportunityContactRole');
    for (const opp of opps.records.slice(0, 200)) {
      const expected = roles.filter((r) => r.OpportunityId === opp.id).map((r) => r.ContactId);
      expect(new Set(opp.links.Contact)).toEqual(new Set(expected));
      const deal = mapRecord(opp, mapping);
      const row = live('Opportunity').find((o) => o.Id === opp.id);
      expect(deal?.value).toMatchObject({ isWon: row?.IsWon === true });
    }
    // The calls a full pull needs: one query per 2,000-record page plus link queries per page.
    const stats = c.stats();
    expect(stats.calls.bulkQuery).toBe(0);
    expect(stats.writes).toBe(0);
  }, 120_000);

  it('incremental pull resumes inside a group of tied SystemModstamps without skipping or repeating', async () => {
    const c = connector();
    const { cursor: start } = await pullAll(c, 'Contact', { mode: 'incremental' });
    const ids = live('Contact')
      .map((r) => String(r.Id))
      .sort()
      .slice(0, 450);
    // Collections saves up to 200 records per call with one timestamp: three groups of tied stamps.
    const outcomes = await c.pushUpdates(
      ids.map((id) => ({ object: 'Contact', id, fields: { Referral_Segment__c: 'tied' } })),
    );
    expect(outcomes.every((o) => o.ok)).toBe(true);
    const changed = await pullAll(c, 'Contact', { mode: 'incremental', cursor: start as never });
    expect(changed.records.map((r) => r.id).sort()).toEqual(ids);
    // Stop after a record in the middle of a tie and continue from the compound cursor alone.
    const ordered = changed.records;
    const cut = ordered[120] as CrmRecord;
    expect(ordered.filter((r) => r.modifiedAt === cut.modifiedAt).length).toBeGreaterThan(
      121 - ordered.findIndex((r) => r.modifiedAt === cut.modifiedAt),
    );
    const rest = await pullAll(c, 'Contact', {
      mode: 'incremental',
      cursor: { v: 1, t: cut.modifiedAt, id: cut.id },
    });
    expect(rest.records.map((r) => r.id)).toEqual(ordered.slice(121).map((r) => r.id));
    // Nothing changed since: an empty page and the same cursor.
    const again = await pullAll(c, 'Contact', { mode: 'incremental', cursor: changed.cursor as never });
    expect(again.records).toHaveLength(0);
    expect(again.cursor).toEqual(changed.cursor);
  }, 60_000);

  it('reads deletions through queryAll', async () => {
    const c = connector();
    const { cursor } = await pullAll(c, 'Case', { mode: 'incremental' });
    const victim = String(live('Case')[0]?.Id);
    sandbox.deleteRecord('Case', victim);
    const next = await pullAll(c, 'Case', { mode: 'incremental', cursor: cursor as never });
    expect(next.records).toEqual([expect.objectContaining({ id: victim, deleted: true })]);
  });

  it('reads merges: the merged-away contact and lead come back as tombstones naming the survivor', async () => {
    const c = connector();
    const { cursor: contactCursor } = await pullAll(c, 'Contact', { mode: 'incremental' });
    const { cursor: leadCursor } = await pullAll(c, 'Lead', { mode: 'incremental' });
    const [keep, gone] = live('Contact')
      .slice(3000, 3002)
      .map((r) => String(r.Id));
    sandbox.mergeRecords('Contact', String(keep), [String(gone)]);
    const [keepLead, goneLead] = live('Lead')
      .filter((l) => l.IsConverted !== true)
      .slice(0, 2)
      .map((r) => String(r.Id));
    sandbox.mergeRecords('Lead', String(keepLead), [String(goneLead)]);
    const contacts = await pullAll(c, 'Contact', { mode: 'incremental', cursor: contactCursor as never });
    expect(contacts.records).toEqual([
      expect.objectContaining({ id: gone, deleted: true, mergedInto: keep }),
    ]);
    const leads = await pullAll(c, 'Lead', { mode: 'incremental', cursor: leadCursor as never });
    expect(leads.records).toEqual([
      expect.objectContaining({ id: goneLead, deleted: true, mergedInto: keepLead }),
    ]);
  }, 60_000);

  it('pushes updates with injected record failures: failures reported per record, retried, nothing lost', async () => {
    const c = connector();
    const ids = live('Lead')
      .map((r) => String(r.Id))
      .filter((id) => live('Lead').find((l) => l.Id === id)?.IsConverted !== true)
      .slice(0, 150);
    const contacts = live('Contact')
      .map((r) => String(r.Id))
      .slice(1000, 1300);
    const updates = [
      ...ids.map((id) => ({
        object: 'Lead',
        id,
        fields: { Referral_Readiness_Score__c: 42, Referral_Tags__c: 'VIP;Segment A' },
      })),
      ...contacts.map((id) => ({
        object: 'Contact',
        id,
        fields: { Referral_Ready__c: true, Referral_Last_Asked_At__c: '2026-11-01T10:00:00.000Z' },
      })),
    ];
    sandbox.faults.configure({ seed: 5, recordFailureRate: 0.1 });
    let outcomes = await c.pushUpdates(updates);
    const failed = outcomes.filter((o) => !o.ok);
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed)
      if (!f.ok) expect(f.error).toMatchObject({ code: 'UNABLE_TO_LOCK_ROW', retryable: true });
    expect(c.stats().calls.collections).toBe(3); // 450 records → 200 + 200 + 50
    sandbox.faults.reset();
    const retry = updates.filter((u) => failed.some((f) => f.id === u.id));
    outcomes = await c.pushUpdates(retry);
    expect(outcomes.every((o) => o.ok)).toBe(true);
    for (const id of contacts)
      expect(sandbox.state.table('Contact')?.records.get(id)?.Referral_Ready__c).toBe(true);
    for (const id of ids)
      expect(sandbox.state.table('Lead')?.records.get(id)?.Referral_Tags__c).toBe('VIP;Segment A');
  }, 60_000);

  it('writes a large batch through one Bulk 2.0 ingest job per object', async () => {
    const c = connector({ bulkIngestThreshold: 100 });
    const ids = live('Contact')
      .map((r) => String(r.Id))
      .slice(2000, 2600);
    const outcomes = await c.pushUpdates(
      ids.map((id, i) => ({
        object: 'Contact',
        id,
        fields: { Referral_Count__c: i % 7, Referral_Variant__c: i % 2 === 0 ? 'A' : null },
      })),
    );
    expect(outcomes.filter((o) => o.ok)).toHaveLength(600);
    expect(c.stats().calls.collections).toBe(0);
    // create + upload + close + two status polls (this sandbox answers InProgress once); no
    // results fetched: nothing failed.
    expect(c.stats().calls.bulkIngest).toBe(5);
    const table = sandbox.state.table('Contact');
    expect(table?.records.get(ids[3] ?? '')?.Referral_Count__c).toBe(3);
    expect(table?.records.get(ids[3] ?? '')?.Referral_Variant__c ?? null).toBeNull();
    expect(table?.records.get(ids[4] ?? '')?.Referral_Variant__c).toBe('A');
  }, 60_000);

  it('creates each task exactly once, across re-runs and concurrent retries', async () => {
    const c = connector();
    const contacts = live('Contact').slice(0, 25);
    const tasks: TaskWrite[] = contacts.map((p, i) => ({
      key: `ask:${String(p.Id)}:2026-11`,
      kind: 'ask',
      subject: 'Ask for a referral',
      body: `NPS ${i % 11}`,
      dueAt: new Date('2026-11-30T00:00:00Z'),
      priority: 'normal',
      ownerId: String(p.OwnerId),
      person: { object: 'Contact', id: String(p.Id) },
    }));
    const [a, b] = await Promise.all([c.pushTasks(tasks), c.pushTasks(tasks)]);
    expect([...(a ?? []), ...(b ?? [])].every((o) => o.ok)).toBe(true);
    const again = await c.pushTasks(tasks);
    expect(again.every((o) => o.ok && !o.created)).toBe(true);
    const created = live('Task').filter((t) => typeof t.Referral_Task_Key__c === 'string');
    expect(created).toHaveLength(25);
    expect(new Set(created.map((t) => t.Referral_Task_Key__c)).size).toBe(25);
    expect(created[0]).toMatchObject({
      Status: 'Not Started',
      Priority: 'Normal',
      ActivityDate: '2026-11-30',
    });
  }, 60_000);

  it('carries a converted lead’s attribution onto the new contact and opportunity', async () => {
    const c = connector();
    const leadId = sandbox.createRecord('Lead', {
      LastName: 'Referred',
      Company: 'Newco',
      Status: 'Open - Not Contacted',
    });
    await c.pushUpdates([
      {
        object: 'Lead',
        id: leadId,
        fields: { Referred_By_Name__c: 'Ada Lovelace', Referral_Code_Used__c: 'ADA-7' },
      },
    ]);
    const { contactId, opportunityId } = sandbox.convertLead(leadId);
    const { records } = await pullAll(c, 'Lead', {
      fields: [
        'Referred_By_Name__c',
        'Referral_Code_Used__c',
        'Referred_By_Contact_Id__c',
        'Referral_Attribution_Method__c',
      ],
    });
    const lead = records.find((r) => r.id === leadId) as CrmRecord;
    expect(lead.links).toMatchObject({ Contact: [contactId], Opportunity: [opportunityId] });
    const outcomes = await c.carryLeadConversions([lead]);
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(sandbox.state.table('Contact')?.records.get(contactId)?.Referred_By_Name__c).toBe('Ada Lovelace');
    expect(
      sandbox.state.table('Opportunity')?.records.get(String(opportunityId))?.Referral_Code_Used__c,
    ).toBe('ADA-7');
    // Carried once: a second pass finds nothing to write.
    expect(await c.carryLeadConversions([lead])).toEqual([]);
  }, 60_000);

  it('switches a large pull to Bulk API 2.0, and falls back to REST when the job fails', async () => {
    const rest = await pullAll(connector(), 'Contact');
    const bulkConnector = connector({ bulkQueryThreshold: 1000 });
    const bulk = await pullAll(bulkConnector, 'Contact');
    expect(bulkConnector.stats().calls.bulkQuery).toBeGreaterThan(0);
    expect(bulk.records.map((r) => r.id).sort()).toEqual(rest.records.map((r) => r.id).sort());
    expect(bulk.cursor).toEqual(rest.cursor);
    const sample = rest.records[rest.records.length - 1] as CrmRecord;
    expect(bulk.records.find((r) => r.id === sample.id)?.fields.Email ?? null).toEqual(
      sample.fields.Email ?? null,
    );

    // Opportunities through Bulk 2.0: contact roles come from one prefetched Bulk 2.0 query, and
    // match what the REST path reads per page.
    const restOpps = await pullAll(connector(), 'Opportunity');
    const bulkOppConnector = connector({ bulkQueryThreshold: 500 });
    const bulkOpps = await pullAll(bulkOppConnector, 'Opportunity');
    const linksOf = (rs: CrmRecord[]) => new Map(rs.map((r) => [r.id, [...(r.links.Contact ?? [])].sort()]));
    expect(linksOf(bulkOpps.records)).toEqual(linksOf(restOpps.records));
    expect(bulkOppConnector.stats().calls.query).toBeLessThanOrEqual(2);

    sandbox.failNextBulkJob('query');
    const fallback = connector({ bulkQueryThreshold: 1000 });
    const viaRest = await pullAll(fallback, 'Contact');
    expect(fallback.stats().bulkFallbacks).toBe(1);
    expect(new Set(viaRest.records.map((r) => r.id))).toEqual(new Set(rest.records.map((r) => r.id)));
  }, 120_000);

  it('survives a mid-run session expiry with exactly one refresh (single-use refresh tokens)', async () => {
    const c = connector();
    const before = tokens.refreshes;
    const oldRefresh = tokens.tokens.refreshToken;
    sandbox.expireSessions();
    const { records } = await pullAll(c, 'User');
    expect(records.length).toBe(live('User').length);
    expect(tokens.refreshes - before).toBe(1);
    expect(c.stats().refreshes).toBe(1);
    expect(tokens.tokens.refreshToken).not.toBe(oldRefresh);
  });
});

describe('Salesforce connector end to end: budget and uninstall', () => {
  it('pauses before the org runs dry when other integrations spent the allowance', async () => {
    const c = connector();
    const limit = sandbox.config.dailyApiLimit;
    sandbox.consumeApiRequests(Math.max(0, limit - sandbox.state.usage.used() - Math.floor(limit * 0.03)));
    // One call learns the org's usage from Sforce-Limit-Info; the next one is refused locally.
    await expect(pullAll(c, 'User')).resolves.toBeDefined();
    const calls = sandbox.state.counters.total;
    const err = await pullAll(c, 'User').catch((e: unknown) => e);
    expect(isAppError(err) && err.code).toBe('ERR_SALESFORCE_BUDGET_PAUSED');
    expect(isAppError(err) && typeof err.details?.pauseUntil).toBe('string');
    expect(sandbox.state.counters.total).toBe(calls);
    // The admin page's view: the org allowance and the pause with its reason.
    const snapshot = await connector().budget();
    expect(snapshot.pausedUntil).toBeDefined();
    expect(snapshot.pauseReason).toContain('daily API calls left');
    expect(snapshot.buckets.find((b) => b.bucket === 'salesforce-org-daily')?.limit).toBe(limit);
    sandbox.state.usage.reset();
  });

  it('deprovision removes our fields and permission set', async () => {
    const c = connector();
    await c.deprovision(ownedDefinitions());
    const fields = await c.describeFields('Contact');
    expect(fields.some((f) => f.name === 'Referral_Ready__c')).toBe(false);
    expect(fields.some((f) => f.name === 'Referral_Tags__c')).toBe(false);
    // The form capture field existed before us: mapped as ours, but never deleted.
    expect(fields.some((f) => f.name === 'Referral_Code_Used__c')).toBe(true);
    expect(live('PermissionSet').some((p) => p.Name === 'Referral_Sync_Fields')).toBe(false);
  });
});
