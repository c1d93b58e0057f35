/**
 * The admin console on the demo (`npm run demo`): both sandbox CRMs, the real pipeline, the real
 * AdminApi. The page must come up populated: the dashboard shows the report the HubSpot run
 * stored, the preview shows the pipeline's dry run, the rules preview runs the pipeline with
 * unsaved rules, and mappings list the sandbox account's real fields. Screenshots go to
 * `test-artifacts/admin/demo-*.png`.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../connectors/contract.js';
import { runDemo } from '../../src/cli/demo.js';
import type { DemoResult } from '../../src/cli/demo.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'admin');
const fmt = (n: number) => new Intl.NumberFormat('en-US').format(n);
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

describe.skipIf(!existsSync(CHROMIUM))('admin console on the demo (sandbox CRMs, real pipeline)', () => {
  let demo: DemoResult;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    demo = await runDemo({
      port: 0,
      contacts: 400,
      seed: 42,
      once: false,
      out: { line() {}, interactive: false },
      logger: silent,
    });
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
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
  });

  async function tab(name: string) {
    await page.getByRole('tab', { name }).click();
    await page.waitForSelector(`#panel-${name.toLowerCase()}:not([hidden])`);
  }

  it('lands signed in with both demo accounts connected', async () => {
    await page.goto(`${demo.url}/demo/login`);
    await page.waitForSelector('.account-card');
    expect(await page.locator('.account-card').count()).toBe(2);
    for (const status of await page.locator('[data-field="status"]').allTextContents())
      expect(status).toBe('connected');
    await page.screenshot({ path: join(ARTIFACTS, 'demo-connect.png'), fullPage: true });
  });

  it('shows the report the HubSpot run stored on the dashboard', async () => {
    await page.selectOption('#tenant-select', 'demo-hubspot');
    await tab('Dashboard');
    await page.waitForSelector('[data-figure="ready"]');
    // The report of the demo's last HubSpot run: the incremental sync after the friends arrived.
    const r = (demo.arrivals.hubspot?.sync ?? demo.runs.hubspot).report!;
    expect(r.converted).toBeGreaterThan(0);
    expect(await page.textContent('[data-figure="people"]')).toBe(fmt(r.people));
    expect(await page.textContent('[data-figure="ready"]')).toBe(fmt(r.ready));
    expect(await page.textContent('[data-figure="referrals"]')).toBe(fmt(r.referrals));
    expect(await page.textContent('[data-figure="converted"]')).toBe(fmt(r.converted));
    // How old the figures are (the stored report's time, the last full computation).
    expect(await page.textContent('#report-as-of')).toMatch(/^Figures as of \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    // Referred revenue over time, month by month as the pipeline's report holds it.
    const months = r.revenueByMonth.map((m) => m.month);
    expect(months.length === 0).toBe(r.converted === 0);
    if (months.length === 0) await page.locator('#revenue-empty').waitFor();
    else {
      const rows = await page.locator('#revenue-by-month tbody tr td:first-child').allTextContents();
      expect(rows).toEqual(expect.arrayContaining(months));
      expect(await page.locator('canvas#chart-revenue').count()).toBe(1);
    }
    await page.screenshot({ path: join(ARTIFACTS, 'demo-dashboard.png'), fullPage: true });
  });

  it("previews the pipeline's dry run and the effect of an unsaved rule", async () => {
    await tab('Preview');
    await page.waitForSelector('#plan', { timeout: 60_000 });
    // The demo already ran the pipeline: a re-sync would write nothing, and the page says so.
    expect(await page.locator('#in-sync').count()).toBe(1);
    expect(await page.getByRole('switch', { name: /write-back/i }).isEnabled()).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'demo-preview.png'), fullPage: true });

    await tab('Rules');
    await page.getByRole('button', { name: 'See the effect' }).click();
    await page.waitForSelector('#effect-ready', { timeout: 60_000 });
    const before = await page.textContent('#effect-ready');
    await page.getByLabel('Threshold', { exact: true }).fill('95');
    await page.getByRole('button', { name: 'See the effect' }).click();
    await page.waitForFunction((b) => document.querySelector('#effect-ready')?.textContent !== b, before, {
      timeout: 60_000,
    });
    const after = Number((await page.textContent('#effect-ready'))!.replace(/,/g, ''));
    expect(after).toBeLessThan(Number(before!.replace(/,/g, '')));
    await page.screenshot({ path: join(ARTIFACTS, 'demo-rules.png'), fullPage: true });
  }, 120_000);

  it("lists the sandbox account's real fields on the mapping screen, and the sync health", async () => {
    await tab('Mappings');
    await page.waitForSelector('#inputs');
    const options = await page.locator('#inputs select').first().locator('option').count();
    expect(options).toBeGreaterThan(5);
    await page.screenshot({ path: join(ARTIFACTS, 'demo-mappings.png'), fullPage: true });
    await tab('Health');
    await page.waitForSelector('#runs');
    expect(await page.locator('#runs tbody tr').count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(ARTIFACTS, 'demo-health.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
