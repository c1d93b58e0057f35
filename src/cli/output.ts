/**
 * Terminal output of the CLI: a progress bar with counts and ETA for long syncs, and the summary
 * tables printed at the end of a run. Everything writes to an injected stream so tests capture it.
 */
import cliProgress from 'cli-progress';
import Table from 'cli-table3';
import type { ProvisionReport } from '../../connectors/contract.js';
import type { SyncProgress, SyncSummary } from '../sync/run-sync.js';

export interface Out {
  line(text?: string): void;
  /** True when a human watches (progress bars only then: CI logs stay readable). */
  interactive: boolean;
}

export function consoleOut(stream: NodeJS.WriteStream = process.stdout): Out {
  return { line: (text = '') => stream.write(`${text}\n`), interactive: stream.isTTY === true };
}

export function bufferOut(lines: string[] = []): Out & { lines: string[] } {
  return { lines, line: (text = '') => lines.push(text), interactive: false };
}

/**
 * A progress reporter for `runSync`'s `onProgress`: one bar per phase (pull counts records read so
 * far against the object's size when known; push counts records written), with ETA. Non-interactive
 * output gets one line per phase instead.
 */
export function progressReporter(
  out: Out,
  label: string,
): {
  onProgress: (p: SyncProgress) => void;
  stop: () => void;
} {
  let bar: cliProgress.SingleBar | null = null;
  let phase = '';
  const stop = (): void => {
    bar?.stop();
    bar = null;
  };
  const onProgress = (p: SyncProgress): void => {
    const key = `${p.phase}:${p.object ?? ''}`;
    if (key !== phase) {
      stop();
      phase = key;
      if (p.phase === 'done') return;
      const name = `${label} ${p.phase}${p.object === undefined ? '' : ` ${p.object}`}`;
      if (!out.interactive) {
        out.line(`  ${name}…`);
        return;
      }
      bar = new cliProgress.SingleBar(
        {
          format: `  ${name.padEnd(28)} {bar} {value}/{total} | ETA {eta_formatted} | {duration_formatted}`,
          hideCursor: true,
          clearOnComplete: false,
          etaBuffer: 20,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(p.total ?? Math.max(p.done, 1), p.done);
      return;
    }
    if (bar === null) return;
    if (p.total !== undefined) bar.setTotal(p.total);
    else if (p.done > bar.getTotal()) bar.setTotal(p.done);
    bar.update(p.done);
  };
  return { onProgress, stop };
}

function table(head: string[]): Table.Table {
  return new Table({ head, style: { head: [], border: [], compact: true } });
}

function sumFields(fieldChanges: Record<string, Record<string, number>>): Map<string, number> {
  const totals = new Map<string, number>();
  for (const perField of Object.values(fieldChanges)) {
    for (const [field, n] of Object.entries(perField)) totals.set(field, (totals.get(field) ?? 0) + n);
  }
  return totals;
}

/** The end-of-run summary: what was read, planned and written. */
export function printSummary(out: Out, title: string, s: SyncSummary): void {
  out.line(`\n${title}: ${s.dryRun ? 'dry run (nothing written)' : s.status}`);
  const reads = table(['object', 'read', 'changed', 'deleted']);
  for (const [object, c] of Object.entries(s.pulled)) {
    reads.push([object, c.read, c.changed, c.deleted]);
  }
  if (reads.length > 0) out.line(reads.toString());
  const totals = table(['people computed', 'records planned', 'records written', 'tasks', 'errors']);
  totals.push([
    s.people,
    s.plan?.records ?? 0,
    s.push.recordsWritten,
    s.dryRun ? `${s.plan?.tasks ?? 0} planned` : s.push.tasksCreated,
    s.push.errors,
  ]);
  out.line(totals.toString());
  if (s.plan !== null) {
    const fields = table(['field', s.dryRun ? 'would change' : 'changed']);
    for (const [field, n] of [...sumFields(s.plan.fieldChanges)].sort((a, b) => b[1] - a[1])) {
      if (n > 0) fields.push([field, n]);
    }
    if (fields.length > 0) out.line(fields.toString());
  }
}

/** A few records as they were before and after the run (owned fields only). */
export function printSamples(out: Out, s: SyncSummary, limit = 3): void {
  const samples = s.plan?.samples.filter((x) => x.kind === 'person').slice(0, limit) ?? [];
  for (const sample of samples) {
    const t = table(['field', 'before', 'after']);
    for (const [field, after] of Object.entries(sample.after)) {
      t.push([field, short(sample.before[field]), short(after)]);
    }
    out.line(`${sample.object}/${sample.id}`);
    out.line(t.toString());
  }
}

export function printTasksByOwner(
  out: Out,
  s: SyncSummary,
  ownerName: (id: string) => string = (id) => id,
): void {
  const byOwner = s.plan?.tasksByOwner ?? {};
  if (Object.keys(byOwner).length === 0) return;
  const t = table(['owner', 'tasks']);
  for (const [owner, n] of Object.entries(byOwner).sort((a, b) => b[1] - a[1])) t.push([ownerName(owner), n]);
  out.line(t.toString());
}

/** The report's headline figures (the engine's F-REPORT), whatever numbers it carries at top level. */
export function printReportHeadline(out: Out, report: unknown): void {
  if (typeof report !== 'object' || report === null) return;
  const t = table(['report', 'value']);
  for (const [key, value] of Object.entries(report as Record<string, unknown>)) {
    if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') {
      t.push([key, typeof value === 'number' && !Number.isInteger(value) ? value.toFixed(3) : String(value)]);
    } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v === 'number') t.push([`${key}.${k}`, Number.isInteger(v) ? v : v.toFixed(3)]);
      }
    }
    if (t.length >= 16) break;
  }
  if (t.length > 0) out.line(t.toString());
}

export function printProvision(out: Out, title: string, r: ProvisionReport): void {
  const t = table(['created', 'options added', 'unchanged', 'conflicts', 'write calls']);
  t.push([r.created.length, r.updated.length, r.unchanged.length, r.conflicts.length, r.writeCalls]);
  out.line(`\n${title}`);
  out.line(t.toString());
  for (const c of r.conflicts) out.line(`  conflict: ${c.object}.${c.name}: ${c.reason}`);
}

function short(v: unknown): string {
  const text = v === null || v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v);
  return text.length > 48 ? `${text.slice(0, 45)}…` : text;
}
