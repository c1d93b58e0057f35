/**
 * Owners (`GET /crm/v3/owners/`, 100 per page, then `archived=true` ones as inactive/deleted;
 * API_FACTS §Properties & owners). Owners have no modification search, and there are few of them:
 * every run re-lists them. Wire fields: email, firstName, lastName, plus `name` and `active`.
 */
import type { CrmRecord, PullPage } from '../contract.js';
import { cursorJson } from './cursor.js';
import type { PullCursor } from './cursor.js';
import type { HubSpotFacts } from './facts.js';
import type { HubSpotHttp } from './http.js';
import { OwnersPageSchema, instantIso, parseWire } from './wire.js';

export async function* pullOwners(
  http: HubSpotHttp,
  facts: HubSpotFacts,
  cursor: PullCursor | null,
  signal?: AbortSignal,
): AsyncGenerator<PullPage> {
  let state: PullCursor & { phase: 'owners' } =
    cursor?.phase === 'owners' ? cursor : { v: 1, phase: 'owners', archived: false, after: null };
  for (;;) {
    const archived: boolean = state.archived;
    const after: string | null = state.after;
    const raw: unknown = await http.call(
      'read',
      'owners',
      (c, o) =>
        c.crm.owners.ownersApi.getPage(undefined, after ?? undefined, facts.batch.listPageSize, archived, o),
      signal,
    );
    const page = parseWire(OwnersPageSchema, raw, 'owners');
    const records: CrmRecord[] = page.results.map((o) => {
      const name = [o.firstName, o.lastName].filter((s) => typeof s === 'string' && s !== '').join(' ');
      return {
        object: 'owners',
        id: o.id,
        fields: {
          email: o.email ?? null,
          firstName: o.firstName ?? null,
          lastName: o.lastName ?? null,
          name: name === '' ? null : name,
          active: archived || o.archived === true ? 'false' : 'true',
        },
        modifiedAt: instantIso(o.updatedAt) ?? new Date(0).toISOString(),
        deleted: archived || o.archived === true,
        links: {},
      };
    });
    const next: string | null = page.paging?.next?.after ?? null;
    if (next !== null) state = { ...state, after: next };
    else if (!archived) state = { v: 1, phase: 'owners', archived: true, after: null };
    else {
      yield { records, cursor: cursorJson({ v: 1, phase: 'idle', bookmark: 0 }) };
      return;
    }
    yield { records, cursor: cursorJson(state) };
  }
}
