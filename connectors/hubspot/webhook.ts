/**
 * Webhooks: signature v3 and event parsing.
 *
 * v3 (HubSpot "Validating requests", changelog "introducing version 3 of webhook signatures";
 * API_FACTS §Webhooks): reject when `X-HubSpot-Request-Timestamp` (ms) is more than 5 minutes old;
 * sign the UTF-8 string `method + uri + rawBody + timestamp` where uri is the full URL with
 * %3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C %3B decoded, HMAC-SHA256 with the app's client
 * secret, base64; compare in constant time. (The SDK's `Signature.isValid` does not decode the
 * uri, so we do not use it.)
 *
 * Events: a JSON array of ≤ 100 objects; each is validated alone, malformed or unknown ones are
 * listed in `rejected` and never fail the rest of the batch.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { ChangeEvent, IncomingWebhook } from '../contract.js';
import { AppError } from '../../src/errors.js';
import { ERR_WEBHOOK_SIGNATURE, ERR_WEBHOOK_STALE } from './errors.js';
import type { HubSpotFacts } from './facts.js';

function header(headers: IncomingWebhook['headers'], name: string): string | undefined {
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === name) return Array.isArray(v) ? v[0] : v;
  }
  return undefined;
}

export function decodeSignedUri(url: string, decodes: readonly string[]): string {
  let out = url;
  for (const enc of decodes) out = out.replace(new RegExp(enc, 'gi'), decodeURIComponent(enc));
  return out;
}

export function signV3(
  secret: string,
  method: string,
  uri: string,
  rawBody: Buffer,
  timestamp: string,
): string {
  return createHmac('sha256', secret)
    .update(Buffer.concat([Buffer.from(`${method}${uri}`, 'utf8'), rawBody, Buffer.from(timestamp, 'utf8')]))
    .digest('base64');
}

function constantTimeEqual(a: string, b: string): boolean {
  // Hash both so the compare is constant-time whatever the lengths.
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

export function verifyHubSpotWebhook(
  facts: HubSpotFacts,
  clientSecret: string,
  request: IncomingWebhook,
  now: Date,
): void {
  const signature = header(request.headers, facts.webhooks.signatureHeader);
  const timestamp = header(request.headers, facts.webhooks.timestampHeader);
  if (signature === undefined || timestamp === undefined || !/^\d+$/.test(timestamp)) {
    throw new AppError(ERR_WEBHOOK_SIGNATURE, 'missing HubSpot v3 signature or timestamp header');
  }
  const ageMs = now.getTime() - Number(timestamp);
  if (Math.abs(ageMs) > facts.webhooks.maxAgeMs) {
    throw new AppError(ERR_WEBHOOK_STALE, 'HubSpot webhook timestamp outside the 5-minute window', {
      details: { ageMs },
    });
  }
  const uri = decodeSignedUri(request.url, facts.webhooks.uriDecodes);
  const expected = signV3(clientSecret, request.method.toUpperCase(), uri, request.rawBody, timestamp);
  if (!constantTimeEqual(expected, signature)) {
    throw new AppError(ERR_WEBHOOK_SIGNATURE, 'HubSpot webhook signature does not match');
  }
}

const Id = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)]).transform(String);

const EventSchema = z.looseObject({
  eventId: Id,
  subscriptionId: Id.optional(),
  portalId: Id,
  appId: Id.optional(),
  occurredAt: z.number().int().positive(),
  subscriptionType: z.string().regex(/^[a-z_]+\.[a-zA-Z]+$/),
  attemptNumber: z.number().int().optional(),
  objectId: Id.optional(),
  propertyName: z.string().optional(),
  propertyValue: z.unknown().optional(),
  changeSource: z.string().optional(),
  sourceId: z.string().optional().nullable(),
  primaryObjectId: Id.optional(),
  mergedObjectIds: z.array(Id).optional(),
  newObjectId: Id.optional(),
  fromObjectId: Id.optional(),
  toObjectId: Id.optional(),
  associationRemoved: z.boolean().optional(),
  associationType: z.string().optional(),
  isPrimaryAssociation: z.boolean().optional(),
});

const OBJECTS: Record<string, string> = {
  contact: 'contacts',
  company: 'companies',
  deal: 'deals',
  ticket: 'tickets',
};

/** `associationType` names the object of each side in upper-case singular (`DEAL_TO_CONTACT`). */
const ASSOCIATION_SIDES: Record<string, string> = {
  CONTACT: 'contacts',
  COMPANY: 'companies',
  DEAL: 'deals',
  TICKET: 'tickets',
};

/**
 * The object of the "to" side of an association change, or undefined when the type does not name
 * one we map (line items, products, parent/child company labels, a from side that is not the
 * subscription's object): the event then re-reads the from side only — nothing we model is lost,
 * since only contacts, companies, deals and tickets carry links, and the scheduled incremental sync
 * re-reads anything a webhook did not name.
 */
export function associationTarget(
  associationType: string | undefined,
  fromObject: string,
): string | undefined {
  const parts = associationType?.split('_TO_');
  if (parts?.length !== 2) return undefined;
  const [from = '', to = ''] = parts;
  if (ASSOCIATION_SIDES[from] !== fromObject) return undefined;
  return ASSOCIATION_SIDES[to];
}

const KINDS: Record<string, ChangeEvent['kind']> = {
  creation: 'created',
  deletion: 'deleted',
  propertyChange: 'changed',
  merge: 'merged',
  restore: 'restored',
  privacyDeletion: 'privacy_deleted',
  associationChange: 'association_changed',
};

export function parseHubSpotWebhook(body: unknown): {
  events: ChangeEvent[];
  rejected: { index: number; reason: string }[];
} {
  const events: ChangeEvent[] = [];
  const rejected: { index: number; reason: string }[] = [];
  if (!Array.isArray(body)) return { events, rejected: [{ index: -1, reason: 'body is not a JSON array' }] };
  body.forEach((raw: unknown, index) => {
    const parsed = EventSchema.safeParse(raw);
    if (!parsed.success) {
      rejected.push({
        index,
        reason: parsed.error.issues
          .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
          .join('; '),
      });
      return;
    }
    const e = parsed.data;
    const [objectName = '', action = ''] = e.subscriptionType.split('.');
    const object = OBJECTS[objectName];
    const kind = KINDS[action];
    if (object === undefined || kind === undefined) {
      rejected.push({ index, reason: `unsupported subscriptionType ${e.subscriptionType}` });
      return;
    }
    const base = {
      accountId: e.portalId,
      object,
      kind,
      occurredAt: new Date(e.occurredAt),
      eventId: e.eventId,
      ...(e.changeSource === undefined ? {} : { source: e.changeSource }),
    };
    if (kind === 'merged') {
      const survivor = e.primaryObjectId ?? e.newObjectId ?? e.objectId;
      const merged = (e.mergedObjectIds ?? []).filter((id) => id !== survivor);
      if (survivor === undefined || merged.length === 0) {
        rejected.push({ index, reason: 'merge event without primaryObjectId/mergedObjectIds' });
        return;
      }
      events.push({ ...base, ids: merged, mergedInto: survivor });
      return;
    }
    const id = kind === 'association_changed' ? (e.fromObjectId ?? e.objectId) : e.objectId;
    if (id === undefined) {
      rejected.push({ index, reason: 'event without objectId' });
      return;
    }
    if (kind === 'association_changed') {
      // Both records changed their associations, and the canonical model keeps links on both
      // sides (deal.personIds and person.companyId, ticket.personIds), so both are re-read. HubSpot
      // sends each side as its own event only to an app subscribed to that side's object (changelog
      // "New subscription types for Webhooks": associationChange adds associationType,
      // fromObjectId, toObjectId, associationRemoved, isPrimaryAssociation; changelog "Bugfix:
      // Webhook AssociationChanges": a contact↔company change fires contact.associationChange and
      // company.associationChange). app.json subscribes to contact and deal associationChange
      // only, so the ticket of CONTACT_TO_TICKET would otherwise never be re-read. Duplicates with
      // the other side's own event are merged by the pipeline (idsOfEvents).
      events.push({ ...base, ids: [id] });
      const toObject = associationTarget(e.associationType, object);
      if (toObject !== undefined && e.toObjectId !== undefined)
        events.push({ ...base, object: toObject, ids: [e.toObjectId] });
      return;
    }
    if (kind === 'changed' && (e.propertyName === undefined || e.propertyName === '')) {
      rejected.push({ index, reason: 'propertyChange without propertyName' });
      return;
    }
    events.push({ ...base, ids: [id], ...(kind === 'changed' ? { field: e.propertyName as string } : {}) });
  });
  return { events, rejected };
}
