/**
 * Associations v4 (API_FACTS §Associations v4; SDK 13.5 `codegen/crm/associations/v4/apis/*.js`):
 * - `POST /crm/v4/associations/{from}/{to}/batch/read` `{inputs:[{id,after?}]}` (≤ 1,000) → 200, or
 *   207 when some ids have none (`subCategory:"crm.associations.NO_ASSOCIATIONS_FOUND"`, unverified
 *   wording) → `{results:[{from:{id},to:[{toObjectId,associationTypes:[{category,typeId,label}]}]}]}`;
 * - `PUT /crm/v4/objects/{f}/{id}/associations/default/{t}/{toId}` → 200 BatchResponsePublicDefaultAssociation;
 * - `PUT /crm/v4/objects/{f}/{id}/associations/{t}/{toId}` with `[{associationCategory,associationTypeId}]` → 201;
 * - `GET /crm/v4/objects/{f}/{id}/associations/{t}` → 200 paged;
 * - `DELETE /crm/v4/objects/{f}/{id}/associations/{t}/{toId}` → 204;
 * - `POST …/batch/create` (≤ 2,000) → 201/207, `…/batch/associate/default` → 200, `…/batch/archive` → 204.
 */
import { MiniRouter } from '../http-kit.js';
import { z } from 'zod';
import type { CrmContext } from '../crm.js';
import { findRecord } from '../crm.js';
import { parseId } from '../table.js';
import {
  defaultTypeId,
  HubSpotHttpError,
  isKnownTypeId,
  SINGULAR,
  TYPE_IDS,
  validationError,
  type ObjectType,
} from '../wire.js';
import { parseBody, typeParam } from './objects.js';

export const ASSOC_READ_MAX_INPUTS = 1_000;
export const ASSOC_CREATE_MAX_INPUTS = 2_000;
export const ASSOC_PAGE_SIZE = 500;

const idValue = z.union([z.string(), z.number()]).transform(String);
const TypeSpec = z.object({
  associationCategory: z.enum(['HUBSPOT_DEFINED', 'USER_DEFINED', 'INTEGRATOR_DEFINED']),
  associationTypeId: z.coerce.number().int(),
});

function live(ctx: CrmContext, type: ObjectType, id: string): number {
  const rec = findRecord(ctx, type, parseId(id));
  if (rec === undefined || rec.archived)
    throw new HubSpotHttpError(404, 'OBJECT_NOT_FOUND', `${SINGULAR[type]} ${id} does not exist`);
  return rec.num;
}

function change(
  ctx: CrmContext,
  from: ObjectType,
  fromId: number,
  to: ObjectType,
  toId: number,
  typeId: number,
  removed: boolean,
): void {
  ctx.emit({
    kind: 'associationChange',
    type: from,
    id: fromId,
    occurredAt: ctx.now().getTime(),
    source: 'INTEGRATION',
    toType: to,
    toId,
    associationTypeId: typeId,
    associationRemoved: removed,
  });
}

function checkTypes(from: ObjectType, to: ObjectType, types: z.infer<typeof TypeSpec>[]): void {
  for (const t of types)
    if (t.associationCategory !== 'HUBSPOT_DEFINED' || !isKnownTypeId(from, to, t.associationTypeId))
      throw validationError(
        `${t.associationCategory} ${t.associationTypeId} is not a valid association type between ${from} and ${to}`,
      );
}

export function associationsRouter(ctx: CrmContext): MiniRouter {
  const r = new MiniRouter();
  const { state } = ctx;

  r.post('/crm/v4/associations/:from/:to/batch/read', (req, res) => {
    const from = typeParam(req.params.from);
    const to = typeParam(req.params.to);
    state.count('association');
    const body = parseBody(
      z.object({ inputs: z.array(z.object({ id: idValue, after: z.string().optional() })) }),
      req.body,
    );
    if (body.inputs.length > ASSOC_READ_MAX_INPUTS)
      throw validationError(`Too many inputs: at most ${ASSOC_READ_MAX_INPUTS} are allowed`);
    const startedAt = ctx.now().toISOString();
    const results: unknown[] = [];
    const empty: string[] = [];
    for (const input of body.inputs) {
      const rec = findRecord(ctx, from, parseId(input.id));
      const links =
        rec === undefined || rec.archived
          ? []
          : state.associations
              .list(from, rec.num, to)
              .filter((l) => state.objects[to].records.get(l.toId)?.archived === false);
      if (links.length === 0) {
        empty.push(input.id);
        continue;
      }
      const offset = input.after === undefined ? 0 : Number(input.after) || 0;
      const page = links.slice(offset, offset + ASSOC_PAGE_SIZE);
      const item: Record<string, unknown> = {
        from: { id: input.id },
        to: page.map((l) => ({
          toObjectId: String(l.toId),
          associationTypes: l.typeIds.map((typeId) => ({ category: 'HUBSPOT_DEFINED', typeId, label: null })),
        })),
      };
      if (offset + page.length < links.length)
        item.paging = { next: { after: String(offset + page.length) } };
      results.push(item);
    }
    const completedAt = ctx.now().toISOString();
    if (empty.length > 0) {
      res.status(207).json({
        status: 'COMPLETE',
        results,
        numErrors: empty.length,
        errors: empty.map((id) => ({
          status: 'error',
          category: 'OBJECT_NOT_FOUND',
          subCategory: 'crm.associations.NO_ASSOCIATIONS_FOUND',
          message: `No ${SINGULAR[to]} is associated with ${SINGULAR[from]} ${id}.`,
          context: { fromObjectId: [id], fromObjectType: [SINGULAR[from]], toObjectType: [SINGULAR[to]] },
        })),
        startedAt,
        completedAt,
      });
      return;
    }
    res.json({ status: 'COMPLETE', results, startedAt, completedAt });
  });

  r.put('/crm/v4/objects/:from/:fromId/associations/default/:to/:toId', (req, res) => {
    const from = typeParam(req.params.from);
    const to = typeParam(req.params.to);
    state.count('association');
    const typeId = defaultTypeId(from, to);
    if (typeId === undefined) throw validationError(`No default association between ${from} and ${to}`);
    const fromId = live(ctx, from, req.params.fromId);
    const toId = live(ctx, to, req.params.toId);
    if (state.associations.add(from, fromId, to, toId, typeId))
      change(ctx, from, fromId, to, toId, typeId, false);
    const now = ctx.now().toISOString();
    res.status(200).json({
      status: 'COMPLETE',
      results: [
        {
          from: { id: String(fromId) },
          to: { id: String(toId) },
          associationSpec: { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: typeId },
        },
      ],
      startedAt: now,
      completedAt: now,
    });
  });

  r.put('/crm/v4/objects/:from/:fromId/associations/:to/:toId', (req, res) => {
    const from = typeParam(req.params.from);
    const to = typeParam(req.params.to);
    state.count('association');
    const types = parseBody(z.array(TypeSpec).min(1), req.body);
    checkTypes(from, to, types);
    const fromId = live(ctx, from, req.params.fromId);
    const toId = live(ctx, to, req.params.toId);
    for (const t of types)
      if (state.associations.add(from, fromId, to, toId, t.associationTypeId))
        change(ctx, from, fromId, to, toId, t.associationTypeId, false);
    res.status(201).json({
      fromObjectTypeId: TYPE_IDS[from],
      fromObjectId: fromId,
      toObjectTypeId: TYPE_IDS[to],
      toObjectId: toId,
      labels: [],
    });
  });

  r.get('/crm/v4/objects/:from/:fromId/associations/:to', (req, res) => {
    const from = typeParam(req.params.from);
    const to = typeParam(req.params.to);
    state.count('association');
    const rec = findRecord(ctx, from, parseId(req.params.fromId));
    const links = rec === undefined ? [] : state.associations.list(from, rec.num, to);
    const limit = Math.min(Number(req.query.limit ?? ASSOC_PAGE_SIZE) || ASSOC_PAGE_SIZE, ASSOC_PAGE_SIZE);
    const offset = Number(req.query.after ?? 0) || 0;
    const page = links.slice(offset, offset + limit);
    res.json({
      results: page.map((l) => ({
        toObjectId: l.toId,
        associationTypes: l.typeIds.map((typeId) => ({ category: 'HUBSPOT_DEFINED', typeId, label: null })),
      })),
      ...(offset + page.length < links.length
        ? { paging: { next: { after: String(offset + page.length) } } }
        : {}),
    });
  });

  r.delete('/crm/v4/objects/:from/:fromId/associations/:to/:toId', (req, res) => {
    const from = typeParam(req.params.from);
    const to = typeParam(req.params.to);
    state.count('association');
    const fromId = parseId(req.params.fromId) ?? 0;
    const toId = parseId(req.params.toId) ?? 0;
    if (state.associations.remove(from, fromId, to, toId)) change(ctx, from, fromId, to, toId, 0, true);
    res.status(204).end();
  });

  const PairInput = z.object({ from: z.object({ id: idValue }), to: z.object({ id: idValue }) });

  r.post('/crm/v4/associations/:from/:to/batch/create', (req, res) => {
    const from = typeParam(req.params.from);
    const to = typeParam(req.params.to);
    state.count('association');
    const body = parseBody(
      z.object({ inputs: z.array(PairInput.extend({ types: z.array(TypeSpec).min(1) })) }),
      req.body,
    );
    if (body.inputs.length > ASSOC_CREATE_MAX_INPUTS)
      throw validationError(`Too many inputs: at most ${ASSOC_CREATE_MAX_INPUTS} are allowed`);
    for (const i of body.inputs) checkTypes(from, to, i.types);
    const startedAt = ctx.now().toISOString();
    const results: unknown[] = [];
    const errors: unknown[] = [];
    for (const i of body.inputs) {
      const a = findRecord(ctx, from, parseId(i.from.id));
      const b = findRecord(ctx, to, parseId(i.to.id));
      if (a === undefined || a.archived || b === undefined || b.archived) {
        errors.push({
          status: 'error',
          category: 'VALIDATION_ERROR',
          message: `${a === undefined || a.archived ? `${SINGULAR[from]} ${i.from.id}` : `${SINGULAR[to]} ${i.to.id}`} does not exist`,
          context: { fromObjectId: [i.from.id], toObjectId: [i.to.id] },
        });
        continue;
      }
      for (const t of i.types)
        if (state.associations.add(from, a.num, to, b.num, t.associationTypeId))
          change(ctx, from, a.num, to, b.num, t.associationTypeId, false);
      results.push({
        fromObjectTypeId: TYPE_IDS[from],
        fromObjectId: a.num,
        toObjectTypeId: TYPE_IDS[to],
        toObjectId: b.num,
        labels: [],
      });
    }
    const completedAt = ctx.now().toISOString();
    if (errors.length > 0)
      res
        .status(207)
        .json({ status: 'COMPLETE', results, numErrors: errors.length, errors, startedAt, completedAt });
    else res.status(201).json({ status: 'COMPLETE', results, startedAt, completedAt });
  });

  r.post('/crm/v4/associations/:from/:to/batch/associate/default', (req, res) => {
    const from = typeParam(req.params.from);
    const to = typeParam(req.params.to);
    state.count('association');
    const body = parseBody(z.object({ inputs: z.array(PairInput) }), req.body);
    if (body.inputs.length > ASSOC_CREATE_MAX_INPUTS)
      throw validationError(`Too many inputs: at most ${ASSOC_CREATE_MAX_INPUTS} are allowed`);
    const typeId = defaultTypeId(from, to);
    if (typeId === undefined) throw validationError(`No default association between ${from} and ${to}`);
    const startedAt = ctx.now().toISOString();
    const results: unknown[] = [];
    const errors: unknown[] = [];
    for (const i of body.inputs) {
      const a = findRecord(ctx, from, parseId(i.from.id));
      const b = findRecord(ctx, to, parseId(i.to.id));
      if (a === undefined || a.archived || b === undefined || b.archived) {
        errors.push({
          status: 'error',
          category: 'VALIDATION_ERROR',
          message: 'One of the objects does not exist',
          context: { fromObjectId: [i.from.id], toObjectId: [i.to.id] },
        });
        continue;
      }
      if (state.associations.add(from, a.num, to, b.num, typeId))
        change(ctx, from, a.num, to, b.num, typeId, false);
      results.push({
        from: { id: String(a.num) },
        to: { id: String(b.num) },
        associationSpec: { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: typeId },
      });
    }
    const completedAt = ctx.now().toISOString();
    // The SDK accepts only 200 here (BatchApi.createDefault); errors ride along in the body.
    res.status(200).json({
      status: 'COMPLETE',
      results,
      ...(errors.length > 0 ? { numErrors: errors.length, errors } : {}),
      startedAt,
      completedAt,
    });
  });

  r.post('/crm/v4/associations/:from/:to/batch/archive', (req, res) => {
    const from = typeParam(req.params.from);
    const to = typeParam(req.params.to);
    state.count('association');
    const body = parseBody(
      z.object({
        inputs: z.array(
          z.object({ from: z.object({ id: idValue }), to: z.array(z.object({ id: idValue })) }),
        ),
      }),
      req.body,
    );
    for (const i of body.inputs) {
      const fromId = parseId(i.from.id) ?? 0;
      for (const t of i.to) {
        const toId = parseId(t.id) ?? 0;
        if (state.associations.remove(from, fromId, to, toId)) change(ctx, from, fromId, to, toId, 0, true);
      }
    }
    res.status(204).end();
  });

  return r;
}
