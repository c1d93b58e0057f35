/** A generated canonical account put into a snapshot cache the way the pull leaves it. */
import type {
  Company,
  Deal,
  EngineSnapshot,
  GeneratedAccount,
  Owner,
  Person,
  Ticket,
} from '../../src/engine/index.js';
import { decodeSnapshot, encodeSnapshot } from '../../src/store/snapshot-cache.js';
import type { SnapshotCache } from '../../src/store/snapshot-cache.js';
import { ASK_HISTORY_OBJECT } from '../../src/sync/compute.js';

/**
 * HubSpot object names. `asks`: the generator puts people's earlier asks on the records; the
 * pipeline's records carry none (`history`: moved to the ask-history table, as push leaves them;
 * `drop`: forgotten; `in-records`: left as generated, for comparisons with `runEngine`).
 */
export async function cacheAccount(
  snapshots: SnapshotCache,
  tenantId: string,
  account: GeneratedAccount,
  asks: 'history' | 'drop' | 'in-records',
): Promise<void> {
  if (asks === 'history') {
    await snapshots.put(
      tenantId,
      ASK_HISTORY_OBJECT,
      account.people.flatMap((p) =>
        p.asks === undefined ? [] : [{ id: p.id, json: JSON.stringify(p.asks.map((d) => d.getTime())) }],
      ),
    );
  }
  if (asks !== 'in-records') for (const p of account.people) delete p.asks;
  const objects: [string, readonly { id: string }[]][] = [
    ['contacts', account.people],
    ['companies', account.companies],
    ['deals', account.deals],
    ['tickets', account.tickets],
    ['owners', account.owners],
  ];
  for (const [object, records] of objects) {
    for (let i = 0; i < records.length; i += 2000) {
      await snapshots.put(
        tenantId,
        object,
        records.slice(i, i + 2000).map((r) => ({ id: r.id, json: encodeSnapshot(r) })),
      );
    }
  }
}

/** Every cached record of one object, decoded, in the cache's scan order. */
export async function scanned<T>(cache: SnapshotCache, tenant: string, object: string): Promise<T[]> {
  const out: T[] = [];
  for await (const batch of cache.scan(tenant, object))
    for (const e of batch) out.push(decodeSnapshot<T>(e.json));
  return out;
}

/** The cached (HubSpot-named) account loaded whole, in scan order: what `runEngine` compares with. */
export async function cachedAccount(cache: SnapshotCache, tenant: string): Promise<EngineSnapshot> {
  return {
    people: await scanned<Person>(cache, tenant, 'contacts'),
    companies: await scanned<Company>(cache, tenant, 'companies'),
    deals: await scanned<Deal>(cache, tenant, 'deals'),
    tickets: await scanned<Ticket>(cache, tenant, 'tickets'),
    owners: await scanned<Owner>(cache, tenant, 'owners'),
  };
}
