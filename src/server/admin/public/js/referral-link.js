// Referral link: the landing page the tracked link `/r/<tenant>/<code>` redirects to, what the CRM's
// `referral_link` values look like now, and (once a landing page is set) a switch of the mapping's
// link template to the tracked link. The server validates the address; its message is shown next
// to the field. While typing, a hint previews where a visitor would land (never blocks a save: the
// server's rules are the ones that count).
import { ApiError, get, put } from './api.js';
import { clear, h } from './dom.js';

const EXAMPLE_PAGE = 'https://www.example.com/refer';
/** The server's limit (LANDING_URL_MAX_LENGTH), for the hint only: no maxlength, which would cut a paste silently. */
const MAX_LENGTH = 2000;

/** The tenant's view: `/referral-link` plus the click window of its rules (default if unreadable). */
async function load(tid) {
  const [link, rules] = await Promise.all([
    get(`/tenants/${tid}/referral-link`),
    get(`/tenants/${tid}/rules/effective`).catch(() => null),
  ]);
  return { ...link, clickWindowDays: rules?.rules?.attribution?.clickWindowDays ?? null };
}

function fill(template, code) {
  return template === null ? null : template.replace('{code}', code);
}

/**
 * A hint while typing (the server's rules decide on save): what looks wrong with the address, or
 * where a visitor of the example link would land with it.
 */
function landingHint(value, code) {
  if (value === '') return `The page with your referral form, e.g. ${EXAMPLE_PAGE}.`;
  if (/\s/.test(value)) return 'Hint: an address has no spaces.';
  if (value.length > MAX_LENGTH) return `Hint: at most ${MAX_LENGTH} characters (now ${value.length}).`;
  let url;
  try {
    url = new URL(value);
  } catch {
    url = null;
  }
  if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:'))
    return 'Hint: use a full address starting with https:// (or http://).';
  if (url.username !== '' || url.password !== '') return 'Hint: leave out the user name and password.';
  url.searchParams.set('rs_click', 'CLICK-ID');
  url.searchParams.set('rs_code', code);
  return `A visitor of the example link lands on ${url.toString()} (CLICK-ID: new for each click).`;
}

function summary(view) {
  const example = fill(view.linkTemplate, view.exampleCode);
  return h(
    'article',
    { class: 'card', id: 'referral-link-summary', 'aria-labelledby': 'referral-link-summary-title' },
    h('h3', { id: 'referral-link-summary-title' }, 'Current setup'),
    h(
      'dl',
      {},
      h('dt', {}, 'Landing page'),
      h(
        'dd',
        { 'data-field': 'landingUrl', class: view.landingUrl === null ? 'bad' : undefined },
        view.landingUrl ?? 'not set: tracked links answer "not found" until you set one',
      ),
      h('dt', {}, 'Tracked link'),
      h('dd', {}, h('code', { 'data-field': 'trackedLinkTemplate' }, view.trackedLinkTemplate)),
      h('dt', {}, 'Links your CRM gets'),
      h(
        'dd',
        {},
        h('code', { 'data-field': 'linkTemplate' }, view.linkTemplate ?? 'unknown (mapping unreadable)'),
      ),
      h('dt', {}, `Example (code ${view.exampleCode})`),
      h('dd', {}, h('code', { 'data-field': 'example' }, example ?? '—')),
      h('dt', {}, 'Clicks'),
      h(
        'dd',
        { 'data-field': 'tracked', class: view.tracked ? 'ok' : 'bad' },
        view.tracked ? 'recorded (links point at the tracked link)' : 'not recorded (links point elsewhere)',
      ),
    ),
  );
}

export async function renderReferralLink(panel, ctx) {
  const tid = encodeURIComponent(ctx.tenantId);
  let view = await load(tid);
  clear(panel);

  const summaryBox = h('div', {});
  const status = h('p', {
    id: 'referral-link-status',
    class: 'status',
    role: 'status',
    'aria-live': 'polite',
  });
  const say = (message, kind = 'info') => {
    status.className = `status ${kind}`;
    status.textContent = message;
  };

  const input = h('input', {
    id: 'landing-url',
    name: 'landingUrl',
    type: 'url',
    inputmode: 'url',
    autocomplete: 'url',
    spellcheck: 'false',
    required: true,
    placeholder: EXAMPLE_PAGE,
    value: view.landingUrl ?? '',
    'aria-describedby': 'landing-url-hint landing-url-error',
  });
  const hint = h('p', { id: 'landing-url-hint', class: 'muted hint' });
  const error = h('p', {
    id: 'landing-url-error',
    class: 'field-error',
    'data-error-for': 'landingUrl',
    hidden: true,
  });
  const showHint = () => {
    hint.textContent = landingHint(input.value.trim(), view.exampleCode);
  };
  const clearError = () => {
    error.hidden = true;
    error.textContent = '';
    input.removeAttribute('aria-invalid');
  };
  const showError = (message) => {
    error.hidden = false;
    error.textContent = message;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  };
  input.addEventListener('input', showHint);
  showHint();

  const useTracked = h(
    'button',
    { type: 'button', id: 'use-tracked-link', 'aria-describedby': 'use-tracked-link-help' },
    'Use the tracked link in the CRM',
  );
  const useTrackedHelp = h('p', { id: 'use-tracked-link-help', class: 'muted' });
  const trackedBox = h(
    'div',
    { id: 'tracked-link-switch' },
    h('div', { class: 'row' }, useTracked),
    useTrackedHelp,
  );
  const apply = () => {
    clear(summaryBox).append(summary(view));
    trackedBox.hidden = view.tracked;
    useTracked.disabled = view.landingUrl === null;
    useTrackedHelp.textContent =
      view.landingUrl === null
        ? 'Set a landing page first: without one, tracked links answer "not found".'
        : `Sets the mapping's link template to ${view.trackedLinkTemplate}; the next sync writes links in that form.`;
  };
  const refresh = async () => {
    view = await load(tid);
    apply();
  };

  const form = h(
    'form',
    { id: 'referral-link-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'landing-url' }, 'Landing page URL'), input, hint, error),
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'submit', class: 'primary', id: 'landing-url-save' }, 'Save landing page'),
    ),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearError();
    if (input.value.trim() === '') {
      showError('Enter the address of your landing page.');
      say('Not saved: the landing page address is empty.', 'error');
      return;
    }
    say('Saving…');
    try {
      const saved = await put(`/tenants/${tid}/referral-link`, { landingUrl: input.value });
      input.value = saved.landingUrl ?? '';
      showHint();
      await refresh();
      say(`Landing page saved. Tracked links now lead to ${saved.landingUrl}.`, 'ok');
    } catch (e) {
      const issues = e instanceof ApiError ? e.issues.filter((i) => i.path === 'landingUrl') : [];
      if (issues.length > 0) {
        showError(issues.map((i) => i.message).join('; '));
        say(`Not saved (${e.code}): ${issues[0].message}.`, 'error');
      } else {
        say(`Not saved: ${e.message}`, 'error');
      }
    }
  });

  useTracked.addEventListener('click', async () => {
    say('Saving…');
    try {
      // The mapping override as stored (not the effective mapping): only the template changes.
      const { override } = await get(`/tenants/${tid}/mapping`);
      await put(`/tenants/${tid}/mapping`, {
        override: { ...(override ?? {}), referralLinkTemplate: view.trackedLinkTemplate },
      });
      await refresh();
      say('The CRM gets tracked links from the next sync.', 'ok');
      input.focus();
    } catch (e) {
      say(`Not changed: ${e.message}`, 'error');
    }
  });

  panel.append(
    h('h2', {}, 'Referral link'),
    h(
      'p',
      { id: 'referral-link-help' },
      'Advocates share a link with their code. When it points at the tracked link, each click is recorded ',
      `for ${view.clickWindowDays === null ? 'the click window' : `${view.clickWindowDays} days`} (the click window of your attribution rules) and the visitor is sent on to your landing `,
      'page with ',
      h('code', {}, 'rs_click'),
      ' (the click id) and ',
      h('code', {}, 'rs_code'),
      ' (the code) appended. Have the page’s form store them in the CRM’s click-id and code fields: the ',
      'next sync credits the referrer by that click.',
    ),
    summaryBox,
    trackedBox,
    h('h3', {}, 'Landing page'),
    form,
    status,
  );
  apply();
}
