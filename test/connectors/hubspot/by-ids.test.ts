/** Reads by id (webhooks): batch read ≤ 100 ids per call, not-found ids left out, other errors throw. */
import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ERR_HUBSPOT_BATCH_READ } from '../../../connectors/hubspot/by-ids.js';
import { BASE, collect, harness, obj } from './helpers.js';

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());

const ids = (from: number, n: number): string[] => Array.from({ length: n }, (_, i) => String(from + i));

describe('pullByIds', () => {
  it('reads 150 ids in two batch calls with the pull properties; not-found ids are absent', async () => {
    const h = harness();
    const wanted = ids(1, 150);
    const scope = nock(BASE)
      .post(
        '/crm/v3/objects/contacts/batch/read',
        (b: { inputs: { id: string }[]; properties: string[] }) => {
          return (
            b.inputs.length === 100 &&
            b.inputs[0]?.id === '1' &&
            b.properties.includes('email') &&
            b.properties.includes('hs_lastmodifieddate')
          );
        },
      )
      .query({ archived: 'false' })
      .reply(207, {
        status: 'COMPLETE',
        results: ids(1, 99).map((id) => obj(id, 1000, { email: `${id}@x.io` })),
        numErrors: 1,
        errors: [
          { status: 'error', category: 'OBJECT_NOT_FOUND', message: 'gone', context: { ids: ['100'] } },
        ],
        startedAt: '2026-11-23T10:00:00Z',
        completedAt: '2026-11-23T10:00:00Z',
      })
      .post(
        '/crm/v3/objects/contacts/batch/read',
        (b: { inputs: { id: string }[] }) => b.inputs.length === 50,
      )
      .query({ archived: 'false' })
      .reply(200, {
        status: 'COMPLETE',
        results: ids(101, 50).map((id) => obj(id, 2000)),
        startedAt: '2026-11-23T10:00:00Z',
        completedAt: '2026-11-23T10:00:00Z',
      });
    const pages = await collect(h.connector.pullByIds!('contacts', wanted, { fields: ['email'], links: [] }));
    scope.done();
    expect(pages).toHaveLength(2);
    const got = pages.flatMap((p) => p.records.map((r) => r.id));
    expect(got).toHaveLength(149);
    expect(got).not.toContain('100');
    expect(pages[0]!.records[0]).toMatchObject({ id: '1', deleted: false, fields: { email: '1@x.io' } });
    expect(h.limiter.takes).toEqual(['default', 'default']);
    expect(h.connector.counts.search).toBe(0);
  });

  it('a whole batch answered 404 means every id is gone; other batch errors throw', async () => {
    const h = harness();
    nock(BASE)
      .post('/crm/v3/objects/deals/batch/read')
      .query(true)
      .reply(404, { status: 'error', category: 'OBJECT_NOT_FOUND', message: 'not found' });
    const none = await collect(h.connector.pullByIds!('deals', ['7'], { fields: ['amount'], links: [] }));
    expect(none.flatMap((p) => p.records)).toEqual([]);

    nock(BASE)
      .post('/crm/v3/objects/deals/batch/read')
      .query(true)
      .reply(207, {
        status: 'COMPLETE',
        results: [],
        errors: [{ status: 'error', category: 'VALIDATION_ERROR', message: 'bad' }],
        startedAt: '2026-11-23T10:00:00Z',
        completedAt: '2026-11-23T10:00:00Z',
      });
    await expect(
      collect(h.connector.pullByIds!('deals', ['8'], { fields: ['amount'], links: [] })),
    ).rejects.toMatchObject({ code: ERR_HUBSPOT_BATCH_READ });
    await expect(
      collect(h.connector.pullByIds!('owners', ['1'], { fields: [], links: [] })),
    ).rejects.toMatchObject({ code: 'ERR_HUBSPOT_UNKNOWN_OBJECT' });
  });
});
