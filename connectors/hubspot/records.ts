/**
 * HubSpot objects → `CrmRecord`s: only the requested fields, derived pipeline-stage flags,
 * associations from the v4 batch reads, archived → `deleted`, and merged contacts: the survivor's
 * `hs_merged_object_ids` ("a;b") names the ids merged into it, each emitted as a tombstone with
 * `mergedInto` so the pipeline retires the old id and the survivor keeps its referral history.
 */
import type { CrmRecord, WireValue } from '../contract.js';
import type { HubSpotFacts } from './facts.js';
import type { HubSpotHttp } from './http.js';
import { readLinks } from './links.js';
import {
  DERIVED_FIELDS,
  STAGE_IS_CLOSED,
  STAGE_IS_WON,
  STAGE_PROPERTIES,
  deriveStageFields,
} from './pipelines.js';
import type { PipelineStages } from './pipelines.js';
import type { HubSpotObject } from './wire.js';
import { instantIso } from './wire.js';

/** The properties to ask HubSpot for: mapped fields minus derived ones, plus what derivation needs. */
export function propertiesToRead(object: string, fields: readonly string[], facts: HubSpotFacts): string[] {
  const props = new Set(fields.filter((f) => !DERIVED_FIELDS.includes(f)));
  const stage = STAGE_PROPERTIES[object];
  if (stage !== undefined && fields.some((f) => DERIVED_FIELDS.includes(f))) {
    props.add(stage.stage);
    for (const f of stage.fallback) props.add(f);
  }
  if (object === 'contacts') props.add(facts.sync.mergedIdsProperty);
  props.add(facts.sync.modifiedProperty);
  return [...props];
}

export function modifiedMs(o: HubSpotObject, facts: HubSpotFacts): number {
  const iso = instantIso(o.properties[facts.sync.modifiedProperty]) ?? instantIso(o.updatedAt);
  return iso === undefined ? 0 : Date.parse(iso);
}

function boolWire(v: boolean | null): WireValue {
  return v === null ? null : v ? 'true' : 'false';
}

export interface RecordDeps {
  http: HubSpotHttp;
  facts: HubSpotFacts;
  pipelines: PipelineStages;
}

export async function toRecords(
  deps: RecordDeps,
  object: string,
  objects: readonly HubSpotObject[],
  fields: readonly string[],
  links: readonly string[],
  archived: boolean,
  signal?: AbortSignal,
  inline = false,
): Promise<CrmRecord[]> {
  const ids = objects.map((o) => o.id);
  const linkMaps = new Map<string, Map<string, string[]>>();
  if (!archived && ids.length > 0) {
    for (const to of links) {
      if (!inline) {
        linkMaps.set(to, await readLinks(deps.http, deps.facts, object, to, ids, signal));
        continue;
      }
      // Inline associations of the list read; only records whose list is paged (more than one
      // answer holds) are completed with a v4 batch read.
      const map = new Map<string, string[]>();
      const incomplete: string[] = [];
      for (const o of objects) {
        const block = o.associations?.[to];
        map.set(o.id, [...new Set((block?.results ?? []).map((a) => a.id))]);
        if (block?.paging?.next?.after !== undefined) incomplete.push(o.id);
      }
      if (incomplete.length > 0) {
        for (const [id, more] of await readLinks(deps.http, deps.facts, object, to, incomplete, signal))
          map.set(id, [...new Set([...(map.get(id) ?? []), ...more])]);
      }
      linkMaps.set(to, map);
    }
  }
  const wantsDerived = fields.some((f) => DERIVED_FIELDS.includes(f));
  const stages = wantsDerived ? await deps.pipelines.stages(object, signal) : null;
  const out: CrmRecord[] = [];
  const emitted = new Set<string>();
  for (const o of objects) {
    const record: CrmRecord = {
      object,
      id: o.id,
      fields: {},
      modifiedAt: new Date(modifiedMs(o, deps.facts)).toISOString(),
      deleted: archived || o.archived === true,
      links: {},
    };
    const derived = wantsDerived ? deriveStageFields(object, o.properties, stages) : undefined;
    for (const f of fields) {
      if (f === STAGE_IS_WON) record.fields[f] = boolWire(derived?.won ?? null);
      else if (f === STAGE_IS_CLOSED) record.fields[f] = boolWire(derived?.closed ?? null);
      else record.fields[f] = o.properties[f] ?? null;
    }
    for (const to of links) record.links[to] = linkMaps.get(to)?.get(o.id) ?? [];
    out.push(record);
    emitted.add(o.id);
  }
  if (object === 'contacts') {
    for (const o of objects) {
      const merged = o.properties[deps.facts.sync.mergedIdsProperty];
      if (merged === undefined || merged === null || merged === '' || archived) continue;
      for (const oldId of merged.split(';').map((s) => s.trim())) {
        if (oldId === '' || oldId === o.id || emitted.has(oldId)) continue;
        emitted.add(oldId);
        out.push({
          object,
          id: oldId,
          fields: {},
          modifiedAt: new Date(modifiedMs(o, deps.facts)).toISOString(),
          deleted: true,
          mergedInto: o.id,
          links: {},
        });
      }
    }
  }
  return out;
}
