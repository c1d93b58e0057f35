// Health: sync history, errors per record with reasons, API budget, queue lag; re-run a sync and
// retry failed records.
import { get, post } from './api.js';
import { announce, clear, h, num, table, when } from './dom.js';

function duration(run) {
  if (!run.finishedAt) return 'running';
  const ms = Date.parse(run.finishedAt) - Date.parse(run.startedAt);
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function counts(c) {
  return Object.entries(c ?? {})
    .map(([k, v]) => `${k} ${num(v)}`)
    .join(', ');
}

function budgetView(budget) {
  const rows = (budget?.buckets ?? []).map((b) => [
    b.bucket,
    num(b.used),
    num(Math.max(0, b.limit - b.used)),
    num(b.limit),
    `${Math.round(b.windowMs / 1000)} s`,
    when(b.resetsAt),
  ]);
  return h(
    'div',
    {},
    table('API budget', ['Bucket', 'Used', 'Left', 'Limit', 'Window', 'Resets'], rows, { id: 'budget' }),
    budget?.pausedUntil
      ? h(
          'p',
          { class: 'bad', role: 'alert' },
          `Paused until ${when(budget.pausedUntil)}: ${budget.pauseReason ?? ''}`,
        )
      : null,
  );
}

function queueView(health) {
  const rows = Object.entries(health.queues ?? {}).map(([kind, d]) => [
    kind,
    num(d.waiting),
    num(d.active),
    num(d.delayed),
    num(d.failed),
  ]);
  const lag =
    health.lagMs === null
      ? 'not scheduled'
      : health.lagMs === 0
        ? 'on time'
        : `${Math.round(health.lagMs / 1000)} s overdue`;
  return h(
    'div',
    {},
    h(
      'p',
      {},
      'Queue lag of this account: ',
      h('strong', { 'data-figure': 'lag' }, lag),
      ` · next sync ${when(health.nextSyncAt)}`,
    ),
    table('Queues (whole service)', ['Queue', 'Waiting', 'Active', 'Delayed', 'Failed'], rows, {
      id: 'queues',
    }),
  );
}

export async function renderHealth(panel, ctx) {
  const tid = encodeURIComponent(ctx.tenantId);
  const [runs, errors, budget, health] = await Promise.all([
    get(`/tenants/${tid}/runs?limit=20`),
    get(`/tenants/${tid}/errors?limit=100`),
    get(`/tenants/${tid}/budget`).catch((e) => ({ budget: null, error: e.message })),
    get(`/tenants/${tid}/health`),
  ]);
  clear(panel);
  const action = (label, id, path, body, done) => {
    const b = h('button', { type: 'button', id }, label);
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        announce(done(await post(`/tenants/${tid}${path}`, body)), 'ok');
      } catch (e) {
        announce(`${label} failed: ${e.message}`, 'error');
      } finally {
        b.disabled = false;
      }
    });
    return b;
  };
  panel.append(
    h('h2', {}, 'Sync health'),
    h(
      'div',
      { class: 'row' },
      action('Run a sync now', 'run-sync', '/sync', { kind: 'incremental' }, (r) =>
        r.coalesced ? 'A sync was already queued.' : 'Sync queued.',
      ),
      action('Full re-sync', 'run-backfill', '/sync', { kind: 'backfill' }, () => 'Full re-sync queued.'),
      action(
        'Retry failed records',
        'retry-failed',
        '/retry-failed',
        {},
        (r) => `${num(r.queued)} records queued for retry.`,
      ),
    ),
    queueView(health),
    budget.budget
      ? budgetView(budget.budget)
      : h('p', { class: 'muted' }, `API budget unavailable: ${budget.error}`),
    table(
      'Sync history',
      ['Started', 'Kind', 'Status', 'Duration', 'Counts', 'Error'],
      runs.runs.map((r) => [
        when(r.startedAt),
        r.kind,
        h('span', { class: r.status }, r.status),
        duration(r),
        counts(r.counts),
        r.error ? `${r.error.code}: ${r.error.message}` : '',
      ]),
      { id: 'runs' },
    ),
    table(
      `Records with errors (${num(errors.total)})`,
      ['Record', 'Code', 'Reason', 'Retryable', 'Attempts', 'Last seen'],
      errors.errors.map((e) => [
        `${e.object}/${e.id}`,
        e.code,
        e.message,
        e.retryable ? 'yes' : 'no',
        num(e.attempts),
        when(e.lastSeen),
      ]),
      { id: 'errors' },
    ),
  );
}
