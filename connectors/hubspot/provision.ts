/**
 * Provisioning: our property group and every owned property, idempotently.
 * One read of the groups and one of the properties per object; then only what is missing is
 * written (`POST /crm/v3/properties/{object}/groups`, `POST /crm/v3/properties/{object}` → 201;
 * a multi-checkbox missing options gets ONE `PATCH` carrying its existing options untouched plus
 * the new ones, since HubSpot replaces the option list). A same-name property of an incompatible
 * type is reported as a conflict and never changed. A second run makes zero write calls.
 * Type pairs: API_FACTS §Properties (bool→booleancheckbox, enumeration→checkbox for multi-select,
 * number→number, date→date, datetime→date, string→text/textarea).
 */
import type { OwnedFieldDefinition, ProvisionReport } from '../contract.js';
import type { OwnedFieldType } from '../../src/engine/model.js';
import { isAppError } from '../../src/errors.js';
import { ERR_HUBSPOT_CONFLICT } from './errors.js';
import type { HubSpotHttp } from './http.js';
import type { HubSpotProperty } from './wire.js';
import { GroupsSchema, PropertiesSchema, PropertySchema, parseWire } from './wire.js';

export interface PropertySpec {
  type: string;
  fieldType: string;
  options: { label: string; value: string; displayOrder: number; hidden: boolean }[];
}

const BOOL_OPTIONS = [
  { label: 'Yes', value: 'true', displayOrder: 0, hidden: false },
  { label: 'No', value: 'false', displayOrder: 1, hidden: false },
];

export function propertySpec(type: OwnedFieldType, options: readonly string[] = []): PropertySpec {
  switch (type) {
    case 'boolean':
      return { type: 'bool', fieldType: 'booleancheckbox', options: BOOL_OPTIONS };
    case 'number':
    case 'currency':
      return { type: 'number', fieldType: 'number', options: [] };
    case 'date':
      return { type: 'date', fieldType: 'date', options: [] };
    case 'datetime':
      return { type: 'datetime', fieldType: 'date', options: [] };
    case 'multi':
      return {
        type: 'enumeration',
        fieldType: 'checkbox',
        options: options.map((o, i) => ({ label: o, value: o, displayOrder: i, hidden: false })),
      };
    case 'text':
      return { type: 'string', fieldType: 'textarea', options: [] };
    case 'string':
      return { type: 'string', fieldType: 'text', options: [] };
  }
}

/** Why an existing property cannot hold our values, or null when it can. */
export function incompatibility(existing: HubSpotProperty, wanted: PropertySpec): string | null {
  if (existing.type !== wanted.type)
    return `exists as ${existing.type}/${existing.fieldType}, we need ${wanted.type}/${wanted.fieldType}`;
  if (wanted.type === 'enumeration' && existing.fieldType !== 'checkbox')
    return `exists as single-choice enumeration (${existing.fieldType}); tags need a multi-checkbox`;
  if (existing.modificationMetadata?.readOnlyValue === true) return 'exists with a read-only value';
  return null;
}

export interface ProvisionDeps {
  http: HubSpotHttp;
  group: { name: string; label: string };
  warn: (obj: object, msg: string) => void;
}

export async function provision(
  deps: ProvisionDeps,
  fields: readonly OwnedFieldDefinition[],
  signal?: AbortSignal,
): Promise<ProvisionReport> {
  const report: ProvisionReport = { created: [], updated: [], unchanged: [], conflicts: [], writeCalls: 0 };
  const byObject = new Map<string, OwnedFieldDefinition[]>();
  for (const f of fields) byObject.set(f.object, [...(byObject.get(f.object) ?? []), f]);

  for (const [object, defs] of byObject) {
    const groups = parseWire(
      GroupsSchema,
      await deps.http.call(
        'read',
        `property groups ${object}`,
        (c, o) => c.crm.properties.groupsApi.getAll(object, o),
        signal,
      ),
      'property groups',
    );
    if (!groups.results.some((g) => g.name === deps.group.name)) {
      report.writeCalls++;
      try {
        await deps.http.call(
          'write',
          `create property group ${object}`,
          (c, o) =>
            c.crm.properties.groupsApi.create(object, { name: deps.group.name, label: deps.group.label }, o),
          signal,
        );
      } catch (error) {
        if (!isAppError(error, ERR_HUBSPOT_CONFLICT)) throw error; // created meanwhile: fine
      }
    }
    const existing = new Map(
      parseWire(
        PropertiesSchema,
        await deps.http.call(
          'read',
          `properties ${object}`,
          (c, o) => c.crm.properties.coreApi.getAll(object, undefined, undefined, o),
          signal,
        ),
        'properties',
      ).results.map((p) => [p.name, p]),
    );

    for (const def of defs) {
      const label = `${object}.${def.name}`;
      const spec = propertySpec(def.type, def.options ?? []);
      const current = existing.get(def.name);
      if (current === undefined) {
        report.writeCalls++;
        await deps.http.call(
          'write',
          `create property ${label}`,
          (c, o) =>
            c.crm.properties.coreApi.create(
              object,
              {
                name: def.name,
                label: def.label,
                type: spec.type as never,
                fieldType: spec.fieldType as never,
                groupName: deps.group.name,
                ...(def.description === undefined ? {} : { description: def.description }),
                ...(spec.options.length > 0 ? { options: spec.options } : {}),
                ...(def.unique === true ? { hasUniqueValue: true } : {}),
              },
              o,
            ),
          signal,
        );
        report.created.push(label);
        continue;
      }
      const problem = incompatibility(current, spec);
      if (problem !== null) {
        report.conflicts.push({ object, name: def.name, reason: problem });
        continue;
      }
      if (def.unique === true && current.hasUniqueValue !== true) {
        deps.warn({ object, name: def.name }, 'property exists without unique values; left as is');
      }
      const have = new Set(current.options.map((o) => o.value));
      const missing = spec.type === 'enumeration' ? spec.options.filter((o) => !have.has(o.value)) : [];
      if (missing.length === 0) {
        report.unchanged.push(label);
        continue;
      }
      const options = [
        ...current.options.map((o, i) => ({
          label: o.label,
          value: o.value,
          hidden: o.hidden ?? false,
          displayOrder: (o as { displayOrder?: number }).displayOrder ?? i,
        })),
        ...missing.map((o, i) => ({ ...o, displayOrder: current.options.length + i })),
      ];
      report.writeCalls++;
      const updated = await deps.http.call(
        'write',
        `extend options ${label}`,
        (c, o) => c.crm.properties.coreApi.update(object, def.name, { options }, o),
        signal,
      );
      parseWire(PropertySchema, updated, 'property update');
      report.updated.push(label);
    }
  }
  return report;
}
