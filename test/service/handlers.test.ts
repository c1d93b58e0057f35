/** Webhook events for fields we own are our own writes echoing back: not work (no write-back loop). */
import { describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../../connectors/contract.js';
import { eventsThatAreWork, ownedFieldNames } from '../../src/service/handlers.js';
import { loadMapping } from '../../src/sync/mapping.js';

const at = new Date('2026-01-01T00:00:00Z');
const event = (e: Partial<ChangeEvent>): ChangeEvent => ({
  accountId: '1',
  object: 'contacts',
  kind: 'changed',
  ids: ['10'],
  occurredAt: at,
  ...e,
});

describe('eventsThatAreWork', () => {
  const mapping = loadMapping('hubspot');
  const owned = [...ownedFieldNames(mapping, 'contacts')];

  it('knows the owned fields of an object from the mapping', () => {
    expect(owned.length).toBeGreaterThan(5);
    expect(ownedFieldNames(mapping, 'no-such-object').size).toBe(0);
  });

  it('drops changes of owned fields and keeps input changes, creations, deletions and merges', () => {
    const echo = event({ field: owned[0]! });
    const input = event({ field: 'nps_score' });
    const created = event({ kind: 'created', field: owned[0]! });
    const deleted = event({ kind: 'deleted' });
    const merged = event({ kind: 'merged', mergedInto: '11' });
    const noField = event({});
    expect(eventsThatAreWork(mapping, [echo, input, created, deleted, merged, noField])).toEqual([
      input,
      created,
      deleted,
      merged,
      noField,
    ]);
  });

  it('only drops an owned field name on the object that owns it', () => {
    const sameNameElsewhere = event({ object: 'tickets', field: owned[0]! });
    expect(eventsThatAreWork(mapping, [sameNameElsewhere])).toEqual([sameNameElsewhere]);
  });
});
