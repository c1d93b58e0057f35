/**
 * Query cursors behind `nextRecordsUrl`. The result rows are computed and ordered once per query;
 * each queryMore page is a slice. Locator = `<01g… cursor id>-<offset>` and nextRecordsUrl
 * `/services/data/vXX.X/query/<locator>` (SF resources_query; jsforce keeps only the last path
 * segment and calls `/query/<locator>` even for queryAll — API_FACTS §Query). A user holds at most
 * `maxOpenCursors` (SF: 10; the oldest is dropped) and a cursor idle 15 minutes expires.
 */
import { KEY_PREFIXES, makeId } from './ids.js';
import type { Column, QueryResult } from './query-exec.js';
import type { SObjectTable } from './table.js';
import type { Rec } from './wire.js';

interface Cursor {
  id: string;
  userId: string;
  table: SObjectTable;
  columns: Column[];
  rows: Rec[];
  batchSize: number;
  touchedAt: number;
}

export interface Page {
  totalSize: number;
  done: boolean;
  nextRecordsUrl?: string;
  records: Record<string, unknown>[];
}

const IDLE_MS = 15 * 60_000;

/** A record as the REST API returns it: `attributes` then the selected fields in order. */
export function toJsonRecord(
  table: SObjectTable,
  columns: Column[],
  rec: Rec,
  version: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    attributes: {
      type: table.name,
      url: `/services/data/v${version}/sobjects/${table.name}/${String(rec.Id)}`,
    },
  };
  for (const col of columns) {
    if (col.via === undefined) {
      out[col.name] = col.get(rec);
      continue;
    }
    const rel = col.path[0] ?? '';
    const refId = rec[col.via.field.name];
    if (typeof refId !== 'string') {
      out[rel] = null;
      continue;
    }
    let nested = out[rel] as Record<string, unknown> | null | undefined;
    if (nested === undefined || nested === null) {
      const targetType =
        col.via.field.referenceTo.find((t) => refId.startsWith(prefixOf(t))) ?? col.via.target.name;
      nested = {
        attributes: { type: targetType, url: `/services/data/v${version}/sobjects/${targetType}/${refId}` },
      };
      out[rel] = nested;
    }
    nested[col.field.name] = col.get(rec);
  }
  return out;
}

function prefixOf(type: string): string {
  return (KEY_PREFIXES as Record<string, string>)[type] ?? '';
}

export class CursorStore {
  private readonly cursors = new Map<string, Cursor>();
  private seq = 0;

  constructor(
    private readonly now: () => Date,
    private readonly maxPerUser: number,
  ) {}

  /** First page of a result; opens a cursor when more rows remain. */
  firstPage(result: QueryResult, userId: string, batchSize: number, version: string): Page {
    const { table, columns } = result.compiled;
    const rows = result.rows;
    if (rows.length <= batchSize) {
      return {
        totalSize: rows.length,
        done: true,
        records: rows.map((r) => toJsonRecord(table, columns, r, version)),
      };
    }
    const id = makeId(KEY_PREFIXES.QueryLocator, ++this.seq);
    this.cursors.set(id, { id, userId, table, columns, rows, batchSize, touchedAt: this.now().getTime() });
    this.evict(userId);
    return this.slice(id, 0, version) as Page;
  }

  /** Page at a locator `<cursorId>-<offset>`; undefined when unknown or expired. */
  page(locator: string, version: string): Page | undefined {
    const m = /^([a-zA-Z0-9]{15,18})-(\d+)$/.exec(locator);
    if (m === null) return undefined;
    return this.slice(m[1] ?? '', Number(m[2]), version);
  }

  private slice(id: string, offset: number, version: string): Page | undefined {
    const c = this.cursors.get(id);
    const now = this.now().getTime();
    if (c === undefined || now - c.touchedAt > IDLE_MS || offset > c.rows.length) {
      if (c !== undefined && now - c.touchedAt > IDLE_MS) this.cursors.delete(id);
      return undefined;
    }
    c.touchedAt = now;
    // Re-insert so eviction drops the least recently used cursor.
    this.cursors.delete(id);
    this.cursors.set(id, c);
    const end = Math.min(c.rows.length, offset + c.batchSize);
    const records: Record<string, unknown>[] = [];
    for (let i = offset; i < end; i++)
      records.push(toJsonRecord(c.table, c.columns, c.rows[i] as Rec, version));
    // A finished cursor stays until evicted or idle, so a retried last page still answers.
    const done = end >= c.rows.length;
    return {
      totalSize: c.rows.length,
      done,
      ...(done ? {} : { nextRecordsUrl: `/services/data/v${version}/query/${id}-${end}` }),
      records,
    };
  }

  private evict(userId: string): void {
    const mine = [...this.cursors.values()].filter((c) => c.userId === userId);
    for (let i = 0; i < mine.length - this.maxPerUser; i++) {
      const c = mine[i];
      if (c !== undefined) this.cursors.delete(c.id);
    }
  }

  get openCount(): number {
    return this.cursors.size;
  }

  clear(): void {
    this.cursors.clear();
  }
}
