/**
 * The console's own JSON endpoints (`src/server/routes/admin-console.ts`) without a browser: the
 * same gate as the admin API (session, tenant in session, CSRF on changes), validation issues with
 * paths, 501 when the AdminApi cannot preview unsaved rules, no secret in any answer.
 */
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACCESS_TOKEN, REFRESH_TOKEN, startConsole } from './console-fixture.js';
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

beforeEach(async () => {
  c = await startConsole();
  ({ cookie, csrf, tenantId } = await signIn(c.app));
});
afterEach(async () => {
  await c.close();
});

describe('admin console endpoints', () => {
  it('previews unsaved rules without saving them, and names invalid fields by path', async () => {
    const ok = await request(c.app)
      .post(`/api/tenants/${tenantId}/rules/preview`)
      .set('Cookie', cookie)
      .set('X-CSRF-Token', csrf)
      .send({ rules: { threshold: 90 }, sample: 0 })
      .expect(200);
    expect(typeof ok.body.plan.report.ready).toBe('number');
    expect(c.calls).toContain(`previewRules:${tenantId}`);
    expect((await c.store.getTenant(tenantId))?.config.rules).toBeNull();

    const bad = await request(c.app)
      .post(`/api/tenants/${tenantId}/rules/preview`)
      .set('Cookie', cookie)
      .set('X-CSRF-Token', csrf)
      .send({ rules: { threshold: 150, asks: { coolDownDays: -1 } } })
      .expect(400);
    expect(bad.body.error.code).toBe('ERR_ENGINE_RULES_INVALID');
    const paths = (bad.body.error.details.issues as { path: string }[]).map((i) => i.path).sort();
    expect(paths).toEqual(['asks.coolDownDays', 'threshold']);
  });

  it('needs the CSRF header to preview and a session covering the tenant for every route', async () => {
    const noCsrf = await request(c.app)
      .post(`/api/tenants/${tenantId}/rules/preview`)
      .set('Cookie', cookie)
      .send({ rules: {} })
      .expect(403);
    expect(noCsrf.body.error.code).toBe('ERR_CSRF');
    for (const path of ['/rules/effective', '/mapping/effective', '/health']) {
      const other = await request(c.app)
        .get(`/api/tenants/someone-else${path}`)
        .set('Cookie', cookie)
        .expect(403);
      expect(other.body.error.code).toBe('ERR_SESSION_FORBIDDEN');
      const anon = await request(c.app).get(`/api/tenants/${tenantId}${path}`).expect(401);
      expect(anon.body.error.code).toBe('ERR_SESSION_REQUIRED');
    }
    expect(c.calls).toEqual([]);
  });

  it('answers the effective rules and mapping, and the queue lag, with no secret', async () => {
    const rules = await request(c.app)
      .get(`/api/tenants/${tenantId}/rules/effective`)
      .set('Cookie', cookie)
      .expect(200);
    expect(rules.body).toMatchObject({ saved: false, rules: { threshold: 50 } });
    // What the form can add: every criterion kind with the engine's defaults, segment inputs by type.
    expect(rules.body.catalog.criteria.engagement).toEqual({
      kind: 'engagement',
      weight: 10,
      minOpens: 10,
      minClicks: 3,
    });
    expect(Object.keys(rules.body.catalog.criteria)).toHaveLength(8);
    expect(rules.body.catalog.segmentFields).toMatchObject({ nps: 'number', leftReview: 'boolean' });
    const mapping = await request(c.app)
      .get(`/api/tenants/${tenantId}/mapping/effective`)
      .set('Cookie', cookie)
      .expect(200);
    expect(mapping.body.mapping.crm).toBe('hubspot');
    expect(Object.keys(mapping.body.canonicalInputs.person)).toContain('nps');
    const health = await request(c.app)
      .get(`/api/tenants/${tenantId}/health`)
      .set('Cookie', cookie)
      .expect(200);
    expect(health.body).toMatchObject({ lagMs: 0, nextSyncAt: expect.any(String) });
    for (const res of [rules, mapping, health]) {
      expect(res.text).not.toContain(ACCESS_TOKEN);
      expect(res.text).not.toContain(REFRESH_TOKEN);
    }
  });

  it('answers 501 when the AdminApi cannot preview unsaved rules', async () => {
    const admin = c.admin;
    delete admin.previewRules;
    const res = await request(c.app)
      .post(`/api/tenants/${tenantId}/rules/preview`)
      .set('Cookie', cookie)
      .set('X-CSRF-Token', csrf)
      .send({ rules: {} })
      .expect(501);
    expect(res.body.error.code).toBe('ERR_ADMIN_PREVIEW_UNSUPPORTED');
  });

  it('serves the page shell, its scripts and Chart.js under a CSP without inline scripts', async () => {
    const shell = await request(c.app).get('/admin').expect(200);
    expect(shell.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(shell.text).not.toMatch(/<script>(?!<\/script>)|<script(?![^>]*\ssrc=)[^>]*>/);
    await request(c.app)
      .get('/admin/assets/js/app.js')
      .expect(200)
      .expect('content-type', /javascript/);
    const chart = await request(c.app).get('/admin/vendor/chart.umd.min.js').expect(200);
    expect(chart.text.length).toBeGreaterThan(100_000);
    // Path traversal out of the assets folder is refused (serve-static: 403), nothing is read.
    const escape = await request(c.app).get('/admin/assets/../router.ts');
    expect([403, 404]).toContain(escape.status);
    expect(escape.text).not.toContain('adminAssetsDir');
  });
});
