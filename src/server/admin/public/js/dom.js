// Tiny DOM helpers. Text goes in through textContent only (never innerHTML): CRM data is untrusted.

/** h('p', { class: 'x', 'aria-live': 'polite' }, 'text', child) → element. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = String(v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'checked' || k === 'value' || k === 'disabled' || k === 'selected') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(typeof c === 'string' || typeof c === 'number' ? String(c) : c);
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function $(selector) {
  return document.querySelector(selector);
}

const numberFormat = new Intl.NumberFormat('en-US');
export function num(n) {
  return typeof n === 'number' ? numberFormat.format(n) : '—';
}

export function pct(r) {
  return typeof r === 'number' ? `${(r * 100).toFixed(1)} %` : '—';
}

export function money(n, currency = 'USD') {
  if (typeof n !== 'number') return '—';
  return new Intl.NumberFormat('en-US', { style: 'currency', currency, maximumFractionDigits: 0 }).format(n);
}

export function when(iso) {
  if (!iso) return 'never';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}

/** A table with a caption, header row and body rows (cells: strings, numbers or nodes). */
export function table(caption, headers, rows, attrs = {}) {
  return h(
    'table',
    attrs,
    h('caption', {}, caption),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headers.map((x) => h('th', { scope: 'col' }, x)),
      ),
    ),
    h(
      'tbody',
      {},
      rows.length === 0
        ? h('tr', {}, h('td', { colspan: headers.length }, 'none'))
        : rows.map((r) =>
            h(
              'tr',
              {},
              r.map((c) => h('td', {}, c)),
            ),
          ),
    ),
  );
}

/** Announces a message in the page's live region. */
export function announce(message, kind = 'info') {
  const el = $('#status');
  el.className = `status ${kind}`;
  el.textContent = message;
}
