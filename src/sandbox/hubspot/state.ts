/**
 * The emulated HubSpot account's in-memory state: records, properties, groups, owners,
 * associations, pipelines, and what tests inspect (call counts per kind, 429s served, the log of
 * written values). Everything is reset by `reset()`.
 */
import { AssociationStore } from './associations.js';
import {
  standardGroups,
  standardProperties,
  TICKET_STAGES,
  type PropertyDef,
  type PropertyGroupDef,
} from './schema.js';
import { ObjectTable } from './table.js';
import { OBJECT_TYPES, type ObjectType } from './wire.js';
import { SEED_DEAL_STAGES } from '../seed/types.js';

export type CallKind =
  'read' | 'write' | 'search' | 'association' | 'property' | 'owner' | 'pipeline' | 'oauth';

export type ChangeSource = 'INTEGRATION' | 'CRM_UI';

export interface WrittenValue {
  at: string;
  type: ObjectType;
  id: string;
  op: 'create' | 'update' | 'archive' | 'merge';
  properties: Record<string, string | null>;
  source: ChangeSource;
}

export interface Owner {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  userId: number;
  archived: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface PipelineStage {
  id: string;
  label: string;
  displayOrder: number;
  metadata: Record<string, string>;
}

export interface Pipeline {
  id: string;
  label: string;
  displayOrder: number;
  stages: PipelineStage[];
}

export interface RateLimitCounters {
  tenSecondly: number;
  secondly: number;
  daily: number;
  /** Includes 429s injected by the FaultInjector. */
  total: number;
}

function zeroCalls(): Record<CallKind, number> {
  return { read: 0, write: 0, search: 0, association: 0, property: 0, owner: 0, pipeline: 0, oauth: 0 };
}

function byType<T>(make: (t: ObjectType) => T): Record<ObjectType, T> {
  return Object.fromEntries(OBJECT_TYPES.map((t) => [t, make(t)])) as Record<ObjectType, T>;
}

function propMap(t: ObjectType): Map<string, PropertyDef> {
  return new Map(standardProperties(t).map((p) => [p.name, p]));
}

function groupMap(t: ObjectType): Map<string, PropertyGroupDef> {
  return new Map(standardGroups(t).map((g) => [g.name, g]));
}

export function defaultPipelines(): Record<'deals' | 'tickets', Pipeline[]> {
  return {
    // API_FACTS/brief: stages carry metadata.isClosed and probability as strings.
    deals: [
      {
        id: 'default',
        label: 'Sales Pipeline',
        displayOrder: 0,
        stages: SEED_DEAL_STAGES.map((s, i) => ({
          id: s.id,
          label: s.label,
          displayOrder: i,
          metadata: { isClosed: String(s.closed), probability: s.probability.toFixed(1) },
        })),
      },
    ],
    tickets: [
      {
        id: '0',
        label: 'Support Pipeline',
        displayOrder: 0,
        stages: TICKET_STAGES.map((s, i) => ({
          id: s.id,
          label: s.label,
          displayOrder: i,
          metadata: { ticketState: s.closed ? 'CLOSED' : 'OPEN', isClosed: String(s.closed) },
        })),
      },
    ],
  };
}

export class HubSpotState {
  portalId: number;
  objects: Record<ObjectType, ObjectTable> = byType((t) => new ObjectTable(t));
  properties: Record<ObjectType, Map<string, PropertyDef>> = byType(propMap);
  groups: Record<ObjectType, Map<string, PropertyGroupDef>> = byType(groupMap);
  owners: Owner[] = [];
  pipelines = defaultPipelines();
  associations = new AssociationStore();
  calls: Record<CallKind, number> = zeroCalls();
  rateLimited: RateLimitCounters = { tenSecondly: 0, secondly: 0, daily: 0, total: 0 };
  /** Every value written through the API or a simulated user edit (not the seed). */
  written: WrittenValue[] = [];
  /** Set false for large benchmarks so the write log does not grow without bound. */
  recordWrites = true;
  /** Search sees a write only this many ms after it (HubSpot's indexing lag); 0 = immediately. */
  indexingLagMs = 0;

  constructor(readonly defaultPortalId: number) {
    this.portalId = defaultPortalId;
  }

  reset(): void {
    this.portalId = this.defaultPortalId;
    this.objects = byType((t) => new ObjectTable(t));
    this.properties = byType(propMap);
    this.groups = byType(groupMap);
    this.owners = [];
    this.pipelines = defaultPipelines();
    this.associations = new AssociationStore();
    this.calls = zeroCalls();
    this.rateLimited = { tenSecondly: 0, secondly: 0, daily: 0, total: 0 };
    this.written = [];
    this.indexingLagMs = 0;
  }

  count(kind: CallKind): void {
    this.calls[kind]++;
  }

  /** Tasks as written (convenience for tests asserting what the connector created). */
  get tasks(): { id: string; properties: Record<string, string> }[] {
    return [...this.objects.tasks.records.values()]
      .filter((r) => !r.archived)
      .map((r) => ({ id: String(r.num), properties: { ...r.props } }));
  }

  stageOf(dealStage: string | undefined): PipelineStage | undefined {
    if (dealStage === undefined) return undefined;
    for (const p of this.pipelines.deals) for (const s of p.stages) if (s.id === dealStage) return s;
    return undefined;
  }
}
