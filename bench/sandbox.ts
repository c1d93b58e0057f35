/**
 * Sandbox throughput: the emulators must not be the bottleneck of the end-to-end tests and the
 * sync benchmarks (issue 3 target: ≥ 5,000 simple requests/s with limits off).
 *
 * Both emulators run on loopback in this process; the load comes from a worker thread (so client
 * and servers each get a core of this 2-core machine, as a separate client would): keep-alive TCP
 * connections, one request in flight on each, many connections. No extra dependency: autocannon
 * does the same, and a dozen lines of HTTP/1.1 framing keep the client cheaper than node's http
 * client, which matters when client and servers share two cores. Each emulator gets a 1 s warm-up,
 * then a fixed measured duration of authenticated GET-by-id calls:
 *   HubSpot    GET /crm/v3/objects/contacts/{id}              (private-app token)
 *   Salesforce GET /services/data/v62.0/sobjects/Contact/{id}  (session from issueTokens)
 * Then, in a child process (clean heap), the seed generator at 1M contacts: time and retained heap.
 *
 * Options: --duration=<s per emulator, 5> --concurrency=<in flight, 64> --contacts=<seeded, 10000>
 *          --seed-contacts=<1000000; 0 skips> --only=hubspot|salesforce (profiling one emulator)
 * Prints a table, then {"bench":"sandbox","requestsPerSecond":<lower of the two>,...}.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import Table from 'cli-table3';
import { startSandboxes } from '../src/sandbox/index.js';
import { generateSeedAccount } from '../src/sandbox/seed/generate.js';

function arg(name: string, fallback: number): number {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  const value = hit === undefined ? fallback : Number(hit.slice(name.length + 3));
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number`);
  return value;
}

interface LoadResult {
  /** CPU seconds the server thread (this process's main thread) spent during the run. */
  serverCpuSeconds?: number;
  ok: number;
  errors: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  firstError?: string;
}

/**
 * The load generator, as plain CommonJS so the worker needs no TypeScript loader. Each of
 * `concurrency` keep-alive TCP connections sends one GET, reads the whole response (status line,
 * Content-Length or chunked body), then sends the next: what a keep-alive HTTP client does, minus
 * node's http client machinery, so the client spends as little as possible of the shared CPU.
 */
const LOAD_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const { url, paths, token, durationMs, concurrency } = workerData;
const target = new URL(url);
const requests = paths.map((p) => Buffer.from('GET ' + p + ' HTTP/1.1\\r\\nHost: ' + target.host +
  '\\r\\nAuthorization: Bearer ' + token + '\\r\\nAccept: application/json\\r\\nConnection: keep-alive\\r\\n\\r\\n'));
const latencies = new Float64Array(1 << 21);
let ok = 0, errors = 0, next = 0, open = 0, firstError;
const started = performance.now();
const end = started + durationMs;
const HEADER_END = Buffer.from('\\r\\n\\r\\n');
const CHUNKED_END = Buffer.from('0\\r\\n\\r\\n');
function connection() {
  open++;
  const socket = net.connect({ host: target.hostname, port: Number(target.port), noDelay: true });
  let buffer = Buffer.alloc(0), t0 = 0, path = '';
  const send = () => {
    if (performance.now() >= end) { socket.end(); return; }
    const i = next++ % requests.length;
    path = paths[i];
    t0 = performance.now();
    socket.write(requests[i]);
  };
  socket.on('connect', send);
  socket.on('data', (chunk) => {
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    for (;;) {
      const headEnd = buffer.indexOf(HEADER_END);
      if (headEnd < 0) return;
      const head = buffer.toString('latin1', 0, headEnd);
      const status = Number(head.slice(9, 12));
      const length = /\\r\\ncontent-length: *(\\d+)/i.exec(head);
      let total;
      if (length !== null) total = headEnd + 4 + Number(length[1]);
      else {
        const chunkEnd = buffer.indexOf(CHUNKED_END, headEnd + 4);
        if (chunkEnd < 0) return;
        total = chunkEnd + CHUNKED_END.length;
      }
      if (buffer.length < total) return;
      buffer = buffer.subarray(total);
      if (status === 200) ok++;
      else { errors++; firstError ??= 'HTTP ' + status + ' ' + path; }
      latencies[(ok + errors) & (latencies.length - 1)] = performance.now() - t0;
      send();
    }
  });
  socket.on('error', (e) => { errors++; firstError ??= String(e); });
  socket.on('close', () => { if (--open === 0) finish(); });
}
function finish() {
  const seconds = (performance.now() - started) / 1000;
  const n = Math.min(ok + errors, latencies.length);
  const sorted = latencies.subarray(0, n).sort();
  const pct = (p) => (n === 0 ? 0 : sorted[Math.min(n - 1, Math.floor(p * n))]);
  parentPort.postMessage({ ok, errors, seconds, rps: ok / seconds, p50Ms: pct(0.5), p99Ms: pct(0.99), firstError });
}
for (let i = 0; i < concurrency; i++) connection();
`;

/**
 * CPU seconds used so far by the main thread, which runs both emulators (Linux /proc: utime and
 * stime of the thread whose tid is the pid, in clock ticks of 1/100 s). The machine is shared, so
 * wall-clock req/s depends on the neighbours; req per server-CPU-second does not.
 */
function serverCpuSeconds(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

async function drive(url: string, paths: string[], token: string, durationMs: number, concurrency: number) {
  const cpuBefore = serverCpuSeconds();
  const result = await load(url, paths, token, durationMs, concurrency);
  const cpuAfter = serverCpuSeconds();
  if (cpuBefore !== undefined && cpuAfter !== undefined) result.serverCpuSeconds = cpuAfter - cpuBefore;
  return result;
}

function load(url: string, paths: string[], token: string, durationMs: number, concurrency: number) {
  return new Promise<LoadResult>((resolve, reject) => {
    const worker = new Worker(LOAD_WORKER, {
      eval: true,
      workerData: { url, paths, token, durationMs, concurrency },
    });
    worker.once('message', (m: LoadResult) => {
      void worker.terminate();
      resolve(m);
    });
    worker.once('error', reject);
  });
}

/** Child mode: generate one big account and report time and retained heap (needs --expose-gc). */
function seedChild(contacts: number): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const account = generateSeedAccount({ seed: 1, contacts });
  const ms = performance.now() - t0;
  gc?.();
  const heapMB = (process.memoryUsage().heapUsed - before) / 1e6;
  const out = {
    ms: Math.round(ms),
    heapMB: Math.round(heapMB),
    people: account.people.length,
    deals: account.deals.length,
  };
  console.log(JSON.stringify(out));
}

async function main(): Promise<void> {
  const seedOnly = process.argv.find((a) => a.startsWith('--seed-child='));
  if (seedOnly !== undefined) return seedChild(Number(seedOnly.slice('--seed-child='.length)));

  const durationMs = arg('duration', 5) * 1000;
  const concurrency = arg('concurrency', 64);
  const contacts = arg('contacts', 10_000);
  const seedContacts = arg('seed-contacts', 1_000_000);
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);

  const running = await startSandboxes({
    seed: 1,
    contacts,
    hubspot: { limits: { enabled: false } },
    salesforce: { limitsEnabled: false, dailyApiLimit: Number.MAX_SAFE_INTEGER },
  });
  const contactIds = running.account.people.filter((p) => p.kind === 'contact').slice(0, 2_000);
  const hubspotPaths = contactIds.flatMap((p) => {
    const id = running.hubspot.ids.people.get(p.id);
    return id === undefined ? [] : [`/crm/v3/objects/contacts/${id}`];
  });
  const salesforcePaths = contactIds.flatMap((p) => {
    const id = running.salesforce.ids.people.get(p.id);
    return id === undefined ? [] : [`/services/data/v62.0/sobjects/Contact/${id}`];
  });

  const skipped = (): LoadResult => ({ ok: 0, errors: 0, seconds: 0, rps: 0, p50Ms: 0, p99Ms: 0 });
  const results: Record<'hubspot' | 'salesforce', LoadResult> = { hubspot: skipped(), salesforce: skipped() };
  try {
    for (const [name, url, paths, token] of [
      ['hubspot', running.hubspot.url, hubspotPaths, running.hubspot.credentials.privateAppToken],
      ['salesforce', running.salesforce.url, salesforcePaths, running.salesforce.credentials.accessToken],
    ] as const) {
      if (only !== undefined && only !== name) continue;
      await drive(url, paths, token, 1_000, concurrency); // warm-up: JIT, sockets
      results[name] = await drive(url, paths, token, durationMs, concurrency);
    }
  } finally {
    await running.close();
  }

  let seed: { ms: number; heapMB: number } | undefined;
  if (seedContacts > 0) {
    const self = fileURLToPath(import.meta.url);
    const out = execFileSync(
      process.execPath,
      ['--expose-gc', '--max-old-space-size=2048', '--import', 'tsx', self, `--seed-child=${seedContacts}`],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    seed = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { ms: number; heapMB: number };
  }

  const perCpu = (r: LoadResult): number | undefined =>
    r.serverCpuSeconds === undefined || r.serverCpuSeconds === 0
      ? undefined
      : Math.round(r.ok / r.serverCpuSeconds);
  const table = new Table({
    head: [
      'emulator',
      'requests ok',
      'errors',
      'seconds',
      'req/s',
      'p50 ms',
      'p99 ms',
      'server CPU s',
      'req/server-CPU-s',
    ],
  });
  for (const [name, r] of Object.entries(results)) {
    if (r.seconds === 0) continue; // skipped with --only
    table.push([
      name,
      r.ok,
      r.errors,
      r.seconds.toFixed(1),
      Math.round(r.rps),
      r.p50Ms.toFixed(2),
      r.p99Ms.toFixed(2),
      r.serverCpuSeconds?.toFixed(2) ?? 'n/a',
      perCpu(r) ?? 'n/a',
    ]);
  }
  console.log(
    `sandbox throughput, limits off, ${concurrency} in flight, keep-alive, ${contacts} seeded contacts`,
  );
  console.log(table.toString());
  for (const [name, r] of Object.entries(results))
    if (r.firstError !== undefined) console.log(`${name} first error: ${r.firstError}`);
  if (seed !== undefined)
    console.log(
      `seed generator: ${seedContacts} contacts in ${(seed.ms / 1000).toFixed(1)} s, ${seed.heapMB} MB retained heap`,
    );

  const hubspotRps = Math.round(results.hubspot.rps);
  const salesforceRps = Math.round(results.salesforce.rps);
  console.log(
    JSON.stringify({
      bench: 'sandbox',
      requestsPerSecond: Math.min(hubspotRps, salesforceRps),
      hubspotRps,
      salesforceRps,
      hubspotP99Ms: Number(results.hubspot.p99Ms.toFixed(2)),
      salesforceP99Ms: Number(results.salesforce.p99Ms.toFixed(2)),
      hubspotPerServerCpuSecond: perCpu(results.hubspot) ?? null,
      salesforcePerServerCpuSecond: perCpu(results.salesforce) ?? null,
      loadAverage1m: Number(loadavg()[0]?.toFixed(2)),
      errors: results.hubspot.errors + results.salesforce.errors,
      ...(seed === undefined ? {} : { seedContacts, seedMs: seed.ms, seedHeapMB: seed.heapMB }),
    }),
  );
  if (results.hubspot.errors + results.salesforce.errors > 0) process.exitCode = 1;
}

await main();
