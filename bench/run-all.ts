/**
 * `npm run bench`: every `bench/*.ts` except this one, one after another (they measure speed and
 * memory, so never in parallel), each in its own `node --import tsx` child with a 2 GB heap.
 * Their output streams through as it comes; at the end one summary table and the collected
 * `{"bench":...}` JSON lines. Exits non-zero if a benchmark exits non-zero or prints no JSON line.
 *
 * `npm run bench -- sandbox engine` runs only the benchmarks whose file name contains one of the
 * arguments.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Table from 'cli-table3';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const SELF = basename(fileURLToPath(import.meta.url));
const NODE_ARGS = ['--max-old-space-size=2048', '--import', 'tsx'];
/**
 * Defaults that keep the whole run under 15 minutes (the environment overrides them): the webhook
 * benchmark measures the by-id path only — its A/B against the old window search waits 8 minutes
 * for the overlap window and runs standalone (`npx tsx bench/webhook-latency.ts`).
 */
const QUICK_ENV: Record<string, Record<string, string>> = {
  'webhook-latency.ts': { WEBHOOK_BENCH_AB: '0' },
};

interface Outcome {
  name: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  seconds: number;
  json: Record<string, unknown>[];
}

function benchmarks(filters: string[]): string[] {
  return readdirSync(BENCH_DIR)
    .filter((f) => f.endsWith('.ts') && f !== SELF && !f.endsWith('.d.ts'))
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
    .sort();
}

/** A `{"bench":...}` line, or undefined for any other output. */
function benchJson(line: string): Record<string, unknown> | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{"bench"')) return undefined;
  try {
    const value: unknown = JSON.parse(trimmed);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function run(file: string): Promise<Outcome> {
  const name = file.replace(/\.ts$/, '');
  console.log(`\n=== bench/${file} ===`);
  const started = performance.now();
  const child = spawn(process.execPath, [...NODE_ARGS, join(BENCH_DIR, file)], {
    cwd: join(BENCH_DIR, '..'),
    env: { ...QUICK_ENV[file], ...process.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const json: Record<string, unknown>[] = [];
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    console.log(line);
    const parsed = benchJson(line);
    if (parsed !== undefined) json.push(parsed);
  });
  return new Promise((resolve) => {
    child.on('close', (exitCode, signal) => {
      resolve({ name, exitCode, signal, seconds: (performance.now() - started) / 1000, json });
    });
    child.on('error', (e) => {
      console.error(`bench/${file}: ${e.message}`);
      resolve({ name, exitCode: 1, signal: null, seconds: (performance.now() - started) / 1000, json });
    });
  });
}

/** The figures of a JSON line other than its name, short enough for a table cell. */
function figures(json: Record<string, unknown>[]): string {
  const parts = json.flatMap((j) =>
    Object.entries(j)
      .filter(([k, v]) => k !== 'bench' && (typeof v === 'number' || typeof v === 'boolean'))
      .map(([k, v]) => `${k}=${String(v)}`),
  );
  const text = parts.join(' ');
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}

async function main(): Promise<void> {
  const files = benchmarks(process.argv.slice(2));
  if (files.length === 0) {
    console.error('no benchmark matched');
    process.exitCode = 1;
    return;
  }
  const outcomes: Outcome[] = [];
  for (const file of files) outcomes.push(await run(file));

  const failed = (o: Outcome): boolean => o.exitCode !== 0 || o.json.length === 0;
  const table = new Table({ head: ['bench', 'status', 'seconds', 'figures'] });
  for (const o of outcomes) {
    const status =
      o.signal !== null
        ? `killed (${o.signal})`
        : o.exitCode !== 0
          ? `exit ${o.exitCode}`
          : o.json.length === 0
            ? 'no JSON line'
            : 'ok';
    table.push([o.name, status, o.seconds.toFixed(1), figures(o.json)]);
  }
  console.log('\n=== summary ===');
  console.log(table.toString());
  for (const o of outcomes) for (const j of o.json) console.log(JSON.stringify(j));
  if (outcomes.some(failed)) process.exitCode = 1;
}

await main();
