/**
 * Webhook delivery (API_FACTS §Webhooks): record changes become events
 * `{eventId, subscriptionId, portalId, appId, occurredAt, subscriptionType, attemptNumber, objectId,
 * propertyName?, propertyValue?, changeSource, sourceId?, changeFlag?}` (merge adds
 * primaryObjectId/mergedObjectIds; associationChange adds fromObjectId/toObjectId/
 * associationRemoved/associationType), POSTed as JSON arrays of ≤ 100 events, signed v3:
 * `X-HubSpot-Signature-v3 = base64(HMAC-SHA256(clientSecret, method + uri + body + timestamp))`
 * with `X-HubSpot-Request-Timestamp` in ms; the v1 header (`hex(sha256(secret + body))`) rides
 * along as HubSpot sends it. API writes carry `changeSource:"INTEGRATION"` with the app id as
 * `sourceId`; simulated UI edits carry `"CRM_UI"` with `sourceId:"userId:<id>"`.
 * Failed deliveries (connect error, non-2xx) are retried up to `maxAttempts` times.
 * Tasks have no legacy webhook subscription type, so task changes send nothing.
 */
import { createHash, createHmac } from 'node:crypto';
import type { CrmEvent } from './crm.js';
import { SINGULAR } from './wire.js';

export const WEBHOOK_MAX_EVENTS = 100;

export interface WebhookEvent {
  eventId: number;
  subscriptionId: number;
  portalId: number;
  appId: number;
  occurredAt: number;
  subscriptionType: string;
  attemptNumber: number;
  objectId: number;
  changeSource: string;
  sourceId?: string;
  propertyName?: string;
  propertyValue?: string;
  changeFlag?: string;
  primaryObjectId?: number;
  mergedObjectIds?: number[];
  fromObjectId?: number;
  toObjectId?: number;
  associationRemoved?: boolean;
  associationType?: string;
}

export interface WebhookDelivery {
  at: string;
  url: string;
  status: number;
  events: number;
  attempt: number;
  error?: string;
}

export function signV3(
  clientSecret: string,
  method: string,
  uri: string,
  body: string,
  timestamp: string,
): string {
  return createHmac('sha256', clientSecret)
    .update(`${method}${uri}${body}${timestamp}`, 'utf8')
    .digest('base64');
}

export class WebhookDispatcher {
  private target: { url: string; secret: string } | undefined;
  private queue: WebhookEvent[] = [];
  private nextEventId = 1;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = new Set<Promise<void>>();
  readonly deliveries: WebhookDelivery[] = [];
  private readonly subscriptionIds = new Map<string, number>();

  constructor(
    private readonly opts: {
      appId: number;
      portalId: () => number;
      userId: number;
      now: () => Date;
      maxAttempts: number;
      retryDelayMs: number;
      /** Collect events this long before sending, so a batch write becomes one request. */
      batchDelayMs: number;
    },
  ) {}

  setTarget(url: string | undefined, secret: string): void {
    this.target = url === undefined ? undefined : { url, secret };
  }

  get configured(): boolean {
    return this.target !== undefined;
  }

  private subscriptionId(type: string): number {
    let id = this.subscriptionIds.get(type);
    if (id === undefined) {
      id = 1_000 + this.subscriptionIds.size;
      this.subscriptionIds.set(type, id);
    }
    return id;
  }

  enqueue(e: CrmEvent): void {
    if (this.target === undefined || e.type === 'tasks') return;
    const subscriptionType = `${SINGULAR[e.type]}.${e.kind}`;
    const ev: WebhookEvent = {
      eventId: this.nextEventId++,
      subscriptionId: this.subscriptionId(subscriptionType),
      portalId: this.opts.portalId(),
      appId: this.opts.appId,
      occurredAt: e.occurredAt,
      subscriptionType,
      attemptNumber: 0,
      objectId: e.id,
      changeSource: e.source,
      sourceId: e.source === 'INTEGRATION' ? String(this.opts.appId) : `userId:${this.opts.userId}`,
    };
    if (e.kind === 'propertyChange') {
      ev.propertyName = e.propertyName ?? '';
      ev.propertyValue = e.propertyValue ?? '';
    }
    if (e.kind === 'creation') ev.changeFlag = 'NEW';
    if (e.kind === 'deletion') ev.changeFlag = 'DELETED';
    if (e.kind === 'merge') {
      ev.changeFlag = 'MERGED';
      ev.primaryObjectId = e.primaryObjectId ?? e.id;
      ev.mergedObjectIds = e.mergedObjectIds ?? [];
    }
    if (e.kind === 'associationChange') {
      ev.fromObjectId = e.id;
      ev.toObjectId = e.toId ?? 0;
      ev.associationRemoved = e.associationRemoved ?? false;
      ev.associationType = `${SINGULAR[e.type].toUpperCase()}_TO_${SINGULAR[e.toType ?? e.type].toUpperCase()}`;
    }
    this.queue.push(ev);
    if (this.timer === undefined) this.timer = setTimeout(() => void this.drain(), this.opts.batchDelayMs);
  }

  private drain(): Promise<void> {
    this.timer = undefined;
    const target = this.target;
    const sends: Promise<void>[] = [];
    while (target !== undefined && this.queue.length > 0) {
      const batch = this.queue.splice(0, WEBHOOK_MAX_EVENTS);
      const p = this.send(target, batch, 0).finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
      sends.push(p);
    }
    this.queue = [];
    return Promise.all(sends).then(() => undefined);
  }

  private async send(
    target: { url: string; secret: string },
    events: WebhookEvent[],
    attempt: number,
  ): Promise<void> {
    const body = JSON.stringify(events.map((e) => ({ ...e, attemptNumber: attempt })));
    const timestamp = String(this.opts.now().getTime());
    let status = 0;
    let error: string | undefined;
    try {
      const res = await fetch(target.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-HubSpot-Signature-v3': signV3(target.secret, 'POST', target.url, body, timestamp),
          'X-HubSpot-Request-Timestamp': timestamp,
          'X-HubSpot-Signature': createHash('sha256')
            .update(target.secret + body)
            .digest('hex'),
          'X-HubSpot-Signature-Version': 'v1',
        },
        body,
        signal: AbortSignal.timeout(5_000),
      });
      status = res.status;
      await res.arrayBuffer();
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    this.deliveries.push({
      at: this.opts.now().toISOString(),
      url: target.url,
      status,
      events: events.length,
      attempt,
      ...(error === undefined ? {} : { error }),
    });
    if ((status < 200 || status >= 300) && attempt + 1 < this.opts.maxAttempts) {
      await new Promise((r) => setTimeout(r, this.opts.retryDelayMs * (attempt + 1)));
      await this.send(target, events, attempt + 1);
    }
  }

  /** Send everything queued now and wait for every delivery (including retries) to finish. */
  async flush(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.drain();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  reset(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue = [];
    this.deliveries.length = 0;
    this.nextEventId = 1;
  }
}
