/**
 * The admin JSON API behind `/admin`. Every tenant route checks that the session covers the tenant
 * in the path (403 otherwise, whether or not it exists), and every change needs the CSRF header.
 * Responses are built field by field from the store: no token, secret or raw config blob is ever
 * sent to the browser.
 */
import express, { Router } from 'express';
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import type { JsonValue } from '../../../connectors/contract.js';
import { CodeIssuer, seededRandom } from '../../engine/index.js';
import { isAppError } from '../../errors.js';
import type { Tenant } from '../../store/types.js';
import { loadMapping } from '../../sync/mapping.js';
import { parseOrThrow } from '../../validation.js';
import { forgetPreview, recordPreview, requireRecentPreview } from '../admin/write-back-gate.js';
import type { ServerDeps } from '../deps.js';
import { HttpError } from '../http-errors.js';
import { LANDING_URL_SETTING, LandingUrlSchema } from './referral-link.js';
import { checkCsrf, checkTenant } from '../session.js';
import type { Session, Sessions } from '../session.js';

export const ERR_TENANT_NOT_FOUND = 'ERR_TENANT_NOT_FOUND';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

interface Locals {
  session: Session;
  tenant: Tenant;
}

const limitQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) });
const dryRunQuery = z.object({ sample: z.coerce.number().int().min(0).max(200).default(20) });
const syncBody = z.strictObject({ kind: z.enum(['incremental', 'backfill']).default('incremental') });
const writeBackBody = z.strictObject({ enabled: z.boolean() });
const rulesBody = z.strictObject({ rules: z.unknown() });
const mappingBody = z.strictObject({ override: z.unknown() });
const objectParam = z.string().regex(/^[A-Za-z0-9_]{1,80}$/, 'CRM object name');
const referralLinkBody = z.strictObject({ landingUrl: LandingUrlSchema.nullable() });

/** A fixed, valid code (check character included) for the page's example link; nobody holds it. */
const EXAMPLE_CODE = new CodeIssuer(seededRandom(20_260_101)).draw();

/** The template the tenant's `referral_link` values are built from (shipped mapping + override). */
function linkTemplateOf(tenant: Tenant): string | null {
  try {
    return loadMapping(tenant.crm, tenant.config.mappingOverride ?? undefined).referralLinkTemplate;
  } catch {
    // Overrides are validated when saved; an unreadable one is shown as "unknown", not a 500.
    return null;
  }
}

function locals(res: Response): Locals {
  return res.locals as Locals;
}

/** Re-throws a validator's AppError as a 400 keeping its code and `details.issues` (field paths). */
function validated(fn: () => JsonValue): JsonValue {
  try {
    return fn();
  } catch (e) {
    if (isAppError(e)) {
      throw new HttpError(
        400,
        e.code,
        e.message,
        e.details === undefined ? {} : { details: { ...e.details } },
      );
    }
    throw e;
  }
}

export function tenantView(tenant: Tenant, nextSyncAt: Date | null) {
  return {
    id: tenant.id,
    crm: tenant.crm,
    accountId: tenant.accountId,
    name: tenant.name ?? null,
    mode: tenant.mode,
    status: tenant.status,
    statusReason: tenant.statusReason ?? null,
    statusAt: tenant.statusAt,
    createdAt: tenant.createdAt,
    lastSyncAt: tenant.lastSyncAt ?? null,
    nextSyncAt: nextSyncAt?.toISOString() ?? tenant.nextSyncAt ?? null,
    writeBack: tenant.config.writeBack,
  };
}

export function adminApiRouter(deps: ServerDeps, sessions: Sessions): Router {
  const router = Router();
  const now = deps.now ?? (() => new Date());
  // Only under /api: the webhook routes must get the raw, unparsed body.
  router.use('/api', express.json({ limit: deps.config.jsonLimitBytes ?? 1024 * 1024 }));

  router.get('/api/session', async (req, res) => {
    const session = await sessions.require(req);
    res.json({
      tenants: session.tenants,
      csrfToken: session.csrf,
      expiresAt: session.expiresAt.toISOString(),
    });
  });

  router.post('/api/session/logout', async (req, res) => {
    const session = await sessions.require(req);
    checkCsrf(req, session);
    await sessions.revoke(session);
    sessions.clear(res);
    res.status(204).end();
  });

  const tenantRoutes = Router({ mergeParams: true });
  router.use('/api/tenants/:tenantId', tenantRoutes);

  // Gate: session → tenant in session → CSRF on changes → tenant exists.
  tenantRoutes.use(async (req: Request<{ tenantId: string }>, res: Response, next: NextFunction) => {
    const session = await sessions.require(req);
    checkTenant(session, req.params.tenantId);
    if (!SAFE_METHODS.has(req.method)) checkCsrf(req, session);
    const tenant = await deps.store.getTenant(req.params.tenantId);
    if (tenant === null) throw new HttpError(404, ERR_TENANT_NOT_FOUND, 'tenant not found (uninstalled?)');
    Object.assign(res.locals, { session, tenant } satisfies Locals);
    next();
  });

  tenantRoutes.get('/', async (_req, res) => {
    const { tenant } = locals(res);
    const [next, runs, errorCount] = await Promise.all([
      deps.queue.nextScheduledAt(tenant.id),
      deps.store.listRuns(tenant.id, 1),
      deps.store.countErrors(tenant.id),
    ]);
    res.json({ tenant: tenantView(tenant, next), lastRun: runs[0] ?? null, errorCount });
  });

  tenantRoutes.get('/rules', (_req, res) => {
    res.json({ rules: locals(res).tenant.config.rules });
  });

  tenantRoutes.put('/rules', async (req, res) => {
    const { tenant } = locals(res);
    const body = parseOrThrow(rulesBody, req.body ?? {}, 'rules update');
    const rules = body.rules === null ? null : validated(() => deps.validators.rules(body.rules));
    const updated = await deps.store.updateTenant(tenant.id, { config: { rules } });
    await forgetPreview(deps.store, tenant.id);
    res.json({ rules: updated.config.rules });
  });

  tenantRoutes.get('/mapping', (_req, res) => {
    res.json({ override: locals(res).tenant.config.mappingOverride });
  });

  tenantRoutes.put('/mapping', async (req, res) => {
    const { tenant } = locals(res);
    const body = parseOrThrow(mappingBody, req.body ?? {}, 'mapping update');
    const override =
      body.override === null
        ? null
        : validated(() => deps.validators.mappingOverride(tenant.crm, body.override));
    const updated = await deps.store.updateTenant(tenant.id, { config: { mappingOverride: override } });
    await forgetPreview(deps.store, tenant.id);
    res.json({ override: updated.config.mappingOverride });
  });

  tenantRoutes.get('/runs', async (req, res) => {
    const { limit } = parseOrThrow(limitQuery, req.query, 'query');
    res.json({ runs: await deps.store.listRuns(locals(res).tenant.id, limit) });
  });

  tenantRoutes.get('/errors', async (req, res) => {
    const { limit } = parseOrThrow(limitQuery, req.query, 'query');
    const id = locals(res).tenant.id;
    const [errors, total] = await Promise.all([deps.store.listErrors(id, limit), deps.store.countErrors(id)]);
    res.json({ errors, total });
  });

  tenantRoutes.post('/sync', async (req, res) => {
    const { kind } = parseOrThrow(syncBody, req.body ?? {}, 'sync request');
    const result = await deps.queue.enqueue(kind, locals(res).tenant.id, { reason: 'admin' });
    res.status(202).json({ kind, ...result });
  });

  tenantRoutes.post('/retry-failed', async (_req, res) => {
    res.status(202).json(await deps.admin.retryFailed(locals(res).tenant.id));
  });

  tenantRoutes.get('/dry-run', async (req, res) => {
    const { sample } = parseOrThrow(dryRunQuery, req.query, 'query');
    const { tenant } = locals(res);
    const plan = await deps.admin.dryRun(tenant.id, { sample });
    // Vouches for the config as loaded before the run: a change made meanwhile is not covered.
    await recordPreview(deps.store, tenant, now());
    res.json({ plan });
  });

  // The tenant's referral link: where `/r/<tenant>/<code>` sends visitors (its landing page), the
  // link template that points at that route (set it through the mapping override), the template the
  // CRM's `referral_link` values are built from now, and an example code to show what they look like.
  const referralLinkView = (tenant: Tenant) => {
    const trackedLinkTemplate = `${deps.config.publicUrl}/r/${tenant.id}/{code}`;
    const linkTemplate = linkTemplateOf(tenant);
    return {
      landingUrl:
        typeof tenant.config.settings[LANDING_URL_SETTING] === 'string'
          ? tenant.config.settings[LANDING_URL_SETTING]
          : null,
      trackedLinkTemplate,
      linkTemplate,
      tracked: linkTemplate === trackedLinkTemplate,
      exampleCode: EXAMPLE_CODE,
    };
  };
  tenantRoutes.get('/referral-link', (_req, res) => {
    res.json(referralLinkView(locals(res).tenant));
  });
  tenantRoutes.put('/referral-link', async (req, res) => {
    const { tenant } = locals(res);
    const { landingUrl } = parseOrThrow(referralLinkBody, req.body ?? {}, 'referral link');
    const settings: Record<string, JsonValue> = { ...tenant.config.settings };
    if (landingUrl === null) delete settings[LANDING_URL_SETTING];
    else settings[LANDING_URL_SETTING] = landingUrl;
    const updated = await deps.store.updateTenant(tenant.id, { config: { settings } });
    res.json(referralLinkView(updated));
  });

  tenantRoutes.get('/report', async (_req, res) => {
    res.json({ report: await deps.admin.report(locals(res).tenant.id) });
  });

  tenantRoutes.put('/write-back', async (req, res) => {
    const { enabled } = parseOrThrow(writeBackBody, req.body ?? {}, 'write-back switch');
    const { tenant } = locals(res);
    // Turning on needs a recent preview of what will be written; off (or staying on) never does.
    if (enabled && tenant.config.writeBack !== 'on') await requireRecentPreview(deps.store, tenant, now());
    const updated = await deps.store.updateTenant(tenant.id, {
      config: { writeBack: enabled ? 'on' : 'off' },
    });
    deps.logger.info({ tenantId: updated.id, writeBack: updated.config.writeBack }, 'write-back switched');
    res.json({ writeBack: updated.config.writeBack });
  });

  tenantRoutes.get('/budget', async (_req, res) => {
    const { tenant } = locals(res);
    const def = deps.crms[tenant.crm];
    if (def === undefined) throw new HttpError(404, ERR_TENANT_NOT_FOUND, `${tenant.crm} is not configured`);
    const limiter = deps.store.rateLimiter(tenant.id, def.rateLimits(tenant.mode));
    res.json({ budget: await limiter.snapshot() });
  });

  tenantRoutes.get('/fields/:object', async (req: Request<{ object: string }>, res) => {
    const object = parseOrThrow(objectParam, req.params.object, 'object');
    res.json({ fields: await deps.admin.fields(locals(res).tenant.id, object) });
  });

  tenantRoutes.post('/uninstall', async (_req, res) => {
    const { tenant, session } = locals(res);
    // Stop the work first (schedule, queued jobs, abort the running one), then delete the data.
    const { removedJobs, stillRunning } = await deps.queue.cancelTenant(tenant.id, {
      waitMs: deps.config.uninstallWaitMs ?? 15_000,
    });
    await deps.store.deleteTenant(tenant.id);
    const log = { tenantId: tenant.id, crm: tenant.crm, removedJobs, stillRunning };
    if (stillRunning > 0) deps.logger.warn(log, 'tenant uninstalled while a run was still stopping');
    else deps.logger.info(log, 'tenant uninstalled');
    await sessions.revoke(session);
    const remaining = session.tenants.filter((t) => t !== tenant.id);
    if (remaining.length > 0) await sessions.issue(res, remaining);
    else sessions.clear(res);
    res.json({ uninstalled: tenant.id, removedJobs });
  });

  return router;
}
