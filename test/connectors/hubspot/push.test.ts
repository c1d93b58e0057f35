import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RecordUpdate } from '../../../connectors/contract.js';
import { BASE, ScriptedTokens, harness, revokedRefresh } from './helpers.js';

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());

function updates(n: number): RecordUpdate[] {
  return Array.from({ length: n }, (_, i) => ({
    object: 'contacts',
    id: String(i + 1),
    fields: { referral_ready: 'true', referral_readiness_score: 70 + (i % 30) },
  }));
}

interface UpdateBody {
  inputs: { id: string; objectWriteTraceId?: string; properties: Record<string, string> }[];
}

describe('pushUpdates', () => {
  it('sends batches of 100 with only the given values, as strings', async () => {
    const h = harness();
    const sizes: number[] = [];
    const scope = nock(BASE)
      .post('/crm/v3/objects/contacts/batch/update', (body: UpdateBody) => {
        sizes.push(body.inputs.length);
        return body.inputs.every(
          (i) =>
            Object.keys(i.properties).join() === 'referral_ready,referral_readiness_score' &&
            typeof i.properties.referral_readiness_score === 'string',
        );
      })
      .times(3)
      .reply(200, (_u, body) => ({
        status: 'COMPLETE',
        results: (body as UpdateBody).inputs.map((i) => ({ id: i.id, properties: {} })),
      }));
    const out = await h.connector.pushUpdates(updates(250));
    scope.done();
    expect(sizes).toEqual([100, 100, 50]);
    expect(out.filter((o) => o.ok)).toHaveLength(250);
    expect(h.connector.counts.write).toBe(3);
  });

  it('maps a 207 to per-record errors and keeps the rest', async () => {
    const h = harness();
    const scope = nock(BASE)
      .post('/crm/v3/objects/contacts/batch/update')
      .reply(207, {
        status: 'COMPLETE',
        numErrors: 2,
        results: [{ id: '1', properties: {} }],
        errors: [
          {
            status: 'error',
            category: 'VALIDATION_ERROR',
            message: 'Property values were not valid',
            errors: [{ message: 'bad', code: 'INVALID_INTEGER' }],
            context: { objectWriteTraceId: ['2'] },
          },
          { status: 'error', category: 'RATE_LIMITS', message: 'slow down', context: { ids: ['3'] } },
        ],
      });
    const out = await h.connector.pushUpdates(updates(3));
    scope.done();
    expect(out).toEqual([
      { object: 'contacts', id: '1', ok: true },
      {
        object: 'contacts',
        id: '2',
        ok: false,
        error: { code: 'INVALID_INTEGER', message: 'Property values were not valid', retryable: false },
      },
      {
        object: 'contacts',
        id: '3',
        ok: false,
        error: { code: 'RATE_LIMITS', message: 'slow down', retryable: true },
      },
    ]);
  });

  it('bisects a batch that fails as a whole with a 400 so good records are still written', async () => {
    const h = harness();
    const scope = nock(BASE)
      .post('/crm/v3/objects/contacts/batch/update')
      .times(5)
      .reply((_u, body) => {
        const inputs = (body as UpdateBody).inputs;
        if (inputs.some((i) => i.id === '3'))
          return [400, { status: 'error', category: 'VALIDATION_ERROR', message: 'bad id 3' }];
        return [200, { status: 'COMPLETE', results: inputs.map((i) => ({ id: i.id, properties: {} })) }];
      });
    const out = await h.connector.pushUpdates(updates(4));
    scope.done();
    expect(out.map((o) => [o.id, o.ok])).toEqual([
      ['1', true],
      ['2', true],
      ['3', false],
      ['4', true],
    ]);
  });

  it('stops the run when the portal revoked access', async () => {
    const h = harness({ tokens: new ScriptedTokens(undefined, revokedRefresh) });
    const scope = nock(BASE)
      .post('/crm/v3/objects/contacts/batch/update')
      .reply(401, { category: 'EXPIRED_AUTHENTICATION' });
    await expect(h.connector.pushUpdates(updates(2))).rejects.toMatchObject({ code: 'ERR_AUTH_REVOKED' });
    scope.done();
  });
});
