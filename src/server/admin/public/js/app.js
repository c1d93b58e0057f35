// The admin console: session → accounts → one tab at a time. Each tab module exports
// `render(panel, ctx)`; ctx carries the selected tenant and shared state (e.g. "preview seen").
import { ApiError, get, post, setCsrf } from './api.js';
import { renderConnect } from './connect.js';
import { renderDashboard } from './dashboard.js';
import { $, announce, h } from './dom.js';
import { renderHealth } from './health.js';
import { renderMappings } from './mappings.js';
import { renderPreview } from './preview.js';
import { renderReferralLink } from './referral-link.js';
import { renderRules } from './rules.js';

const TABS = {
  connect: renderConnect,
  rules: renderRules,
  'referral-link': renderReferralLink,
  mappings: renderMappings,
  preview: renderPreview,
  health: renderHealth,
  dashboard: renderDashboard,
};

const ctx = {
  session: null,
  tenantId: null,
  /** Tenants whose dry-run preview this page has shown (gates the write-back switch). */
  previewSeen: new Set(),
  show: (tab) => show(tab),
};

function tabButtons() {
  return [...document.querySelectorAll('[role="tab"]')];
}

async function show(tab) {
  const render = TABS[tab] ?? TABS.connect;
  for (const b of tabButtons()) {
    const active = b.dataset.tab === tab;
    b.setAttribute('aria-selected', String(active));
    b.tabIndex = active ? 0 : -1;
    $(`#panel-${b.dataset.tab}`).hidden = !active;
  }
  const panel = $(`#panel-${tab}`);
  announce('');
  window.history.replaceState(null, '', `#${tab}`);
  try {
    await render(panel, ctx);
  } catch (e) {
    panel.append(h('p', { class: 'error', role: 'alert' }, `Could not load: ${e.message}`));
    if (e instanceof ApiError && e.status === 401) await start();
  }
}

/** Arrow keys move between tabs (WAI-ARIA tabs pattern); Enter/Space activate via click. */
function wireTabs() {
  const buttons = tabButtons();
  for (const b of buttons) {
    b.addEventListener('click', () => show(b.dataset.tab));
    b.addEventListener('keydown', (ev) => {
      const enabled = buttons.filter((x) => !x.disabled);
      const i = enabled.indexOf(b);
      let next = null;
      if (ev.key === 'ArrowRight') next = enabled[(i + 1) % enabled.length];
      if (ev.key === 'ArrowLeft') next = enabled[(i - 1 + enabled.length) % enabled.length];
      if (ev.key === 'Home') next = enabled[0];
      if (ev.key === 'End') next = enabled[enabled.length - 1];
      if (next) {
        ev.preventDefault();
        next.focus();
        show(next.dataset.tab);
      }
    });
  }
}

async function loadSession() {
  try {
    const s = await get('/session');
    setCsrf(s.csrfToken);
    return s;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

async function start() {
  ctx.session = await loadSession();
  const signedIn = ctx.session !== null && ctx.session.tenants.length > 0;
  for (const b of tabButtons()) if (b.dataset.needsTenant !== undefined) b.disabled = !signedIn;
  $('#account-bar').hidden = !signedIn;
  if (!signedIn) {
    ctx.tenantId = null;
    return show('connect');
  }
  const params = new URL(window.location.href).searchParams;
  const wanted = params.get('tenant');
  const tenants = ctx.session.tenants;
  ctx.tenantId = tenants.includes(wanted) ? wanted : (ctx.tenantId ?? tenants[tenants.length - 1]);
  const select = $('#tenant-select');
  select.replaceChildren(...tenants.map((t) => h('option', { value: t, selected: t === ctx.tenantId }, t)));
  const tab = window.location.hash.slice(1);
  return show(tab in TABS ? tab : 'connect');
}

$('#tenant-select').addEventListener('change', (ev) => {
  ctx.tenantId = ev.target.value;
  const current = tabButtons().find((b) => b.getAttribute('aria-selected') === 'true');
  show(current?.dataset.tab ?? 'connect');
});

$('#logout').addEventListener('click', async () => {
  await post('/session/logout');
  announce('Signed out.');
  await start();
});

wireTabs();
start().catch((e) => announce(`Could not start: ${e.message}`, 'error'));
