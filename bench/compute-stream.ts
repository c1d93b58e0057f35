/**
 * Streaming compute benchmark (issue 6: "a 1,000,000-contact account never sits whole in memory").
 *
 * Fills a real-Redis snapshot cache (random prefix, deleted afterwards) with a generated account,
 * then runs the compute step two ways, each in its own child process so each peak RSS is its own:
 *   - stream: `computePlan` as the pipeline runs it — pages from the cache, writes handed on
 *     page by page (counted here, as a dry run does);
 *   - whole:  the account loaded whole from the same cache, then `runEngine` (the compute step as
 *     it was before it streamed), for comparison in the same run.
 * Both must plan the same number of writes and tasks. Prints a table, then one JSON line.
 *
 *   npx tsx bench/compute-stream.ts            (env: COMPUTE_BENCH_PEOPLE=200000,
 *   COMPUTE_BENCH_STREAM_HEAP_MB=384, REDIS_URL; the size: COMPUTE_BENCH_PEOPLE=1000000)
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import Table from 'cli-table3';
import { Redis } from 'ioredis';
import { hubspotDefinition } from '../connectors/hubspot/index.js';
import { DEFAULT_RULES, generateAccount, runEngine } from '../src/engine/index.js';
import type { Company, Deal, Owner, Person, Ticket } from '../src/engine/index.js';
import { MemoryStore, generateKeyRing } from '../src/store/index.js';
import { RedisSnapshotCache, decodeSnapshot, encodeSnapshot } from '../src/store/snapshot-cache.js';
import { codeStream, computePlan } from '../src/sync/compute.js';
import { loadMapping } from '../src/sync/mapping.js';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const PEOPLE = Number(process.env['COMPUTE_BENCH_PEOPLE'] ?? 200_000);
/** Old-space limit of the streaming child (MB): the compute must fit in it. */
const STREAM_HEAP_MB = Number(process.env['COMPUTE_BENCH_STREAM_HEAP_MB'] ?? 384);
const NOW = new Date('2026-11-23T09:00:00.000Z');
const TENANT = 'bench';
const SECRET = Buffer.alloc(32, 3);
const OBJECTS = {
  people: 'contacts',
  companies: 'companies',
  deals: 'deals',
  tickets: 'tickets',
  owners: 'owners',
};

interface ChildResult {
  mode: string;
  seconds: number;
  peakRssMb: number;
  writes: number;
  tasks: number;
  people: number;
}

const peakRssMb = (): number => Math.round(process.resourceUsage().maxRSS / 1024);

async function child(mode: string, prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  const snapshots = new RedisSnapshotCache(redis, prefix);
  const mapping = loadMapping('hubspot');
  const t0 = performance.now();
  let out: Omit<ChildResult, 'seconds' | 'peakRssMb'>;
  if (mode === 'stream') {
    const store = new MemoryStore({ keyRing: generateKeyRing().ring });
    await store.setFlag(TENANT, 'code-secret', SECRET.toString('base64'), 86_400_000);
    let writes = 0;
    const plan = await computePlan(
      {
        tenantId: TENANT,
        store,
        snapshots,
        mapping,
        rules: DEFAULT_RULES,
        definition: hubspotDefinition({ clientId: 'c', clientSecret: 's' }),
      },
      NOW,
      { onWrites: async (w) => void (writes += w.length) },
    );
    out = { mode, writes: writes + plan.heldWrites.length, tasks: plan.tasks.length, people: plan.people };
  } else {
    const load = async <T>(object: string): Promise<T[]> => {
      const list: T[] = [];
      for await (const batch of snapshots.scan(TENANT, object)) {
        for (const e of batch) list.push(decodeSnapshot<T>(e.json));
      }
      return list;
    };
    const account = {
      people: await load<Person>(OBJECTS.people),
      companies: await load<Company>(OBJECTS.companies),
      deals: await load<Deal>(OBJECTS.deals),
      tickets: await load<Ticket>(OBJECTS.tickets),
      owners: await load<Owner>(OBJECTS.owners),
    };
    let writes = 0;
    const result = runEngine(account, {
      now: NOW,
      rules: DEFAULT_RULES,
      random: codeStream(SECRET, 0).random,
      linkTemplate: mapping.referralLinkTemplate,
      onPlan: (_kind, plan) => {
        for (const _ in plan.changes) {
          writes++;
          break;
        }
      },
    });
    out = { mode, writes, tasks: result.tasks.length, people: result.counts.people };
  }
  const seconds = (performance.now() - t0) / 1000;
  redis.disconnect();
  console.log(JSON.stringify({ ...out, seconds, peakRssMb: peakRssMb() }));
}

function runChild(mode: string, prefix: string, heapMb: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      [
        `--max-old-space-size=${heapMb}`,
        '--import',
        'tsx',
        fileURLToPath(import.meta.url),
        `--child=${mode}`,
        `--prefix=${prefix}`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let stdout = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.on('error', reject);
    proc.on('exit', (code) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0) reject(new Error(`${mode} child exited ${code}: ${stdout}`));
      else resolve(JSON.parse(line) as ChildResult);
    });
  });
}

async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

async function main(): Promise<void> {
  const prefix = `bench-${randomBytes(6).toString('hex')}`;
  const redis = new Redis(REDIS_URL);
  try {
    const f0 = performance.now();
    const account = generateAccount({
      seed: 42,
      people: PEOPLE,
      deals: Math.round(PEOPLE / 4),
      referrals: Math.round(PEOPLE / 20),
      now: NOW,
    });
    const snapshots = new RedisSnapshotCache(redis, prefix);
    for (const [key, object] of Object.entries(OBJECTS)) {
      const records = account[key as keyof typeof OBJECTS] as readonly { id: string }[];
      for (let i = 0; i < records.length; i += 5000) {
        await snapshots.put(
          TENANT,
          object,
          records.slice(i, i + 5000).map((r) => ({ id: r.id, json: encodeSnapshot(r) })),
        );
      }
    }
    const fillSeconds = (performance.now() - f0) / 1000;
    // The streaming child gets a small heap on purpose: it must finish inside it (V8 otherwise
    // grows the heap lazily and peak RSS shows garbage, not what the compute holds).
    const stream = await runChild('stream', prefix, STREAM_HEAP_MB);
    const whole = await runChild('whole', prefix, 6144);
    if (stream.writes !== whole.writes || stream.tasks !== whole.tasks || stream.people !== whole.people) {
      throw new Error(`plans differ: stream ${JSON.stringify(stream)} vs whole ${JSON.stringify(whole)}`);
    }
    const table = new Table({
      head: ['compute step', 'heap limit (MB)', 'seconds', 'peak RSS (MB)', 'records written', 'tasks'],
    });
    for (const r of [stream, whole]) {
      table.push([
        r.mode === 'stream' ? 'streaming (pipeline)' : 'whole account loaded',
        r.mode === 'stream' ? STREAM_HEAP_MB : 6144,
        r.seconds.toFixed(1),
        r.peakRssMb,
        r.writes,
        r.tasks,
      ]);
    }
    console.log(
      `${PEOPLE.toLocaleString('en')} contacts in a Redis snapshot cache (filled in ${fillSeconds.toFixed(0)} s)`,
    );
    console.log(table.toString());
    const rssRatio = stream.peakRssMb / whole.peakRssMb;
    console.log(`streaming peak RSS is ${(rssRatio * 100).toFixed(0)}% of the whole-account load`);
    console.log(
      JSON.stringify({
        bench: 'compute-stream',
        people: PEOPLE,
        streamSeconds: Number(stream.seconds.toFixed(1)),
        streamPeakRssMb: stream.peakRssMb,
        streamHeapLimitMb: STREAM_HEAP_MB,
        wholeSeconds: Number(whole.seconds.toFixed(1)),
        wholePeakRssMb: whole.peakRssMb,
        rssRatio: Number(rssRatio.toFixed(3)),
        writes: stream.writes,
        tasks: stream.tasks,
      }),
    );
  } finally {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  }
}

const childArg = process.argv.find((a) => a.startsWith('--child='));
if (childArg !== undefined) {
  const prefix = process.argv.find((a) => a.startsWith('--prefix='))?.slice('--prefix='.length) ?? '';
  await child(childArg.slice('--child='.length), prefix);
} else {
  await main();
}
