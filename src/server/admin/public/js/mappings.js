// Mappings: which CRM field fills each engine input, chosen from the account's real field list,
// and "mirrors" (copy a computed value into a field we don't own) with a write policy. Saved as a
// tenant override merged over the shipped mapping (null deletes a key; arrays replace).
import { ApiError, get, put } from './api.js';
import { announce, clear, h } from './dom.js';

const POLICIES = [
  { value: 'only-if-empty', label: 'only if empty' },
  { value: 'always', label: 'always overwrite' },
  { value: 'never', label: 'never write' },
];

function describe(source) {
  if (typeof source === 'string') return source;
  if (source.link) return `link to ${source.link}`;
  if ('const' in source) return `constant ${JSON.stringify(source.const)}`;
  if (source.in) return `${source.field} in [${source.in.join(', ')}]`;
  if ('equals' in source) return `${source.field} = ${JSON.stringify(source.equals)}`;
  return source.field;
}

function simpleField(source) {
  if (source === undefined) return '';
  if (typeof source === 'string') return source;
  const keys = Object.keys(source);
  return keys.every((k) => k === 'field' || k === 'currencyField' || k === 'currency') ? source.field : null;
}

function fieldSelect(id, fields, current, extra = {}) {
  const known = new Set(fields.map((f) => f.name));
  const options = [h('option', { value: '' }, '(not mapped)')];
  if (current && !known.has(current))
    options.push(h('option', { value: current, selected: true }, `${current} (not in account)`));
  for (const f of fields)
    options.push(
      h('option', { value: f.name, selected: f.name === current }, `${f.label} (${f.name}, ${f.type})`),
    );
  return h('select', { id, ...extra }, options);
}

export async function renderMappings(panel, ctx, chosenObject) {
  const tid = encodeURIComponent(ctx.tenantId);
  const eff = await get(`/tenants/${tid}/mapping/effective`);
  const objects = Object.entries(eff.mapping.objects).filter(([, om]) =>
    ['person', 'company', 'deal'].includes(om.kind),
  );
  const object = chosenObject ?? objects[0]?.[0];
  const om = eff.mapping.objects[object];
  const { fields } = await get(`/tenants/${tid}/fields/${encodeURIComponent(object)}`);
  const foreign = fields.filter((f) => !f.owned);
  clear(panel);

  const objSelect = h(
    'select',
    { id: 'mapping-object' },
    objects.map(([name, m]) =>
      h('option', { value: name, selected: name === object }, `${name} (${m.kind})`),
    ),
  );
  objSelect.addEventListener('change', () => renderMappings(panel, ctx, objSelect.value));

  const canonical = Object.keys(eff.canonicalInputs[om.kind] ?? {});
  const rows = canonical.map((input, i) => {
    const source = om.inputs[input];
    const simple = simpleField(source);
    const id = `map-${i}`;
    const cell =
      simple === null
        ? h('span', { class: 'muted', 'data-input': input }, `${describe(source)} (edit in the mapping file)`)
        : fieldSelect(id, foreign, simple, { 'data-input': input, 'aria-labelledby': `${id}-label` });
    return h(
      'tr',
      {},
      h('th', { scope: 'row', id: `${id}-label` }, input),
      h('td', {}, eff.canonicalInputs[om.kind][input]),
      h('td', {}, cell),
    );
  });

  const ownedIds = Object.keys(om.owned ?? {});
  const mirrorList = h('tbody', { id: 'mirrors' });
  const addMirror = (m = { from: ownedIds[0] ?? '', field: '', policy: 'only-if-empty' }) => {
    const n = mirrorList.children.length;
    const remove = h('button', { type: 'button', 'aria-label': `Remove copy ${n + 1}` }, 'Remove');
    const row = h(
      'tr',
      { class: 'mirror' },
      h(
        'td',
        {},
        h('label', { class: 'sr-only', for: `mirror-from-${n}` }, 'Our field'),
        h(
          'select',
          { id: `mirror-from-${n}`, 'data-mirror': 'from' },
          ownedIds.map((o) => h('option', { value: o, selected: o === m.from }, o)),
        ),
      ),
      h(
        'td',
        {},
        h('label', { class: 'sr-only', for: `mirror-field-${n}` }, 'Your CRM field'),
        fieldSelect(`mirror-field-${n}`, foreign, m.field, { 'data-mirror': 'field' }),
      ),
      h(
        'td',
        {},
        h('label', { class: 'sr-only', for: `mirror-policy-${n}` }, 'Write policy'),
        h(
          'select',
          { id: `mirror-policy-${n}`, 'data-mirror': 'policy' },
          POLICIES.map((p) => h('option', { value: p.value, selected: p.value === m.policy }, p.label)),
        ),
      ),
      h('td', {}, remove),
    );
    remove.addEventListener('click', () => row.remove());
    mirrorList.append(row);
  };
  for (const m of om.mirrors ?? []) addMirror(m);

  const errors = h('div', { class: 'error-summary', role: 'alert', tabindex: '-1', hidden: true });
  const form = h(
    'form',
    { id: 'mapping-form', novalidate: true },
    errors,
    h(
      'table',
      { id: 'inputs' },
      h('caption', {}, `Engine inputs of ${object} ← fields of your account`),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Engine input', 'Type', 'CRM field'].map((x) => h('th', { scope: 'col' }, x)),
        ),
      ),
      h('tbody', {}, rows),
    ),
    h('h3', {}, 'Copy our values into your own fields'),
    h(
      'p',
      { class: 'muted' },
      'We never overwrite a field we do not own unless you map it here, with the policy you choose.',
    ),
    h(
      'table',
      {},
      h('caption', {}, 'Copies (fields we do not own)'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Our field', 'Your CRM field', 'Write policy', ''].map((x) => h('th', { scope: 'col' }, x)),
        ),
      ),
      mirrorList,
    ),
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'button', id: 'mirror-add', onclick: () => addMirror() }, 'Add a copy'),
      h('button', { type: 'submit', class: 'primary', id: 'mapping-save' }, 'Save mapping'),
    ),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    errors.hidden = true;
    clear(errors);
    const override = structuredClone(eff.override ?? {});
    override.objects ??= {};
    const target = (override.objects[object] ??= {});
    target.inputs ??= {};
    for (const sel of form.querySelectorAll('select[data-input]')) {
      const before = simpleField(om.inputs[sel.dataset.input]);
      if (sel.value === (before ?? '')) continue;
      target.inputs[sel.dataset.input] = sel.value === '' ? null : sel.value;
    }
    target.mirrors = [...mirrorList.querySelectorAll('tr.mirror')]
      .map((tr) => ({
        from: tr.querySelector('[data-mirror="from"]').value,
        field: tr.querySelector('[data-mirror="field"]').value,
        policy: tr.querySelector('[data-mirror="policy"]').value,
      }))
      .filter((m) => m.field !== '');
    try {
      await put(`/tenants/${tid}/mapping`, { override });
      announce('Mapping saved. The next sync reads with it.', 'ok');
      await renderMappings(panel, ctx, object);
    } catch (e) {
      errors.hidden = false;
      const issues = e instanceof ApiError ? e.issues : [];
      errors.append(
        h('p', {}, `Not saved: ${e.message}`),
        h(
          'ul',
          {},
          issues.map((i) => h('li', {}, `${i.path}: ${i.message}`)),
        ),
      );
      errors.focus();
    }
  });

  panel.append(
    h('h2', {}, 'Mappings'),
    h('div', { class: 'row' }, h('label', { for: 'mapping-object' }, 'CRM object'), objSelect),
    form,
  );
}
