/**
 * Marketplace install: `GET /install/:crm` → the CRM's consent screen; `GET /oauth/:crm/callback`
 * → verify the state, exchange the code, create (or reconnect) the tenant, store its tokens
 * encrypted, queue provisioning + the first sync, sign the admin in, land on `/admin`.
 */
import { Router } from 'express';
import type { Request } from 'express';
import { z } from 'zod';
import type {
  AuthorizeRequest,
  CodeExchange,
  CrmDefinition,
  CrmName,
  TokenSet,
} from '../../../connectors/contract.js';
import { AppError, isAppError } from '../../errors.js';
import { ERR_STORE_TENANT_EXISTS } from '../../store/types.js';
import type { Tenant } from '../../store/types.js';
import { parseOrThrow } from '../../validation.js';
import type { ServerDeps } from '../deps.js';
import { HttpError } from '../http-errors.js';
import type { OAuthStates } from '../oauth-state.js';
import type { Sessions } from '../session.js';

export const ERR_SERVER_UNKNOWN_CRM = 'ERR_SERVER_UNKNOWN_CRM';
export const ERR_OAUTH_DENIED = 'ERR_OAUTH_DENIED';
export const ERR_OAUTH_EXCHANGE_FAILED = 'ERR_OAUTH_EXCHANGE_FAILED';

/** CRMs whose web-server flow we run with PKCE (Salesforce supports S256; API_FACTS §Salesforce OAuth). */
const PKCE_CRMS: ReadonlySet<CrmName> = new Set(['salesforce']);

const callbackQuery = z.object({
  code: z.string().min(1).max(4_000).optional(),
  state: z.string().max(4_000).optional(),
  error: z.string().max(200).optional(),
  error_description: z.string().max(2_000).optional(),
});

export function definitionOf(
  deps: ServerDeps,
  crm: string | undefined,
): { crm: CrmName; def: CrmDefinition } {
  const name = crm === 'hubspot' || crm === 'salesforce' ? crm : undefined;
  const def = name === undefined ? undefined : deps.crms[name];
  if (name === undefined || def === undefined) {
    throw new HttpError(
      404,
      ERR_SERVER_UNKNOWN_CRM,
      `unknown or unconfigured CRM: ${String(crm).slice(0, 40)}`,
    );
  }
  return { crm: name, def };
}

export function redirectUri(deps: ServerDeps, crm: CrmName): string {
  return `${deps.config.publicUrl}/oauth/${crm}/callback`;
}

export function installRouter(deps: ServerDeps, states: OAuthStates, sessions: Sessions): Router {
  const router = Router();

  router.get('/install/:crm', async (req, res) => {
    const { crm, def } = definitionOf(deps, req.params.crm);
    const loginUrl = crm === 'salesforce' ? deps.config.salesforceLoginUrl : undefined;
    const flow = await states.start(crm, {
      pkce: PKCE_CRMS.has(crm),
      ...(loginUrl === undefined ? {} : { loginUrl }),
    });
    const request: AuthorizeRequest = { state: flow.state, redirectUri: redirectUri(deps, crm) };
    if (flow.codeChallenge !== undefined) request.codeChallenge = flow.codeChallenge;
    if (loginUrl !== undefined) request.loginUrl = loginUrl;
    res.set('Cache-Control', 'no-store');
    res.redirect(302, def.authorizeUrl(request));
  });

  router.get('/oauth/:crm/callback', async (req, res) => {
    const { crm, def } = definitionOf(deps, req.params.crm);
    res.set('Cache-Control', 'no-store');
    const query = parseOrThrow(callbackQuery, req.query, 'OAuth callback');
    const flow = await states.finish(crm, query.state);
    if (query.error !== undefined) {
      throw new HttpError(400, ERR_OAUTH_DENIED, `${crm} did not authorize the app: ${query.error}`, {
        details: {
          crmError: query.error,
          ...(query.error_description ? { description: query.error_description } : {}),
        },
      });
    }
    if (query.code === undefined) {
      throw new HttpError(400, ERR_OAUTH_DENIED, `${crm} returned no authorization code`);
    }
    const exchange: CodeExchange = { code: query.code, redirectUri: redirectUri(deps, crm) };
    if (flow.codeVerifier !== undefined) exchange.codeVerifier = flow.codeVerifier;
    if (flow.loginUrl !== undefined) exchange.loginUrl = flow.loginUrl;
    let tokens: TokenSet;
    try {
      tokens = await def.exchangeCode(exchange);
    } catch (e) {
      throw new HttpError(
        502,
        ERR_OAUTH_EXCHANGE_FAILED,
        `${crm} refused the authorization code: start again`,
        {
          details: { cause: isAppError(e) ? e.code : 'network' },
          cause: e,
        },
      );
    }

    const { tenant, reconnected } = await connectTenant(deps, crm, tokens);
    await deps.store.saveTokens(tenant.id, tokens);
    await deps.queue.enqueue('provision', tenant.id, { reason: 'install' });
    // A reconnect keeps its cursors: an incremental sync catches up; a new tenant gets a backfill.
    await deps.queue.enqueue(reconnected ? 'incremental' : 'backfill', tenant.id, { reason: 'install' });
    await deps.queue.schedule(tenant.id, deps.config.scheduleEveryMs);
    deps.logger.info(
      { crm, tenantId: tenant.id, accountId: tenant.accountId, reconnected },
      'tenant installed',
    );

    const previous = await sessions.read(req as Request);
    await sessions.issue(res, [...(previous?.tenants ?? []), tenant.id]);
    res.redirect(303, `/admin?tenant=${encodeURIComponent(tenant.id)}`);
  });

  return router;
}

async function connectTenant(
  deps: ServerDeps,
  crm: CrmName,
  tokens: TokenSet,
): Promise<{ tenant: Tenant; reconnected: boolean }> {
  const existing = await deps.store.findByAccount(crm, tokens.accountId);
  if (existing !== null) {
    const tenant = await deps.store.updateTenant(existing.id, { status: 'connected', mode: 'oauth' });
    return { tenant, reconnected: true };
  }
  try {
    return {
      tenant: await deps.store.createTenant({ crm, accountId: tokens.accountId, mode: 'oauth' }),
      reconnected: false,
    };
  } catch (e) {
    // Two callbacks for the same account at once: the other one created it.
    if (!isAppError(e, ERR_STORE_TENANT_EXISTS)) throw e;
    const raced = await deps.store.findByAccount(crm, tokens.accountId);
    if (raced === null)
      throw new AppError(ERR_STORE_TENANT_EXISTS, 'tenant exists but cannot be found', { cause: e });
    return { tenant: raced, reconnected: true };
  }
}
