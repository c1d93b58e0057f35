/**
 * Provisioning: the fields we own, as the tenant's mapping defines them, created (or extended) in
 * the CRM by the connector. Idempotent: the connector reads first and a second run writes nothing.
 */
import type { OwnedFieldDefinition, ProvisionReport } from '../../connectors/contract.js';
import { OWNED_FIELDS } from '../engine/model.js';
import type { OwnedFieldType, OwnedKind } from '../engine/model.js';
import type { Rules } from '../engine/index.js';
import type { Mapping } from './mapping.js';
import type { SyncDeps } from './run-sync.js';

/**
 * The tag values the engine may write: the built-in segment tags plus every admin-defined segment's
 * tag. A multi-select rejects values that are not options (HubSpot INVALID_OPTION, Salesforce
 * INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST), so they are provisioned before anything is written.
 */
export function tagOptions(rules: Rules): string[] {
  return ['segment-a', 'segment-b', 'vip', ...rules.segments.custom.map((s) => s.tag)];
}

export function ownedFieldDefinitions(mapping: Mapping, rules?: Rules): OwnedFieldDefinition[] {
  const out: OwnedFieldDefinition[] = [];
  for (const [object, om] of Object.entries(mapping.objects)) {
    const types = OWNED_FIELDS[om.kind as OwnedKind] as Record<string, OwnedFieldType> | undefined;
    if (types === undefined) continue;
    for (const [id, def] of Object.entries(om.owned)) {
      const type = types[id];
      if (type === undefined) continue;
      const field: OwnedFieldDefinition = { object, name: def.name, label: def.label, type };
      if (def.description !== undefined) field.description = def.description;
      if (def.options !== undefined || (type === 'multi' && rules !== undefined)) {
        field.options = [
          ...new Set([
            ...(def.options ?? []),
            ...(type === 'multi' && rules !== undefined ? tagOptions(rules) : []),
          ]),
        ];
      }
      if (def.unique !== undefined) field.unique = def.unique;
      out.push(field);
    }
  }
  return out;
}

export async function provisionTenant(
  deps: Pick<SyncDeps, 'connector' | 'mapping'>,
): Promise<ProvisionReport> {
  return deps.connector.provision(ownedFieldDefinitions(deps.mapping));
}
