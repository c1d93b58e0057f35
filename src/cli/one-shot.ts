/** `sync`, `dry-run` and `provision`: one run against a portal/org (or the sandbox), then exit. */
import type { Logger } from '../../connectors/contract.js';
import { provisionTenant } from '../sync/provision.js';
import { runSync } from '../sync/run-sync.js';
import type { SyncMode, SyncSummary } from '../sync/run-sync.js';
import type { Out } from './output.js';
import {
  printProvision,
  printReportHeadline,
  printSamples,
  printSummary,
  printTasksByOwner,
  progressReporter,
} from './output.js';
import { openTarget, usage } from './target.js';
import type { TargetOptions } from './target.js';

export interface SyncCommandOptions extends TargetOptions {
  mode?: string;
  force?: boolean;
  provision?: boolean;
  json?: boolean;
}

function modeOf(value: string | undefined): SyncMode {
  const mode = value ?? 'full';
  if (mode !== 'full' && mode !== 'incremental' && mode !== 'recompute')
    throw usage(`--mode must be full, incremental or recompute (got "${mode}")`);
  return mode;
}

export async function syncCommand(
  o: SyncCommandOptions,
  dryRun: boolean,
  out: Out,
  logger: Logger,
): Promise<SyncSummary> {
  const mode = modeOf(o.mode);
  const target = await openTarget(o, logger);
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.once('SIGINT', onSignal);
  try {
    if (o.provision !== false && target.sandboxes !== null) {
      // A fresh sandbox has none of our fields: provision first (idempotent elsewhere too).
      printProvision(out, 'fields provisioned', await provisionTenant(await target.runtime()));
    }
    const reporter = progressReporter(out, dryRun ? 'dry run' : 'sync');
    let summary: SyncSummary;
    try {
      summary = await runSync(await target.runtime(), {
        mode,
        dryRun,
        signal: controller.signal,
        ...(o.force === true ? { force: true } : {}),
        onProgress: reporter.onProgress,
      });
    } finally {
      reporter.stop();
    }
    if (o.json === true) out.line(JSON.stringify(summary));
    else {
      printSummary(out, `${target.crm} ${target.tenantId}`, summary);
      printSamples(out, summary);
      printTasksByOwner(out, summary);
      printReportHeadline(out, summary.report);
    }
    return summary;
  } finally {
    process.off('SIGINT', onSignal);
    await target.close();
  }
}

export async function provisionCommand(o: TargetOptions, out: Out, logger: Logger): Promise<void> {
  const target = await openTarget(o, logger);
  try {
    printProvision(
      out,
      `${target.crm} ${target.tenantId}: fields`,
      await provisionTenant(await target.runtime()),
    );
  } finally {
    await target.close();
  }
}
