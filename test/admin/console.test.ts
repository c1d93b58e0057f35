/**
 * The admin console in a real headless Chromium (Debian `chromium`, driven by playwright-core):
 * connect HubSpot through the OAuth install, change a rule and see the preview change before
 * saving, see validation messages next to the field, turn write-back on after the preview, check
 * the dashboard against the engine's own report, use health and mappings; no secret ever reaches
 * the browser; no CSP violation. A screenshot of each main screen goes to `test-artifacts/`.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRules } from '../../src/engine/index.js';
import type { JsonValue } from '../../connectors/contract.js';
import {
  ACCESS_TOKEN,
  AUTH_HOST,
  engineRun,
  NOW,
  REFRESH_TOKEN,
  SESSION_SECRET,
  startConsole,
} from './console-fixture.js';
import type { Console } from './console-fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'admin');
const fmt = (n: number) => new Intl.NumberFormat('en-US').format(n);

if (!existsSync(CHROMIUM)) {
  console.warn(
    `SKIPPED admin browser tests: ${CHROMIUM} is absent (apt-get install chromium; .ci/run does).`,
  );
}

describe.skipIf(!existsSync(CHROMIUM))('admin console in headless Chromium', () => {
  let c: Console;
  let browser: Browser;
  let page: Page;
  const bodies: string[] = [];
  const consoleErrors: string[] = [];
  let tenantId = '';

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    c = await startConsole();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    page.on('response', async (res) => {
      if (!res.url().startsWith(c.base)) return;
      const headers = JSON.stringify(res.headers());
      const body = res.status() >= 300 && res.status() < 400 ? '' : await res.text().catch(() => '');
      bodies.push(`${res.url()}\n${headers}\n${body}`);
    });
    // The CRM's consent screen: the admin "approves" and the CRM redirects back with a code.
    await page.route(`${AUTH_HOST}/**`, async (route) => {
      const url = new URL(route.request().url());
      const back = new URL(url.searchParams.get('redirect_uri')!);
      back.searchParams.set('code', 'code-ok');
      back.searchParams.set('state', url.searchParams.get('state')!);
      await route.fulfill({ status: 302, headers: { location: back.toString() } });
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await c?.close();
  });

  async function tab(name: string) {
    await page.getByRole('tab', { name }).click();
    await page.waitForSelector(`#panel-${name.toLowerCase()}:not([hidden])`);
  }

  it('connects HubSpot through the OAuth install and shows the account status', async () => {
    await page.goto(`${c.base}/admin`);
    await expect(page.getByRole('tab', { name: 'Rules' }).isDisabled()).resolves.toBe(true);
    await page.getByRole('link', { name: 'Connect HubSpot' }).click();
    await page.waitForURL(/\/admin\?tenant=/);
    tenantId = new URL(page.url()).searchParams.get('tenant')!;
    const card = page.locator(`[data-tenant="${tenantId}"]`);
    await card.waitFor();
    expect(await card.locator('[data-field="status"]').textContent()).toBe('connected');
    expect(await card.locator('[data-field="writeBack"]').textContent()).toBe('off');
    expect(await card.locator('[data-field="nextSync"]').textContent()).toMatch(/^2026-06-01 12:05/);
    expect(c.queue.enqueued.map((j) => j.kind)).toEqual(['provision', 'backfill']);
    // The pipeline's first run would store the report; here: the engine's report of the same data.
    const report = engineRun(c.account, parseRules({})).report;
    await c.store.saveReport(tenantId, JSON.parse(JSON.stringify(report)) as JsonValue);
    await page.screenshot({ path: join(ARTIFACTS, 'connect.png'), fullPage: true });
  });

  it('previews the effect of an unsaved rule change, then validates and saves', async () => {
    await tab('Rules');
    await page.getByRole('button', { name: 'See the effect' }).click();
    await page.waitForSelector('#effect-ready');
    const defaults = engineRun(c.account, parseRules({})).report;
    expect(await page.textContent('#effect-ready')).toBe(fmt(defaults.ready));

    await page.getByLabel('Threshold', { exact: true }).fill('80');
    await page.getByRole('button', { name: 'See the effect' }).click();
    const stricter = engineRun(c.account, parseRules({ threshold: 80 })).report;
    expect(stricter.ready).toBeLessThan(defaults.ready);
    await page.waitForFunction(
      (want) => document.querySelector('#effect-ready')?.textContent === want,
      fmt(stricter.ready),
    );
    for (const [segment, g] of Object.entries(stricter.perSegment)) {
      const cells = page.locator(`#rules-effect tr[data-segment="${segment}"] td`);
      expect(await cells.nth(2).textContent()).toBe(fmt(g.ready));
    }
    // Nothing was saved by the preview.
    expect((await c.store.getTenant(tenantId))?.config.rules).toBeNull();

    // An invalid value: the server's message appears next to that field, which is focused.
    await page.getByLabel('Cool Down Days').fill('-3');
    await page.getByRole('button', { name: 'Save rules' }).click();
    const slot = page.locator('[data-error-for="asks.coolDownDays"]');
    await slot.waitFor({ state: 'visible' });
    expect(await slot.textContent()).toMatch(/\S/);
    expect(await page.getByLabel('Cool Down Days').getAttribute('aria-invalid')).toBe('true');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('rule-asks-coolDownDays');
    await page.screenshot({ path: join(ARTIFACTS, 'rules-invalid.png'), fullPage: true });
    expect((await c.store.getTenant(tenantId))?.config.rules).toBeNull();

    await page.getByLabel('Cool Down Days').fill('60');
    await page.getByRole('button', { name: 'Save rules' }).click();
    await page.waitForSelector('text=Rules saved');
    const saved = (await c.store.getTenant(tenantId))?.config.rules as {
      threshold: number;
      asks: { coolDownDays: number };
    };
    expect(saved.threshold).toBe(80);
    expect(saved.asks.coolDownDays).toBe(60);
    await page.screenshot({ path: join(ARTIFACTS, 'rules.png'), fullPage: true });
  });

  it('adds and removes criteria, custom segments, milestones and tiers as form rows', async () => {
    await tab('Rules');
    const saved = (await c.store.getTenant(tenantId))!.config.rules as Record<string, unknown>;
    const start = parseRules(saved);
    const effectOf = async (rules: object) => {
      const want = fmt(engineRun(c.account, parseRules(rules)).report.ready);
      await page.getByRole('button', { name: 'See the effect' }).click();
      await page.waitForFunction((w) => document.querySelector('#effect-ready')?.textContent === w, want);
    };

    // Remove a criterion: the preview changes to what the engine computes without it.
    const withoutNps = start.criteria.filter((k) => k.kind !== 'nps');
    const ready = (criteria: object[]) =>
      engineRun(c.account, parseRules({ ...saved, criteria })).report.ready;
    expect(ready(withoutNps)).not.toBe(ready(start.criteria));
    await page.getByRole('button', { name: 'Remove Criterion 1: NPS' }).click();
    // Focus moves to the row that took its place (keyboard users are not thrown to the top).
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-remove'))).toBe('criteria.0');
    await effectOf({ ...saved, criteria: withoutNps });

    // Add one (from the engine's catalog, default parameters), with the keyboard.
    const engagement = { kind: 'engagement', weight: 10, minOpens: 10, minClicks: 3 };
    expect(ready([...withoutNps, engagement])).not.toBe(ready(withoutNps));
    await page.getByLabel('Criterion to add').selectOption('engagement');
    await page.getByRole('button', { name: 'Add criterion' }).focus();
    await page.keyboard.press('Enter');
    const newWeight = `rule-criteria-${withoutNps.length}-weight`;
    await page.waitForFunction((id) => document.activeElement?.id === id, newWeight);
    expect(await page.inputValue(`#${newWeight}`)).toBe('10');
    await effectOf({ ...saved, criteria: [...withoutNps, engagement] });

    // A custom segment with one condition; changing the tested input offers that type's tests.
    await page.getByRole('button', { name: 'Add segment' }).click();
    await page.getByLabel('Name', { exact: true }).first().fill('Fans');
    await page.getByLabel('Tag (lower-case, written to referral_tags)').fill('fans');
    const input = page.locator('#rule-segments-custom-0-all-0-field');
    await input.selectOption('leftReview');
    await page.waitForFunction(
      () => (document.querySelector('#rule-segments-custom-0-all-0-op') as HTMLSelectElement)?.value === 'is',
    );
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('rule-segments-custom-0-all-0-field');
    await input.selectOption('nps');
    await page.locator('#rule-segments-custom-0-all-0-op').selectOption('gte');
    await page.locator('#rule-segments-custom-0-all-0-value').fill('9');
    await page.getByRole('button', { name: 'Add condition' }).click();
    await page.getByRole('button', { name: 'Remove Condition 2' }).click();
    const fans = { name: 'Fans', tag: 'fans', all: [{ field: 'nps', op: 'gte', value: 9 }] };
    const edited = {
      ...saved,
      criteria: [...withoutNps, engagement],
      segments: { ...start.segments, custom: [fans] },
    };
    await effectOf(edited);
    const fansReady = engineRun(c.account, parseRules(edited)).report.perSegment.fans?.ready ?? 0;
    expect(await page.locator('#rules-effect tr[data-segment="fans"] td').nth(2).textContent()).toBe(
      fmt(fansReady),
    );

    // Milestones and tiers: an invalid row value gets its message next to it (section opened).
    await page.locator('#rule-rewards-milestones-0-at').evaluate((el) => {
      (el.closest('details') as HTMLDetailsElement).open = true;
    });
    await page.locator('#rule-rewards-milestones-0-at').fill('0');
    await page.getByRole('button', { name: 'Remove Tier 3' }).click();
    await page.getByRole('button', { name: 'Add milestone' }).click();
    await page.getByRole('button', { name: 'Save rules' }).click();
    const slot = page.locator('[data-error-for="rewards.milestones.0.at"]');
    await slot.waitFor({ state: 'visible' });
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('rule-rewards-milestones-0-at');
    await page.screenshot({ path: join(ARTIFACTS, 'rules-rows-invalid.png'), fullPage: true });
    await page.locator('#rule-rewards-milestones-0-at').fill('4');
    await page.getByRole('button', { name: 'Save rules' }).click();
    await page.waitForSelector('text=Rules saved');
    const stored = parseRules((await c.store.getTenant(tenantId))!.config.rules);
    expect(stored.criteria.map((k) => k.kind)).toEqual([...withoutNps.map((k) => k.kind), 'engagement']);
    expect(stored.segments.custom).toEqual([fans]);
    expect(stored.rewards.milestones).toEqual([
      { ...start.rewards.milestones[0]!, at: 4 },
      ...start.rewards.milestones.slice(1),
      { name: 'New milestone', at: 15, amount: 0 },
    ]);
    expect(stored.rewards.tiers.map((t) => t.name)).toEqual(['Bronze', 'Silver']);
    await page.screenshot({ path: join(ARTIFACTS, 'rules-rows.png'), fullPage: true });
  });

  it('shows the dry run and turns write-back on only after it', async () => {
    // The server refuses the switch before any preview of the current rules (the rules were just
    // saved), whatever the page shows: asked straight from the page's origin with its session.
    const putWriteBack = () =>
      page.evaluate(async (id) => {
        const csrf = decodeURIComponent(/rs_csrf=([^;]+)/.exec(document.cookie)![1]!);
        const res = await fetch(`/api/tenants/${id}/write-back`, {
          method: 'PUT',
          headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
          body: JSON.stringify({ enabled: true }),
        });
        return { status: res.status, body: await res.json() };
      }, tenantId);
    const early = await putWriteBack();
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe('ERR_WRITE_BACK_PREVIEW_REQUIRED');
    expect((await c.store.getTenant(tenantId))?.config.writeBack).toBe('off');

    await tab('Preview');
    await page.waitForSelector('#plan');
    const result = engineRun(c.account, parseRules((await c.store.getTenant(tenantId))!.config.rules));
    expect(await page.textContent('[data-figure="tasks"]')).toBe(fmt(result.tasks.length));
    expect(c.calls.filter((x) => x.startsWith('dryRun')).length).toBeGreaterThan(0);
    const readyChanges = result.counts.fieldChanges.person.referral_ready ?? 0;
    if (readyChanges > 0) {
      const row = page.locator('#field-changes tr', { hasText: 'referral_ready' });
      expect(await row.locator('td').nth(2).textContent()).toBe(fmt(readyChanges));
    }
    const owners = await page.locator('#tasks-by-owner tbody tr').count();
    expect(owners).toBe(new Set(result.tasks.map((t) => t.ownerId ?? '(no owner)')).size || 1);
    const sw = page.getByRole('switch', { name: /write-back/i });
    expect(await sw.isEnabled()).toBe(true);

    // The rules change after the preview was shown (another tab): the server refuses, the page
    // says why next to the switch and offers a fresh preview.
    await page.evaluate(async (id) => {
      const csrf = decodeURIComponent(/rs_csrf=([^;]+)/.exec(document.cookie)![1]!);
      const rules = (await (await fetch(`/api/tenants/${id}/rules`)).json()).rules;
      await fetch(`/api/tenants/${id}/rules`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
        body: JSON.stringify({ rules: { ...rules, threshold: 79 } }),
      });
    }, tenantId);
    await sw.click();
    await page.locator('#write-back-error').waitFor({ state: 'visible' });
    expect(await sw.isChecked()).toBe(false);
    expect((await c.store.getTenant(tenantId))?.config.writeBack).toBe('off');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('preview-again');
    await page.screenshot({ path: join(ARTIFACTS, 'preview-refused.png'), fullPage: true });
    await page.keyboard.press('Enter');
    // The preview re-rendered: a new switch whose refusal note is empty and hidden.
    await page.waitForFunction(() => {
      const note = document.querySelector<HTMLElement>('#write-back-error');
      return note !== null && note.hidden && document.querySelector('#plan') !== null;
    });
    expect(await sw.isEnabled()).toBe(true);
    await sw.check();
    await page.waitForSelector('text=Write-back is ON');
    expect((await c.store.getTenant(tenantId))?.config.writeBack).toBe('on');
    await page.screenshot({ path: join(ARTIFACTS, 'preview.png'), fullPage: true });
  });

  it('shows the dashboard figures of the stored report, equal to the engine report', async () => {
    await tab('Dashboard');
    await page.waitForSelector('[data-figure="ready"]');
    const r = engineRun(c.account, parseRules({})).report;
    const figure = (k: string) => page.textContent(`[data-figure="${k}"]`);
    expect(await figure('people')).toBe(fmt(r.people));
    expect(await figure('ready')).toBe(fmt(r.ready));
    expect(await figure('asked')).toBe(fmt(r.asked));
    expect(await figure('referrals')).toBe(fmt(r.referrals));
    expect(await figure('converted')).toBe(fmt(r.converted));
    expect(await figure('referredRevenue')).toBe(
      new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 0 }).format(
        r.referredRevenue,
      ),
    );
    expect(await page.locator('#data-quality tbody tr').count()).toBe(r.dataQuality.length);
    expect(await page.locator('#per-segment tbody tr').count()).toBe(
      Math.max(1, Object.keys(r.perSegment).length),
    );
    // Charts drew (Chart.js loaded under the CSP).
    const drawn = await page.evaluate(
      () => (window as unknown as { Chart?: { instances: object } }).Chart !== undefined,
    );
    expect(drawn).toBe(true);
    expect(await page.locator('canvas#chart-funnel').count()).toBe(1);
    // Referred revenue over time: the chart holds the engine report's monthly figures.
    expect(r.revenueByMonth.length).toBeGreaterThan(1);
    const revenueChart = await page.evaluate(() => {
      const chart = (
        window as unknown as {
          Chart: {
            getChart(
              id: string,
            ): { data: { labels: string[]; datasets: { label: string; data: number[] }[] } } | undefined;
          };
        }
      ).Chart.getChart('chart-revenue');
      return chart && { labels: chart.data.labels, datasets: chart.data.datasets.map((d) => d.data) };
    });
    // Every month from the first to the last conversion; months the report leaves out are zero.
    const first = r.revenueByMonth[0]!.month;
    const last = r.revenueByMonth[r.revenueByMonth.length - 1]!.month;
    const axis: string[] = [];
    for (let d = new Date(`${first}-01T00:00:00Z`); ; d.setUTCMonth(d.getUTCMonth() + 1)) {
      axis.push(d.toISOString().slice(0, 7));
      if (axis[axis.length - 1] === last) break;
    }
    const at = (month: string) => r.revenueByMonth.find((m) => m.month === month);
    expect(revenueChart).toEqual({
      labels: axis,
      datasets: [axis.map((m) => at(m)?.revenue ?? 0), axis.map((m) => at(m)?.conversions ?? 0)],
    });
    const months = page.locator('#revenue-by-month tbody tr');
    expect(await months.count()).toBe(axis.length);
    expect(await months.first().locator('td').first().textContent()).toBe(first);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
  });

  it('shows sync health and re-runs a sync and retries failed records', async () => {
    await c.store.saveRun(tenantId, {
      id: 'run-1',
      kind: 'backfill',
      status: 'partial',
      startedAt: new Date(NOW.getTime() - 60_000).toISOString(),
      finishedAt: NOW.toISOString(),
      counts: { read: 600, written: 120, errors: 2 },
    });
    await c.store.recordErrors(
      tenantId,
      [
        {
          object: 'contacts',
          id: '101',
          code: 'ERR_HUBSPOT_VALIDATION',
          message: 'Property "referral_code" is read-only',
          retryable: false,
        },
        {
          object: 'contacts',
          id: '102',
          code: 'ERR_HUBSPOT_RATE_LIMIT',
          message: '429 Too Many Requests',
          retryable: true,
        },
      ],
      NOW,
    );
    await tab('Health');
    await page.waitForSelector('#runs');
    expect(await page.locator('#runs tbody tr').count()).toBe(1);
    expect(await page.locator('#errors tbody tr').count()).toBe(2);
    expect(await page.textContent('#errors')).toContain('429 Too Many Requests');
    expect(await page.textContent('#budget')).toContain('burst');
    const before = c.queue.enqueued.length;
    await page.getByRole('button', { name: 'Run a sync now' }).click();
    await page.waitForSelector('text=Sync queued');
    expect(c.queue.enqueued.slice(before)).toEqual([{ kind: 'incremental', tenantId }]);
    await page.getByRole('button', { name: 'Retry failed records' }).click();
    await page.waitForSelector('text=1 records queued for retry');
    await page.screenshot({ path: join(ARTIFACTS, 'health.png'), fullPage: true });
  });

  it("maps a CRM field from the account's field list and sets a write policy", async () => {
    await tab('Mappings');
    await page.waitForSelector('#inputs');
    await page.getByRole('row', { name: /^nps / }).getByRole('combobox').selectOption('survey_nps');
    await page.getByRole('button', { name: 'Add a copy' }).click();
    await page.getByLabel('Your CRM field').last().selectOption('promo_code');
    await page.getByLabel('Write policy').last().selectOption('never');
    await page.getByRole('button', { name: 'Save mapping' }).click();
    await page.waitForSelector('text=Mapping saved');
    const override = (await c.store.getTenant(tenantId))?.config.mappingOverride as {
      objects: {
        contacts: { inputs: Record<string, unknown>; mirrors: { field: string; policy: string }[] };
      };
    };
    expect(override.objects.contacts.inputs.nps).toBe('survey_nps');
    expect(override.objects.contacts.mirrors).toEqual([
      expect.objectContaining({ field: 'promo_code', policy: 'never' }),
    ]);
    await page.screenshot({ path: join(ARTIFACTS, 'mappings.png'), fullPage: true });
  });

  it('moves between tabs with the keyboard', async () => {
    await page.getByRole('tab', { name: 'Mappings' }).focus();
    await page.keyboard.press('ArrowRight');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('tab-preview');
    await page.waitForSelector('#panel-preview:not([hidden])');
  });

  it('never sent a token or secret to the browser, kept the session cookie HttpOnly, broke no CSP rule', async () => {
    expect(bodies.length).toBeGreaterThan(10);
    for (const b of bodies) {
      expect(b).not.toContain(ACCESS_TOKEN);
      expect(b).not.toContain(REFRESH_TOKEN);
      expect(b).not.toContain(SESSION_SECRET);
    }
    const visibleCookies = await page.evaluate(() => document.cookie);
    expect(visibleCookies).toContain('rs_csrf=');
    expect(visibleCookies).not.toContain('rs_session=');
    expect(consoleErrors.filter((e) => /Content Security Policy|Refused/i.test(e))).toEqual([]);
    // The expected ones: the first /api/session probe before signing in (401), the invalid rules
    // saves (400) and the refused write-back switches (409); anything else (script error, CSP
    // refusal, 404 asset) fails.
    expect(consoleErrors.filter((e) => !/status of (401|400|409)/.test(e))).toEqual([]);
  });
});
