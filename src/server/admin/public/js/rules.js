// Rules: a form generated from the effective rules (every default filled in by the server's
// validator), grouped by topic. "See the effect" runs the dry run with the UNSAVED rules; the
// server's validation issues (dotted paths) are shown next to the matching field.
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
/** Arrays of objects edited item by item (fixed length); other object arrays are JSON. */
const ITEMIZED = new Set(['criteria']);

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

function inputFor(path, key, value) {
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
  const label = h('label', { for: id }, words(key));
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

function fieldsOf(obj, prefix) {
  const out = [];
  const keys = [...Object.keys(obj), ...(OPTIONAL[prefix] ?? []).filter((k) => !(k in obj))];
  for (const key of keys) {
    const value = obj[key];
    const path = prefix ? `${prefix}.${key}` : key;
    if (ITEMIZED.has(path) && Array.isArray(value)) {
      out.push(
        fieldset(
          words(key),
          path,
          value.map((item, i) =>
            fieldset(
              `${i + 1}. ${words(String(item.kind ?? item.name ?? i))}`,
              `${path}.${i}`,
              fieldsOf(omitKind(item), `${path}.${i}`),
            ),
          ),
        ),
      );
    } else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      out.push(fieldset(words(key), path, fieldsOf(value, path)));
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

function setPath(target, path, value) {
  const parts = path.split('.');
  let node = target;
  for (const p of parts.slice(0, -1)) {
    if (node[p] === undefined) node[p] = {};
    node = node[p];
  }
  const last = parts[parts.length - 1];
  if (value === undefined) delete node[last];
  else node[last] = value;
}

/** The rules as edited: the effective rules with every control's value written over them. */
function readForm(form, base) {
  const rules = structuredClone(base);
  const localIssues = [];
  for (const el of form.querySelectorAll('[data-path][data-kind]')) {
    const path = el.dataset.path;
    let value;
    switch (el.dataset.kind) {
      case 'boolean':
        value = el.checked;
        break;
      case 'number':
        // An empty or malformed number is sent as typed: the server names the problem at this path.
        value =
          el.value.trim() === '' ? el.value : Number.isFinite(Number(el.value)) ? Number(el.value) : el.value;
        break;
      case 'lines':
        value = el.value
          .split('\n')
          .map((s) => s.trim())
          .filter((s) => s !== '');
        break;
      case 'json':
        try {
          value = JSON.parse(el.value);
        } catch {
          localIssues.push({ path, message: 'not valid JSON' });
          continue;
        }
        break;
      default:
        value = el.value;
    }
    if (el.dataset.optional === '1' && value === '') value = undefined;
    setPath(rules, path, value);
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
  const [{ rules: base, saved }, reportRes] = await Promise.all([
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
              fieldsOf(only, g.keys[0]),
            )
          : fieldsOf(Object.fromEntries(g.keys.filter((k) => k in base).map((k) => [k, base[k]])), '');
      return h('section', { class: 'group' }, h('h3', {}, g.title), fields);
    }),
    h(
      'details',
      {},
      h('summary', {}, 'Codes, attribution, rewards and task texts'),
      fieldsOf(Object.fromEntries(MORE.filter((k) => k in base).map((k) => [k, base[k]])), ''),
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
