/**
 * CRM v3 objects (API_FACTS §CRM v3 objects; SDK 13.5 `codegen/crm/<type>/apis/{Basic,Batch,Search}Api.js`):
 * - `GET /crm/v3/objects/{type}` list: limit ≤ 100 (default 10), `after` cursor, `properties`
 *   repeated or comma-separated, `associations`, `archived=true` = only archived;
 * - `GET|PATCH|DELETE /crm/v3/objects/{type}/{id}[?idProperty=]` → 200 / 200 / 204;
 * - `POST /crm/v3/objects/{type}` → 201 (SDK accepts only 201);
 * - `POST /crm/v3/objects/contacts/merge` → 200;
 * - `POST /crm/v3/objects/{type}/search` → 200.
 */
import { MiniRouter } from '../http-kit.js';
import { z } from 'zod';
import {
  archiveRecord,
  createRecord,
  findByUnique,
  findRecord,
  isUniqueProperty,
  mergeRecords,
  normalizeProps,
  requestedProperties,
  toWire,
  uniqueConflict,
  updateRecord,
  type CrmContext,
  type WireObject,
} from '../crm.js';
import { search, SearchRequestSchema } from '../search.js';
import { parseId, type HsRecord } from '../table.js';
import {
  defaultTypeId,
  HubSpotHttpError,
  isKnownTypeId,
  objectTypeOf,
  OBJECT_TYPES,
  SINGULAR,
  v3TypeName,
  validationError,
  type ObjectType,
} from '../wire.js';

export const LIST_MAX_LIMIT = 100;

export function typeParam(raw: string | undefined): ObjectType {
  const t = objectTypeOf(raw);
  if (t === undefined)
    throw new HubSpotHttpError(400, 'VALIDATION_ERROR', `Unable to infer object type from: ${raw ?? ''}`);
  return t;
}

export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const r = schema.safeParse(body ?? {});
  if (!r.success)
    throw validationError(
      `Invalid input JSON: ${r.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  return r.data;
}

export const PropertyBag = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]));

export const V3AssociationInput = z.object({
  to: z.object({ id: z.union([z.string(), z.number()]).transform(String) }),
  types: z
    .array(
      z.object({
        associationCategory: z.enum(['HUBSPOT_DEFINED', 'USER_DEFINED', 'INTEGRATOR_DEFINED']),
        associationTypeId: z.coerce.number().int(),
      }),
    )
    .min(1),
});

const CreateSchema = z.object({
  properties: PropertyBag.default({}),
  associations: z.array(V3AssociationInput).optional(),
});

const UpdateSchema = z.object({ properties: PropertyBag });

const MergeSchema = z.object({
  primaryObjectId: z.union([z.string(), z.number()]).transform(String),
  objectIdToMerge: z.union([z.string(), z.number()]).transform(String),
});

/** Which object type a HUBSPOT_DEFINED association type id points to, from `type`. */
function targetTypeOf(from: ObjectType, typeId: number): ObjectType | undefined {
  return OBJECT_TYPES.find((to) => to !== from && isKnownTypeId(from, to, typeId));
}

/** v3-style `associations` in a create body: validate all before writing anything. */
export function resolveV3Associations(
  ctx: CrmContext,
  type: ObjectType,
  inputs: z.infer<typeof V3AssociationInput>[] | undefined,
): { to: ObjectType; toId: number; typeId: number }[] {
  const out: { to: ObjectType; toId: number; typeId: number }[] = [];
  for (const a of inputs ?? []) {
    for (const t of a.types) {
      const to = targetTypeOf(type, t.associationTypeId);
      if (to === undefined || t.associationCategory !== 'HUBSPOT_DEFINED')
        throw validationError(
          `${t.associationTypeId} is not a valid association type id for ${SINGULAR[type]}`,
        );
      const target = findRecord(ctx, to, parseId(a.to.id));
      if (target === undefined || target.archived)
        throw validationError(
          `One or more associations are invalid: ${SINGULAR[to]} ${a.to.id} does not exist`,
        );
      out.push({ to, toId: target.num, typeId: t.associationTypeId });
    }
  }
  return out;
}

export function associate(
  ctx: CrmContext,
  type: ObjectType,
  id: number,
  links: { to: ObjectType; toId: number; typeId: number }[],
): void {
  const nowMs = ctx.now().getTime();
  for (const l of links)
    if (ctx.state.associations.add(type, id, l.to, l.toId, l.typeId))
      ctx.emit({
        kind: 'associationChange',
        type,
        id,
        occurredAt: nowMs,
        source: 'INTEGRATION',
        toType: l.to,
        toId: l.toId,
        associationTypeId: l.typeId,
        associationRemoved: false,
      });
}

/** The `associations` block of a v3 read. */
export function withAssociations(
  ctx: CrmContext,
  type: ObjectType,
  rec: HsRecord,
  wire: WireObject,
  names: string[] | undefined,
): WireObject {
  if (names === undefined) return wire;
  const block: NonNullable<WireObject['associations']> = {};
  for (const name of names) {
    const to = objectTypeOf(name);
    if (to === undefined) continue;
    const results: { id: string; type: string }[] = [];
    for (const link of ctx.state.associations.list(type, rec.num, to)) {
      const target = ctx.state.objects[to].records.get(link.toId);
      if (target === undefined || target.archived) continue;
      for (const t of link.typeIds) results.push({ id: String(link.toId), type: v3TypeName(type, to, t) });
    }
    if (results.length > 0) block[to] = { results };
  }
  if (Object.keys(block).length > 0) wire.associations = block;
  return wire;
}

function queryFlag(v: unknown): boolean {
  return v === 'true' || (Array.isArray(v) && v.includes('true'));
}

function queryString(v: unknown): string | undefined {
  return typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;
}

/** Resolve `{id}` with an optional `idProperty` (unique property) to a live record. */
export function resolveById(
  ctx: CrmContext,
  type: ObjectType,
  id: string,
  idProperty: string | undefined,
): HsRecord | undefined {
  if (idProperty !== undefined && idProperty !== 'hs_object_id') {
    if (!isUniqueProperty(ctx, type, idProperty))
      throw validationError(`${idProperty} is not a unique identifier property for ${SINGULAR[type]}`);
    return findByUnique(ctx, type, idProperty, id);
  }
  return findRecord(ctx, type, parseId(id));
}

function notFound(): HubSpotHttpError {
  return new HubSpotHttpError(404, 'OBJECT_NOT_FOUND', 'resource not found');
}

export function objectsRouter(ctx: CrmContext): MiniRouter {
  const r = new MiniRouter();
  const { state } = ctx;

  r.get('/crm/v3/objects/:type', (req, res) => {
    const type = typeParam(req.params.type);
    state.count('read');
    const limitRaw = queryString(req.query.limit);
    const limit = limitRaw === undefined ? 10 : Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1 || limit > LIST_MAX_LIMIT)
      throw validationError(`limit must be an integer between 1 and ${LIST_MAX_LIMIT}`);
    const after = queryString(req.query.after);
    const fromId = after === undefined || after === '' ? 0 : Number(after);
    if (!Number.isSafeInteger(fromId) || fromId < 0)
      throw validationError(`after must be a cursor returned by a previous page`);
    const archived = queryFlag(req.query.archived);
    const props = requestedProperties(req.query.properties);
    const history = requestedProperties(req.query.propertiesWithHistory);
    const assocNames = requestedProperties(req.query.associations);
    const results: WireObject[] = [];
    let next: number | undefined;
    for (const rec of state.objects[type].byId(fromId)) {
      if (rec.archived !== archived || rec.mergedInto !== 0) continue;
      if (results.length === limit) {
        next = rec.num;
        break;
      }
      results.push(withAssociations(ctx, type, rec, toWire(ctx, type, rec, props, history), assocNames));
    }
    const base = `http://${req.host}`;
    res.json(
      next === undefined
        ? { results }
        : {
            results,
            paging: {
              next: {
                after: String(next),
                link: `${base}/crm/v3/objects/${type}?after=${next}&limit=${limit}`,
              },
            },
          },
    );
  });

  r.post('/crm/v3/objects/:type', (req, res) => {
    const type = typeParam(req.params.type);
    state.count('write');
    const body = parseBody(CreateSchema, req.body);
    const props = normalizeProps(ctx, type, body.properties, undefined, { source: 'INTEGRATION' });
    if (type === 'tasks' && (props.hs_timestamp ?? null) === null)
      throw validationError('Property values were not valid: hs_timestamp is required', {
        errors: [
          {
            message: 'hs_timestamp is required',
            code: 'REQUIRED_PROPERTY',
            context: { propertyName: ['hs_timestamp'] },
          },
        ],
      });
    const links = resolveV3Associations(ctx, type, body.associations);
    const conflict = uniqueConflict(ctx, type, props, undefined);
    if (conflict !== undefined) throw conflict;
    const rec = createRecord(ctx, type, props, { source: 'INTEGRATION' });
    associate(ctx, type, rec.num, links);
    res.status(201).json(toWire(ctx, type, rec, Object.keys(props)));
  });

  r.post('/crm/v3/objects/:type/search', (req, res) => {
    const type = typeParam(req.params.type);
    state.count('search');
    const body = parseBody(SearchRequestSchema, req.body);
    res.json(search(ctx, type, body));
  });

  r.post('/crm/v3/objects/:type/merge', (req, res) => {
    const type = typeParam(req.params.type);
    state.count('write');
    if (type !== 'contacts' && type !== 'companies' && type !== 'deals' && type !== 'tickets')
      throw validationError(`${type} cannot be merged`);
    const body = parseBody(MergeSchema, req.body);
    const primary = findRecord(ctx, type, parseId(body.primaryObjectId));
    const merged = findRecord(ctx, type, parseId(body.objectIdToMerge));
    if (primary === undefined || primary.archived || merged === undefined || merged.archived)
      throw notFound();
    if (primary.num === merged.num) throw validationError('Cannot merge an object with itself');
    const survivor = mergeRecords(ctx, type, primary, merged, 'INTEGRATION');
    res.json(toWire(ctx, type, survivor, undefined));
  });

  r.get('/crm/v3/objects/:type/:id', (req, res) => {
    const type = typeParam(req.params.type);
    state.count('read');
    const rec = resolveById(ctx, type, req.params.id, queryString(req.query.idProperty));
    const archived = queryFlag(req.query.archived);
    if (rec === undefined || (rec.archived && !archived)) throw notFound();
    const wire = toWire(
      ctx,
      type,
      rec,
      requestedProperties(req.query.properties),
      requestedProperties(req.query.propertiesWithHistory),
    );
    res.json(withAssociations(ctx, type, rec, wire, requestedProperties(req.query.associations)));
  });

  r.patch('/crm/v3/objects/:type/:id', (req, res) => {
    const type = typeParam(req.params.type);
    state.count('write');
    const rec = resolveById(ctx, type, req.params.id, queryString(req.query.idProperty));
    if (rec === undefined || rec.archived) throw notFound();
    const body = parseBody(UpdateSchema, req.body);
    const props = normalizeProps(ctx, type, body.properties, rec.props, { source: 'INTEGRATION' });
    const conflict = uniqueConflict(ctx, type, props, rec.num);
    if (conflict !== undefined) throw conflict;
    updateRecord(ctx, type, rec, props, { source: 'INTEGRATION' });
    res.json(toWire(ctx, type, rec, Object.keys(props)));
  });

  r.delete('/crm/v3/objects/:type/:id', (req, res) => {
    const type = typeParam(req.params.type);
    state.count('write');
    const rec = findRecord(ctx, type, parseId(req.params.id));
    // HubSpot answers 204 for an id that is already gone.
    if (rec !== undefined) archiveRecord(ctx, type, rec, 'INTEGRATION');
    res.status(204).end();
  });

  return r;
}

export { defaultTypeId };
