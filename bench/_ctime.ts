import { Redis } from 'ioredis';
import { hubspotDefinition } from '../connectors/hubspot/index.js';
import { DEFAULT_RULES, generateAccount } from '../src/engine/index.js';
import { MemoryStore, generateKeyRing } from '../src/store/index.js';
import { RedisSnapshotCache, encodeSnapshot } from '../src/store/snapshot-cache.js';
import { computePlan } from '../src/sync/compute.js';
import { loadMapping } from '../src/sync/mapping.js';
const redis = new Redis('redis://127.0.0.1:6379');
const N = Number(process.env.N ?? 200_000);
const NOW = new Date('2026-11-23T09:00:00.000Z');
const prefix = process.env.PREFIX ?? 'ctime-fixed';
const snapshots = new RedisSnapshotCache(redis, prefix);
if (process.env.FILL === '1') {
  const account = generateAccount({ seed: 42, people: N, deals: N / 4, referrals: N / 20, now: NOW });
  const OBJECTS = { people: 'contacts', companies: 'companies', deals: 'deals', tickets: 'tickets', owners: 'owners' };
  for (const [key, object] of Object.entries(OBJECTS)) {
    const records = (account as any)[key] as { id: string }[];
    for (let i = 0; i < records.length; i += 5000) await snapshots.put('bench', object, records.slice(i, i + 5000).map((r) => ({ id: r.id, json: encodeSnapshot(r) })));
  }
  redis.disconnect();
} else {
  const store = new MemoryStore({ keyRing: generateKeyRing().ring });
  await store.setFlag('bench', 'code-secret', Buffer.alloc(32, 3).toString('base64'), 86_400_000);
  let writes = 0;
  const t0 = performance.now();
  const plan = await computePlan({ tenantId: 'bench', store, snapshots, mapping: loadMapping('hubspot'), rules: DEFAULT_RULES, definition: hubspotDefinition({ clientId: 'c', clientSecret: 's' }) }, NOW, { onWrites: async (w) => void (writes += w.length) });
  console.log(process.execArgv.join(' '), 'compute s', ((performance.now() - t0) / 1000).toFixed(1), 'writes', writes + plan.heldWrites.length, 'rss', Math.round(process.resourceUsage().maxRSS / 1024), JSON.stringify(plan.engine.timingsMs));
  redis.disconnect();
}
