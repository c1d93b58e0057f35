/**
 * Properties, property groups, owners and pipelines.
 * - `GET|POST /crm/v3/properties/{type}`, `GET|PATCH|DELETE /crm/v3/properties/{type}/{name}`,
 *   `GET|POST /crm/v3/properties/{type}/groups`, `GET /crm/v3/properties/{type}/groups/{name}`
 *   (API_FACTS §Properties: create → 201 with name,label,type,fieldType,groupName required;
 *   hasUniqueValue ≤ 10 per object; SDK 13.5 `codegen/crm/properties/apis/{Core,Groups}Api.js`).
 *   An existing name → 409 `category:"OBJECT_ALREADY_EXISTS"` (the v1/v2 docs document the 409
 *   Conflict; the category is the brief's, the message wording unverified). PATCH replaces the
 *   option list, so sending the old options plus new ones adds options.
 *   Custom properties are allowed on tasks too (HubSpot lets accounts create activity properties;
 *   unverified against the docs corpus).
 * - `GET /crm/v3/owners/` (the SDK sends the trailing slash) with `email`, `after`, `limit` (≤ 500,
 *   default 100), `archived` (API_FACTS §Properties & owners).
 * - `GET /crm/v3/pipelines/{deals|tickets}[/{id}]` with stage `metadata` strings.
 */
import { MiniRouter } from '../http-kit.js';
import { z } from 'zod';
import type { CrmContext } from '../crm.js';
import { FIELD_TYPES, type PropertyDef, type PropertyGroupDef, type PropertyType } from '../schema.js';
import { HubSpotHttpError, validationError, type ObjectType } from '../wire.js';
import { parseBody, typeParam } from './objects.js';

export const MAX_UNIQUE_PROPERTIES = 10;
export const OWNERS_MAX_LIMIT = 500;

const OptionSchema = z.object({
  label: z.string().min(1),
  value: z.string().min(1),
  displayOrder: z.number().int().optional(),
  hidden: z.boolean().default(false),
  description: z.string().optional(),
});

const PropertyCreateSchema = z.object({
  name: z
    .string()
    .regex(/^[a-z][a-z0-9_]*$/, 'must start with a lowercase letter and hold only a-z, 0-9 and _'),
  label: z.string().min(1),
  type: z.enum(['string', 'number', 'bool', 'enumeration', 'date', 'datetime', 'phone_number']),
  fieldType: z.string().min(1),
  groupName: z.string().min(1),
  description: z.string().optional(),
  options: z.array(OptionSchema).optional(),
  displayOrder: z.number().int().optional(),
  hasUniqueValue: z.boolean().optional(),
  hidden: z.boolean().optional(),
  formField: z.boolean().optional(),
  calculationFormula: z.string().optional(),
  externalOptions: z.boolean().optional(),
});

const PropertyUpdateSchema = PropertyCreateSchema.omit({ name: true, hasUniqueValue: true }).partial();

const GroupCreateSchema = z.object({
  name: z.string().regex(/^[a-z][a-z0-9_]*$/),
  label: z.string().min(1),
  displayOrder: z.number().int().optional(),
});

function propertyWire(p: PropertyDef): Record<string, unknown> {
  return {
    updatedAt: p.updatedAt,
    createdAt: p.createdAt,
    name: p.name,
    label: p.label,
    type: p.type,
    fieldType: p.fieldType,
    description: p.description,
    groupName: p.groupName,
    options: p.options,
    displayOrder: p.displayOrder,
    calculated: p.calculated,
    externalOptions: false,
    hasUniqueValue: p.hasUniqueValue,
    hidden: p.hidden,
    hubspotDefined: p.hubspotDefined,
    modificationMetadata: {
      archivable: !p.hubspotDefined,
      readOnlyDefinition: p.hubspotDefined,
      readOnlyValue: p.readOnlyValue,
    },
    formField: p.formField,
    dataSensitivity: 'non_sensitive',
    archived: p.archived,
  };
}

function groupWire(g: PropertyGroupDef): Record<string, unknown> {
  return { name: g.name, label: g.label, displayOrder: g.displayOrder, archived: g.archived };
}

function checkFieldType(type: PropertyType, fieldType: string): void {
  if (!FIELD_TYPES[type].includes(fieldType))
    throw validationError(
      `fieldType ${fieldType} is not valid for type ${type}; use one of ${FIELD_TYPES[type].join(', ')}`,
    );
}

function options(
  input: z.infer<typeof OptionSchema>[] | undefined,
  type: PropertyType,
): PropertyDef['options'] {
  if (type === 'bool' && (input === undefined || input.length === 0))
    return [
      { label: 'Yes', value: 'true', displayOrder: 0, hidden: false },
      { label: 'No', value: 'false', displayOrder: 1, hidden: false },
    ];
  const values = new Set<string>();
  return (input ?? []).map((o, i) => {
    if (values.has(o.value)) throw validationError(`Duplicate option value ${o.value}`);
    values.add(o.value);
    return {
      label: o.label,
      value: o.value,
      displayOrder: o.displayOrder ?? i,
      hidden: o.hidden,
      ...(o.description === undefined ? {} : { description: o.description }),
    };
  });
}

export function createProperty(
  ctx: CrmContext,
  type: ObjectType,
  input: z.input<typeof PropertyCreateSchema>,
): PropertyDef {
  const body = parseBody(PropertyCreateSchema, input);
  const defs = ctx.state.properties[type];
  const existing = defs.get(body.name);
  if (existing !== undefined && !existing.archived)
    throw new HubSpotHttpError(
      409,
      'OBJECT_ALREADY_EXISTS',
      `A property named '${body.name}' already exists.`,
      {
        context: { name: [body.name] },
      },
    );
  checkFieldType(body.type, body.fieldType);
  if (!ctx.state.groups[type].has(body.groupName))
    throw validationError(`Property group ${body.groupName} does not exist`);
  if (body.hasUniqueValue === true) {
    const n = [...defs.values()].filter((p) => p.hasUniqueValue && !p.archived).length;
    if (n >= MAX_UNIQUE_PROPERTIES)
      throw validationError(`At most ${MAX_UNIQUE_PROPERTIES} unique-value properties can exist per object`);
  }
  const now = ctx.now().toISOString();
  const def: PropertyDef = {
    name: body.name,
    label: body.label,
    type: body.type,
    fieldType: body.fieldType,
    groupName: body.groupName,
    description: body.description ?? '',
    options: options(body.options, body.type),
    displayOrder: body.displayOrder ?? -1,
    hasUniqueValue: body.hasUniqueValue ?? false,
    hidden: body.hidden ?? false,
    formField: body.formField ?? false,
    calculated: false,
    hubspotDefined: false,
    readOnlyValue: false,
    createdAt: now,
    updatedAt: now,
    archived: false,
  };
  defs.set(def.name, def);
  return def;
}

export function createGroup(
  ctx: CrmContext,
  type: ObjectType,
  input: z.input<typeof GroupCreateSchema>,
): PropertyGroupDef {
  const body = parseBody(GroupCreateSchema, input);
  if (ctx.state.groups[type].get(body.name)?.archived === false)
    throw new HubSpotHttpError(
      409,
      'OBJECT_ALREADY_EXISTS',
      `A property group named '${body.name}' already exists.`,
      {
        context: { name: [body.name] },
      },
    );
  const g: PropertyGroupDef = {
    name: body.name,
    label: body.label,
    displayOrder: body.displayOrder ?? -1,
    archived: false,
  };
  ctx.state.groups[type].set(g.name, g);
  return g;
}

export function propertiesRouter(ctx: CrmContext): MiniRouter {
  const r = new MiniRouter();
  const { state } = ctx;

  r.get('/crm/v3/properties/:type/groups', (req, res) => {
    const type = typeParam(req.params.type);
    state.count('property');
    res.json({ results: [...state.groups[type].values()].filter((g) => !g.archived).map(groupWire) });
  });

  r.post('/crm/v3/properties/:type/groups', (req, res) => {
    const type = typeParam(req.params.type);
    state.count('property');
    res.status(201).json(groupWire(createGroup(ctx, type, req.body as z.input<typeof GroupCreateSchema>)));
  });

  r.get('/crm/v3/properties/:type/groups/:name', (req, res) => {
    const type = typeParam(req.params.type);
    state.count('property');
    const g = state.groups[type].get(req.params.name);
    if (g === undefined || g.archived)
      throw new HubSpotHttpError(404, 'OBJECT_NOT_FOUND', `Property group ${req.params.name} does not exist`);
    res.json(groupWire(g));
  });

  r.get('/crm/v3/properties/:type', (req, res) => {
    const type = typeParam(req.params.type);
    state.count('property');
    const archived = req.query.archived === 'true';
    res.json({
      results: [...state.properties[type].values()].filter((p) => p.archived === archived).map(propertyWire),
    });
  });

  r.post('/crm/v3/properties/:type', (req, res) => {
    const type = typeParam(req.params.type);
    state.count('property');
    res
      .status(201)
      .json(propertyWire(createProperty(ctx, type, req.body as z.input<typeof PropertyCreateSchema>)));
  });

  r.get('/crm/v3/properties/:type/:name', (req, res) => {
    const type = typeParam(req.params.type);
    state.count('property');
    const p = state.properties[type].get(req.params.name);
    if (p === undefined || (p.archived && req.query.archived !== 'true'))
      throw new HubSpotHttpError(404, 'OBJECT_NOT_FOUND', `Property ${req.params.name} does not exist`);
    res.json(propertyWire(p));
  });

  r.patch('/crm/v3/properties/:type/:name', (req, res) => {
    const type = typeParam(req.params.type);
    state.count('property');
    const p = state.properties[type].get(req.params.name);
    if (p === undefined || p.archived)
      throw new HubSpotHttpError(404, 'OBJECT_NOT_FOUND', `Property ${req.params.name} does not exist`);
    if (p.hubspotDefined)
      throw validationError(`Property ${p.name} is HubSpot-defined; its definition is read-only`);
    const body = parseBody(PropertyUpdateSchema, req.body);
    const type2 = body.type ?? p.type;
    const fieldType = body.fieldType ?? p.fieldType;
    checkFieldType(type2, fieldType);
    if (body.groupName !== undefined && !state.groups[type].has(body.groupName))
      throw validationError(`Property group ${body.groupName} does not exist`);
    if (body.label !== undefined) p.label = body.label;
    if (body.description !== undefined) p.description = body.description;
    if (body.groupName !== undefined) p.groupName = body.groupName;
    if (body.displayOrder !== undefined) p.displayOrder = body.displayOrder;
    if (body.hidden !== undefined) p.hidden = body.hidden;
    if (body.formField !== undefined) p.formField = body.formField;
    if (body.options !== undefined) p.options = options(body.options, type2);
    p.type = type2;
    p.fieldType = fieldType;
    p.updatedAt = ctx.now().toISOString();
    res.json(propertyWire(p));
  });

  r.delete('/crm/v3/properties/:type/:name', (req, res) => {
    const type = typeParam(req.params.type);
    state.count('property');
    const p = state.properties[type].get(req.params.name);
    if (p === undefined || p.archived)
      throw new HubSpotHttpError(404, 'OBJECT_NOT_FOUND', `Property ${req.params.name} does not exist`);
    if (p.hubspotDefined)
      throw validationError(`Property ${p.name} is HubSpot-defined and cannot be archived`);
    p.archived = true;
    res.status(204).end();
  });

  r.get('/crm/v3/owners', (req, res) => {
    state.count('owner');
    const q = parseBody(
      z.object({
        email: z.string().optional(),
        after: z.string().regex(/^\d+$/).optional(),
        limit: z.coerce.number().int().min(1).max(OWNERS_MAX_LIMIT).default(100),
        archived: z.enum(['true', 'false']).default('false'),
      }),
      req.query,
    );
    const archived = q.archived === 'true';
    const all = state.owners.filter(
      (o) =>
        o.archived === archived && (q.email === undefined || o.email.toLowerCase() === q.email.toLowerCase()),
    );
    const offset = Number(q.after ?? 0);
    const page = all.slice(offset, offset + q.limit);
    const base = `http://${req.host}`;
    res.json({
      results: page.map((o) => ({
        id: o.id,
        email: o.email,
        type: 'PERSON',
        firstName: o.firstName,
        lastName: o.lastName,
        userId: o.userId,
        userIdIncludingInactive: o.userId,
        createdAt: o.createdAt,
        updatedAt: o.updatedAt,
        archived: o.archived,
        teams: [],
      })),
      ...(offset + page.length < all.length
        ? {
            paging: {
              next: {
                after: String(offset + page.length),
                link: `${base}/crm/v3/owners/?after=${offset + page.length}&limit=${q.limit}`,
              },
            },
          }
        : {}),
    });
  });

  r.get('/crm/v3/owners/:ownerId', (req, res) => {
    state.count('owner');
    const o = state.owners.find((x) => x.id === req.params.ownerId);
    if (o === undefined)
      throw new HubSpotHttpError(404, 'OBJECT_NOT_FOUND', `Owner ${req.params.ownerId} does not exist`);
    res.json({
      id: o.id,
      email: o.email,
      type: 'PERSON',
      firstName: o.firstName,
      lastName: o.lastName,
      userId: o.userId,
      userIdIncludingInactive: o.userId,
      createdAt: o.createdAt,
      updatedAt: o.updatedAt,
      archived: o.archived,
      teams: [],
    });
  });

  const pipelineWire = (p: (typeof state.pipelines.deals)[number]) => ({
    id: p.id,
    label: p.label,
    displayOrder: p.displayOrder,
    createdAt: '2020-01-01T00:00:00Z',
    updatedAt: '2020-01-01T00:00:00Z',
    archived: false,
    stages: p.stages.map((s) => ({
      id: s.id,
      label: s.label,
      displayOrder: s.displayOrder,
      metadata: s.metadata,
      createdAt: '2020-01-01T00:00:00Z',
      updatedAt: '2020-01-01T00:00:00Z',
      archived: false,
      writePermissions: 'CRM_PERMISSIONS_ENFORCEMENT',
    })),
  });

  r.get('/crm/v3/pipelines/:type', (req, res) => {
    const type = typeParam(req.params.type);
    state.count('pipeline');
    if (type !== 'deals' && type !== 'tickets') throw validationError(`${type} has no pipelines`);
    res.json({ results: state.pipelines[type].map(pipelineWire) });
  });

  r.get('/crm/v3/pipelines/:type/:pipelineId', (req, res) => {
    const type = typeParam(req.params.type);
    state.count('pipeline');
    if (type !== 'deals' && type !== 'tickets') throw validationError(`${type} has no pipelines`);
    const p = state.pipelines[type].find((x) => x.id === req.params.pipelineId);
    if (p === undefined)
      throw new HubSpotHttpError(404, 'OBJECT_NOT_FOUND', `Pipeline ${req.params.pipelineId} does not exist`);
    res.json(pipelineWire(p));
  });

  return r;
}
