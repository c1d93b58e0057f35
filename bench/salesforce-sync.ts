/**
 * Full sync of a sandbox Salesforce org (10,000 and 200,000 contacts; leads, accounts,
 * opportunities and cases come with the seed) through the real jsforce, then a second sync.
 *
 *   readCallRatio     calls of the pull phase ÷ the minimum the batch sizes allow          ≤ 1.05
 *   writeCallRatio    calls of the push phase ÷ the minimum the batch sizes allow          ≤ 1.05
 *   dailyBudgetShare  calls of the whole first sync ÷ the org's daily API allowance
 *   resyncWriteCalls  write calls of the second sync                                      0
 *
 * Minimums (connectors/salesforce/facts.json): a REST query returns 2,000 rows per call; above the
 * bulk threshold (10,000) a Bulk 2.0 query job costs at least create + one status + one call per
 * 10,000-row results page. Writes, per object written: above the ingest threshold (2,000, SF's own
 * Bulk-vs-Composite line) one Bulk 2.0 update job per 100 MB of CSV (the job data limit is 150 MB
 * base64) at create + upload + UploadComplete + one status = 4 calls — failed/unprocessed results
 * are only needed when the status counts say there are any, and successful ones never (success is
 * every other uploaded row); the objects at or under the threshold share sObject Collections calls
 * of 200 records (mixed types allowed). Every HTTP request of the Bulk APIs counts against the daily
 * allowance (SF "Bulk API Limits": "Each HTTP request counts as one call"). Tasks: 200 per
 * Collections call. Calls are the sandbox's own counters (every authenticated /services call
 * counts, as in Salesforce).
 *
 * The minimum is per object over the whole sync; the pipeline hands the connector at most
 * PUSH_CHUNK (src/sync/push.ts) updates per call and a job cannot outlive the call (its outcomes
 * are the call's result), so an object with more writes than that costs one job per chunk it spans.
 * `npx tsx bench/salesforce-sync.ts [records...]`
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import Table from 'cli-table3';
import { csvRowBytes } from '../connectors/salesforce/bulk.js';
import { salesforceDefinition, SALESFORCE_FACTS } from '../connectors/salesforce/index.js';
import type { WireValue } from '../connectors/contract.js';
import { startSandboxes } from '../src/sandbox/index.js';
import { generateKeyRing, MemoryStore } from '../src/store/index.js';
import { MemorySnapshotCache } from '../src/store/snapshot-cache.js';
import { provisionTenant } from '../src/sync/provision.js';
import { runSync } from '../src/sync/run-sync.js';
import { tenantRuntime } from '../src/sync/tenant-runtime.js';

const SIZES = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [10_000, 200_000];
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const F = SALESFORCE_FACTS;

function minReadCalls(n: number): number {
  if (n > F.bulk.queryThreshold) return 2 + Math.max(1, Math.ceil(n / F.bulk.resultsPageSize));
  return Math.max(1, Math.ceil(n / F.query.batchSize));
}

/** `bytes`: upper bound of the object's upload, measured as the connector measures it. */
function minBulkCalls(bytes: number): number {
  return 4 * Math.max(1, Math.ceil(bytes / F.bulk.ingestMaxJobBytes));
}

async function bench(records: number): Promise<Record<string, number | string>> {
  const t0 = performance.now();
  const sandboxes = await startSandboxes({ seed: 9, contacts: records });
  const sf = sandboxes.salesforce;
  const state = sf.sandbox.state;
  const store = new MemoryStore({ keyRing: generateKeyRing().ring });
  const snapshots = new MemorySnapshotCache();
  const tenantId = 'bench-sf';
  await store.createTenant({
    id: tenantId,
    crm: 'salesforce',
    accountId: sf.credentials.orgId,
    mode: 'oauth',
    config: { writeBack: 'on' },
  });
  await store.saveTokens(tenantId, {
    accessToken: sf.credentials.accessToken,
    refreshToken: sf.credentials.refreshToken,
    instanceUrl: sf.credentials.instanceUrl,
    accountId: sf.credentials.orgId,
    userId: sf.credentials.userId,
  });
  const definitions = {
    salesforce: salesforceDefinition({
      clientId: sf.credentials.clientId,
      clientSecret: sf.credentials.clientSecret,
      loginUrl: sf.url,
      sandboxHost: new URL(sf.url).host,
    }),
  };
  const runtime = () => tenantRuntime({ store, snapshots, definitions, logger: silent }, tenantId);
  await provisionTenant(await runtime());
  const seeded = (performance.now() - t0) / 1000;

  const total0 = state.counters.total;
  const log0 = state.writes.length;
  let atCompute: { total: number; log: number; counters: Record<string, number> } | null = null;
  const counters0 = { ...state.counters } as Record<string, number>;
  const started = performance.now();
  const first = await runSync(await runtime(), {
    mode: 'full',
    onProgress: (p) => {
      if (p.phase === 'compute' && atCompute === null)
        atCompute = {
          total: state.counters.total,
          log: state.writes.length,
          counters: { ...state.counters } as Record<string, number>,
        };
    },
  });
  const elapsed = (performance.now() - started) / 1000;
  const mark = atCompute ?? {
    total: state.counters.total,
    log: state.writes.length,
    counters: { ...state.counters } as Record<string, number>,
  };
  const end = { ...state.counters } as Record<string, number>;
  const delta = (a: Record<string, number>, b: Record<string, number>): string =>
    Object.entries(b)
      .filter(([k, v]) => k !== 'total' && v - (a[k] ?? 0) > 0)
      .map(([k, v]) => `${k} ${v - (a[k] ?? 0)}`)
      .join(', ');
  const readCalls = mark.total - total0;
  const writeCalls = state.counters.total - mark.total;
  const firstCalls = state.counters.total - total0;

  // Opportunities reach people only through OpportunityContactRole (issue 5): reading the roles is
  // part of the minimum, at the same page size as any other query.
  const contactRoles = state.table('OpportunityContactRole')?.records.size ?? 0;
  const minReads =
    Object.values(first.pulled).reduce((n, c) => n + minReadCalls(c.read), 0) +
    (first.pulled.Opportunity === undefined ? 0 : minReadCalls(contactRoles));
  // Last written values per record, per object (what one upload would carry).
  const written = new Map<string, Map<string, Record<string, WireValue>>>();
  for (const w of state.writes.slice(Math.max(mark.log, log0))) {
    if (w.via === 'helper' || w.sobject === 'Task') continue;
    let rows = written.get(w.sobject);
    if (rows === undefined) written.set(w.sobject, (rows = new Map()));
    rows.set(w.id, { ...rows.get(w.id), ...(w.values as Record<string, WireValue>) });
  }
  let minWrites = 0;
  let minCollections = 0;
  let smallRecords = 0;
  let largestUpload = 0;
  for (const [, rows] of written) {
    minCollections += Math.ceil(rows.size / F.collections.maxRecords);
    if (rows.size <= F.bulk.ingestThreshold) {
      smallRecords += rows.size;
      continue;
    }
    let bytes = 0;
    for (const [id, fields] of rows) bytes += csvRowBytes({ id, fields });
    largestUpload = Math.max(largestUpload, bytes);
    minWrites += minBulkCalls(bytes);
  }
  minWrites += Math.ceil(smallRecords / F.collections.maxRecords);
  const tasksWritten = state.writes
    .slice(Math.max(mark.log, log0))
    .filter((w) => w.via !== 'helper' && w.sobject === 'Task').length;
  minWrites += Math.ceil(tasksWritten / F.collections.maxRecords);

  // Why records or tasks failed in the first sync (a failure is re-planned by the second sync).
  const firstErrors = new Map<string, number>();
  let errorSample = '';
  for (const e of await store.listErrors(tenantId, 100_000)) {
    const k = `${e.object}:${e.code}`;
    firstErrors.set(k, (firstErrors.get(k) ?? 0) + 1);
    if (errorSample === '') errorSample = `${k} ${e.message.slice(0, 160)}`;
  }

  const writeKinds = (c: typeof state.counters): number => c.collections + c.sobject + c.bulkIngestJobs;
  const writeCallsBeforeResync = writeKinds(state.counters);
  const beforeResync = state.counters.total;
  const logBeforeResync = state.writes.length;
  const second = await runSync(await runtime(), { mode: 'incremental' });
  const resyncWrites = state.writes.slice(logBeforeResync).filter((w) => w.via !== 'helper').length;
  const resyncCalls = state.counters.total - beforeResync;
  const resyncWriteCalls = writeKinds(state.counters) - writeCallsBeforeResync;
  const daily = sf.sandbox.config.dailyApiLimit;

  const table = new Table({
    head: [`${records} records`, 'value', 'target'],
    style: { head: [], border: [] },
  });
  table.push(
    ['sandbox seed + provision (s)', seeded.toFixed(1), ''],
    ['full sync (s)', elapsed.toFixed(1), ''],
    [
      'records read',
      Object.entries(first.pulled)
        .map(([o, c]) => `${o} ${c.read}`)
        .join(', '),
      '',
    ],
    ['read calls / minimum', `${readCalls} / ${minReads}`, ''],
    ['read call ratio', (readCalls / minReads).toFixed(3), '≤ 1.05'],
    [
      'records written',
      [...written].map(([o, rows]) => `${o} ${rows.size}`).join(', ') + `, Task ${tasksWritten}`,
      '',
    ],
    ['largest Bulk 2.0 upload (MB, limit 150 base64)', (largestUpload / 1e6).toFixed(1), ''],
    ['write calls / minimum', `${writeCalls} / ${minWrites}`, ''],
    ['write call ratio', minWrites === 0 ? '—' : (writeCalls / minWrites).toFixed(3), '≤ 1.05'],
    // If the push never reaches the bulk threshold in one call, Collections is what it used: this
    // ratio says whether the Collections calls themselves were full.
    [
      'write calls ÷ Collections-only minimum',
      minCollections === 0 ? '—' : (writeCalls / minCollections).toFixed(3),
      '',
    ],
    ['daily budget share', `${firstCalls} / ${daily} = ${(firstCalls / daily).toFixed(4)}`, '≤ 0.2 (cap)'],
    [
      'second sync: calls, write calls, records the CRM saw written',
      `${resyncCalls}, ${resyncWriteCalls}, ${resyncWrites}`,
      'writes 0',
    ],
    ['second sync: records written (pipeline)', second.push.recordsWritten, '0'],
    [
      'first sync: tasks planned / created, record errors',
      `${first.plan?.tasks ?? 0} / ${first.push.tasksCreated}, ${first.push.errors}`,
      '',
    ],
    [
      'second sync: computed, changed records pulled, tasks planned / created',
      `${second.computed}, ${Object.entries(second.pulled)
        .filter(([, c]) => c.changed > 0)
        .map(([o, c]) => `${o} ${c.changed}`)
        .join(', ')}, ${second.plan?.tasks ?? 0} / ${second.push.tasksCreated}`,
      'tasks 0',
    ],
  );
  console.log(table.toString());
  if (firstErrors.size > 0)
    console.log(
      `first sync errors: ${[...firstErrors].map(([k, n]) => `${k} ${n}`).join(', ')}; e.g. ${errorSample}`,
    );
  console.log(`pull-phase calls by kind: ${delta(counters0, mark.counters)}`);
  console.log(`push-phase calls by kind: ${delta(mark.counters, end)}`);
  await sandboxes.close();
  return {
    bench: 'salesforce-sync',
    records,
    readCallRatio: Number((readCalls / minReads).toFixed(3)),
    writeCallRatio: minWrites === 0 ? 0 : Number((writeCalls / minWrites).toFixed(3)),
    dailyBudgetShare: Number((firstCalls / daily).toFixed(4)),
    resyncWriteCalls,
  };
}

/**
 * The 200,000-record org, its snapshot and the sandbox holding the same org all live in this one
 * process: measured ~2.1 GB peak, over run-all's 2 GB heap. Large sizes run in a child with 6 GB.
 */
const BIG = 100_000;
const heapLimit = getHeapStatistics().heap_size_limit;
const results: Record<string, number | string>[] = [];
for (const size of SIZES) {
  if (size >= BIG && heapLimit < 5 * 1024 ** 3) {
    const child = spawnSync(
      process.execPath,
      ['--max-old-space-size=6144', '--import', 'tsx', fileURLToPath(import.meta.url), String(size)],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const lines = (child.stdout ?? '').split('\n');
    for (const line of lines) if (!line.startsWith('{"bench"')) console.log(line);
    const json = lines.find((l) => l.startsWith('{"bench"'));
    if (json === undefined) throw new Error(`the ${size}-record run failed (exit ${child.status})`);
    results.push(JSON.parse(json) as Record<string, number | string>);
  } else results.push(await bench(size));
}
// One JSON line per size (run-all collects every {"bench":...} line).
for (const r of results) console.log(JSON.stringify(r));
