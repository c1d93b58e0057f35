/**
 * Admin JSON endpoints the console page needs beyond `admin-api.ts`: the effective rules (stored
 * override with every default filled in, for the form), a dry run with UNSAVED rules ("see the
 * effect before saving"), the effective mapping (shipped file + tenant override), and the health
 * figures (queue depths and lag). Same gate as the rest of the API: session → tenant in session →
 * CSRF header on changes → tenant exists. Nothing secret is read, so nothing secret can leak.
 */
import express, { Router } from 'express';
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import type { JsonValue } from '../../../connectors/contract.js';
import { CANONICAL_INPUTS } from '../../engine/model.js';
import { CRITERION_KINDS, CriterionSchema, parseRules, SEGMENT_FIELDS } from '../../engine/rules.js';
import { isAppError } from '../../errors.js';
import { loadMapping } from '../../sync/mapping.js';
import type { Tenant } from '../../store/types.js';
import { parseOrThrow } from '../../validation.js';
import type { ServerDeps } from '../deps.js';
import { HttpError } from '../http-errors.js';
import { checkCsrf, checkTenant } from '../session.js';
import type { Sessions } from '../session.js';
import { ERR_TENANT_NOT_FOUND } from './admin-api.js';

export const ERR_ADMIN_PREVIEW_UNSUPPORTED = 'ERR_ADMIN_PREVIEW_UNSUPPORTED';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const previewBody = z.strictObject({
  rules: z.unknown(),
  sample: z.number().int().min(0).max(200).default(20),
});

/** A validator's AppError as a 400 keeping its code and `details.issues` (the form shows them by path). */
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

/**
 * What the rules form may add, from the engine's own schema (so the page never hard-codes
 * defaults): each criterion kind with its default parameters, and the person inputs a custom
 * segment condition can test with their types (the type decides the operators).
 */
const RULES_CATALOG = JSON.parse(
  JSON.stringify({
    criteria: Object.fromEntries(
      CRITERION_KINDS.map((kind) => [kind, CriterionSchema.parse({ kind, weight: 10 })]),
    ),
    segmentFields: SEGMENT_FIELDS,
  }),
) as JsonValue;

function tenantOf(res: Response): Tenant {
  return (res.locals as { tenant: Tenant }).tenant;
}

export function adminConsoleRouter(deps: ServerDeps, sessions: Sessions): Router {
  const router = Router();
  const now = deps.now ?? (() => new Date());
  const routes = Router({ mergeParams: true });
  router.use(
    '/api/tenants/:tenantId',
    express.json({ limit: deps.config.jsonLimitBytes ?? 1024 * 1024 }),
    routes,
  );

  routes.use(async (req: Request<{ tenantId: string }>, res: Response, next: NextFunction) => {
    const session = await sessions.require(req);
    checkTenant(session, req.params.tenantId);
    if (!SAFE_METHODS.has(req.method)) checkCsrf(req, session);
    const tenant = await deps.store.getTenant(req.params.tenantId);
    if (tenant === null) throw new HttpError(404, ERR_TENANT_NOT_FOUND, 'tenant not found (uninstalled?)');
    res.locals.tenant = tenant;
    next();
  });

  routes.get('/rules/effective', (_req, res) => {
    const stored = tenantOf(res).config.rules;
    // Validators may store the admin's input as written; the form needs every default filled in.
    const checked = validated(() => deps.validators.rules(stored ?? {}));
    res.json({
      rules: JSON.parse(JSON.stringify(parseRules(checked))) as JsonValue,
      saved: stored !== null,
      catalog: RULES_CATALOG,
    });
  });

  routes.post('/rules/preview', async (req, res) => {
    const body = parseOrThrow(previewBody, req.body ?? {}, 'rules preview');
    const rules = validated(() => deps.validators.rules(body.rules ?? {}));
    if (deps.admin.previewRules === undefined) {
      throw new HttpError(501, ERR_ADMIN_PREVIEW_UNSUPPORTED, 'this service cannot preview unsaved rules');
    }
    res.json({ plan: await deps.admin.previewRules(tenantOf(res).id, rules, { sample: body.sample }) });
  });

  routes.get('/mapping/effective', (_req, res) => {
    const tenant = tenantOf(res);
    const override = tenant.config.mappingOverride;
    res.json({
      mapping: loadMapping(tenant.crm, override ?? undefined),
      override,
      canonicalInputs: CANONICAL_INPUTS,
    });
  });

  routes.get('/health', async (_req, res) => {
    const tenant = tenantOf(res);
    const [depths, next] = await Promise.all([deps.queue.depths(), deps.queue.nextScheduledAt(tenant.id)]);
    const at = now().getTime();
    // Lag: how long the tenant's scheduled sync is overdue (0 when on time or not yet due).
    const lagMs = next === null ? null : Math.max(0, at - next.getTime());
    res.json({ queues: depths, nextSyncAt: next?.toISOString() ?? null, lagMs });
  });

  return router;
}
