import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JsonValue } from '../../../connectors/contract.js';
import { BASE, collect, harness, obj } from './helpers.js';

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());

const T = new Date('2026-11-23T10:00:00Z');

describe('full pull', () => {
  it('pages the list endpoint to its end with inline links, completes paged links with one v4 batch call, emits archived and merged ids as deleted', async () => {
    const h = harness();
    const scope = nock(BASE)
      .get('/crm/v3/objects/contacts')
      .query(
        (q) =>
          q.archived === 'false' &&
          q.after === undefined &&
          q.limit === '100' &&
          q.associations === 'companies',
      )
      .reply(200, {
        results: [
          {
            ...obj('1', 1000, { email: 'a@x.io', hs_merged_object_ids: '50;51' }),
            associations: {
              companies: {
                results: [{ id: '900', type: 'contact_to_company' }],
                paging: { next: { after: 'x1' } },
              },
            },
          },
          obj('2', 2000),
        ],
        paging: { next: { after: '2' } },
      })
      .get('/crm/v3/objects/contacts')
      .query((q) => q.archived === 'false' && q.after === '2')
      .reply(200, {
        results: [
          {
            ...obj('3', 3000),
            associations: { companies: { results: [{ id: '901', type: 'contact_to_company' }] } },
          },
        ],
      })
      .post('/crm/v4/associations/contacts/companies/batch/read', { inputs: [{ id: '1' }] })
      .reply(200, {
        status: 'COMPLETE',
        results: [
          {
            from: { id: '1' },
            to: [
              { toObjectId: 900, associationTypes: [{ category: 'HUBSPOT_DEFINED', typeId: 279 }] },
              { toObjectId: '905', associationTypes: [] },
            ],
          },
        ],
      })
      .get('/crm/v3/objects/contacts')
      .query((q) => q.archived === 'true')
      .reply(200, { results: [{ ...obj('9', 500), archived: true }] });
    const pages = await collect(
      h.connector.pull('contacts', {
        fields: ['email'],
        links: ['companies'],
        mode: 'full',
        // a full re-sync (cursor exists): archived records are read to retire them
        cursor: { v: 1, phase: 'idle', bookmark: 0 },
        runStartedAt: T,
      }),
    );
    scope.done();
    const records = pages.flatMap((p) => p.records);
    expect(records.find((r) => r.id === '1')).toMatchObject({
      fields: { email: 'a@x.io' },
      links: { companies: ['900', '905'] },
      deleted: false,
    });
    expect(records.find((r) => r.id === '2')?.links).toEqual({ companies: [] });
    expect(records.find((r) => r.id === '3')?.links).toEqual({ companies: ['901'] });
    expect(records.filter((r) => r.mergedInto === '1').map((r) => [r.id, r.deleted])).toEqual([
      ['50', true],
      ['51', true],
    ]);
    expect(records.find((r) => r.id === '9')?.deleted).toBe(true);
    expect(h.connector.counts.associations).toBe(1);
    expect(h.connector.counts.read).toBe(3);
    expect(pages.at(-1)?.cursor).toEqual({ v: 1, phase: 'idle', bookmark: T.getTime() - 120_000 });
  });

  it('resumes from a saved cursor and asks only for mapped properties', async () => {
    const h = harness();
    const cursor = { v: 1, phase: 'full', archived: false, after: '200', bookmark: 5 } as JsonValue;
    const scope = nock(BASE)
      .get('/crm/v3/objects/deals')
      .query(
        (q) =>
          q.after === '200' &&
          String(q.properties).split(',').sort().join(',') === 'amount,hs_lastmodifieddate',
      )
      .reply(200, { results: [obj('7', 10, { amount: '12.5' })] })
      .get('/crm/v3/objects/deals')
      .query((q) => q.archived === 'true')
      .reply(200, { results: [] });
    const pages = await collect(
      h.connector.pull('deals', { fields: ['amount'], links: [], mode: 'full', cursor, runStartedAt: T }),
    );
    scope.done();
    expect(pages.flatMap((p) => p.records).map((r) => r.fields.amount)).toEqual(['12.5']);
    expect(pages.at(-1)?.cursor).toEqual({ v: 1, phase: 'idle', bookmark: 5 });
  });

  it('a first backfill reads no archived records (nothing cached to retire): one call fewer per object', async () => {
    const h = harness();
    const scope = nock(BASE)
      .get('/crm/v3/objects/companies')
      .query((q) => q.archived === 'false')
      .reply(200, { results: [obj('1', 1, { name: 'Acme' })] });
    // No interceptor for archived=true: with net connect disabled, such a call would fail the pull.
    const pages = await collect(
      h.connector.pull('companies', {
        fields: ['name'],
        links: [],
        mode: 'full',
        cursor: null,
        runStartedAt: T,
      }),
    );
    scope.done();
    expect(pages.flatMap((p) => p.records).map((r) => r.id)).toEqual(['1']);
    expect(pages.at(-1)?.cursor).toMatchObject({ phase: 'idle' });
    expect(h.connector.counts.read).toBe(1);
  });

  it('resolves won/closed from pipeline stage metadata, not stage names', async () => {
    const h = harness();
    const scope = nock(BASE)
      .get('/crm/v3/pipelines/deals')
      .reply(200, {
        results: [
          {
            id: 'p1',
            stages: [
              { id: 'signed', metadata: { isClosed: 'true', probability: '1.0' } },
              { id: 'lost-it', metadata: { isClosed: 'true', probability: '0.0' } },
              { id: 'talking', metadata: { isClosed: 'false', probability: '0.5' } },
            ],
          },
        ],
      })
      .get('/crm/v3/objects/deals')
      .query((q) => q.archived === 'false')
      .reply(200, {
        results: [
          obj('1', 1, { dealstage: 'signed' }),
          obj('2', 2, { dealstage: 'lost-it' }),
          obj('3', 3, { dealstage: 'talking' }),
        ],
      })
      .get('/crm/v3/objects/deals')
      .query((q) => q.archived === 'true')
      .reply(200, { results: [] });
    const pages = await collect(
      h.connector.pull('deals', {
        fields: ['pipeline_stage.is_won', 'pipeline_stage.is_closed'],
        links: [],
        mode: 'full',
        cursor: { v: 1, phase: 'idle', bookmark: 0 },
        runStartedAt: T,
      }),
    );
    scope.done();
    expect(
      pages
        .flatMap((p) => p.records)
        .map((r) => [r.id, r.fields['pipeline_stage.is_won'], r.fields['pipeline_stage.is_closed']]),
    ).toEqual([
      ['1', 'true', 'true'],
      ['2', 'false', 'true'],
      ['3', 'false', 'false'],
    ]);
  });

  it('rejects an object it does not pull', async () => {
    const h = harness();
    await expect(
      collect(
        h.connector.pull('leads', { fields: [], links: [], mode: 'full', cursor: null, runStartedAt: T }),
      ),
    ).rejects.toMatchObject({
      code: 'ERR_HUBSPOT_UNKNOWN_OBJECT',
    });
  });
});

interface FakeRecord {
  id: number;
  ms: number;
}

/**
 * A search endpoint with HubSpot's rules: one filter group of AND filters, one sort, ≤ 200 per
 * page, `after` offsets, and a 400 when paging reaches past 10,000 results. Ties in the sort are
 * returned in DESCENDING id order, so a client relying on an implicit id order would break.
 */
function fakeSearch(data: Map<number, FakeRecord>, calls: { n: number }, onCall?: (n: number) => void) {
  return (_uri: string, requestBody: nock.Body): [number, nock.Body] => {
    const body = requestBody as Record<string, unknown>;
    calls.n++;
    onCall?.(calls.n);
    const groups = body.filterGroups as {
      filters: { propertyName: string; operator: string; value: string }[];
    }[];
    const sorts = body.sorts as { propertyName: string; direction: string }[];
    const limit = Number(body.limit ?? 10);
    const after = Number(body.after ?? 0);
    if (groups.length !== 1 || sorts.length !== 1 || limit > 200)
      return [400, { status: 'error', category: 'VALIDATION_ERROR' }];
    if (after + limit > 10_000)
      return [400, { status: 'error', category: 'VALIDATION_ERROR', message: 'paging past 10000' }];
    const value = (r: FakeRecord, p: string): number => (p === 'hs_object_id' ? r.id : r.ms);
    const matches = [...data.values()].filter((r) =>
      (groups[0]?.filters ?? []).every((f) => {
        const v = value(r, f.propertyName);
        const x = Number(f.value);
        return f.operator === 'EQ'
          ? v === x
          : f.operator === 'GT'
            ? v > x
            : f.operator === 'GTE'
              ? v >= x
              : f.operator === 'LTE'
                ? v <= x
                : false;
      }),
    );
    const sortBy = sorts[0]?.propertyName ?? 'hs_object_id';
    matches.sort((a, b) => value(a, sortBy) - value(b, sortBy) || b.id - a.id);
    const page = matches.slice(after, after + limit);
    return [
      200,
      {
        total: matches.length,
        results: page.map((r) => obj(String(r.id), r.ms)),
        ...(after + limit < matches.length ? { paging: { next: { after: String(after + limit) } } } : {}),
      },
    ];
  };
}

describe('incremental pull', () => {
  it('reads > 10,000 changes without hitting the search cap or skipping a record, even with ties and records modified mid-run', async () => {
    const data = new Map<number, FakeRecord>();
    const base = T.getTime() - 10 * 86_400_000;
    let id = 1;
    for (let i = 0; i < 12_000; i++, id++) data.set(id, { id, ms: base + Math.floor(i / 3) * 1000 }); // groups of 3 ties
    for (let i = 0; i < 450; i++, id++) data.set(id, { id, ms: base + 5_000_000 }); // 450 at one instant (> a page)
    const all = new Set(data.keys());
    const calls = { n: 0 };
    const touched: number[] = [];
    // Mid-run, records are modified again (their stamp jumps past the run's upper bound).
    const touch = (n: number): void => {
      if (n !== 20) return;
      for (const rid of [5, 6000, 11_000, 12_100]) {
        const r = data.get(rid);
        if (r !== undefined) r.ms = T.getTime() + 30 * 60_000;
        touched.push(rid);
      }
    };
    const h = harness();
    const scope = nock(BASE)
      .post('/crm/v3/objects/contacts/search')
      .reply(fakeSearch(data, calls, touch))
      .persist();
    const seen = new Set<string>();
    let cursor: JsonValue | null = { v: 1, phase: 'idle', bookmark: base - 1 + 300_000 };
    for (const page of await collect(
      h.connector.pull('contacts', { fields: [], links: [], mode: 'incremental', cursor, runStartedAt: T }),
    )) {
      for (const r of page.records) seen.add(r.id);
      cursor = page.cursor;
    }
    expect(cursor).toEqual({ v: 1, phase: 'idle', bookmark: T.getTime() - 120_000 });
    const firstRunCalls = calls.n;
    // Next run (an hour later) picks up what was modified during the first.
    const T2 = new Date(T.getTime() + 3_600_000);
    for (const page of await collect(
      h.connector.pull('contacts', { fields: [], links: [], mode: 'incremental', cursor, runStartedAt: T2 }),
    )) {
      for (const r of page.records) seen.add(r.id);
    }
    scope.done();
    expect([...all].filter((x) => !seen.has(String(x)))).toEqual([]);
    expect(touched.length).toBe(4);
    // Keyset paging costs about one search call per 200 records (plus the tie drain).
    expect(firstRunCalls).toBeLessThan(Math.ceil(12_450 / 200) * 1.2 + 5);
    expect(h.connector.counts.search).toBe(calls.n);
    expect(h.limiter.takes.filter((b) => b === 'search').length).toBe(calls.n);
  });

  it('re-reads the overlap window, reads up to now, and never bookmarks past the run start minus the margin', async () => {
    const h = harness();
    const bookmark = T.getTime() - 3_600_000;
    const scope = nock(BASE)
      .post(
        '/crm/v3/objects/companies/search',
        (body: { filterGroups: { filters: { operator: string; value: string }[] }[] }) => {
          const f = body.filterGroups[0]?.filters ?? [];
          return (
            f[0]?.operator === 'GTE' &&
            f[0].value === String(bookmark - 300_000) &&
            // no upper bound: a change made just now is read in this run
            f.length === 1
          );
        },
      )
      .reply(200, { total: 1, results: [obj('4', bookmark + 10, { name: 'Acme' })] });
    const pages = await collect(
      h.connector.pull('companies', {
        fields: ['name'],
        links: [],
        mode: 'incremental',
        cursor: { v: 1, phase: 'idle', bookmark },
        runStartedAt: T,
      }),
    );
    scope.done();
    expect(pages.flatMap((p) => p.records).map((r) => r.fields.name)).toEqual(['Acme']);
    expect(pages.at(-1)?.cursor).toEqual({ v: 1, phase: 'idle', bookmark: T.getTime() - 120_000 });
  });

  it('rejects a corrupt cursor with a clear code', async () => {
    const h = harness();
    await expect(
      collect(
        h.connector.pull('contacts', {
          fields: [],
          links: [],
          mode: 'incremental',
          cursor: { phase: 'nope' },
          runStartedAt: T,
        }),
      ),
    ).rejects.toMatchObject({ code: 'ERR_HUBSPOT_CURSOR_INVALID' });
  });
});
