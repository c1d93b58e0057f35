/**
 * The admin API behind the console's "Referral link" section, without a browser: what the page
 * shows (landing page, tracked link template, the template the CRM's `referral_link` values are
 * built from, an example code), the landing page's validation (only absolute http(s) addresses, no
 * credentials, no whitespace, bounded length: each refused with `ERR_INVALID_INPUT` naming the
 * `landingUrl` field, nothing stored), the same gate as the rest of the API, and the tracked link
 * then redirecting to what was saved.
 */
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CodeIssuer, isValidCode, seededRandom } from '../../src/engine/index.js';
import { ERR_INVALID_INPUT } from '../../src/errors.js';
import { LANDING_URL_MAX_LENGTH } from '../../src/server/routes/referral-link.js';
import type { StoredClick } from '../../src/store/types.js';
import { startConsole } from './console-fixture.js';
import type { Console } from './console-fixture.js';

let c: Console;
let cookie: string;
let csrf: string;
let tenantId: string;

async function signIn(app: Console['app']) {
  const start = await request(app).get('/install/hubspot').expect(302);
  const state = new URL(start.headers.location as string).searchParams.get('state')!;
  const cb = await request(app).get('/oauth/hubspot/callback').query({ code: 'code-ok', state }).expect(303);
  const cookies = (cb.headers['set-cookie'] as unknown as string[]).map((l) => l.split(';')[0]!);
  return {
    cookie: cookies.join('; '),
    csrf: decodeURIComponent(cookies.find((x) => x.startsWith('rs_csrf='))!.slice('rs_csrf='.length)),
    tenantId: new URL(cb.headers.location as string, 'http://x').searchParams.get('tenant')!,
  };
}

const getLink = () =>
  request(c.app).get(`/api/tenants/${tenantId}/referral-link`).set('Cookie', cookie).expect(200);
const putLink = (body: unknown) =>
  request(c.app)
    .put(`/api/tenants/${tenantId}/referral-link`)
    .set('Cookie', cookie)
    .set('X-CSRF-Token', csrf)
    .send(body as object);

async function clicks(): Promise<StoredClick[]> {
  const out: StoredClick[] = [];
  for await (const page of c.store.listClicks(tenantId)) out.push(...page);
  return out;
}

beforeEach(async () => {
  c = await startConsole();
  ({ cookie, csrf, tenantId } = await signIn(c.app));
});
afterEach(async () => {
  await c.close();
});

describe('admin API: referral link', () => {
  it('shows no landing page, the tracked link, the default CRM link template and a valid example code', async () => {
    const res = await getLink();
    expect(res.body).toEqual({
      landingUrl: null,
      trackedLinkTemplate: `${c.base}/r/${tenantId}/{code}`,
      linkTemplate: 'https://example.com/r/{code}',
      tracked: false,
      exampleCode: expect.any(String),
    });
    expect(isValidCode(res.body.exampleCode as string)).toBe(true);
  });

  it('saves a landing page (trimmed) that the tracked link then redirects to with rs_click and rs_code', async () => {
    const landing = 'https://www.acme.test/refer?utm_source=referral';
    const saved = await putLink({ landingUrl: `  ${landing} ` }).expect(200);
    expect(saved.body).toMatchObject({ landingUrl: landing, tracked: false });
    expect((await c.store.getTenant(tenantId))?.config.settings.landingUrl).toBe(landing);
    expect((await getLink()).body.landingUrl).toBe(landing);

    const code = new CodeIssuer(seededRandom(3)).draw();
    const visit = await request(c.app).get(`/r/${tenantId}/${code}`).expect(302);
    const location = new URL(visit.headers.location as string);
    expect(`${location.origin}${location.pathname}`).toBe('https://www.acme.test/refer');
    expect(location.searchParams.get('utm_source')).toBe('referral');
    expect(location.searchParams.get('rs_code')).toBe(code);
    const clickId = location.searchParams.get('rs_click');
    expect(await clicks()).toEqual([{ clickId, code, at: expect.any(String) }]);

    // An exact-length address is accepted (the bound is inclusive).
    const longest = `https://www.acme.test/${'a'.repeat(LANDING_URL_MAX_LENGTH - 'https://www.acme.test/'.length)}`;
    expect(longest).toHaveLength(LANDING_URL_MAX_LENGTH);
    await putLink({ landingUrl: longest }).expect(200);
    // null removes it: the tracked link then answers 404 like an unknown tenant.
    await putLink({ landingUrl: null }).expect(200, {
      ...saved.body,
      landingUrl: null,
    });
    expect((await c.store.getTenant(tenantId))?.config.settings).not.toHaveProperty('landingUrl');
    const gone = await request(c.app).get(`/r/${tenantId}/${code}`).expect(404);
    expect(gone.body.error.code).toBe('ERR_REFERRAL_LINK_NOT_FOUND');
  });

  const refused: [string, unknown][] = [
    ['a javascript: URL', 'javascript:alert(1)'],
    ['a javascript: URL dressed as a host', 'javascript://www.acme.test/%0aalert(1)'],
    ['a data: URL', 'data:text/html,<script>alert(1)</script>'],
    ['an ftp: URL', 'ftp://www.acme.test/refer'],
    ['a relative path', '/refer'],
    ['a bare host', 'www.acme.test/refer'],
    ['a user name and password', 'https://user:secret@www.acme.test/refer'],
    ['a user name that disguises the host', 'https://www.acme.test@evil.test/refer'],
    ['a space inside', 'https://www.acme.test/re fer'],
    ['a tab inside', 'https://www.acme.test/re\tfer'],
    ['a newline inside', 'https://www.acme.test/refer\n?x=1'],
    ['a control character inside', 'https://www.acme.test/re\u0007fer'],
    ['an empty string', ''],
    ['a number', 42],
    ['one character too long', `https://www.acme.test/${'a'.repeat(LANDING_URL_MAX_LENGTH)}`],
  ];
  it.each(refused)(
    'refuses %s with ERR_INVALID_INPUT on landingUrl, storing nothing',
    async (_what, value) => {
      await putLink({ landingUrl: 'https://www.acme.test/before' }).expect(200);
      const res = await putLink({ landingUrl: value }).expect(400);
      expect(res.body.error.code).toBe(ERR_INVALID_INPUT);
      const issues = res.body.error.details.issues as { path: string; message: string }[];
      expect(issues.length).toBeGreaterThan(0);
      for (const issue of issues) {
        expect(issue.path).toBe('landingUrl');
        expect(issue.message).toMatch(/\S/);
      }
      expect((await c.store.getTenant(tenantId))?.config.settings.landingUrl).toBe(
        'https://www.acme.test/before',
      );
    },
  );

  it('refuses unknown fields and a missing landingUrl', async () => {
    const extra = await putLink({ landingUrl: 'https://www.acme.test/', redirect: 'x' }).expect(400);
    expect(extra.body.error.code).toBe(ERR_INVALID_INPUT);
    const missing = await putLink({}).expect(400);
    expect(missing.body.error.code).toBe(ERR_INVALID_INPUT);
    expect((missing.body.error.details.issues as { path: string }[]).map((i) => i.path)).toEqual([
      'landingUrl',
    ]);
    expect((await c.store.getTenant(tenantId))?.config.settings).not.toHaveProperty('landingUrl');
  });

  it('no longer redirects to a stored landing page with credentials (saved before the rule)', async () => {
    await c.store.updateTenant(tenantId, {
      config: { settings: { landingUrl: 'https://user:secret@www.acme.test/refer' } },
    });
    const code = new CodeIssuer(seededRandom(4)).draw();
    const res = await request(c.app).get(`/r/${tenantId}/${code}`).expect(404);
    expect(res.body.error.code).toBe('ERR_REFERRAL_LINK_NOT_FOUND');
    expect(await clicks()).toEqual([]);
  });

  it('reports the CRM links as tracked once the mapping template is the tracked link', async () => {
    const { trackedLinkTemplate } = (await getLink()).body as { trackedLinkTemplate: string };
    await request(c.app)
      .put(`/api/tenants/${tenantId}/mapping`)
      .set('Cookie', cookie)
      .set('X-CSRF-Token', csrf)
      .send({ override: { referralLinkTemplate: trackedLinkTemplate } })
      .expect(200);
    expect((await getLink()).body).toMatchObject({ linkTemplate: trackedLinkTemplate, tracked: true });
  });

  it('needs the CSRF header to change it and a session covering the tenant to read it', async () => {
    const noCsrf = await request(c.app)
      .put(`/api/tenants/${tenantId}/referral-link`)
      .set('Cookie', cookie)
      .send({ landingUrl: 'https://www.acme.test/' })
      .expect(403);
    expect(noCsrf.body.error.code).toBe('ERR_CSRF');
    const other = await request(c.app)
      .get('/api/tenants/someone-else/referral-link')
      .set('Cookie', cookie)
      .expect(403);
    expect(other.body.error.code).toBe('ERR_SESSION_FORBIDDEN');
    const anon = await request(c.app).get(`/api/tenants/${tenantId}/referral-link`).expect(401);
    expect(anon.body.error.code).toBe('ERR_SESSION_REQUIRED');
    expect((await c.store.getTenant(tenantId))?.config.settings).not.toHaveProperty('landingUrl');
  });
});
