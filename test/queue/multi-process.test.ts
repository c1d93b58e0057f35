import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { BullQueueProducer } from '../../src/queue/producer.js';
import { QueueSet } from '../../src/queue/queues.js';
import { dropPrefix, randomPrefix, REDIS_URL, waitFor } from './helpers.js';

// One prefix per test: bull's per-queue `stalled-check` key (PX stalledInterval) set by the first
// test's workers would otherwise delay the second test's stalled-job detection.
let prefix = randomPrefix();
const usedPrefixes = [prefix];
const children: ChildProcess[] = [];
let redis: Redis;
let queues: QueueSet;

function spawnWorker(env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/queue/fixtures/worker.ts'], {
    env: { ...process.env, PREFIX: prefix, REDIS_URL, BACKFILL_SLICES: '3', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  return child;
}

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  queues = new QueueSet({ redis: REDIS_URL, prefix });
});

afterAll(async () => {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGTERM');
        }),
    ),
  );
  await queues.close();
  await redis.quit();
  for (const p of usedPrefixes) await dropPrefix(p);
});

it('two worker processes on one prefix run every job exactly once and never a tenant twice at once', async () => {
  spawnWorker();
  spawnWorker();
  await waitFor(
    async () => (await redis.keys(`${prefix}:probe:ready:*`)).length === 2,
    'both workers ready',
    45_000,
  );

  const producer = new BullQueueProducer(queues);
  const tenants = ['t1', 't2', 't3', 't4', 't5', 't6'];
  for (const t of tenants) {
    await producer.enqueue('backfill', t); // 3 slices each (continuations)
    await producer.enqueue('provision', t);
    await producer.enqueue('incremental', t);
    for (const id of ['1', '2']) {
      await producer.enqueueWebhook(t, [
        { accountId: `acct-${t}`, object: 'contacts', kind: 'changed', ids: [id], occurredAt: new Date() },
      ]);
    }
  }
  const perTenant = 3 + 1 + 1 + 2;
  const expected = tenants.length * perTenant;
  const runsKey = `${prefix}:probe:runs`;
  await waitFor(async () => (await redis.llen(runsKey)) >= expected, `${expected} runs`, 60_000, 100);
  // Nothing more arrives afterwards (no duplicate run of a finished job).
  await new Promise((r) => setTimeout(r, 500));
  const depths = await producer.depths();
  const runs = (await redis.lrange(runsKey, 0, -1)).map(
    (r) => JSON.parse(r) as { jobId: string; tenantId: string; kind: string; pid: number },
  );

  expect(runs).toHaveLength(expected);
  expect(new Set(runs.map((r) => r.jobId)).size).toBe(expected); // each job ran exactly once
  for (const t of tenants) expect(runs.filter((r) => r.tenantId === t)).toHaveLength(perTenant);
  expect(await redis.lrange(`${prefix}:probe:violations`, 0, -1)).toEqual([]);
  expect(new Set(runs.map((r) => r.pid)).size).toBe(2); // both processes did work
  for (const d of Object.values(depths)) expect(d).toEqual({ waiting: 0, active: 0, delayed: 0, failed: 0 });
}, 120_000);

it('a killed worker frees its tenant: the job is re-run by another process after the lock TTL', async () => {
  const fast = { LOCK_DURATION_MS: '1000', STALLED_INTERVAL_MS: '500', TENANT_LOCK_TTL_MS: '1000' };
  for (const c of children.splice(0)) {
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });
  }
  await queues.close();
  prefix = randomPrefix();
  usedPrefixes.push(prefix);
  queues = new QueueSet({ redis: REDIS_URL, prefix });
  const runsKey = `${prefix}:probe:runs`;
  const doomed = spawnWorker({ ...fast, HANG: '1' });
  await waitFor(
    async () => (await redis.keys(`${prefix}:probe:ready:*`)).length === 1,
    'worker ready',
    45_000,
  );
  const producer = new BullQueueProducer(queues);
  const { jobId } = await producer.enqueue('provision', 'crashy');
  await waitFor(async () => (await redis.llen(runsKey)) === 1, 'doomed worker started the job', 20_000);
  doomed.kill('SIGKILL');

  spawnWorker(fast);
  await waitFor(async () => (await redis.llen(runsKey)) === 2, 'job re-run by the survivor', 45_000, 100);
  const runs = (await redis.lrange(runsKey, 0, -1)).map(
    (r) => JSON.parse(r) as { jobId: string; pid: number },
  );
  expect(runs.map((r) => r.jobId)).toEqual([jobId, jobId]);
  expect(runs[1]?.pid).not.toBe(runs[0]?.pid);
  await waitFor(async () => (await producer.depths()).provision.active === 0, 'job completed', 10_000);
  expect((await producer.depths()).provision.failed).toBe(0);
}, 120_000);
