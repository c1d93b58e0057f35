import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TaskWrite } from '../../../connectors/contract.js';
import { taskMarker } from '../../../connectors/hubspot/tasks.js';
import { BASE, harness } from './helpers.js';

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());

interface CreateInput {
  properties: Record<string, string>;
  associations: { to: { id: string }; types: { associationCategory: string; associationTypeId: number }[] }[];
  objectWriteTraceId: string;
}

/** A tiny HubSpot tasks store: batch create (optionally "crashing" after committing), v4 reads, batch read. */
function fakePortal(options: { failAfterCommit?: number } = {}) {
  const tasks = new Map<string, { properties: Record<string, string>; contact?: string }>();
  let nextId = 500;
  let creates = 0;
  const scope = nock(BASE)
    .post('/crm/v3/objects/tasks/batch/create')
    .reply((_u, body) => {
      creates++;
      const results = (body as { inputs: CreateInput[] }).inputs.map((input) => {
        const id = String(nextId++);
        const contact = input.associations.find((a) => a.types[0]?.associationTypeId === 204)?.to.id;
        tasks.set(id, { properties: input.properties, ...(contact === undefined ? {} : { contact }) });
        return {
          id,
          properties: input.properties,
          createdAt: '2026-11-23T10:00:00Z',
          updatedAt: '2026-11-23T10:00:00Z',
          archived: false,
        };
      });
      if (options.failAfterCommit === creates) return [502, 'upstream went away'];
      return [201, { status: 'COMPLETE', results }];
    })
    .persist();
  const reconcileScope = nock(BASE)
    .post('/crm/v4/associations/contacts/tasks/batch/read')
    .reply((_u, body) => [
      200,
      {
        status: 'COMPLETE',
        results: (body as { inputs: { id: string }[] }).inputs.map(({ id }) => ({
          from: { id },
          to: [...tasks]
            .filter(([, t]) => t.contact === id)
            .map(([tid]) => ({ toObjectId: Number(tid), associationTypes: [] })),
        })),
      },
    ])
    .persist()
    .post('/crm/v3/objects/tasks/batch/read')
    .reply((_u, body) => [
      200,
      {
        status: 'COMPLETE',
        results: (body as { inputs: { id: string }[] }).inputs.map(({ id }) => ({
          id,
          properties: { hs_task_body: tasks.get(id)?.properties.hs_task_body ?? '' },
        })),
      },
    ])
    .persist();
  return { tasks, scope, reconcileScope, creates: () => creates };
}

function task(key: string, contact: string, extra: Partial<TaskWrite> = {}): TaskWrite {
  return {
    key,
    kind: 'ask',
    subject: `Ask ${contact} for a referral`,
    body: 'They scored 9 and just renewed.',
    dueAt: new Date('2026-11-25T09:00:00Z'),
    priority: 'high',
    ownerId: '77',
    person: { object: 'contacts', id: contact },
    ...extra,
  };
}

describe('pushTasks', () => {
  it('creates tasks in one batch with associations, owner and a key marker', async () => {
    const h = harness();
    const portal = fakePortal();
    const out = await h.connector.pushTasks([
      task('k1', '1', { deal: { object: 'deals', id: '40' } }),
      task('k2', '2'),
    ]);
    expect(portal.creates()).toBe(1);
    expect(out.map((o) => o.ok && o.created)).toEqual([true, true]);
    const created = [...portal.tasks.values()];
    expect(created[0]?.properties).toMatchObject({
      hubspot_owner_id: '77',
      hs_task_priority: 'HIGH',
      hs_task_status: 'NOT_STARTED',
      hs_timestamp: '2026-11-25T09:00:00.000Z',
    });
    expect(created[0]?.properties.hs_task_body).toContain(taskMarker('k1'));
    expect(created.map((t) => t.contact)).toEqual(['1', '2']);
    expect(h.connector.counts.search).toBe(0);
    portal.scope.done();
  });

  it('after a crash between the call and the checkpoint, the pending key finds its task and creates nothing', async () => {
    const portal = fakePortal();
    const first = await harness().connector.pushTasks([task('k1', '1'), task('k2', '2')]);
    // ... process dies before the ledger marks k1/k2 done; the next run retries them as pending.
    const h = harness();
    const again = await h.connector.pushTasks([
      task('k1', '1', { pendingSince: new Date('2026-11-23T10:00:00Z') }),
      task('k2', '2', { pendingSince: new Date('2026-11-23T10:00:00Z') }),
      task('k3', '1'),
    ]);
    expect(portal.tasks.size).toBe(3);
    portal.scope.done();
    portal.reconcileScope.done();
    expect(again.map((o) => (o.ok ? [o.created, o.taskId] : null))).toEqual([
      [false, first[0]?.ok ? first[0].taskId : 'x'],
      [false, first[1]?.ok ? first[1].taskId : 'x'],
      [true, '502'],
    ]);
  });

  it('a create call that fails after HubSpot committed is reconciled, not blindly retried', async () => {
    const portal = fakePortal({ failAfterCommit: 1 });
    const h = harness();
    const out = await h.connector.pushTasks([task('k1', '1'), task('k2', '2')]);
    expect(portal.creates()).toBe(1);
    expect(portal.tasks.size).toBe(2);
    expect(out.every((o) => o.ok)).toBe(true);
    portal.scope.done();
    portal.reconcileScope.done();
  });

  it('repeats of one key in a call become one task', async () => {
    const portal = fakePortal();
    const out = await harness().connector.pushTasks([task('k1', '1'), task('k1', '1')]);
    expect(portal.tasks.size).toBe(1);
    expect(out).toHaveLength(2);
    portal.scope.done();
  });
});
