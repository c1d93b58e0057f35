/**
 * `POST /webhooks/:crm`: verify the signature over the RAW body bytes (never re-serialised JSON),
 * parse, group the events per account → tenant, queue one webhook job per tenant, answer at once.
 * HubSpot retries a delivery that takes more than 5 s or gets any 4xx/5xx (API_FACTS §HubSpot
 * Webhooks), so the work happens in the queue, and only a delivery we could not queue gets a 503.
 * Unknown accounts and malformed events are skipped; the rest of the batch is never lost.
 */
import express, { Router } from 'express';
import type { ChangeEvent, IncomingWebhook } from '../../../connectors/contract.js';
import { isAppError } from '../../errors.js';
import type { ServerDeps } from '../deps.js';
import { HttpError } from '../http-errors.js';
import { definitionOf } from './install.js';

export const ERR_WEBHOOK_SIGNATURE = 'ERR_WEBHOOK_SIGNATURE';
export const ERR_WEBHOOK_BODY = 'ERR_WEBHOOK_BODY';
export const ERR_WEBHOOK_UNSUPPORTED = 'ERR_WEBHOOK_UNSUPPORTED';
export const ERR_WEBHOOK_NOT_QUEUED = 'ERR_WEBHOOK_NOT_QUEUED';

/** Events per queued job (a HubSpot delivery carries ≤ 100; other sources may batch more). */
const EVENTS_PER_JOB = 1_000;

export interface WebhookSummary {
  received: number;
  queued: number;
  jobs: number;
  skipped: { unknownAccount: number; disconnected: number; malformed: number };
}

export function webhookRouter(deps: ServerDeps): Router {
  const router = Router();
  const now = deps.now ?? (() => new Date());

  router.post('/webhooks/:crm', express.raw({ type: () => true, limit: '5mb' }), async (req, res) => {
    const { crm, def } = definitionOf(deps, req.params.crm);
    if (def.verifyWebhook === undefined || def.parseWebhook === undefined) {
      throw new HttpError(
        404,
        ERR_WEBHOOK_UNSUPPORTED,
        `${crm} webhooks are not supported by this connector`,
      );
    }
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const incoming: IncomingWebhook = {
      method: req.method,
      // The URL the CRM called, as configured in the app (the signature covers it), not the
      // internal host behind a proxy.
      url: `${deps.config.publicUrl}${req.originalUrl}`,
      headers: req.headers,
      rawBody,
    };
    try {
      def.verifyWebhook(incoming, now());
    } catch (e) {
      const code = isAppError(e) ? e.code : ERR_WEBHOOK_SIGNATURE;
      deps.logger.warn({ crm, code }, 'webhook rejected');
      deps.metrics?.webhookEventsTotal.inc({ crm, outcome: 'rejected' });
      throw new HttpError(401, code, 'webhook signature verification failed');
    }

    let body: unknown;
    try {
      body = JSON.parse(rawBody.toString('utf8'));
    } catch {
      throw new HttpError(400, ERR_WEBHOOK_BODY, 'webhook body is not JSON');
    }
    let parsed: ReturnType<NonNullable<typeof def.parseWebhook>>;
    try {
      parsed = def.parseWebhook(body);
    } catch (e) {
      throw new HttpError(400, ERR_WEBHOOK_BODY, 'webhook body has an unexpected shape', {
        details: { cause: isAppError(e) ? e.code : 'parse' },
      });
    }
    if (parsed.rejected.length > 0) {
      deps.logger.warn({ crm, rejected: parsed.rejected.slice(0, 20) }, 'malformed webhook events skipped');
    }

    const summary: WebhookSummary = {
      received: parsed.events.length + parsed.rejected.length,
      queued: 0,
      jobs: 0,
      skipped: { unknownAccount: 0, disconnected: 0, malformed: parsed.rejected.length },
    };
    const byAccount = new Map<string, ChangeEvent[]>();
    for (const event of parsed.events) {
      const list = byAccount.get(event.accountId) ?? [];
      list.push(event);
      byAccount.set(event.accountId, list);
    }
    for (const [accountId, events] of byAccount) {
      const tenant = await deps.store.findByAccount(crm, accountId);
      if (tenant === null) {
        summary.skipped.unknownAccount += events.length;
        continue;
      }
      if (tenant.status !== 'connected') {
        summary.skipped.disconnected += events.length;
        continue;
      }
      for (let i = 0; i < events.length; i += EVENTS_PER_JOB) {
        try {
          await deps.queue.enqueueWebhook(tenant.id, events.slice(i, i + EVENTS_PER_JOB), {
            reason: 'webhook',
          });
        } catch (e) {
          // Queue down: make the CRM deliver again later rather than drop the events.
          throw new HttpError(503, ERR_WEBHOOK_NOT_QUEUED, 'webhook could not be queued, retry later', {
            retryable: true,
            cause: e,
          });
        }
        summary.jobs += 1;
      }
      summary.queued += events.length;
    }
    const counter = deps.metrics?.webhookEventsTotal;
    counter?.inc({ crm, outcome: 'accepted' }, summary.queued);
    counter?.inc({ crm, outcome: 'ignored' }, summary.skipped.unknownAccount + summary.skipped.disconnected);
    counter?.inc({ crm, outcome: 'rejected' }, summary.skipped.malformed);
    if (summary.skipped.unknownAccount > 0) {
      deps.logger.info({ crm, skipped: summary.skipped }, 'webhook events for unknown accounts skipped');
    }
    res.status(200).json(summary);
  });

  return router;
}
