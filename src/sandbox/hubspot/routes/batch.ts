/**
 * CRM v3 batch endpoints `POST /crm/v3/objects/{type}/batch/{read|create|update|upsert|archive}`
 * (API_FACTS §CRM v3 objects; SDK 13.5 `BatchApi.js` status handling):
 * - at most 100 inputs (else 400 VALIDATION_ERROR);
 * - read/update/upsert answer 200, create 201, archive 204; partial failures answer **207** with
 *   `numErrors` and `errors[]` (`{status:"error", category, message, context}`), the only other
 *   status the SDK accepts for these calls;
 * - batch create can only fail per record when every input carries `objectWriteTraceId`; otherwise
 *   one failing input fails the whole batch and nothing is written;
 * - invalid or unknown properties fail the whole request (400 "Property values were not valid");
 * - duplicate ids in one update batch → 400.
 * Per-record failures come from unknown ids (OBJECT_NOT_FOUND), unique-value clashes (CONFLICT) and
 * the FaultInjector's `shouldFailRecord()`.
 */
import { MiniRouter, type SbResponse as Response } from '../http-kit.js';
import { z } from 'zod';
import {
  archiveRecord,
  createRecord,
  findByUnique,
  findRecord,
  isUniqueProperty,
  normalizeProps,
  requestedProperties,
  toWire,
  uniqueConflict,
  updateRecord,
  type CrmContext,
  type WireObject,
} from '../crm.js';
import type { FaultInjector } from '../../common/faults.js';
import { parseId } from '../table.js';
import {
  HubSpotHttpError,
  SINGULAR,
  validationError,
  type HubSpotErrorBody,
  type ObjectType,
} from '../wire.js';
import {
  associate,
  parseBody,
  PropertyBag,
  resolveV3Associations,
  typeParam,
  V3AssociationInput,
} from './objects.js';

export const BATCH_MAX_INPUTS = 100;

const idValue = z.union([z.string(), z.number()]).transform(String);

const ReadSchema = z.object({
  inputs: z.array(z.object({ id: idValue })),
  properties: z.array(z.string()).default([]),
  propertiesWithHistory: z.array(z.string()).default([]),
  idProperty: z.string().optional(),
});
const CreateSchema = z.object({
  inputs: z.array(
    z.object({
      properties: PropertyBag.default({}),
      associations: z.array(V3AssociationInput).optional(),
      objectWriteTraceId: z.string().optional(),
    }),
  ),
});
const UpdateSchema = z.object({
  inputs: z.array(
    z.object({
      id: idValue,
      idProperty: z.string().optional(),
      properties: PropertyBag,
      objectWriteTraceId: z.string().optional(),
    }),
  ),
});
const UpsertSchema = z.object({
  inputs: z.array(
    z.object({
      id: idValue,
      idProperty: z.string().optional(),
      properties: PropertyBag,
      objectWriteTraceId: z.string().optional(),
    }),
  ),
});
const ArchiveSchema = z.object({ inputs: z.array(z.object({ id: idValue })) });

type BatchError = Omit<HubSpotErrorBody, 'correlationId'> & { id?: string };

function capInputs(n: number): void {
  if (n > BATCH_MAX_INPUTS)
    throw validationError(
      `Too many inputs: ${n}. The maximum number of inputs in a batch request is ${BATCH_MAX_INPUTS}.`,
      {
        errors: [
          { message: `inputs must contain at most ${BATCH_MAX_INPUTS} items`, code: 'TOO_MANY_INPUTS' },
        ],
      },
    );
}

function injectedFailure(id: string | undefined, traceId: string | undefined): BatchError {
  const context: Record<string, string[]> = {};
  if (id !== undefined) context.id = [id];
  if (traceId !== undefined) context.objectWriteTraceId = [traceId];
  return {
    status: 'error',
    category: 'VALIDATION_ERROR',
    message: `Record ${id ?? '(new)'} could not be written (sandbox injected failure)`,
    context,
    ...(id === undefined ? {} : { id }),
  };
}

function fromHttpError(e: HubSpotHttpError, id: string | undefined, traceId: string | undefined): BatchError {
  const context: Record<string, string[]> = {};
  if (id !== undefined) context.id = [id];
  if (traceId !== undefined) context.objectWriteTraceId = [traceId];
  return {
    status: 'error',
    category: e.category,
    message: e.message,
    context,
    ...(id === undefined ? {} : { id }),
  };
}

function notFound(type: ObjectType, ids: string[]): BatchError {
  return {
    status: 'error',
    category: 'OBJECT_NOT_FOUND',
    message: `Could not get some ${SINGULAR[type].toUpperCase()} objects, they may be deleted or not exist. Check that ids are valid.`,
    context: { ids },
  };
}

function respond(
  res: Response,
  okStatus: number,
  results: WireObject[] | (WireObject & { new: boolean })[],
  errors: BatchError[],
  startedAt: string,
): void {
  const completedAt = new Date().toISOString();
  if (errors.length > 0) {
    res
      .status(207)
      .json({ status: 'COMPLETE', results, numErrors: errors.length, errors, startedAt, completedAt });
    return;
  }
  res.status(okStatus).json({ status: 'COMPLETE', results, startedAt, completedAt });
}

export function batchRouter(ctx: CrmContext, faults: FaultInjector): MiniRouter {
  const r = new MiniRouter();
  const { state } = ctx;

  r.post('/crm/v3/objects/:type/batch/read', (req, res) => {
    const type = typeParam(req.params.type);
    state.count('read');
    const startedAt = ctx.now().toISOString();
    const body = parseBody(ReadSchema, req.body);
    capInputs(body.inputs.length);
    const idProperty = body.idProperty;
    if (idProperty !== undefined && !isUniqueProperty(ctx, type, idProperty))
      throw validationError(`${idProperty} is not a unique identifier property for ${SINGULAR[type]}`);
    const archived = req.query.archived === 'true';
    const props = body.properties.length > 0 ? body.properties : undefined;
    const results: WireObject[] = [];
    const missing: string[] = [];
    const seen = new Set<number>();
    for (const input of body.inputs) {
      const rec =
        idProperty === undefined || idProperty === 'hs_object_id'
          ? findRecord(ctx, type, parseId(input.id))
          : findByUnique(ctx, type, idProperty, input.id);
      if (rec === undefined || rec.archived !== archived) {
        missing.push(input.id);
        continue;
      }
      if (seen.has(rec.num)) continue;
      seen.add(rec.num);
      results.push(toWire(ctx, type, rec, props, body.propertiesWithHistory));
    }
    respond(res, 200, results, missing.length > 0 ? [notFound(type, missing)] : [], startedAt);
  });

  r.post('/crm/v3/objects/:type/batch/create', (req, res) => {
    const type = typeParam(req.params.type);
    state.count('write');
    const startedAt = ctx.now().toISOString();
    const body = parseBody(CreateSchema, req.body);
    capInputs(body.inputs.length);
    // Whole-request validation first: one bad property fails the batch.
    const prepared = body.inputs.map((input) => ({
      input,
      props: normalizeProps(ctx, type, input.properties, undefined, { source: 'INTEGRATION' }),
      links: resolveV3Associations(ctx, type, input.associations),
    }));
    if (type === 'tasks' && prepared.some((p) => (p.props.hs_timestamp ?? null) === null))
      throw validationError('Property values were not valid: hs_timestamp is required');
    const pending = new Map<string, number>();
    const failures = prepared.map((p) => {
      const conflict = uniqueConflict(ctx, type, p.props, undefined, pending);
      if (conflict !== undefined) return fromHttpError(conflict, undefined, p.input.objectWriteTraceId);
      return faults.shouldFailRecord() ? injectedFailure(undefined, p.input.objectWriteTraceId) : undefined;
    });
    const perRecord = prepared.every((p) => p.input.objectWriteTraceId !== undefined);
    const firstFailure = failures.find((f) => f !== undefined);
    if (firstFailure !== undefined && !perRecord) {
      // Without objectWriteTraceIds HubSpot cannot report per record: the batch fails as a whole.
      throw new HubSpotHttpError(
        firstFailure.category === 'CONFLICT' ? 409 : 400,
        firstFailure.category,
        firstFailure.message,
      );
    }
    const results: WireObject[] = [];
    const errors: BatchError[] = [];
    prepared.forEach((p, i) => {
      const failure = failures[i];
      if (failure !== undefined) {
        errors.push(failure);
        return;
      }
      const rec = createRecord(ctx, type, p.props, { source: 'INTEGRATION' });
      associate(ctx, type, rec.num, p.links);
      results.push(toWire(ctx, type, rec, Object.keys(p.props)));
    });
    respond(res, 201, results, errors, startedAt);
  });

  r.post('/crm/v3/objects/:type/batch/update', (req, res) => {
    const type = typeParam(req.params.type);
    state.count('write');
    const startedAt = ctx.now().toISOString();
    const body = parseBody(UpdateSchema, req.body);
    capInputs(body.inputs.length);
    const ids = body.inputs.map((i) => `${i.idProperty ?? ''}:${i.id}`);
    const dup = ids.find((id, i) => ids.indexOf(id) !== i);
    if (dup !== undefined)
      throw validationError(
        `Duplicate IDs found in batch input: [${dup.split(':').slice(1).join(':')}]. IDs must be unique`,
      );
    const prepared = body.inputs.map((input) => {
      const rec =
        input.idProperty === undefined || input.idProperty === 'hs_object_id'
          ? findRecord(ctx, type, parseId(input.id))
          : isUniqueProperty(ctx, type, input.idProperty)
            ? findByUnique(ctx, type, input.idProperty, input.id)
            : undefined;
      const live = rec !== undefined && !rec.archived ? rec : undefined;
      return {
        input,
        rec: live,
        props: normalizeProps(ctx, type, input.properties, live?.props, { source: 'INTEGRATION' }),
      };
    });
    const results: WireObject[] = [];
    const errors: BatchError[] = [];
    const missing: string[] = [];
    // Two inputs of one batch may not claim the same unique value either.
    const pending = new Map<string, number>();
    for (const p of prepared) {
      if (p.rec === undefined) {
        missing.push(p.input.id);
        continue;
      }
      const conflict = uniqueConflict(ctx, type, p.props, p.rec.num, pending);
      if (conflict !== undefined) {
        errors.push(fromHttpError(conflict, p.input.id, p.input.objectWriteTraceId));
        continue;
      }
      if (faults.shouldFailRecord()) {
        errors.push(injectedFailure(p.input.id, p.input.objectWriteTraceId));
        continue;
      }
      updateRecord(ctx, type, p.rec, p.props, { source: 'INTEGRATION' });
      results.push(toWire(ctx, type, p.rec, Object.keys(p.props)));
    }
    if (missing.length > 0) errors.push(notFound(type, missing));
    respond(res, 200, results, errors, startedAt);
  });

  r.post('/crm/v3/objects/:type/batch/upsert', (req, res) => {
    const type = typeParam(req.params.type);
    state.count('write');
    const startedAt = ctx.now().toISOString();
    const body = parseBody(UpsertSchema, req.body);
    capInputs(body.inputs.length);
    for (const input of body.inputs) {
      const idProp = input.idProperty ?? 'hs_object_id';
      if (!isUniqueProperty(ctx, type, idProp))
        throw validationError(`${idProp} is not a unique identifier property for ${SINGULAR[type]}`);
    }
    const prepared = body.inputs.map((input) => {
      const idProp = input.idProperty ?? 'hs_object_id';
      const rec = findByUnique(ctx, type, idProp, input.id);
      const props = normalizeProps(ctx, type, input.properties, rec?.props, { source: 'INTEGRATION' });
      // A new record gets the idProperty value it was looked up by.
      if (rec === undefined && idProp !== 'hs_object_id') {
        const extra = normalizeProps(ctx, type, { [idProp]: input.id }, undefined, { source: 'INTEGRATION' });
        Object.assign(props, extra, props);
      }
      return { input, rec, props, idProp };
    });
    const results: (WireObject & { new: boolean })[] = [];
    const errors: BatchError[] = [];
    const pending = new Map<string, number>();
    for (const p of prepared) {
      if (p.rec === undefined && p.idProp === 'hs_object_id') {
        errors.push(notFound(type, [p.input.id]));
        continue;
      }
      const existing = p.rec ?? findByUnique(ctx, type, p.idProp, p.input.id);
      const conflict = uniqueConflict(ctx, type, p.props, existing?.num, pending);
      if (conflict !== undefined) {
        errors.push(fromHttpError(conflict, p.input.id, p.input.objectWriteTraceId));
        continue;
      }
      if (faults.shouldFailRecord()) {
        errors.push(injectedFailure(p.input.id, p.input.objectWriteTraceId));
        continue;
      }
      if (existing !== undefined) {
        updateRecord(ctx, type, existing, p.props, { source: 'INTEGRATION' });
        results.push({ ...toWire(ctx, type, existing, Object.keys(p.props)), new: false });
      } else {
        const rec = createRecord(ctx, type, p.props, { source: 'INTEGRATION' });
        results.push({ ...toWire(ctx, type, rec, Object.keys(p.props)), new: true });
      }
    }
    respond(res, 200, results, errors, startedAt);
  });

  r.post('/crm/v3/objects/:type/batch/archive', (req, res) => {
    const type = typeParam(req.params.type);
    state.count('write');
    const body = parseBody(ArchiveSchema, req.body);
    capInputs(body.inputs.length);
    for (const input of body.inputs) {
      const rec = findRecord(ctx, type, parseId(input.id));
      if (rec !== undefined) archiveRecord(ctx, type, rec, 'INTEGRATION');
    }
    res.status(204).end();
  });

  return r;
}

export { requestedProperties };
