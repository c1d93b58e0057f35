/**
 * Deal and ticket pipeline stages, so "won" and "closed" come from the account's own stage
 * metadata instead of hard-coded stage names: deal stages carry `isClosed` and `probability`
 * (won = closed with probability 1), ticket stages `ticketState` OPEN/CLOSED (HubSpot pipelines
 * API, `GET /crm/v3/pipelines/{objectType}`). Read once per connector and cached for 10 minutes.
 * Records get the derived fields below, which mappings read like any other field.
 */
import type { HubSpotHttp } from './http.js';
import { PipelinesSchema, parseWire } from './wire.js';

/** Derived fields (a '.' cannot occur in a HubSpot property name, so they never collide). */
export const STAGE_IS_WON = 'pipeline_stage.is_won';
export const STAGE_IS_CLOSED = 'pipeline_stage.is_closed';
export const DERIVED_FIELDS: readonly string[] = [STAGE_IS_WON, STAGE_IS_CLOSED];

export interface StageInfo {
  closed: boolean;
  won: boolean;
}

const TTL_MS = 10 * 60_000;

/** The stage property and the fallback flags HubSpot computes, per object with pipelines. */
export const STAGE_PROPERTIES: Record<string, { stage: string; fallback: string[] }> = {
  deals: { stage: 'dealstage', fallback: ['hs_is_closed_won', 'hs_is_closed'] },
  tickets: { stage: 'hs_pipeline_stage', fallback: ['closed_date'] },
};

function truthy(v: unknown): boolean {
  return v === true || v === 'true' || v === 'TRUE';
}

export class PipelineStages {
  private readonly cache = new Map<string, { at: number; stages: Map<string, StageInfo> | null }>();

  constructor(
    private readonly http: HubSpotHttp,
    private readonly now: () => Date,
  ) {}

  /** Stage id → flags; null when the account's pipelines cannot be read (fall back to flags). */
  async stages(objectType: string, signal?: AbortSignal): Promise<Map<string, StageInfo> | null> {
    const hit = this.cache.get(objectType);
    if (hit !== undefined && this.now().getTime() - hit.at < TTL_MS) return hit.stages;
    let stages: Map<string, StageInfo> | null = null;
    try {
      const raw = await this.http.call(
        'read',
        `pipelines ${objectType}`,
        (c, o) => c.crm.pipelines.pipelinesApi.getAll(objectType, o),
        signal,
      );
      stages = new Map();
      for (const pipeline of parseWire(PipelinesSchema, raw, 'pipelines').results) {
        for (const stage of pipeline.stages) {
          const m = stage.metadata ?? {};
          const closed =
            objectType === 'tickets'
              ? String(m.ticketState ?? '').toUpperCase() === 'CLOSED'
              : truthy(m.isClosed);
          const won = objectType === 'deals' && closed && Number(m.probability) === 1;
          stages.set(stage.id, { closed, won });
        }
      }
    } catch {
      stages = null;
    }
    this.cache.set(objectType, { at: this.now().getTime(), stages });
    return stages;
  }
}

/** Fill the derived fields of one record from its stage (or HubSpot's own flags as a fallback). */
export function deriveStageFields(
  objectType: string,
  properties: Record<string, string | null | undefined>,
  stages: Map<string, StageInfo> | null,
): { closed: boolean | null; won: boolean | null } {
  const spec = STAGE_PROPERTIES[objectType];
  if (spec === undefined) return { closed: null, won: null };
  const stageId = properties[spec.stage];
  const info = stageId === undefined || stageId === null ? undefined : stages?.get(stageId);
  if (info !== undefined) return { closed: info.closed, won: objectType === 'deals' ? info.won : null };
  if (objectType === 'deals') {
    const won = properties.hs_is_closed_won;
    const closed = properties.hs_is_closed;
    return {
      closed: closed === undefined || closed === null ? null : truthy(closed),
      won: won === undefined || won === null ? null : truthy(won),
    };
  }
  const closedDate = properties.closed_date;
  return { closed: closedDate === undefined ? null : closedDate !== null && closedDate !== '', won: null };
}
