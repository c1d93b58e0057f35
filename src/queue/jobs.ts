/**
 * The job kinds of the sync service and their payloads. Payloads cross process boundaries through
 * Redis (JSON), so each is zod-validated when a worker picks the job up: a malformed payload fails
 * that one job permanently with `ERR_QUEUE_PAYLOAD`, never the worker.
 */
import { z } from 'zod';
import type { ChangeEvent } from '../../connectors/contract.js';
import { parseOrThrow } from '../validation.js';

export const JOB_KINDS = ['backfill', 'incremental', 'webhook', 'reevaluate', 'provision'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/**
 * Kinds whose pending jobs are coalesced per tenant (one waiting job per tenant+kind): they carry no
 * data beyond the tenant, the pipeline's state (cursors) lives in the store. Webhook jobs carry
 * their events, so they are never merged (only an identical batch, e.g. a CRM retry, is).
 */
export const COALESCED_KINDS: ReadonlySet<JobKind> = new Set([
  'backfill',
  'incremental',
  'reevaluate',
  'provision',
]);

export const ERR_QUEUE_PAYLOAD = 'ERR_QUEUE_PAYLOAD';

/** Tenant ids are opaque `[A-Za-z0-9_-]` (store contract): safe in job ids and glob patterns. */
export const tenantIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, 'tenant id must be [A-Za-z0-9_-]');

const changeEventSchema = z.strictObject({
  accountId: z.string().min(1),
  object: z.string().min(1),
  kind: z.enum([
    'created',
    'changed',
    'deleted',
    'merged',
    'restored',
    'privacy_deleted',
    'association_changed',
  ]),
  ids: z.array(z.string()),
  field: z.string().optional(),
  mergedInto: z.string().optional(),
  occurredAt: z.iso.datetime({ offset: true }),
  source: z.string().optional(),
  eventId: z.string().optional(),
});

const tenantPayload = z.strictObject({
  tenantId: tenantIdSchema,
  /** Why the job exists (install, schedule, admin, continuation, ...): shown in the dashboard. */
  reason: z.string().max(100).optional(),
  /** How many slices of this kind ran before (continuations), for the dashboard and tests. */
  slice: z.number().int().min(0).optional(),
});

export const payloadSchemas = {
  backfill: tenantPayload,
  incremental: tenantPayload,
  reevaluate: tenantPayload,
  provision: tenantPayload,
  webhook: tenantPayload.extend({ events: z.array(changeEventSchema).min(1).max(10_000) }),
} as const;

export type TenantJobPayload = z.infer<typeof tenantPayload>;
/** On the wire (Redis JSON): instants as ISO strings. */
export type WebhookJobPayload = z.infer<(typeof payloadSchemas)['webhook']>;
export type JobPayload = TenantJobPayload | WebhookJobPayload;

export function parsePayload(kind: JobKind, data: unknown): JobPayload {
  return parseOrThrow(payloadSchemas[kind], data, `${kind} job payload`, ERR_QUEUE_PAYLOAD);
}

/** ChangeEvent (Dates) → JSON-safe job form. */
export function eventToWire(event: ChangeEvent): WebhookJobPayload['events'][number] {
  return { ...event, occurredAt: event.occurredAt.toISOString() };
}

/** Job form → ChangeEvent, without `undefined` members (exactOptionalPropertyTypes). */
export function eventFromWire(wire: WebhookJobPayload['events'][number]): ChangeEvent {
  const event: ChangeEvent = {
    accountId: wire.accountId,
    object: wire.object,
    kind: wire.kind,
    ids: wire.ids,
    occurredAt: new Date(wire.occurredAt),
  };
  if (wire.field !== undefined) event.field = wire.field;
  if (wire.mergedInto !== undefined) event.mergedInto = wire.mergedInto;
  if (wire.source !== undefined) event.source = wire.source;
  if (wire.eventId !== undefined) event.eventId = wire.eventId;
  return event;
}
