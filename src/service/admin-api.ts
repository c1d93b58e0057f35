/**
 * The server's `AdminApi` port implemented with the pipeline: the dry-run preview is `runSync`
 * with `dryRun` in incremental mode (only changes are read from the CRM — a fresh tenant is backfilled
 * — and the plan is computed from the snapshot cache, so a preview on a large tenant stays quick) (it writes nothing and advances nothing a real run needs), the report is what the
 * last real run stored, fields and budget come from the tenant's connector.
 */
import type { JsonValue } from '../../connectors/contract.js';
import type { AdminApi } from '../server/deps.js';
import type { QueueProducer } from '../queue/producer.js';
import { parseRules } from '../engine/index.js';
import { runSync } from '../sync/run-sync.js';
import type { SyncSummary } from '../sync/run-sync.js';
import { tenantRuntime } from '../sync/tenant-runtime.js';
import type { RuntimeOptions } from '../sync/tenant-runtime.js';

function preview(s: SyncSummary, sample: number): JsonValue {
  const plan = s.plan === null ? null : { ...s.plan, samples: s.plan.samples.slice(0, sample) };
  return JSON.parse(JSON.stringify({ ...s, plan })) as JsonValue;
}

export function pipelineAdminApi(
  runtime: RuntimeOptions,
  queue: Pick<QueueProducer, 'enqueue'>,
): AdminApi & { budget(tenantId: string): Promise<JsonValue> } {
  return {
    async dryRun(tenantId, { sample }) {
      // Incremental dry run: reads only changes since the cursor (a fresh tenant is backfilled) and
      // plans from the snapshot cache, which holds the whole account, so the plan covers everyone.
      const summary = await runSync(await tenantRuntime(runtime, tenantId), {
        mode: 'incremental',
        dryRun: true,
      });
      return preview(summary, sample);
    },
    async report(tenantId) {
      const stored = await runtime.store.loadReport(tenantId);
      return stored === null ? null : (JSON.parse(JSON.stringify(stored)) as JsonValue);
    },
    async retryFailed(tenantId) {
      // Records with retryable errors are re-pulled by the next incremental run (store contract).
      const queued = await runtime.store.countErrors(tenantId);
      if (queued > 0) await queue.enqueue('incremental', tenantId, { reason: 'admin-retry' });
      return { queued };
    },
    async fields(tenantId, object) {
      const deps = await tenantRuntime(runtime, tenantId);
      return deps.connector.describeFields(object);
    },
    async previewRules(tenantId, rules, { sample }) {
      const deps = await tenantRuntime(runtime, tenantId);
      const summary = await runSync(
        { ...deps, rules: parseRules(rules) },
        { mode: 'incremental', dryRun: true },
      );
      return preview(summary, sample);
    },
    async budget(tenantId) {
      const deps = await tenantRuntime(runtime, tenantId);
      return JSON.parse(JSON.stringify(await deps.connector.budget())) as JsonValue;
    },
  };
}
