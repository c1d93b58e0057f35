// Preview: the dry run shows exactly what a run would write (per-field counts, sample records
// before/after, tasks per owner). The write-back switch can be turned on only after it was shown.
import { ApiError, get, put } from './api.js';
import { announce, clear, h, num, table } from './dom.js';
import { planOf } from './plan.js';

function show(v) {
  if (v === null || v === undefined) return '(empty)';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function planView(plan) {
  const fieldRows = [];
  for (const [kind, fields] of Object.entries(plan.fieldChanges ?? {})) {
    for (const [field, n] of Object.entries(fields)) if (n > 0) fieldRows.push([kind, field, num(n)]);
  }
  const sampleRows = [];
  for (const s of plan.samples ?? []) {
    for (const field of Object.keys(s.after ?? {})) {
      sampleRows.push([`${s.object}/${s.id}`, field, show(s.before?.[field]), show(s.after[field])]);
    }
  }
  const owners = Object.entries(plan.tasksByOwner ?? {}).sort((a, b) => b[1] - a[1]);
  const kinds = Object.entries(plan.tasksByKind ?? {}).sort((a, b) => b[1] - a[1]);
  return h(
    'div',
    { id: 'plan' },
    h(
      'ul',
      { class: 'tiles' },
      h(
        'li',
        { class: 'tile' },
        h('span', {}, 'Records to write'),
        h('strong', { 'data-figure': 'records' }, num(plan.records)),
      ),
      h(
        'li',
        { class: 'tile' },
        h('span', {}, 'Tasks to create'),
        h('strong', { 'data-figure': 'tasks' }, num(plan.tasks)),
      ),
    ),
    table('Changes per field', ['Record kind', 'Field', 'Records changed'], fieldRows, {
      id: 'field-changes',
    }),
    table('Sample records: before → after', ['Record', 'Field', 'Before', 'After'], sampleRows, {
      id: 'samples',
    }),
    h(
      'div',
      { class: 'split' },
      table(
        'Tasks per owner',
        ['Owner', 'Tasks'],
        owners.map(([o, n]) => [o, num(n)]),
        { id: 'tasks-by-owner' },
      ),
      table(
        'Tasks per kind',
        ['Kind', 'Tasks'],
        kinds.map(([k, n]) => [k, num(n)]),
        { id: 'tasks-by-kind' },
      ),
    ),
    table(
      'Sample tasks',
      ['Kind', 'Subject', 'Owner', 'Person'],
      (plan.taskSamples ?? []).map((t) => [t.kind, t.subject, t.ownerId ?? '(no owner)', t.person]),
      { id: 'task-samples' },
    ),
  );
}

/** Why the server refused the switch (`details.reason` of ERR_WRITE_BACK_PREVIEW_REQUIRED). */
const REFUSED = {
  missing: 'No preview of the current rules and mapping is on record (they changed since, or none ran).',
  'config-changed': 'The rules or mapping changed since this preview.',
  expired: 'This preview is too old.',
};

function writeBackSwitch(ctx, tid, writeBack, rerun) {
  const seen = ctx.previewSeen.has(ctx.tenantId);
  const on = writeBack === 'on';
  const input = h('input', {
    type: 'checkbox',
    role: 'switch',
    id: 'write-back',
    checked: on,
    // Turning on needs a preview seen in this page; turning off is always allowed.
    disabled: !on && !seen,
    'aria-describedby': 'write-back-help',
  });
  const refusal = h('div', { id: 'write-back-error', class: 'field-error', role: 'alert', hidden: true });
  const help = h(
    'p',
    { id: 'write-back-help', class: 'muted' },
    seen
      ? 'When on, the next sync writes the changes above into your CRM.'
      : 'Look at the preview first: the switch unlocks once it has loaded.',
  );
  input.addEventListener('change', async () => {
    input.disabled = true;
    refusal.hidden = true;
    clear(refusal);
    try {
      const res = await put(`/tenants/${tid}/write-back`, { enabled: input.checked });
      input.checked = res.writeBack === 'on';
      announce(
        res.writeBack === 'on'
          ? 'Write-back is ON: the next sync writes to your CRM.'
          : 'Write-back is off (dry runs only).',
        'ok',
      );
    } catch (e) {
      input.checked = !input.checked;
      if (e instanceof ApiError && e.code === 'ERR_WRITE_BACK_PREVIEW_REQUIRED') {
        // The server's own gate: what this page shows no longer matches what would be written.
        ctx.previewSeen.delete(ctx.tenantId);
        refusal.hidden = false;
        refusal.append(
          h(
            'p',
            {},
            `Write-back stays off. ${REFUSED[e.details.reason] ?? ''} Look at a fresh preview first.`,
          ),
          h('button', { type: 'button', id: 'preview-again', onclick: rerun }, 'Run the preview again'),
        );
        refusal.querySelector('button').focus();
        announce('Write-back refused: run the preview again first.', 'error');
      } else {
        announce(`Could not switch write-back: ${e.message}`, 'error');
      }
    } finally {
      input.disabled = !input.checked && !ctx.previewSeen.has(ctx.tenantId);
    }
  });
  return h(
    'div',
    { class: 'card switch' },
    h('label', { for: 'write-back' }, input, ' Write changes to the CRM (write-back)'),
    help,
    refusal,
  );
}

export async function renderPreview(panel, ctx) {
  const tid = encodeURIComponent(ctx.tenantId);
  clear(panel).append(
    h('h2', {}, 'Preview (dry run)'),
    h('p', { class: 'muted' }, 'Computing what the next sync would write…'),
  );
  const [{ tenant }, dry] = await Promise.all([
    get(`/tenants/${tid}`),
    get(`/tenants/${tid}/dry-run?sample=20`),
  ]);
  const plan = planOf(dry.plan);
  clear(panel).append(h('h2', {}, 'Preview (dry run)'));
  if (plan === null) {
    panel.append(h('p', {}, 'Nothing to preview yet: the first sync has not read the account.'));
  } else {
    if ((plan.records ?? 0) === 0 && (plan.tasks ?? 0) === 0) {
      panel.append(
        h(
          'p',
          { class: 'ok', id: 'in-sync' },
          'Nothing to write: the CRM already holds every value we compute.',
        ),
      );
    }
    panel.append(planView(plan));
    ctx.previewSeen.add(ctx.tenantId);
  }
  panel.append(writeBackSwitch(ctx, tid, tenant.writeBack, () => renderPreview(panel, ctx)));
}
