/**
 * Associations of a page of records, read with the v4 batch endpoint: one call per (page, linked
 * object) for up to 1,000 ids (API_FACTS §Associations v4), never one call per record. A record
 * with more associations than one answer holds comes back with `paging.next.after`; those are
 * asked again with `after` until complete.
 */
import { chunk } from '../shared/batch.js';
import type { HubSpotFacts } from './facts.js';
import type { HubSpotHttp } from './http.js';
import { AssociationBatchSchema, parseWire } from './wire.js';

export async function readLinks(
  http: HubSpotHttp,
  facts: HubSpotFacts,
  from: string,
  to: string,
  ids: readonly string[],
  signal?: AbortSignal,
): Promise<Map<string, string[]>> {
  const out = new Map<string, Set<string>>();
  let pending: { id: string; after?: string }[] = ids.map((id) => ({ id }));
  while (pending.length > 0) {
    const next: { id: string; after: string }[] = [];
    for (const inputs of chunk(pending, facts.batch.associationReadInputs)) {
      const raw = await http.call(
        'associations',
        `associations ${from}→${to}`,
        (c, o) => c.crm.associations.v4.batchApi.getPage(from, to, { inputs }, o),
        signal,
      );
      const page = parseWire(AssociationBatchSchema, raw, `associations ${from}→${to}`);
      for (const result of page.results) {
        const fromId = result._from?.id ?? result.from?.id;
        if (fromId === undefined) continue;
        let set = out.get(fromId);
        if (set === undefined) out.set(fromId, (set = new Set()));
        for (const t of result.to) set.add(String(t.toObjectId));
        const after = result.paging?.next?.after;
        if (after !== undefined) next.push({ id: fromId, after });
      }
      // 207 entries for ids without associations ("NO_ASSOCIATIONS_FOUND") mean: none.
    }
    pending = next;
  }
  return new Map([...out].map(([k, v]) => [k, [...v]]));
}
