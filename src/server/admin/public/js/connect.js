// Connect: start the OAuth install of a CRM; list the signed-in accounts with their status.
import { get } from './api.js';
import { clear, h, when } from './dom.js';

const CRMS = [
  { id: 'hubspot', label: 'Connect HubSpot' },
  { id: 'salesforce', label: 'Connect Salesforce' },
];

function statusText(t) {
  if (t.status === 'active' || t.status === 'connected') return 'connected';
  return t.statusReason ? `${t.status}: ${t.statusReason}` : t.status;
}

function accountCard(view) {
  const t = view.tenant;
  const ok = t.status === 'active' || t.status === 'connected';
  return h(
    'article',
    { class: 'card account-card', 'aria-labelledby': `acct-${t.id}`, 'data-tenant': t.id },
    h(
      'h3',
      { id: `acct-${t.id}` },
      `${t.crm === 'hubspot' ? 'HubSpot' : 'Salesforce'} · ${t.name ?? t.accountId}`,
    ),
    h(
      'dl',
      {},
      h('dt', {}, 'Status'),
      h('dd', { class: ok ? 'ok' : 'bad', 'data-field': 'status' }, statusText(t)),
      h('dt', {}, 'Account id'),
      h('dd', {}, t.accountId),
      h('dt', {}, 'Mode'),
      h('dd', {}, t.mode),
      h('dt', {}, 'Write-back'),
      h('dd', { 'data-field': 'writeBack' }, t.writeBack),
      h('dt', {}, 'Last sync'),
      h('dd', { 'data-field': 'lastSync' }, when(t.lastSyncAt)),
      h('dt', {}, 'Next sync'),
      h('dd', { 'data-field': 'nextSync' }, when(t.nextSyncAt)),
      h('dt', {}, 'Records with errors'),
      h('dd', {}, String(view.errorCount ?? 0)),
    ),
    ok
      ? null
      : h(
          'a',
          { class: 'button', href: `/install/${t.crm}` },
          `Reconnect ${t.crm === 'hubspot' ? 'HubSpot' : 'Salesforce'}`,
        ),
  );
}

export async function renderConnect(panel, ctx) {
  clear(panel);
  panel.append(
    h('h2', {}, 'Connect your CRM'),
    h(
      'p',
      {},
      'Installing signs you in to this console for that account. We only ask for the scopes we need; tokens stay on the server.',
    ),
    h(
      'div',
      { class: 'row' },
      CRMS.map((c) =>
        h('a', { class: 'button primary', href: `/install/${c.id}`, 'data-crm': c.id }, c.label),
      ),
    ),
  );
  const tenants = ctx.session?.tenants ?? [];
  if (tenants.length === 0) {
    panel.append(h('p', { class: 'muted' }, 'No account connected in this browser yet.'));
    return;
  }
  const views = await Promise.all(tenants.map((id) => get(`/tenants/${encodeURIComponent(id)}`)));
  panel.append(h('h2', {}, 'Connected accounts'), h('div', { class: 'cards' }, views.map(accountCard)));
}
