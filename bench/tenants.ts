/**
 * 100 tenants syncing at once through the queue: 100 small sandbox HubSpot portals (each its own
 * server with its own rate limits), one backfill job each enqueued at the same instant, one worker
 * process on real Redis. Reports total throughput (records read ÷ wall time), fairness (max/min
 * completion time from enqueue), and the Redis memory the state of those tenants takes per 1,000
 * contacts (MEMORY USAGE summed over the store's keys).
 * `npx tsx bench/tenants.ts [tenants] [contactsEach] [concurrency]`
 */
import { randomBytes } from 'node:crypto';
import Table from 'cli-table3';
import { Redis } from 'ioredis';
import { privateAppTokenSet } from '../connectors/hubspot/index.js';
import { demoConfig } from '../src/config.js';
import type { AppConfig } from '../src/config.js';
import { createHubSpotSandbox, generateSeedAccount } from '../src/sandbox/index.js';
import { startWorkerService } from '../src/service/worker.js';
import { BullQueueProducer } from '../src/queue/producer.js';
import { QueueSet } from '../src/queue/queues.js';
import type { RedisStore } from '../src/store/redis-store.js';
import type { SyncSummary } from '../src/sync/run-sync.js';

const TENANTS = Number(process.argv[2] ?? 100);
const CONTACTS = Number(process.argv[3] ?? 100);
const CONCURRENCY = Number(process.argv[4] ?? 8);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const silent = { debug() {}, info() {}, warn() {}, error() {} };

const prefix = `bench-tn-${randomBytes(4).toString('hex')}`;
const base = demoConfig({ port: 0 });
const config: AppConfig = {
  ...base,
  redis: { url: REDIS_URL, prefix },
  hubspot: { oauth: { clientId: 'bench', clientSecret: 'bench-secret', appId: '1' } },
  salesforce: { loginUrl: base.salesforce.loginUrl, dailyBudgetShare: 0.2 },
  worker: { concurrency: CONCURRENCY, syncIntervalMinutes: 60, shutdownTimeoutMs: 5_000 },
};

const portals: { close(): Promise<void> }[] = [];
const redis = new Redis(REDIS_URL);
const done = new Map<string, { at: number; summary: SyncSummary }>();
const worker = await startWorkerService({
  config,
  logger: silent,
  concurrency: { backfill: CONCURRENCY, incremental: 1, webhook: 1, reevaluate: 1, provision: 1 },
  onRun: (tenantId, summary) => {
    if (summary.mode === 'full') done.set(tenantId, { at: performance.now(), summary });
  },
});
// The worker's context holds the store; a separate producer plays the server's part.
const store = worker.context.store as RedisStore;
const queues = new QueueSet({ redis: REDIS_URL, prefix: `${prefix}:q` });
const producer = new BullQueueProducer(queues);

try {
  const asOf = new Date(Date.UTC(2026, 0, 15));
  const tenantIds: string[] = [];
  for (let i = 0; i < TENANTS; i++) {
    const sandbox = createHubSpotSandbox({ privateAppTokens: [`pat-sandbox-bench-${i}`] });
    sandbox.state.recordWrites = false;
    sandbox.loadSeed(generateSeedAccount({ seed: 1000 + i, contacts: CONTACTS, asOf }), {
      portalId: 50_000 + i,
    });
    const server = await sandbox.listen(0, '127.0.0.1');
    portals.push(server);
    const tenant = await store.createTenant({
      crm: 'hubspot',
      accountId: String(50_000 + i),
      mode: 'private',
      config: { settings: { apiBaseUrl: server.url }, writeBack: 'on' },
    });
    await store.saveTokens(tenant.id, privateAppTokenSet(`pat-sandbox-bench-${i}`, String(50_000 + i)));
    tenantIds.push(tenant.id);
  }

  const t0 = performance.now();
  await Promise.all(tenantIds.map((id) => producer.enqueue('backfill', id, { reason: 'bench' })));
  const deadline = Date.now() + 20 * 60_000;
  while (done.size < TENANTS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const wall = (performance.now() - t0) / 1000;
  const completions = [...done.values()].map((d) => (d.at - t0) / 1000).sort((a, b) => a - b);
  const records = [...done.values()].reduce(
    (n, d) => n + Object.values(d.summary.pulled).reduce((m, c) => m + c.read, 0),
    0,
  );
  const contacts = [...done.values()].reduce((n, d) => n + (d.summary.pulled.contacts?.read ?? 0), 0);

  // Redis memory of the tenants' state (store + snapshot cache; queues excluded).
  let bytes = 0;
  let keys = 0;
  const byShape = new Map<string, number>();
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:s*`, 'COUNT', 1000);
    cursor = next;
    for (const key of batch) {
      const size = Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
      bytes += size;
      keys += 1;
      // Group by key shape (tenant ids and record ids masked) to show where the memory goes.
      let shape = key.slice(prefix.length);
      for (const id of tenantIds) shape = shape.replace(id, '{t}');
      shape = shape.replace(/[0-9]{2,}/g, '#');
      byShape.set(shape, (byShape.get(shape) ?? 0) + size);
    }
  } while (cursor !== '0');

  const min = completions[0] ?? NaN;
  const max = completions.at(-1) ?? NaN;
  const table = new Table({ head: ['figure', 'value'], style: { head: [], border: [] } });
  table.push(
    ['tenants (completed)', `${TENANTS} (${done.size})`],
    ['contacts per tenant', CONTACTS],
    ['worker concurrency (backfill)', CONCURRENCY],
    ['wall time (s)', wall.toFixed(1)],
    ['records read (all objects)', records],
    ['throughput (records/s)', (records / wall).toFixed(0)],
    [
      'completion min / median / max (s)',
      `${min.toFixed(1)} / ${(completions[Math.floor(completions.length / 2)] ?? NaN).toFixed(1)} / ${max.toFixed(1)}`,
    ],
    ['fairness (max ÷ min completion)', (max / min).toFixed(2)],
    ['Redis state: keys, bytes', `${keys}, ${bytes}`],
    ['Redis bytes per 1,000 contacts', ((bytes / contacts) * 1000).toFixed(0)],
  );
  console.log(table.toString());
  const shapes = new Table({ head: ['Redis key shape', 'bytes', 'share'], style: { head: [], border: [] } });
  for (const [shape, n] of [...byShape].sort((a, b) => b[1] - a[1]).slice(0, 10)) {
    shapes.push([shape, n, `${((n / bytes) * 100).toFixed(1)}%`]);
  }
  console.log(shapes.toString());
  console.log(
    JSON.stringify({
      bench: 'tenants',
      tenants: TENANTS,
      completed: done.size,
      recordsPerSecond: Math.round(records / wall),
      fairnessMaxMin: Number((max / min).toFixed(2)),
      redisBytesPer1000Contacts: Math.round((bytes / contacts) * 1000),
    }),
  );
} finally {
  await worker.close(5_000);
  await queues.close();
  await Promise.all(portals.map((p) => p.close()));
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (batch.length > 0) await redis.del(...batch);
  } while (cursor !== '0');
  await redis.quit();
}
