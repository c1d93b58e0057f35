// Rules: a form generated from the effective rules (every default filled in by the server's
// validator), grouped by topic. "See the effect" runs the dry run with the UNSAVED rules; the
// server's validation issues (dotted paths) are shown next to the matching field. Lists (criteria,
// custom segments and their conditions, milestones, tiers) are row editors with Add/Remove; the
// kinds and defaults they add come from the server's catalog (the engine's own schema).
import { ApiError, get, post, put } from './api.js';
import { announce, clear, h, num } from './dom.js';
import { reportOf } from './plan.js';

const GROUPS = [
  { title: 'Readiness criteria and weights', keys: ['criteria'] },
  { title: 'Threshold', keys: ['threshold', 'hysteresis', 'triggerDays'] },
  { title: 'Exclusions', keys: ['exclusions'] },
  { title: 'Cool-downs and caps', keys: ['asks'] },
  { title: 'Segments', keys: ['segments'] },
  { title: 'Pilot', keys: ['pilot'] },
  { title: 'A/B test', keys: ['ab'] },
];
const MORE = ['codes', 'attribution', 'rewards', 'tasks'];

const ENUMS = {
  'pilot.mode': ['off', 'segment', 'share'],
  'codes.issueTo': ['advocates', 'everyone'],
  'rewards.successOn': ['referred', 'converted'],
};
const ENUM_BY_KEY = { priority: ['low', 'normal', 'high'] };
/** Optional keys absent from the effective rules that the form still offers (empty = unset). */
const OPTIONAL = { pilot: ['segment'] };
/** Operators of a custom segment condition by the tested input's type (`exists` fits any). */
const OPS = {
  number: ['gte', 'lte', 'eq'],
  date: ['withinDays', 'olderThanDays'],
  boolean: ['is'],
  string: ['in'],
};
const OP_LABELS = {
  gte: 'at least',
  lte: 'at most',
  eq: 'equals',
  withinDays: 'within the last N days',
  olderThanDays: 'more than N days ago',
  is: 'is',
  in: 'is one of',
  exists: 'is filled in',
};

function words(key) {
  const s = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/^./, (c) => c.toUpperCase());
  return s
    .replace(/\bNps\b/, 'NPS')
    .replace(/\bCsat\b/, 'CSAT')
    .replace(/\bAb\b/, 'A/B');
}

function idOf(path) {
  return `rule-${path.replace(/[^A-Za-z0-9]+/g, '-')}`;
}

function errorSlot(path) {
  return h('p', { class: 'field-error', id: `${idOf(path)}-error`, 'data-error-for': path, hidden: true });
}

function inputFor(path, key, value, labelText = words(key)) {
  const id = idOf(path);
  const common = { id, name: path, 'data-path': path, 'aria-describedby': `${id}-error` };
  const choices = ENUMS[path] ?? ENUM_BY_KEY[key];
  let control;
  if (typeof value === 'boolean') {
    control = h('input', { ...common, type: 'checkbox', 'data-kind': 'boolean', checked: value });
  } else if (typeof value === 'number') {
    control = h('input', {
      ...common,
      type: 'number',
      step: 'any',
      'data-kind': 'number',
      value: String(value),
    });
  } else if (choices) {
    control = h(
      'select',
      { ...common, 'data-kind': 'string' },
      choices.map((c) => h('option', { value: c, selected: c === value }, c)),
    );
  } else if (key === 'in' && Array.isArray(value)) {
    // One line for a condition row: comma-separated values.
    control = h('input', { ...common, type: 'text', 'data-kind': 'csv', value: value.join(', ') });
  } else if (Array.isArray(value) && value.every((v) => typeof v !== 'object')) {
    control = h('textarea', { ...common, rows: 3, 'data-kind': 'lines' }, value.join('\n'));
  } else if (Array.isArray(value) || (value !== null && typeof value === 'object')) {
    control = h(
      'textarea',
      { ...common, rows: 4, 'data-kind': 'json', class: 'code' },
      JSON.stringify(value, null, 1),
    );
  } else {
    const long = typeof value === 'string' && value.length > 60;
    control = long
      ? h('textarea', { ...common, rows: 2, 'data-kind': 'string' }, value)
      : h('input', { ...common, type: 'text', 'data-kind': 'string', value: value ?? '' });
  }
  if (value === undefined) control.dataset.optional = '1';
  const label = h('label', { for: id }, labelText);
  return h(
    'div',
    { class: `field ${typeof value === 'boolean' ? 'check' : ''}` },
    label,
    control,
    errorSlot(path),
  );
}

function fieldset(legend, path, children) {
  return h('fieldset', { 'data-path': path }, h('legend', {}, legend), errorSlot(path), children);
}

function fieldsOf(obj, prefix, catalog) {
  const out = [];
  const keys = [...Object.keys(obj), ...(OPTIONAL[prefix] ?? []).filter((k) => !(k in obj))];
  for (const key of keys) {
    const value = obj[key];
    const path = prefix ? `${prefix}.${key}` : key;
    const list = LISTS[path];
    if (list !== undefined && Array.isArray(value)) {
      out.push(listEditor(list(catalog), path, value));
    } else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      out.push(fieldset(words(key), path, fieldsOf(value, path, catalog)));
    } else {
      out.push(inputFor(path, key, value));
    }
  }
  return out;
}

function omitKind(item) {
  const rest = { ...item };
  delete rest.kind;
  return rest;
}

// ---- list editors ---------------------------------------------------------------------------

const isIndex = (part) => /^\d+$/.test(part);

/** A labelled <select> bound to `path` (kind `string`, or `bool` for true/false choices). */
function selectFor(path, labelText, choices, value, { kind = 'string', onchange } = {}) {
  const id = idOf(path);
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, labelText),
    h(
      'select',
      { id, name: path, 'data-path': path, 'data-kind': kind, 'aria-describedby': `${id}-error`, onchange },
      choices.map(([v, text]) =>
        h('option', { value: String(v), selected: String(v) === String(value) }, text),
      ),
    ),
    errorSlot(path),
  );
}

function hiddenFor(path, value) {
  return h('input', { type: 'hidden', 'data-path': path, 'data-kind': 'string', value: String(value) });
}

/**
 * An editable list: one fieldset per item (labelled controls whose paths carry the item's index,
 * so the server's issues land next to them), a Remove button per item and an Add button. Adding
 * or removing re-renders the list from the values currently in its controls (indices stay
 * contiguous) and moves focus to something sensible (the new row; the next row or the Add button).
 *
 * spec: { legend, noun, itemLegend(item, i), renderItem(item, path, refresh), newItem(items, addBar)
 *   → item | null, addBar?(add) → nodes (extra controls next to Add), coerce?(items) → items }.
 */
function listEditor(spec, path, initial) {
  const box = h(
    'fieldset',
    { class: 'list', 'data-path': path, 'data-list': path },
    h('legend', {}, spec.legend),
    errorSlot(path),
  );
  const body = h('div', { class: 'list-items' });
  const addBar = h('div', { class: 'row' });
  box.append(body, addBar);

  const render = (items, focus) => {
    clear(body);
    items.forEach((item, i) => {
      const itemPath = `${path}.${i}`;
      const legend = spec.itemLegend(item, i);
      body.append(
        h(
          'fieldset',
          { class: 'list-item', 'data-path': itemPath },
          h('legend', {}, legend),
          errorSlot(itemPath),
          spec.renderItem(item, itemPath, refresh),
          h(
            'button',
            {
              type: 'button',
              class: 'remove',
              'data-remove': itemPath,
              'aria-label': `Remove ${legend}`,
              onclick: () => {
                const now = current();
                now.splice(i, 1);
                const next = now.length === 0 ? null : `${path}.${Math.min(i, now.length - 1)}`;
                render(now, next === null ? `[data-add="${path}"]` : `[data-remove="${next}"]`);
              },
            },
            'Remove',
          ),
        ),
      );
    });
    clear(addBar).append(...(spec.addBar?.(add, items) ?? []), addButton(items));
    if (focus) box.querySelector(focus)?.focus();
  };
  const current = () => readValue(box, path) ?? [];
  function add() {
    const items = current();
    const item = spec.newItem(items, addBar);
    if (item === null) return;
    items.push(item);
    render(items, `[data-path^="${path}.${items.length - 1}."][data-kind]:not([type="hidden"])`);
  }
  function addButton(items) {
    const full = spec.max !== undefined && items.length >= spec.max;
    return h(
      'button',
      { type: 'button', 'data-add': path, disabled: full || spec.canAdd?.(items) === false, onclick: add },
      `Add ${spec.noun}`,
    );
  }
  /** Re-render keeping the values (e.g. a condition's input changed: other operators and value). */
  function refresh(focusPath) {
    const items = spec.coerce ? spec.coerce(current()) : current();
    render(items, focusPath ? `[data-path="${window.CSS.escape(focusPath)}"]` : null);
  }
  render(spec.coerce ? spec.coerce(initial) : initial, null);
  return box;
}

function criteriaList(catalog) {
  const kinds = Object.keys(catalog.criteria ?? {});
  const unused = (items) => kinds.filter((k) => !items.some((c) => c.kind === k));
  return {
    legend: 'Criteria (each adds its weight to the score when met)',
    noun: 'criterion',
    max: 10,
    itemLegend: (c, i) => `Criterion ${i + 1}: ${words(String(c.kind))}`,
    renderItem: (c, p) => [hiddenFor(`${p}.kind`, c.kind), ...fieldsOf(omitKind(c), p, catalog)],
    canAdd: (items) => unused(items).length > 0,
    addBar: (_add, items) => {
      const left = unused(items);
      const id = 'rule-criteria-new';
      return [
        h('label', { for: id }, 'Criterion to add'),
        h(
          'select',
          { id, disabled: left.length === 0 },
          left.length === 0
            ? h('option', { value: '' }, '(all criteria are in use)')
            : left.map((k) => h('option', { value: k }, words(k))),
        ),
      ];
    },
    newItem: (_items, bar) => {
      const kind = bar.querySelector('#rule-criteria-new')?.value;
      return kind && catalog.criteria[kind] ? structuredClone(catalog.criteria[kind]) : null;
    },
  };
}

function conditionList(catalog) {
  const fields = catalog.segmentFields ?? {};
  const opsOf = (field) => [...(OPS[fields[field]] ?? []), 'exists'];
  return {
    legend: 'Conditions (all must hold)',
    noun: 'condition',
    max: 20,
    itemLegend: (_c, i) => `Condition ${i + 1}`,
    renderItem: (c, p, refresh) => {
      const numeric = ['gte', 'lte', 'eq', 'withinDays', 'olderThanDays'].includes(c.op);
      let value;
      if (numeric) value = inputFor(`${p}.value`, 'value', c.value, c.op.endsWith('Days') ? 'Days' : 'Value');
      else if (c.op === 'in') value = inputFor(`${p}.value`, 'in', c.value, 'Values (comma-separated)');
      else {
        value = selectFor(
          `${p}.value`,
          'Value',
          [
            [true, 'yes'],
            [false, 'no'],
          ],
          c.value,
          { kind: 'bool' },
        );
      }
      return h(
        'div',
        { class: 'condition' },
        selectFor(
          `${p}.field`,
          'Input',
          Object.keys(fields).map((f) => [f, `${words(f)} (${fields[f]})`]),
          c.field,
          { onchange: () => refresh(`${p}.field`) },
        ),
        selectFor(
          `${p}.op`,
          'Test',
          opsOf(c.field).map((o) => [o, OP_LABELS[o] ?? o]),
          c.op,
          { onchange: () => refresh(`${p}.op`) },
        ),
        value,
      );
    },
    newItem: () => ({ field: 'nps', op: 'gte', value: 9 }),
    // After the input or the test changed: an operator that fits the input, a value that fits it.
    coerce: (items) =>
      items.map((c) => {
        const ops = opsOf(c.field);
        const op = ops.includes(c.op) ? c.op : ops[0];
        let value = c.value;
        if (['gte', 'lte', 'eq'].includes(op))
          value = typeof value === 'number' || typeof value === 'string' ? value : 0;
        else if (op === 'withinDays' || op === 'olderThanDays')
          value = typeof value === 'number' || typeof value === 'string' ? value : 30;
        else if (op === 'in') value = Array.isArray(value) ? value : [];
        else value = typeof value === 'boolean' ? value : true;
        return { field: c.field, op, value };
      }),
  };
}

function customSegmentList(catalog) {
  const conditions = conditionList(catalog);
  return {
    legend: 'Custom segments',
    noun: 'segment',
    max: 20,
    itemLegend: (_s, i) => `Segment ${i + 1}`,
    renderItem: (s, p) => [
      inputFor(`${p}.name`, 'name', s.name ?? '', 'Name'),
      inputFor(`${p}.tag`, 'tag', s.tag ?? '', 'Tag (lower-case, written to referral_tags)'),
      listEditor(conditions, `${p}.all`, Array.isArray(s.all) ? s.all : []),
    ],
    newItem: (items) => {
      let n = items.length + 1;
      while (items.some((s) => s.tag === `custom-${n}`)) n++;
      return { name: `Custom ${n}`, tag: `custom-${n}`, all: [conditions.newItem()] };
    },
  };
}

const milestoneList = () => ({
  legend: 'Milestones',
  noun: 'milestone',
  max: 20,
  itemLegend: (_m, i) => `Milestone ${i + 1}`,
  renderItem: (m, p) => [
    inputFor(`${p}.name`, 'name', m.name ?? '', 'Name'),
    inputFor(`${p}.at`, 'at', m.at ?? 1, 'Reached at (successful referrals)'),
    inputFor(`${p}.amount`, 'amount', m.amount ?? 0, 'Bonus amount'),
  ],
  newItem: (items) => ({
    name: 'New milestone',
    at: Math.max(0, ...items.map((m) => (typeof m.at === 'number' ? m.at : 0))) + 5,
    amount: 0,
  }),
});

const tierList = () => ({
  legend: 'Tiers',
  noun: 'tier',
  max: 10,
  itemLegend: (_t, i) => `Tier ${i + 1}`,
  renderItem: (t, p) => [
    inputFor(`${p}.name`, 'name', t.name ?? '', 'Name'),
    inputFor(`${p}.minSuccessful`, 'minSuccessful', t.minSuccessful ?? 1, 'From (successful referrals)'),
  ],
  newItem: (items) => ({
    name: 'New tier',
    minSuccessful:
      Math.max(0, ...items.map((t) => (typeof t.minSuccessful === 'number' ? t.minSuccessful : 0))) + 5,
  }),
});

/** Rules paths edited as lists of rows. */
const LISTS = {
  criteria: criteriaList,
  'segments.custom': customSegmentList,
  'rewards.milestones': milestoneList,
  'rewards.tiers': tierList,
};

// ---- reading the form -----------------------------------------------------------------------

function setPath(target, path, value) {
  const parts = path.split('.');
  let node = target;
  parts.slice(0, -1).forEach((p, i) => {
    // A missing step becomes an array when the next step is an index (list items).
    if (node[p] === undefined) node[p] = isIndex(parts[i + 1]) ? [] : {};
    node = node[p];
  });
  const last = parts[parts.length - 1];
  if (value === undefined) delete node[last];
  else node[last] = value;
}

function getPath(target, path) {
  return path
    .split('.')
    .reduce((node, p) => (node === undefined || node === null ? undefined : node[p]), target);
}

/** A control's value, or an issue when it cannot be read. */
function controlValue(el) {
  switch (el.dataset.kind) {
    case 'boolean':
      return { value: el.checked };
    case 'bool':
      return { value: el.value === 'true' };
    case 'number':
      // An empty or malformed number is sent as typed: the server names the problem at this path.
      return {
        value:
          el.value.trim() === '' ? el.value : Number.isFinite(Number(el.value)) ? Number(el.value) : el.value,
      };
    case 'lines':
      return {
        value: el.value
          .split('\n')
          .map((s) => s.trim())
          .filter((s) => s !== ''),
      };
    case 'csv':
      return {
        value: el.value
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== ''),
      };
    case 'json':
      try {
        return { value: JSON.parse(el.value) };
      } catch {
        return { issue: 'not valid JSON' };
      }
    default:
      return { value: el.value };
  }
}

/** Writes the controls under `root` into `target` by their paths; returns the unreadable ones. */
function readControls(root, target, only) {
  const issues = [];
  // Lists first (outer before inner): an emptied list is sent empty, not left out.
  for (const list of root.querySelectorAll('[data-list]')) {
    if (only(list) && getPath(target, list.dataset.list) === undefined)
      setPath(target, list.dataset.list, []);
  }
  for (const el of root.querySelectorAll('[data-path][data-kind]')) {
    if (!only(el)) continue;
    const { value, issue } = controlValue(el);
    if (issue !== undefined) {
      issues.push({ path: el.dataset.path, message: issue });
      continue;
    }
    setPath(target, el.dataset.path, el.dataset.optional === '1' && value === '' ? undefined : value);
  }
  return issues;
}

/** The current value of a list editor, read from its controls. */
function readValue(box, path) {
  const out = {};
  readControls(box, out, () => true);
  return getPath(out, path);
}

/** The rules as edited: the effective rules with every control's value written over them. */
function readForm(form, base) {
  const rules = structuredClone(base);
  const outer = (el) => (el.matches('[data-list]') ? el.parentElement : el).closest('[data-list]') === null;
  // Plain fields over the effective rules; each outermost list replaces its array as a whole.
  const localIssues = readControls(form, rules, (el) => !el.matches('[data-list]') && outer(el));
  for (const list of form.querySelectorAll('[data-list]')) {
    if (!outer(list)) continue;
    const value = readValue(list, list.dataset.list) ?? [];
    setPath(rules, list.dataset.list, value);
  }
  for (const list of form.querySelectorAll('[data-list]')) {
    for (const el of list.querySelectorAll('[data-kind="json"]')) {
      const { issue } = controlValue(el);
      if (issue !== undefined) localIssues.push({ path: el.dataset.path, message: issue });
    }
  }
  return { rules, localIssues };
}

function clearIssues(form) {
  for (const el of form.querySelectorAll('.field-error')) {
    el.hidden = true;
    el.textContent = '';
  }
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  clear(form.querySelector('.error-summary')).hidden = true;
}

/** Shows each issue next to the deepest field or fieldset its path names; focuses the first. */
function showIssues(form, issues) {
  const summary = form.querySelector('.error-summary');
  summary.hidden = false;
  summary.append(h('h3', {}, `${issues.length} problem${issues.length === 1 ? '' : 's'} with these rules`));
  const list = h('ul');
  summary.append(list);
  let first = null;
  for (const issue of issues) {
    const parts = String(issue.path).split('.');
    let slot = null;
    while (parts.length > 0 && slot === null) {
      slot = form.querySelector(`[data-error-for="${window.CSS.escape(parts.join('.'))}"]`);
      if (slot === null) parts.pop();
    }
    if (slot !== null) {
      // A field inside the collapsed "more" section: open it so the message and field are seen.
      const details = slot.closest('details');
      if (details) details.open = true;
      slot.hidden = false;
      slot.textContent = slot.textContent ? `${slot.textContent}; ${issue.message}` : issue.message;
      const control = form.querySelector(`[data-path="${window.CSS.escape(parts.join('.'))}"][data-kind]`);
      if (control) {
        control.setAttribute('aria-invalid', 'true');
        first ??= control;
      }
    }
    list.append(h('li', {}, `${issue.path}: ${issue.message}`));
  }
  (first ?? summary).focus();
}

function groupFigures(report) {
  const segs = report?.perSegment ?? {};
  return { ready: report?.ready, people: report?.people, segments: segs };
}

function effectView(current, edited) {
  const names = [...new Set([...Object.keys(current.segments), ...Object.keys(edited.segments)])].sort();
  return h(
    'div',
    { class: 'effect', 'aria-live': 'polite' },
    h(
      'p',
      { class: 'big' },
      'Ready with these rules: ',
      h('strong', { id: 'effect-ready' }, num(edited.ready)),
      ` of ${num(edited.people)} people`,
    ),
    h(
      'table',
      {},
      h('caption', {}, 'Ready people: last run vs. with your edits (not saved)'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Group', 'Last run', 'With edits'].map((x) => h('th', { scope: 'col' }, x)),
        ),
      ),
      h(
        'tbody',
        {},
        h(
          'tr',
          { 'data-segment': '(everyone)' },
          h('td', {}, 'Everyone'),
          h('td', {}, num(current.ready)),
          h('td', {}, num(edited.ready)),
        ),
        names.map((n) =>
          h(
            'tr',
            { 'data-segment': n },
            h('td', {}, n),
            h('td', {}, num(current.segments[n]?.ready)),
            h('td', {}, num(edited.segments[n]?.ready)),
          ),
        ),
      ),
    ),
  );
}

export async function renderRules(panel, ctx) {
  const tid = encodeURIComponent(ctx.tenantId);
  const [{ rules: base, saved, catalog = {} }, reportRes] = await Promise.all([
    get(`/tenants/${tid}/rules/effective`),
    get(`/tenants/${tid}/report`).catch(() => ({ report: null })),
  ]);
  const current = groupFigures(reportOf(reportRes.report));
  clear(panel);
  const effect = h('div', { id: 'rules-effect' });
  const form = h('form', { id: 'rules-form', novalidate: true, 'aria-describedby': 'rules-help' });
  form.append(
    h('div', { class: 'error-summary', role: 'alert', tabindex: '-1', hidden: true }),
    ...GROUPS.map((g) => {
      const only = g.keys.length === 1 ? base[g.keys[0]] : undefined;
      // A group of one settings object shows its fields directly (no second title).
      const fields =
        only !== undefined && only !== null && typeof only === 'object' && !Array.isArray(only)
          ? h(
              'fieldset',
              { 'data-path': g.keys[0] },
              h('legend', { class: 'sr-only' }, g.title),
              errorSlot(g.keys[0]),
              fieldsOf(only, g.keys[0], catalog),
            )
          : fieldsOf(
              Object.fromEntries(g.keys.filter((k) => k in base).map((k) => [k, base[k]])),
              '',
              catalog,
            );
      return h('section', { class: 'group' }, h('h3', {}, g.title), fields);
    }),
    h(
      'details',
      {},
      h('summary', {}, 'Codes, attribution, rewards and task texts'),
      fieldsOf(Object.fromEntries(MORE.filter((k) => k in base).map((k) => [k, base[k]])), '', catalog),
    ),
    h(
      'div',
      { class: 'row sticky' },
      h('button', { type: 'button', id: 'rules-preview' }, 'See the effect'),
      h('button', { type: 'submit', class: 'primary', id: 'rules-save' }, 'Save rules'),
      h('button', { type: 'button', id: 'rules-reset' }, 'Reset to defaults'),
    ),
  );
  panel.append(
    h('h2', {}, 'Rules'),
    h(
      'p',
      { id: 'rules-help' },
      saved ? 'These are your saved rules.' : 'No rules saved yet: these are the defaults.',
      ' Change a value, then "See the effect" to count who becomes ready before you save.',
    ),
    h('div', { class: 'split' }, form, effect),
  );

  const submitRules = async (mode) => {
    clearIssues(form);
    const { rules, localIssues } = readForm(form, base);
    if (localIssues.length > 0) return showIssues(form, localIssues);
    try {
      if (mode === 'preview') {
        announce('Computing the effect of your edits…');
        const res = await post(`/tenants/${tid}/rules/preview`, { rules, sample: 0 });
        clear(effect).append(effectView(current, groupFigures(reportOf(res.plan))));
        announce('Effect computed (nothing saved).');
      } else {
        await put(`/tenants/${tid}/rules`, { rules: mode === 'reset' ? null : rules });
        announce(
          mode === 'reset' ? 'Rules reset to defaults.' : 'Rules saved. The next sync uses them.',
          'ok',
        );
        await renderRules(panel, ctx);
      }
    } catch (e) {
      if (e instanceof ApiError && e.issues.length > 0) {
        showIssues(form, e.issues);
        announce('Please fix the highlighted fields.', 'error');
      } else {
        announce(`Failed: ${e.message}`, 'error');
      }
    }
  };
  form.querySelector('#rules-preview').addEventListener('click', () => submitRules('preview'));
  form.querySelector('#rules-reset').addEventListener('click', () => submitRules('reset'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submitRules('save');
  });
}
