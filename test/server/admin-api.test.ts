import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ERR_INVALID_INPUT } from '../../src/errors.js';
import { accessTokenFor, cookieHeader, cookiesOf, install, startHarness } from './harness.js';
import type { Harness } from './harness.js';

let h: Harness;
let a: Awaited<ReturnType<typeof install>>;
let b: Awaited<ReturnType<typeof install>>;

beforeEach(async () => {
  h = await startHarness();
  a = await install(h, 'hubspot', '100');
  b = await install(h, 'salesforce', '00D200'); // a different browser/admin: its own session
});
afterEach(async () => {
  await h.close();
});

type Method = 'get' | 'put' | 'post';
interface Route {
  method: Method;
  path: string;
  body?: object;
}

const ROUTES: Route[] = [
  { method: 'get', path: '' },
  { method: 'get', path: '/rules' },
  { method: 'put', path: '/rules', body: { rules: { threshold: 50 } } },
  { method: 'get', path: '/mapping' },
  { method: 'put', path: '/mapping', body: { override: { fields: { nps: 'nps_score' } } } },
  { method: 'get', path: '/runs' },
  { method: 'get', path: '/errors' },
  { method: 'post', path: '/sync', body: {} },
  { method: 'post', path: '/retry-failed' },
  { method: 'get', path: '/dry-run' },
  { method: 'get', path: '/report' },
  { method: 'put', path: '/write-back', body: { enabled: true } },
  { method: 'get', path: '/budget' },
  { method: 'get', path: '/referral-link' },
  { method: 'put', path: '/referral-link', body: { landingUrl: 'https://acme.test/welcome' } },
  { method: 'get', path: '/fields/contacts' },
  { method: 'post', path: '/uninstall' },
];

function call(session: typeof a, tenantId: string, route: Route, csrf: string | null = session.csrf) {
  const agent = request(h.app);
  let req = agent[route.method](`/api/tenants/${tenantId}${route.path}`).set(
    'Cookie',
    cookieHeader(session.cookies),
  );
  if (csrf !== null) req = req.set('X-CSRF-Token', csrf);
  return route.body === undefined ? req : req.send(route.body);
}

describe('tenant isolation', () => {
  it("refuses every admin route for another tenant's id, changing nothing", async () => {
    for (const route of ROUTES) {
      const res = await call(a, b.tenantId, route);
      expect(res.status, `${route.method} ${route.path}`).toBe(403);
      expect(res.body.error.code).toBe('ERR_SESSION_FORBIDDEN');
    }
    const tenantB = await h.store.getTenant(b.tenantId);
    expect(tenantB?.config).toMatchObject({ rules: null, mappingOverride: null, writeBack: 'off' });
    expect(h.admin.calls).toEqual([]);
    expect((await h.producer.depths()).incremental.waiting).toBe(0);
  });

  it('refuses an unknown tenant id the same way (no existence oracle)', async () => {
    const res = await call(a, 'no-such-tenant', { method: 'get', path: '' }).expect(403);
    expect(res.body.error.code).toBe('ERR_SESSION_FORBIDDEN');
  });

  it('requires a session', async () => {
    for (const route of ROUTES) {
      const agent = request(h.app);
      const res = await agent[route.method](`/api/tenants/${a.tenantId}${route.path}`).send(route.body);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('ERR_SESSION_REQUIRED');
    }
    const forged = { rs_session: `${a.cookies.rs_session!.slice(0, -3)}abc` };
    const res = await request(h.app).get(`/api/tenants/${a.tenantId}`).set('Cookie', cookieHeader(forged));
    expect(res.status).toBe(401);
  });

  it('gives a browser that installed two accounts access to both', async () => {
    const both = await install(h, 'hubspot', '101', a.cookies);
    for (const id of [a.tenantId, both.tenantId]) {
      await call(both, id, { method: 'get', path: '' }).expect(200);
    }
    await call(both, b.tenantId, { method: 'get', path: '' }).expect(403);
  });
});

describe('CSRF', () => {
  it('refuses changes without the CSRF header or with a wrong one', async () => {
    for (const route of ROUTES.filter((r) => r.method !== 'get')) {
      for (const csrf of [null, 'wrong-token-of-some-length', b.csrf]) {
        const res = await call(a, a.tenantId, route, csrf);
        expect(res.status, `${route.method} ${route.path} ${csrf}`).toBe(403);
        expect(res.body.error.code).toBe('ERR_CSRF');
      }
    }
    expect((await h.store.getTenant(a.tenantId))?.config.writeBack).toBe('off');
  });

  it('lets reads through without it', async () => {
    await call(a, a.tenantId, { method: 'get', path: '/rules' }, null).expect(200);
  });
});

describe('admin routes', () => {
  it('shows the tenant status without any token', async () => {
    await h.store.saveRun(a.tenantId, {
      id: 'r1',
      kind: 'backfill',
      status: 'succeeded',
      startedAt: '2026-03-01T09:00:00.000Z',
      finishedAt: '2026-03-01T09:05:00.000Z',
      counts: { read: 10 },
    });
    const res = await call(a, a.tenantId, { method: 'get', path: '' }).expect(200);
    expect(res.body.tenant).toMatchObject({
      id: a.tenantId,
      crm: 'hubspot',
      accountId: '100',
      status: 'connected',
      statusReason: null,
      writeBack: 'off',
    });
    expect(res.body.tenant.nextSyncAt).toEqual(expect.any(String));
    expect(res.body.lastRun.id).toBe('r1');
    expect(res.body.errorCount).toBe(0);
    expect(JSON.stringify(res.body)).not.toContain(accessTokenFor('100'));
    expect(JSON.stringify(res.body)).not.toContain('rt-secret');
  });

  it('validates rules with field paths and stores valid ones', async () => {
    const bad = await call(a, a.tenantId, {
      method: 'put',
      path: '/rules',
      body: { rules: { threshold: 500 } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('ERR_ENGINE_RULES_INVALID');
    expect(bad.body.error.details.issues).toEqual([{ path: 'threshold', message: expect.any(String) }]);
    const wrongBody = await call(a, a.tenantId, { method: 'put', path: '/rules', body: { threshold: 5 } });
    expect(wrongBody.status).toBe(400);
    expect(wrongBody.body.error.code).toBe('ERR_INVALID_INPUT');

    await call(a, a.tenantId, { method: 'put', path: '/rules', body: { rules: { threshold: 60 } } }).expect(
      200,
    );
    const got = await call(a, a.tenantId, { method: 'get', path: '/rules' }).expect(200);
    expect(got.body).toEqual({ rules: { threshold: 60 } });
    await call(a, a.tenantId, { method: 'put', path: '/rules', body: { rules: null } }).expect(200);
    expect((await h.store.getTenant(a.tenantId))?.config.rules).toBeNull();
  });

  it('validates and stores the mapping override', async () => {
    const bad = await call(a, a.tenantId, {
      method: 'put',
      path: '/mapping',
      body: { override: { fields: 3 } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.issues[0].path).toBe('fields');
    await call(
      a,
      a.tenantId,
      ROUTES.find((r) => r.path === '/mapping' && r.method === 'put')!,
    ).expect(200);
    const got = await call(a, a.tenantId, { method: 'get', path: '/mapping' }).expect(200);
    expect(got.body).toEqual({ override: { fields: { nps: 'nps_score' } } });
  });

  it('sets the landing page of the referral link (validated), keeping the other settings', async () => {
    const before = (await h.store.getTenant(a.tenantId))!.config.settings;
    const bad = await call(a, a.tenantId, {
      method: 'put',
      path: '/referral-link',
      body: { landingUrl: 'javascript:alert(1)' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe(ERR_INVALID_INPUT);
    const ok = await call(a, a.tenantId, {
      method: 'put',
      path: '/referral-link',
      body: { landingUrl: 'https://acme.test/welcome' },
    }).expect(200);
    expect(ok.body.landingUrl).toBe('https://acme.test/welcome');
    expect(ok.body.trackedLinkTemplate).toMatch(new RegExp(`/r/${a.tenantId}/\\{code\\}$`));
    const stored = (await h.store.getTenant(a.tenantId))!.config.settings;
    expect(stored).toEqual({ ...before, landingUrl: 'https://acme.test/welcome' });
    await call(a, a.tenantId, { method: 'put', path: '/referral-link', body: { landingUrl: null } }).expect(
      200,
    );
    expect((await h.store.getTenant(a.tenantId))!.config.settings).toEqual(before);
  });

  it('switches write-back on after a dry run of the current config, and off at any time', async () => {
    const writeBack = (enabled: unknown) =>
      call(a, a.tenantId, { method: 'put', path: '/write-back', body: { enabled } });
    await call(a, a.tenantId, { method: 'get', path: '/dry-run' }).expect(200);
    const res = await writeBack(true).expect(200);
    expect(res.body).toEqual({ writeBack: 'on' });
    expect((await h.store.getTenant(a.tenantId))?.config.writeBack).toBe('on');
    // Already on: asking again changes nothing and needs no new preview.
    h.clock.now = new Date(h.clock.now.getTime() + 60 * 60_000);
    await writeBack(true).expect(200, { writeBack: 'on' });
    await writeBack(false).expect(200, { writeBack: 'off' });
    const bad = await writeBack('yes');
    expect(bad.body.error.code).toBe('ERR_INVALID_INPUT');
  });

  describe('write-back gate', () => {
    const refused = async (reason: string) => {
      const res = await call(a, a.tenantId, { method: 'put', path: '/write-back', body: { enabled: true } });
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('ERR_WRITE_BACK_PREVIEW_REQUIRED');
      expect(res.body.error.details.reason).toBe(reason);
      expect((await h.store.getTenant(a.tenantId))?.config.writeBack).toBe('off');
    };
    const dryRun = () => call(a, a.tenantId, { method: 'get', path: '/dry-run' }).expect(200);

    it('refuses to turn write-back on before any dry run', async () => {
      await refused('missing');
      // Another tenant's preview does not count for this one.
      await call(b, b.tenantId, { method: 'get', path: '/dry-run' }).expect(200);
      await refused('missing');
    });

    it('refuses after the rules or the mapping changed through the API, until a new dry run', async () => {
      await dryRun();
      await call(a, a.tenantId, { method: 'put', path: '/rules', body: { rules: { threshold: 70 } } }).expect(
        200,
      );
      await refused('missing');
      await dryRun();
      await call(
        a,
        a.tenantId,
        ROUTES.find((r) => r.path === '/mapping' && r.method === 'put')!,
      ).expect(200);
      await refused('missing');
      // Back to the previewed rules (A → B → A) still needs a new preview: the change forgot it.
      await dryRun();
      await call(a, a.tenantId, { method: 'put', path: '/rules', body: { rules: { threshold: 71 } } });
      await call(a, a.tenantId, { method: 'put', path: '/rules', body: { rules: { threshold: 70 } } });
      await refused('missing');
      await dryRun();
      await call(a, a.tenantId, { method: 'put', path: '/write-back', body: { enabled: true } }).expect(200);
    });

    it('refuses when the config changed by another way (fingerprint) or the preview is too old', async () => {
      await dryRun();
      await h.store.updateTenant(a.tenantId, { config: { pilot: { mode: 'share', share: 0.2 } } });
      await refused('config-changed');
      await dryRun();
      h.clock.now = new Date(h.clock.now.getTime() + 31 * 60_000);
      await refused('expired');
      await dryRun();
      h.clock.now = new Date(h.clock.now.getTime() + 29 * 60_000);
      await call(a, a.tenantId, { method: 'put', path: '/write-back', body: { enabled: true } }).expect(200);
    });

    it('records nothing when the dry run fails', async () => {
      h.admin.dryRun = async () => {
        throw new Error('CRM unreachable');
      };
      await call(a, a.tenantId, { method: 'get', path: '/dry-run' }).expect(500);
      await refused('missing');
    });
  });

  it('queues a sync now (coalesced with a waiting one)', async () => {
    const first = await call(a, a.tenantId, { method: 'post', path: '/sync', body: {} }).expect(202);
    expect(first.body).toMatchObject({ kind: 'incremental', coalesced: false });
    const again = await call(a, a.tenantId, { method: 'post', path: '/sync', body: { kind: 'incremental' } });
    expect(again.body).toMatchObject({ jobId: first.body.jobId, coalesced: true });
    const bad = await call(a, a.tenantId, { method: 'post', path: '/sync', body: { kind: 'everything' } });
    expect(bad.status).toBe(400);
  });

  it('forwards pipeline routes to the AdminApi for the session tenant only', async () => {
    await call(a, a.tenantId, { method: 'post', path: '/retry-failed' }).expect(202, { queued: 2 });
    const plan = await call(a, a.tenantId, { method: 'get', path: '/dry-run?sample=5' }).expect(200);
    expect(plan.body.plan).toMatchObject({ tenantId: a.tenantId, sample: 5 });
    await call(a, a.tenantId, { method: 'get', path: '/dry-run?sample=5000' }).expect(400);
    const report = await call(a, a.tenantId, { method: 'get', path: '/report' }).expect(200);
    expect(report.body.report.tenantId).toBe(a.tenantId);
    const fields = await call(a, a.tenantId, { method: 'get', path: '/fields/contacts' }).expect(200);
    expect(fields.body.fields[0].name).toBe('nps');
    await call(a, a.tenantId, { method: 'get', path: '/fields/con%20tacts' }).expect(400);
    expect(h.admin.calls).toEqual([
      `retryFailed:${a.tenantId}`,
      `dryRun:${a.tenantId}:5`,
      `report:${a.tenantId}`,
      `fields:${a.tenantId}:contacts`,
    ]);
  });

  it('lists runs, record errors and the API budget', async () => {
    await h.store.recordErrors(
      a.tenantId,
      [{ object: 'contacts', id: '9', code: 'INVALID_FIELD', message: 'no such field', retryable: false }],
      new Date(),
    );
    const errors = await call(a, a.tenantId, { method: 'get', path: '/errors?limit=10' }).expect(200);
    expect(errors.body.total).toBe(1);
    expect(errors.body.errors[0]).toMatchObject({ id: '9', code: 'INVALID_FIELD' });
    const runs = await call(a, a.tenantId, { method: 'get', path: '/runs?limit=0' });
    expect(runs.status).toBe(400);
    const budget = await call(a, a.tenantId, { method: 'get', path: '/budget' }).expect(200);
    expect(budget.body.budget.buckets).toEqual(expect.any(Array));
  });

  it('uninstall stops the work, deletes the data and drops the tenant from the session', async () => {
    const both = await install(h, 'hubspot', '102', a.cookies);
    await h.producer.enqueue('incremental', both.tenantId);
    const res = await call(both, both.tenantId, { method: 'post', path: '/uninstall' }).expect(200);
    expect(res.body.uninstalled).toBe(both.tenantId);
    expect(res.body.removedJobs).toBeGreaterThanOrEqual(3); // provision, backfill, incremental
    expect(await h.store.getTenant(both.tenantId)).toBeNull();
    expect(await h.store.loadTokens(both.tenantId)).toBeNull();
    expect(await h.producer.nextScheduledAt(both.tenantId)).toBeNull();
    const jobs = await h.queues.byKind.backfill.getWaiting();
    expect(jobs.map((j) => j.data.tenantId)).not.toContain(both.tenantId);

    // The old session is revoked; the re-issued one still covers the other tenant only.
    await call(both, a.tenantId, { method: 'get', path: '' }).expect(401);
    const renewed = { ...both, cookies: cookiesOf(res) };
    renewed.csrf = decodeURIComponent(renewed.cookies.rs_csrf!);
    await call(renewed, a.tenantId, { method: 'get', path: '' }).expect(200);
    await call(renewed, both.tenantId, { method: 'get', path: '' }).expect(403);
  });
});

describe('session endpoints and body limits', () => {
  it('tells the page its tenants and CSRF token, and logs out', async () => {
    const res = await request(h.app).get('/api/session').set('Cookie', cookieHeader(a.cookies)).expect(200);
    expect(res.body).toMatchObject({ tenants: [a.tenantId], csrfToken: a.csrf });
    await request(h.app).post('/api/session/logout').set('Cookie', cookieHeader(a.cookies)).expect(403);
    await request(h.app)
      .post('/api/session/logout')
      .set('Cookie', cookieHeader(a.cookies))
      .set('X-CSRF-Token', a.csrf)
      .expect(204);
    await request(h.app).get('/api/session').set('Cookie', cookieHeader(a.cookies)).expect(401);
  });

  it('answers malformed and oversized JSON with the error shape', async () => {
    const malformed = await request(h.app)
      .put(`/api/tenants/${a.tenantId}/rules`)
      .set('Cookie', cookieHeader(a.cookies))
      .set('X-CSRF-Token', a.csrf)
      .set('Content-Type', 'application/json')
      .send('{"rules":');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('ERR_HTTP_BODY_MALFORMED');
    const huge = await request(h.app)
      .put(`/api/tenants/${a.tenantId}/rules`)
      .set('Cookie', cookieHeader(a.cookies))
      .set('X-CSRF-Token', a.csrf)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ rules: { pad: 'x'.repeat(1_100_000) } }));
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('ERR_HTTP_BODY_TOO_LARGE');
  });

  it('answers unknown routes with the error shape', async () => {
    const res = await request(h.app).get('/api/nothing-here').expect(404);
    expect(res.body).toEqual({ error: { code: 'ERR_HTTP_NOT_FOUND', message: expect.any(String) } });
  });

  it('marks cookies Secure when configured', async () => {
    const secure = await startHarness({ cookieSecure: true });
    try {
      const start = await request(secure.app).get('/install/hubspot').expect(302);
      const state = new URL(start.headers.location as string).searchParams.get('state')!;
      const cb = await request(secure.app).get('/oauth/hubspot/callback').query({ code: 'code-1', state });
      const cookies = cb.headers['set-cookie'] as unknown as string[];
      expect(cookies.find((c) => c.startsWith('rs_session='))).toMatch(/; HttpOnly; Secure; SameSite=Lax/);
      expect(cookies.find((c) => c.startsWith('rs_csrf='))).not.toMatch(/HttpOnly/);
    } finally {
      await secure.close();
    }
  });
});
