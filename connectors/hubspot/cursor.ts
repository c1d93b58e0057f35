/**
 * The pull cursor (opaque to the pipeline, saved only after a page is processed).
 *  - `full`: list endpoint backfill, live records then `archived=true` ones; `bookmark` is where
 *    the following incremental runs start (the backfill's start minus the margin).
 *  - `range` / `tie`: incremental search keyset (never an `after` offset, see search.ts).
 *  - `idle`: between runs; `bookmark` = the last run's upper bound.
 *  - `owners`: owners list (no modification search exists for owners: re-listed each run).
 */
import { z } from 'zod';
import type { JsonValue } from '../contract.js';
import { parseOrThrow } from '../../src/validation.js';

export const ERR_HUBSPOT_CURSOR_INVALID = 'ERR_HUBSPOT_CURSOR_INVALID';

const Ms = z.number().int().min(0);

export const CursorSchema = z.discriminatedUnion('phase', [
  z.strictObject({
    v: z.literal(1),
    phase: z.literal('full'),
    archived: z.boolean(),
    after: z.string().nullable(),
    bookmark: Ms,
    /**
     * First backfill of this stream (no cursor before): archived records are skipped — nothing of
     * theirs was ever read, so there is nothing to retire — saving one listing call per object.
     */
    first: z.boolean().optional(),
  }),
  z.strictObject({
    v: z.literal(1),
    phase: z.literal('range'),
    ms: Ms,
    inclusive: z.boolean(),
    seen: z.array(z.string()),
    hi: Ms,
  }),
  z.strictObject({ v: z.literal(1), phase: z.literal('tie'), ms: Ms, afterId: z.string(), hi: Ms }),
  z.strictObject({ v: z.literal(1), phase: z.literal('idle'), bookmark: Ms }),
  z.strictObject({
    v: z.literal(1),
    phase: z.literal('owners'),
    archived: z.boolean(),
    after: z.string().nullable(),
  }),
]);
export type PullCursor = z.infer<typeof CursorSchema>;

export function parseCursor(input: JsonValue | null): PullCursor | null {
  if (input === null) return null;
  return parseOrThrow(CursorSchema, input, 'HubSpot pull cursor', ERR_HUBSPOT_CURSOR_INVALID);
}

export function cursorJson(cursor: PullCursor): JsonValue {
  return cursor as unknown as JsonValue;
}
