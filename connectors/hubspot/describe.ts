/** The account's properties of one object, for the admin's mapping screen. */
import type { CrmFieldInfo } from '../contract.js';
import type { HubSpotHttp } from './http.js';
import { PropertiesSchema, parseWire } from './wire.js';

export async function describeFields(
  http: HubSpotHttp,
  object: string,
  ourGroup: string,
  signal?: AbortSignal,
): Promise<CrmFieldInfo[]> {
  const raw = await http.call(
    'read',
    `properties ${object}`,
    (c, o) => c.crm.properties.coreApi.getAll(object, undefined, undefined, o),
    signal,
  );
  return parseWire(PropertiesSchema, raw, 'properties').results.map((p) => ({
    name: p.name,
    label: p.label,
    type: `${p.type}/${p.fieldType}`,
    owned: p.groupName === ourGroup,
    ...(p.options.length > 0 ? { options: p.options.map((o) => o.value) } : {}),
  }));
}
