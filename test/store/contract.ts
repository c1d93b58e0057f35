/**
 * The `Store` contract, run against RedisStore (real Redis) and MemoryStore by
 * `redis-store.test.ts` and `memory-store.test.ts`. Not a test file itself.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { TokenSet } from '../../connectors/contract.js';
import { generateKeyRing } from '../../src/store/crypto.js';
import type { KeyRing } from '../../src/store/crypto.js';
import type { Store, SyncRun } from '../../src/store/types.js';
import type { StoreHarness } from './helpers.js';

export type MakeHarness = (options?: {
  keyRing?: KeyRing;
  now?: () => Date;
  maxRuns?: number;
}) => StoreHarness<Store>;

const TOKENS: TokenSet = {
  accessToken: 'at-secret-1',
  refreshToken: 'rt-secret-1',
  expiresAt: '2026-01-01T00:30:00.000Z',
  accountId: '123',
  scopes: ['crm.objects.contacts.read'],
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `reopens`: the backend can show the same data through another key ring (Redis; not memory). */
export function storeContract(
  name: string,
  makeHarness: MakeHarness,
  capabilities: { reopens: boolean },
): void {
  describe(`Store contract: ${name}`, () => {
    const harnesses: StoreHarness<Store>[] = [];
    const open = (options?: Parameters<MakeHarness>[0]): StoreHarness<Store> => {
      const h = makeHarness(options);
      harnesses.push(h);
      return h;
    };
    afterEach(async () => {
      await Promise.all(harnesses.splice(0).map((h) => h.cleanup()));
    });

    describe('tenants', () => {
      it('creates, reads, lists and finds a tenant by CRM account', async () => {
        const { store } = open();
        const a = await store.createTenant({
          crm: 'hubspot',
          accountId: '111',
          mode: 'oauth',
          name: 'acme.com',
        });
        const b = await store.createTenant({ crm: 'salesforce', accountId: '00D1', mode: 'private' });
        expect(a.status).toBe('connected');
        expect(a.config.writeBack).toBe('off');
        expect(a.id).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(await store.getTenant(a.id)).toEqual(a);
        expect((await store.listTenants()).map((t) => t.id).sort()).toEqual([a.id, b.id].sort());
        expect((await store.findByAccount('salesforce', '00D1'))?.id).toBe(b.id);
        expect(await store.findByAccount('hubspot', '00D1')).toBeNull();
        expect(await store.getTenant('nobody')).toBeNull();
      });

      it('refuses a second install of the same account', async () => {
        const { store } = open();
        await store.createTenant({ crm: 'hubspot', accountId: '111', mode: 'oauth' });
        await expect(
          store.createTenant({ crm: 'hubspot', accountId: '111', mode: 'oauth' }),
        ).rejects.toMatchObject({
          code: 'ERR_STORE_TENANT_EXISTS',
        });
        // Same account id on the other CRM is another installation.
        await expect(
          store.createTenant({ crm: 'salesforce', accountId: '111', mode: 'oauth' }),
        ).resolves.toBeTruthy();
      });

      it('rejects tenant ids that could escape their key namespace', async () => {
        const { store } = open();
        await expect(
          store.createTenant({ id: 'a:b', crm: 'hubspot', accountId: '1', mode: 'oauth' }),
        ).rejects.toMatchObject({
          code: 'ERR_STORE_TENANT_ID_INVALID',
        });
        await expect(store.getCursor('x*', 's')).rejects.toMatchObject({
          code: 'ERR_STORE_TENANT_ID_INVALID',
        });
      });

      it('applies patches: status stamps statusAt, null clears, config merges one level', async () => {
        let now = new Date('2026-01-01T00:00:00Z');
        const { store } = open({ now: () => now });
        const t = await store.createTenant({
          crm: 'hubspot',
          accountId: '1',
          mode: 'oauth',
          name: 'n',
          config: { settings: { a: 1 } },
        });
        now = new Date('2026-01-02T00:00:00Z');
        const down = await store.updateTenant(t.id, { status: 'disconnected', statusReason: 'revoked' });
        expect(down).toMatchObject({
          status: 'disconnected',
          statusReason: 'revoked',
          statusAt: now.toISOString(),
        });
        const up = await store.updateTenant(t.id, {
          status: 'connected',
          name: null,
          config: { writeBack: 'on', rules: { threshold: 70 } },
          lastSyncAt: now,
        });
        expect(up.statusReason).toBeUndefined();
        expect(up.name).toBeUndefined();
        expect(up.config).toEqual({
          rules: { threshold: 70 },
          mappingOverride: null,
          settings: { a: 1 },
          writeBack: 'on',
          pilot: null,
        });
        expect(up.lastSyncAt).toBe(now.toISOString());
        expect(await store.getTenant(t.id)).toEqual(up);
        await expect(store.updateTenant('missing', { status: 'connected' })).rejects.toMatchObject({
          code: 'ERR_STORE_TENANT_NOT_FOUND',
        });
      });

      it('concurrent updates from two workers do not lose each other', async () => {
        const h = open();
        const t = await h.store.createTenant({ crm: 'hubspot', accountId: '1', mode: 'oauth' });
        const other = h.sibling();
        await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 === 0 ? h.store : other).updateTenant(t.id, {
              config: { settings: { [`k${i}`]: i } },
              ...(i === 3 ? { status: 'disconnected' as const, statusReason: 'r' } : {}),
            }),
          ),
        );
        // `settings` is replaced as a whole by each patch, so exactly one survives; the status
        // change from another patch must not be lost.
        const final = await h.store.getTenant(t.id);
        expect(Object.keys(final?.config.settings ?? {})).toHaveLength(1);
        expect(final?.status).toBe('disconnected');
      });

      it('uninstall deletes all of the tenant data and nothing of another tenant', async () => {
        const { store } = open();
        const a = await store.createTenant({ crm: 'hubspot', accountId: '1', mode: 'oauth' });
        const b = await store.createTenant({ crm: 'hubspot', accountId: '2', mode: 'oauth' });
        for (const t of [a, b]) {
          await store.saveTokens(t.id, { ...TOKENS, accountId: t.accountId });
          await store.saveCursor(t.id, 'contacts', { after: '10' });
          await store.putRecordStates(t.id, 'contacts', [{ id: '7', inputHash: 'h' }]);
          await store.indexPeople(t.id, [{ kind: 'code', key: 'ABC', personId: '7' }]);
          await store.markTasksDone(t.id, [{ key: 'k', taskId: '9' }]);
        }
        await store.deleteTenant(a.id);
        expect(await store.getTenant(a.id)).toBeNull();
        expect(await store.findByAccount('hubspot', '1')).toBeNull();
        expect(await store.loadTokens(a.id)).toBeNull();
        expect(await store.getCursor(a.id, 'contacts')).toBeNull();
        expect((await store.getRecordStates(a.id, 'contacts', ['7'])).size).toBe(0);
        expect((await store.lookupPeople(a.id, 'code', ['abc'])).size).toBe(0);
        expect((await store.getTasks(a.id, ['k'])).size).toBe(0);
        expect((await store.listTenants()).map((t) => t.id)).toEqual([b.id]);
        expect(await store.getCursor(b.id, 'contacts')).toEqual({ after: '10' });
        expect((await store.loadTokens(b.id))?.accessToken).toBe(TOKENS.accessToken);
        expect((await store.lookupPeople(b.id, 'code', ['abc'])).get('abc')).toBe('7');
        // The account can be installed again.
        await expect(
          store.createTenant({ crm: 'hubspot', accountId: '1', mode: 'oauth' }),
        ).resolves.toBeTruthy();
      });
    });

    describe('tokens', () => {
      it('round-trips a token set and returns null when none is stored', async () => {
        const { store } = open();
        await store.saveTokens('t1', TOKENS);
        expect(await store.loadTokens('t1')).toEqual(TOKENS);
        expect(await store.loadTokens('t2')).toBeNull();
      });

      it.runIf(capabilities.reopens)(
        'rotation: a new first key encrypts, old keys still decrypt, rotate re-encrypts all',
        async () => {
          const oldKey = generateKeyRing('old').ring;
          const newKey = generateKeyRing('new').ring;
          const before = open({ keyRing: oldKey });
          const t = await before.store.createTenant({ crm: 'hubspot', accountId: '1', mode: 'oauth' });
          await before.store.saveTokens(t.id, TOKENS);
          // Same data, ring with the new key first (the memory harness keeps its ring: skip there).
          const both: KeyRing = { keys: [...newKey.keys, ...oldKey.keys] };
          const h = makeHarnessOver(before, both);
          expect(await h.store.loadTokens(t.id)).toEqual(TOKENS);
          expect(await h.store.rotateTokenEncryption()).toEqual({ rotated: 1 });
          expect(await h.store.rotateTokenEncryption()).toEqual({ rotated: 0 });
          const onlyNew = makeHarnessOver(before, newKey);
          expect(await onlyNew.store.loadTokens(t.id)).toEqual(TOKENS);
        },
      );

      it.runIf(capabilities.reopens)(
        'refuses tokens encrypted with a key that is not in the ring',
        async () => {
          const h = open({ keyRing: generateKeyRing('a').ring });
          await h.store.saveTokens('t1', TOKENS);
          const other = makeHarnessOver(h, generateKeyRing('b').ring);
          await expect(other.store.loadTokens('t1')).rejects.toMatchObject({
            code: 'ERR_STORE_TOKEN_UNDECRYPTABLE',
          });
        },
      );
    });

    describe('locks and flags', () => {
      it('only one holder; release needs the owner token; the lock expires by itself', async () => {
        const h = open();
        const other = h.sibling();
        const token = await h.store.acquireLock('t1', 'refresh', 200);
        expect(token).toEqual(expect.any(String));
        expect(await other.acquireLock('t1', 'refresh', 200)).toBeNull();
        expect(await other.acquireLock('t2', 'refresh', 200)).not.toBeNull(); // per tenant
        expect(await other.releaseLock('t1', 'refresh', 'not-the-owner')).toBe(false);
        expect(await other.extendLock('t1', 'refresh', 'not-the-owner', 1000)).toBe(false);
        expect(await h.store.releaseLock('t1', 'refresh', token ?? '')).toBe(true);
        expect(await h.store.releaseLock('t1', 'refresh', token ?? '')).toBe(false);
        const short = await other.acquireLock('t1', 'refresh', 40);
        expect(short).not.toBeNull();
        await sleep(80);
        expect(await h.store.acquireLock('t1', 'refresh', 1000)).not.toBeNull();
        expect(await other.releaseLock('t1', 'refresh', short ?? '')).toBe(false); // expired: not the owner
      });

      it('extendLock keeps the lock past its first TTL', async () => {
        const { store } = open();
        const token = await store.acquireLock('t1', 'sync', 60);
        expect(await store.extendLock('t1', 'sync', token ?? '', 1000)).toBe(true);
        await sleep(100);
        expect(await store.acquireLock('t1', 'sync', 1000)).toBeNull();
      });

      it('flags expire and can be cleared', async () => {
        const { store } = open();
        await store.setFlag('t1', 'cool', { until: 'x' }, 40);
        expect(await store.getFlag('t1', 'cool')).toEqual({ until: 'x' });
        await sleep(80);
        expect(await store.getFlag('t1', 'cool')).toBeNull();
        await store.setFlag('t1', 'cool', 1, 10_000);
        await store.clearFlag('t1', 'cool');
        expect(await store.getFlag('t1', 'cool')).toBeNull();
      });
    });

    describe('cursors', () => {
      it('saves per stream, lists, clears one or all', async () => {
        const { store } = open();
        expect(await store.getCursor('t1', 'contacts')).toBeNull();
        await store.saveCursor('t1', 'contacts', { phase: 'search', after: '200', since: 5 });
        await store.saveCursor('t1', 'deals', ['a', 1]);
        await store.saveCursor('t2', 'contacts', 'other');
        expect(await store.getCursor('t1', 'contacts')).toEqual({ phase: 'search', after: '200', since: 5 });
        expect(await store.listCursors('t1')).toEqual({
          contacts: { phase: 'search', after: '200', since: 5 },
          deals: ['a', 1],
        });
        await store.clearCursors('t1', 'deals');
        expect(Object.keys(await store.listCursors('t1'))).toEqual(['contacts']);
        await store.clearCursors('t1');
        expect(await store.listCursors('t1')).toEqual({});
        expect(await store.getCursor('t2', 'contacts')).toBe('other');
      });
    });

    describe('per-record sync cache', () => {
      it('round-trips a page of 2,000 records (dates stay dates) and merges members', async () => {
        const { store } = open();
        const at = new Date('2026-03-01T10:00:00.000Z');
        const page = Array.from({ length: 2000 }, (_, i) => ({
          id: String(100_000 + i),
          inputHash: `h${i}`,
          written: {
            referral_ready: i % 2 === 0,
            referral_readiness_score: i % 101,
            referral_tags: ['segment_a', `t${i % 3}`],
            referral_last_asked_at: at,
            referral_code: null,
          },
        }));
        await store.putRecordStates('t1', 'contacts', page);
        const ids = [...page.map((p) => p.id), 'never-seen'];
        const got = await store.getRecordStates('t1', 'contacts', ids);
        expect(got.size).toBe(2000);
        expect(got.has('never-seen')).toBe(false);
        for (const p of page) expect(got.get(p.id)).toEqual({ inputHash: p.inputHash, written: p.written });
        expect(got.get('100000')?.written?.['referral_last_asked_at']).toBeInstanceOf(Date);

        // Updating only the hash keeps the written values; another object is separate.
        await store.putRecordStates('t1', 'contacts', [{ id: '100001', inputHash: 'new' }]);
        await store.putRecordStates('t1', 'deals', [{ id: '100001', inputHash: 'deal' }]);
        const one = await store.getRecordStates('t1', 'contacts', ['100001']);
        expect(one.get('100001')).toEqual({ inputHash: 'new', written: page[1]?.written });

        await store.deleteRecordStates('t1', 'contacts', ['100001', '100002']);
        const after = await store.getRecordStates('t1', 'contacts', ['100001', '100002', '100003']);
        expect([...after.keys()]).toEqual(['100003']);
        expect((await store.getRecordStates('t1', 'deals', ['100001'])).get('100001')?.inputHash).toBe(
          'deal',
        );
        expect((await store.getRecordStates('t2', 'contacts', ['100003'])).size).toBe(0);
      });

      it('round-trips admin-mapped field names whatever they look like', async () => {
        const { store } = open();
        const written = { a: 'x', '~t': 1, '12': true, referral_tags: [], Custom_Mirror__c: 'v', zz: null };
        await store.putRecordStates('t1', 'Contact', [{ id: '003A', written }]);
        expect((await store.getRecordStates('t1', 'Contact', ['003A'])).get('003A')?.written).toEqual(
          written,
        );
      });

      it('empty batches are no-ops', async () => {
        const { store } = open();
        await store.putRecordStates('t1', 'contacts', []);
        await store.deleteRecordStates('t1', 'contacts', []);
        expect((await store.getRecordStates('t1', 'contacts', [])).size).toBe(0);
      });
    });

    describe('attribution index', () => {
      it('normalises keys, keeps kinds apart, unindexes', async () => {
        const { store } = open();
        await store.indexPeople('t1', [
          { kind: 'code', key: ' AbC7 ', personId: 'p1' },
          { kind: 'email', key: 'Ann@Example.com', personId: 'p1' },
          { kind: 'click', key: 'clk-1', personId: 'p2' },
          { kind: 'email', key: '  ', personId: 'ignored' },
        ]);
        expect(await store.lookupPeople('t1', 'code', ['abc7', 'ABC7', 'zzz'])).toEqual(
          new Map([['abc7', 'p1']]),
        );
        expect(await store.lookupPeople('t1', 'email', ['ann@example.COM'])).toEqual(
          new Map([['ann@example.com', 'p1']]),
        );
        expect((await store.lookupPeople('t1', 'code', ['clk-1'])).size).toBe(0);
        expect((await store.lookupPeople('t1', 'email', [''])).size).toBe(0);
        await store.unindexPeople('t1', [{ kind: 'email', key: 'ANN@example.com' }]);
        expect((await store.lookupPeople('t1', 'email', ['ann@example.com'])).size).toBe(0);
        expect((await store.lookupPeople('t1', 'click', ['CLK-1'])).get('clk-1')).toBe('p2');
      });
    });

    describe('referral ledger', () => {
      it('stores entries, lists per referrer, moves between referrers, deletes', async () => {
        const { store } = open();
        const base = { method: 'code', creditedDealIds: [] as string[], revenue: 0 };
        await store.putReferrals('t1', [
          { ...base, referredId: 'r1', referrerId: 'A', at: '2026-01-01T00:00:00.000Z' },
          { ...base, referredId: 'r2', referrerId: 'A', at: '2026-01-02T00:00:00.000Z' },
          { ...base, referredId: 'r3', referrerId: 'B', at: '2026-01-03T00:00:00.000Z', method: 'email' },
        ]);
        expect((await store.referralsOf('t1', 'A')).map((e) => e.referredId)).toEqual(['r1', 'r2']);
        // Credit a won deal and move r2 to B.
        await store.putReferrals('t1', [
          {
            ...base,
            referredId: 'r2',
            referrerId: 'B',
            at: '2026-01-02T00:00:00.000Z',
            creditedDealIds: ['d9'],
            revenue: 1250.5,
          },
        ]);
        expect((await store.referralsOf('t1', 'A')).map((e) => e.referredId)).toEqual(['r1']);
        const ofB = await store.referralsOf('t1', 'B');
        expect(ofB).toEqual([
          {
            referredId: 'r2',
            referrerId: 'B',
            method: 'code',
            at: '2026-01-02T00:00:00.000Z',
            creditedDealIds: ['d9'],
            revenue: 1250.5,
          },
          { ...base, referredId: 'r3', referrerId: 'B', at: '2026-01-03T00:00:00.000Z', method: 'email' },
        ]);
        expect([...(await store.getReferrals('t1', ['r1', 'r9'])).keys()]).toEqual(['r1']);
        await store.deleteReferrals('t1', ['r2']);
        expect((await store.referralsOf('t1', 'B')).map((e) => e.referredId)).toEqual(['r3']);
        expect((await store.getReferrals('t1', ['r2'])).size).toBe(0);
      });
    });

    describe('referral link clicks', () => {
      const click = (clickId: string, code: string, at: Date) => ({ clickId, code, at: at.toISOString() });
      const all = async (store: Store, tenantId: string, since?: Date) => {
        const pages = [];
        for await (const page of store.listClicks(tenantId, since)) pages.push(page);
        return pages;
      };

      it('lists unexpired clicks oldest first, from `since`, per tenant, and forgets them on uninstall', async () => {
        let now = new Date('2026-03-01T12:00:00Z');
        const { store } = open({ now: () => now });
        const t = await store.createTenant({ crm: 'hubspot', accountId: 'clicks-1', mode: 'oauth' });
        const day = 86_400_000;
        await store.recordClick(
          t.id,
          click('click-bbbbbbbb', 'B0000000B1', new Date(now.getTime() - 2 * day)),
          90 * day,
        );
        await store.recordClick(
          t.id,
          click('click-aaaaaaaa', 'A0000000A1', new Date(now.getTime() - 5 * day)),
          90 * day,
        );
        await store.recordClick('other-tenant', click('click-cccccccc', 'C0000000C1', now), 90 * day);
        // A click recorded with a short window expires on its own (and, the window being one per
        // tenant, recording it drops the tenant's clicks older than that window).
        await store.recordClick(
          't-short',
          click('click-old00000', 'D0000000D1', new Date(now.getTime() - 2 * 3_600_000)),
          90 * day,
        );
        await store.recordClick('t-short', click('click-short000', 'D0000000D1', now), 3_600_000);

        expect((await all(store, t.id)).flat().map((c) => c.clickId)).toEqual([
          'click-aaaaaaaa',
          'click-bbbbbbbb',
        ]);
        expect((await all(store, t.id))[0]![0]).toEqual(
          click('click-aaaaaaaa', 'A0000000A1', new Date(now.getTime() - 5 * day)),
        );
        expect(
          (await all(store, t.id, new Date(now.getTime() - 3 * day))).flat().map((c) => c.clickId),
        ).toEqual(['click-bbbbbbbb']);
        expect((await all(store, 't-short')).flat().map((c) => c.clickId)).toEqual(['click-short000']);
        now = new Date(now.getTime() + 2 * 3_600_000);
        expect(await all(store, 't-short')).toEqual([]);
        expect((await all(store, t.id)).flat()).toHaveLength(2);

        await store.deleteTenant(t.id);
        expect(await all(store, t.id)).toEqual([]);
        expect((await all(store, 'other-tenant')).flat().map((c) => c.clickId)).toEqual(['click-cccccccc']);
      });

      it('pages long lists (1,000 a page)', async () => {
        const { store } = open();
        const start = Date.now() - 3_600_000;
        await Promise.all(
          Array.from({ length: 1_001 }, (_, i) =>
            store.recordClick(
              't-pages',
              click(`click-${String(i).padStart(6, '0')}`, 'A0000000A1', new Date(start + i)),
              86_400_000,
            ),
          ),
        );
        const pages = await all(store, 't-pages');
        expect(pages.map((p) => p.length)).toEqual([1_000, 1]);
        expect(pages[1]![0]!.clickId).toBe('click-001000');
      });

      it('refuses ids and codes that are not url-safe or not normalised', async () => {
        const { store } = open();
        const at = new Date();
        for (const bad of [
          click('short', 'A0000000A1', at),
          click('click id with spaces', 'A0000000A1', at),
          click('click-aaaaaaaa', 'a0000000a1', at),
          click('click-aaaaaaaa', 'A0000000A1 x', at),
        ]) {
          await expect(store.recordClick('t-bad', bad, 60_000)).rejects.toMatchObject({
            code: 'ERR_STORE_CLICK_INVALID',
          });
        }
        await expect(
          store.recordClick('t-bad', click('click-aaaaaaaa', 'A0000000A1', at), 0),
        ).rejects.toMatchObject({
          code: 'ERR_STORE_CLICK_INVALID',
        });
        expect(await all(store, 't-bad')).toEqual([]);
      });
    });

    describe('re-evaluation schedule', () => {
      it('returns due ids earliest first, bounded, and the next instant', async () => {
        const { store } = open();
        const t = (d: number): Date => new Date(Date.UTC(2026, 0, d));
        await store.scheduleAt('t1', [
          { id: 'p3', at: t(3) },
          { id: 'p1', at: t(1) },
          { id: 'p2', at: t(2) },
          { id: 'p9', at: t(9) },
        ]);
        expect(await store.nextDueAt('t1')).toEqual(t(1));
        expect(await store.dueBefore('t1', t(3), 10)).toEqual(['p1', 'p2', 'p3']);
        expect(await store.dueBefore('t1', t(3), 2)).toEqual(['p1', 'p2']);
        await store.scheduleAt('t1', [
          { id: 'p1', at: t(20) },
          { id: 'p2', at: null },
        ]);
        expect(await store.dueBefore('t1', t(10), 10)).toEqual(['p3', 'p9']);
        expect(await store.nextDueAt('t1')).toEqual(t(3));
        expect(await store.nextDueAt('t2')).toBeNull();
      });
    });

    describe('task ledger', () => {
      it('pending before the CRM call, done after; never downgrades done', async () => {
        const { store } = open();
        const at = new Date('2026-02-01T00:00:00.000Z');
        await store.markTasksPending('t1', ['ask:1', 'ask:2', 'thank:3'], at);
        expect(await store.getTasks('t1', ['ask:1', 'none'])).toEqual(
          new Map([['ask:1', { state: 'pending', at: at.toISOString() }]]),
        );
        await store.markTasksDone('t1', [{ key: 'ask:1', taskId: 'crm-77' }]);
        await store.markTasksPending('t1', ['ask:1'], new Date('2026-02-02T00:00:00.000Z'));
        expect((await store.getTasks('t1', ['ask:1'])).get('ask:1')).toEqual({
          state: 'done',
          taskId: 'crm-77',
        });
        await store.clearPendingTasks('t1', ['ask:1', 'ask:2']);
        const left = await store.getTasks('t1', ['ask:1', 'ask:2', 'thank:3']);
        expect(left.get('ask:1')).toEqual({ state: 'done', taskId: 'crm-77' });
        expect(left.has('ask:2')).toBe(false);
        expect(left.get('thank:3')?.state).toBe('pending');
      });
    });

    describe('sync history and record errors', () => {
      it('upserts runs, lists newest first, keeps only maxRuns', async () => {
        const { store } = open({ maxRuns: 3 });
        const run = (i: number): SyncRun => ({
          id: `run${i}`,
          kind: 'incremental',
          status: 'running',
          startedAt: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
          counts: {},
        });
        for (let i = 1; i <= 5; i++) await store.saveRun('t1', run(i));
        await store.saveRun('t1', {
          ...run(5),
          status: 'failed',
          finishedAt: '2026-01-01T01:00:00.000Z',
          counts: { read: 10 },
          error: { code: 'ERR_X', message: 'boom' },
        });
        const runs = await store.listRuns('t1');
        expect(runs.map((r) => r.id)).toEqual(['run5', 'run4', 'run3']);
        expect(runs[0]).toMatchObject({ status: 'failed', counts: { read: 10 }, error: { code: 'ERR_X' } });
        expect(await store.getRun('t1', 'run1')).toBeNull();
        expect((await store.listRuns('t1', 1)).map((r) => r.id)).toEqual(['run5']);
      });

      it('counts attempts, keeps firstSeen, lists, retries only retryable ones, clears', async () => {
        const { store } = open();
        const d1 = new Date('2026-01-01T00:00:00.000Z');
        const d2 = new Date('2026-01-02T00:00:00.000Z');
        await store.recordErrors(
          't1',
          [
            { object: 'contacts', id: '1', code: 'ERR_RATE_LIMITED', message: '429', retryable: true },
            { object: 'contacts', id: '2', code: 'INVALID_OPTION', message: 'bad tag', retryable: false },
            { object: 'deals', id: '1', code: 'ERR_TIMEOUT', message: 't', retryable: true },
          ],
          d1,
        );
        await store.recordErrors(
          't1',
          [{ object: 'contacts', id: '1', code: 'ERR_RATE_LIMITED', message: '429 again', retryable: true }],
          d2,
        );
        const list = await store.listErrors('t1');
        expect(list[0]).toEqual({
          object: 'contacts',
          id: '1',
          code: 'ERR_RATE_LIMITED',
          message: '429 again',
          retryable: true,
          attempts: 2,
          firstSeen: d1.toISOString(),
          lastSeen: d2.toISOString(),
        });
        expect(await store.countErrors('t1')).toBe(3);
        expect(await store.recordsToRetry('t1', 'contacts', 10)).toEqual(['1']);
        expect(await store.recordsToRetry('t1', 'deals', 10)).toEqual(['1']);
        await store.clearErrors('t1', [{ object: 'contacts', id: '1' }]);
        expect(await store.recordsToRetry('t1', 'contacts', 10)).toEqual([]);
        expect((await store.listErrors('t1', 1)).length).toBe(1);
        expect(await store.countErrors('t2')).toBe(0);
      });
    });

    describe('reports, nonces, sessions', () => {
      it('saves and loads the report aggregate', async () => {
        const { store } = open();
        expect(await store.loadReport('t1')).toBeNull();
        await store.saveReport('t1', { referralRate: 0.12, topReferrers: [{ id: 'a', count: 3 }] });
        const saved = await store.loadReport('t1');
        expect(saved?.report).toEqual({ referralRate: 0.12, topReferrers: [{ id: 'a', count: 3 }] });
        expect(Number.isNaN(Date.parse(saved?.savedAt ?? ''))).toBe(false);
      });

      it('a nonce is consumed once, and not after it expires', async () => {
        const h = open();
        await h.store.saveNonce('n1', { verifier: 'v', crm: 'salesforce' }, 10_000);
        const results = await Promise.all([h.store.consumeNonce('n1'), h.sibling().consumeNonce('n1')]);
        expect(results.filter((r) => r !== null)).toEqual([{ verifier: 'v', crm: 'salesforce' }]);
        await h.store.saveNonce('n2', 1, 30);
        await sleep(70);
        expect(await h.store.consumeNonce('n2')).toBeNull();
        expect(await h.store.consumeNonce('never')).toBeNull();
      });

      it('revoked sessions stay revoked until their expiry', async () => {
        const { store } = open();
        await store.revokeSession('s1', new Date(Date.now() + 60_000));
        await store.revokeSession('s2', new Date(Date.now() - 1));
        expect(await store.isSessionRevoked('s1')).toBe(true);
        expect(await store.isSessionRevoked('s2')).toBe(false);
        expect(await store.isSessionRevoked('s3')).toBe(false);
      });
    });
  });
}

/** The same stored data seen through another key ring. */
function makeHarnessOver(h: StoreHarness<Store>, ring: KeyRing): { store: Store } {
  if (h.withKeyRing === undefined) throw new Error('this backend cannot reopen with another key ring');
  return { store: h.withKeyRing(ring) };
}
