/**
 * The console's "Referral link" section in a real headless Chromium (Debian `chromium`, driven by
 * playwright-core, skipped like the other browser tests when it is absent): an invalid landing
 * page gets the server's own validation message next to the field (focused, aria-invalid), a valid
 * one is saved with the keyboard, and the tracked link of a code the engine issued then answers 302
 * to it with `rs_click` and `rs_code`; switching the CRM's link template to the tracked link. No
 * CSP violation. Screenshots go to `test-artifacts/admin/`.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isValidCode, parseRules } from '../../src/engine/index.js';
import { LandingUrlSchema } from '../../src/server/routes/referral-link.js';
import type { StoredClick } from '../../src/store/types.js';
import { AUTH_HOST, engineRun, startConsole } from './console-fixture.js';
import type { Console } from './console-fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'admin');
const LANDING = 'https://www.acme.test/refer?utm_source=referral';

if (!existsSync(CHROMIUM)) {
  console.warn(
    `SKIPPED referral link browser tests: ${CHROMIUM} is absent (apt-get install chromium; .ci/run does).`,
  );
}

/** The server's own message for an invalid landing page (what the page must show). */
function serverMessage(value: string): string {
  const parsed = LandingUrlSchema.safeParse(value);
  if (parsed.success) throw new Error(`${value} is valid`);
  return parsed.error.issues.map((i) => i.message).join('; ');
}

describe.skipIf(!existsSync(CHROMIUM))('admin console: referral link section in headless Chromium', () => {
  let c: Console;
  let browser: Browser;
  let page: Page;
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
    // The CRM's consent screen: the admin "approves" and the CRM redirects back with a code.
    await page.route(`${AUTH_HOST}/**`, async (route) => {
      const url = new URL(route.request().url());
      const back = new URL(url.searchParams.get('redirect_uri')!);
      back.searchParams.set('code', 'code-ok');
      back.searchParams.set('state', url.searchParams.get('state')!);
      await route.fulfill({ status: 302, headers: { location: back.toString() } });
    });
    await page.goto(`${c.base}/admin`);
    await page.getByRole('link', { name: 'Connect HubSpot' }).click();
    await page.waitForURL(/\/admin\?tenant=/);
    tenantId = new URL(page.url()).searchParams.get('tenant')!;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await c?.close();
  });

  const field = () => page.getByLabel('Landing page URL');
  const slot = () => page.locator('#landing-url-error');

  async function submitWithKeyboard(value: string) {
    await field().fill(value);
    await field().press('Enter');
  }

  it('shows the tracked link, the CRM link template with an example code, and no landing page yet', async () => {
    await page.getByRole('tab', { name: 'Referral link' }).click();
    await page.waitForSelector('#panel-referral-link:not([hidden]) #referral-link-form');
    expect(await page.textContent('[data-field="trackedLinkTemplate"]')).toBe(
      `${c.base}/r/${tenantId}/{code}`,
    );
    expect(await page.textContent('[data-field="linkTemplate"]')).toBe('https://example.com/r/{code}');
    const example = (await page.textContent('[data-field="example"]'))!;
    const code = example.slice('https://example.com/r/'.length);
    expect(example).toBe(`https://example.com/r/${code}`);
    expect(isValidCode(code)).toBe(true);
    expect(await page.textContent('[data-field="landingUrl"]')).toMatch(/^not set/);
    expect(await page.textContent('[data-field="tracked"]')).toMatch(/^not recorded/);
    // The click window comes from the tenant's rules (default 90 days); the params are named.
    const help = (await page.textContent('#referral-link-help'))!;
    expect(help).toContain(`for ${parseRules({}).attribution.clickWindowDays} days`);
    expect(help).toContain('rs_click');
    expect(help).toContain('rs_code');
    // No landing page: tracked links would answer 404, so the switch is not offered yet.
    expect(await page.getByRole('button', { name: 'Use the tracked link in the CRM' }).isDisabled()).toBe(
      true,
    );
  });

  it("shows the server's message next to the field for an invalid address, saving nothing", async () => {
    // While typing: a hint only (the server decides).
    await field().fill('javascript:alert(1)');
    expect(await page.textContent('#landing-url-hint')).toMatch(/https:\/\//);
    expect(await slot().isHidden()).toBe(true);
    await field().fill('https://user:secret@www.acme.test/refer');
    expect(await page.textContent('#landing-url-hint')).toMatch(/user name and password/);
    await field().fill(LANDING);
    expect(await page.textContent('#landing-url-hint')).toContain(
      'https://www.acme.test/refer?utm_source=referral&rs_click=CLICK-ID&rs_code=',
    );

    for (const bad of ['javascript:alert(1)', 'https://user:secret@www.acme.test/refer']) {
      await submitWithKeyboard(bad);
      await page.waitForFunction(
        (want) => document.querySelector('#landing-url-error')?.textContent === want,
        serverMessage(bad),
      );
      expect(await slot().isVisible()).toBe(true);
      expect(await field().getAttribute('aria-invalid')).toBe('true');
      expect(await field().getAttribute('aria-describedby')).toContain('landing-url-error');
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('landing-url');
      const status = page.locator('#referral-link-status');
      expect(await status.getAttribute('aria-live')).toBe('polite');
      expect(await status.textContent()).toContain('ERR_INVALID_INPUT');
    }
    await page.screenshot({ path: join(ARTIFACTS, 'referral-link-invalid.png'), fullPage: true });
    expect((await c.store.getTenant(tenantId))?.config.settings).not.toHaveProperty('landingUrl');
  });

  it('saves a landing page with the keyboard; the tracked link of an issued code 302s to it with rs_click and rs_code', async () => {
    await submitWithKeyboard(LANDING);
    await page.waitForSelector('#referral-link-status.ok');
    expect(await page.textContent('#referral-link-status')).toContain('Landing page saved');
    expect(await slot().isHidden()).toBe(true);
    expect(await field().getAttribute('aria-invalid')).toBeNull();
    expect(await page.textContent('[data-field="landingUrl"]')).toBe(LANDING);
    expect((await c.store.getTenant(tenantId))?.config.settings.landingUrl).toBe(LANDING);

    // A code the engine issued to an advocate of the account.
    const issued = engineRun(c.account, parseRules({}))
      .personPlans.map((p) => p.changes.referral_code)
      .find((v): v is string => typeof v === 'string');
    expect(issued).toBeDefined();
    const res = await fetch(`${c.base}/r/${tenantId}/${issued!}`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe('https://www.acme.test/refer');
    expect(location.searchParams.get('utm_source')).toBe('referral');
    expect(location.searchParams.get('rs_code')).toBe(issued);
    const clickId = location.searchParams.get('rs_click');
    expect(clickId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const clicks: StoredClick[] = [];
    for await (const batch of c.store.listClicks(tenantId)) clicks.push(...batch);
    expect(clicks.map((k) => [k.clickId, k.code])).toEqual([[clickId, issued]]);
  });

  it('switches the CRM link template to the tracked link', async () => {
    const use = page.getByRole('button', { name: 'Use the tracked link in the CRM' });
    expect(await use.isEnabled()).toBe(true);
    await use.focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(() =>
      document.querySelector('#referral-link-status')?.textContent?.includes('tracked links'),
    );
    const tracked = `${c.base}/r/${tenantId}/{code}`;
    const override = (await c.store.getTenant(tenantId))?.config.mappingOverride as {
      referralLinkTemplate?: string;
    };
    expect(override.referralLinkTemplate).toBe(tracked);
    expect(await page.textContent('[data-field="linkTemplate"]')).toBe(tracked);
    expect(await page.textContent('[data-field="tracked"]')).toMatch(/^recorded/);
    expect(await page.locator('#tracked-link-switch').isHidden()).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'referral-link.png'), fullPage: true });
  });

  it('broke no CSP rule and logged no error but the refused saves', async () => {
    expect(consoleErrors.filter((e) => /Content Security Policy|Refused/i.test(e))).toEqual([]);
    // Expected: the /api/session probe before signing in (401) and the refused addresses (400).
    expect(consoleErrors.filter((e) => !/status of (401|400)/.test(e))).toEqual([]);
  });
});
