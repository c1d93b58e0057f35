/**
 * REST API routes under /services/data: versions, resources, query/queryAll/queryMore, sObject
 * describe and CRUD, sObject Collections, limits. Wire facts: API_FACTS §2 (Query, Collections,
 * REST basics) and the jsforce 3.10 source (connection.ts _createMany/_updateMany/_upsertMany,
 * query.ts locatorToUrl).
 */
import express from 'express';
import type { NextFunction, Request, Response, Router } from 'express';
import { z } from 'zod';
import { toId18 } from './ids.js';
import { baseUrl, versionOf } from './context.js';
import type { SandboxContext } from './context.js';
import type { CursorStore } from './cursors.js';
import { toJsonRecord } from './cursors.js';
import { describeGlobal, describeSObject } from './describe.js';
import { apiAllowance, requireSession } from './gateway.js';
import { runQuery } from './query-exec.js';
import type { Column } from './query-exec.js';
import { saveMany, upsertItem } from './save.js';
import type { SaveItem, SaveResult } from './save.js';
import type { FieldDef } from './schema.js';
import type { SObjectTable } from './table.js';
import { sendError } from './wire.js';
import type { SaveError } from './wire.js';

/** Collections take at most 200 records per call (SF resources_composite_sobjects_collections). */
export const COLLECTION_MAX = 200;

const CollectionBody = z.object({
  allOrNone: z.boolean().optional(),
  records: z.array(z.record(z.string(), z.unknown())),
});

const NOT_FOUND = 'The requested resource does not exist';

export function notFound(res: Response): void {
  sendError(res, 404, 'NOT_FOUND', NOT_FOUND);
}

/** Versions SF serves; any vNN.N from 20.0 on is accepted (jsforce default is 50.0). */
export function versionGuard(min = 20) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const v = String(req.params.version ?? '');
    const m = /^v(\d{2,3})\.(\d)$/.exec(v);
    if (m === null || Number(m[1]) < min) return notFound(res);
    next();
  };
}

/** `Sforce-Query-Options: batchSize=N` (200..2000, default 2000; SF headers_queryoptions). */
function batchSizeOf(req: Request): number {
  const h = req.get('sforce-query-options') ?? '';
  const m = /batchSize\s*=\s*(\d+)/i.exec(h);
  if (m === null) return 2000;
  return Math.min(2000, Math.max(200, Number(m[1])));
}

const columnCache = new WeakMap<FieldDef[], Column[]>();

function plainColumn(f: FieldDef): Column {
  const name = f.name;
  return { path: [name], name, field: f, get: (rec) => rec[name] ?? null };
}

/** Columns for a record GET: every readable field (cached per FLS state) or the named ones. */
export function columnsFor(
  ctx: SandboxContext,
  table: SObjectTable,
  names: string[] | undefined,
): Column[] | SaveError {
  if (names === undefined) {
    const readable = ctx.state.readableFields(table);
    let cols = columnCache.get(readable);
    if (cols === undefined) {
      cols = readable.map(plainColumn);
      columnCache.set(readable, cols);
    }
    return cols;
  }
  const chosen = names.map((n) => table.field(n));
  const cols: Column[] = [];
  for (let i = 0; i < chosen.length; i++) {
    const f = chosen[i];
    if (f === undefined || !ctx.state.canRead(table, f)) {
      return {
        statusCode: 'INVALID_FIELD',
        message: `No such column '${names?.[i] ?? ''}' on sobject of type ${table.name}`,
        fields: [],
      };
    }
    cols.push(plainColumn(f));
  }
  return cols;
}

/** GET /limits body (SF resources_limits): DailyApiRequests and the Bulk allocations. */
export function limitsBody(ctx: SandboxContext): Record<string, { Max: number; Remaining: number }> {
  const { state } = ctx;
  state.counters.limits++;
  const max = ctx.config.dailyApiLimit;
  return {
    DailyApiRequests: { Max: max, Remaining: Math.max(0, max - state.usage.used()) },
    DailyBulkApiBatches: { Max: 15000, Remaining: 15000 - state.counters.bulkIngestJobs },
    DailyBulkV2QueryJobs: { Max: 10000, Remaining: 10000 - state.counters.bulkQueryJobs },
    DailyBulkV2QueryFileStorageMB: { Max: 1048576, Remaining: 1048576 },
    DataStorageMB: { Max: 1024, Remaining: 1024 },
  };
}

export function restRouter(ctx: SandboxContext, cursors: CursorStore): Router {
  const { state } = ctx;
  const router = express.Router();
  const json = express.json({ limit: '50mb', type: ['application/json', 'application/*+json'] });

  router.get('/', (req, res) => {
    const versions = [];
    for (let v = 31; v <= 64; v++)
      versions.push({ label: `v${v}.0`, url: `/services/data/v${v}.0`, version: `${v}.0` });
    res.json(versions);
  });

  router.use('/:version', versionGuard(), requireSession(ctx), apiAllowance(ctx), json);

  router.get('/:version', (req, res) => {
    state.counters.other++;
    const v = `/services/data/v${versionOf(req)}`;
    res.json({
      limits: `${v}/limits`,
      sobjects: `${v}/sobjects`,
      query: `${v}/query`,
      queryAll: `${v}/queryAll`,
      composite: `${v}/composite`,
      jobs: `${v}/jobs`,
      identity: `${baseUrl(req)}/id/${ctx.config.orgId}/${req.sfUserId ?? ''}`,
    });
  });

  // --- Query -------------------------------------------------------------------------------
  const query = (scanAll: boolean) => (req: Request, res: Response) => {
    if (scanAll) state.counters.queryAll++;
    else state.counters.query++;
    const q = req.query.q;
    if (typeof q !== 'string' || q.trim() === '')
      return sendError(res, 400, 'MALFORMED_QUERY', 'A query string has to be specified');
    const result = runQuery(state, q, scanAll);
    if (result.compiled.query.count)
      return res.json({ totalSize: result.rows.length, done: true, records: [] });
    res.json(cursors.firstPage(result, req.sfUserId ?? '', batchSizeOf(req), versionOf(req)));
  };
  const queryMore = (req: Request, res: Response) => {
    state.counters.queryMore++;
    const page = cursors.page(String(req.params.locator), versionOf(req));
    if (page === undefined) return sendError(res, 400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
    res.json(page);
  };
  router.get('/:version/query', query(false));
  router.get('/:version/queryAll', query(true));
  router.get('/:version/query/:locator', queryMore);
  router.get('/:version/queryAll/:locator', queryMore);

  router.get('/:version/limits', (req, res) => {
    res.json(limitsBody(ctx));
  });

  // --- sObject describe and records ----------------------------------------------------------
  const tableOr404 = (req: Request, res: Response): SObjectTable | undefined => {
    const t = state.table(String(req.params.type));
    if (t === undefined) {
      sendError(res, 404, 'NOT_FOUND', NOT_FOUND);
      return undefined;
    }
    return t;
  };

  router.get('/:version/sobjects', (req, res) => {
    state.counters.describe++;
    res.json(describeGlobal(state, versionOf(req)));
  });
  router.get('/:version/sobjects/:type/describe', (req, res) => {
    state.counters.describe++;
    const t = tableOr404(req, res);
    if (t !== undefined) res.json(describeSObject(state, t, versionOf(req)));
  });
  router.get('/:version/sobjects/:type', (req, res) => {
    state.counters.describe++;
    const t = tableOr404(req, res);
    if (t === undefined) return;
    const d = describeSObject(state, t, versionOf(req));
    delete d.fields;
    res.json({ objectDescribe: d, recentItems: [] });
  });

  const saveSingleError = (res: Response, r: SaveResult): void => {
    res
      .status(400)
      .json(r.errors.map((e) => ({ message: e.message, errorCode: e.statusCode, fields: e.fields })));
  };

  router.post('/:version/sobjects/:type', (req, res) => {
    state.counters.sobject++;
    const t = tableOr404(req, res);
    if (t === undefined) return;
    const [r] = saveMany(
      ctx,
      [{ type: t.name, input: (req.body ?? {}) as Record<string, unknown>, mode: 'create', id: undefined }],
      true,
      'rest',
    );
    if (r === undefined || !r.success) return saveSingleError(res, r ?? { success: false, errors: [] });
    res.status(201).json({ id: r.id, success: true, errors: [] });
  });

  router.get('/:version/sobjects/:type/:id', (req, res) => {
    state.counters.sobject++;
    const t = tableOr404(req, res);
    if (t === undefined) return;
    const id = toId18(String(req.params.id));
    const rec = id === undefined ? undefined : t.records.get(id);
    if (rec === undefined || rec.IsDeleted === true) return notFound(res);
    const names =
      typeof req.query.fields === 'string' ? req.query.fields.split(',').map((s) => s.trim()) : undefined;
    const cols = columnsFor(ctx, t, names);
    if (!Array.isArray(cols)) return sendError(res, 400, cols.statusCode, cols.message);
    res.json(toJsonRecord(t, cols, rec, versionOf(req)));
  });

  router.patch('/:version/sobjects/:type/:id', (req, res) => {
    state.counters.sobject++;
    const t = tableOr404(req, res);
    if (t === undefined) return;
    const id = toId18(String(req.params.id));
    if (id === undefined || !id.startsWith(t.keyPrefix)) {
      return sendError(
        res,
        400,
        'MALFORMED_ID',
        `${t.label} ID: id value of incorrect type: ${String(req.params.id)}`,
        ['Id'],
      );
    }
    if (!t.records.has(id)) return notFound(res);
    const [r] = saveMany(
      ctx,
      [{ type: t.name, input: (req.body ?? {}) as Record<string, unknown>, mode: 'update', id }],
      true,
      'rest',
    );
    if (r === undefined || !r.success) return saveSingleError(res, r ?? { success: false, errors: [] });
    res.status(204).end();
  });

  router.delete('/:version/sobjects/:type/:id', (req, res) => {
    state.counters.sobject++;
    const t = tableOr404(req, res);
    if (t === undefined) return;
    const id = toId18(String(req.params.id));
    if (id === undefined || !t.records.has(id)) return notFound(res);
    const err = state.softDelete(t.name, id, 'rest');
    if (err !== undefined) return sendError(res, 400, err.statusCode, err.message);
    res.status(204).end();
  });

  // Upsert one record by External ID: 201 created / 200 updated with {id,success,errors,created}.
  router.patch('/:version/sobjects/:type/:extField/:extValue', (req, res) => {
    state.counters.sobject++;
    const t = tableOr404(req, res);
    if (t === undefined) return;
    const body = {
      ...((req.body ?? {}) as Record<string, unknown>),
      [String(req.params.extField)]: req.params.extValue,
    };
    const item = upsertItem(ctx, t.name, String(req.params.extField), body);
    if (!('mode' in item)) return sendError(res, 400, item.statusCode, item.message, item.fields);
    const [r] = saveMany(ctx, [item], true, 'rest');
    if (r === undefined || !r.success) return saveSingleError(res, r ?? { success: false, errors: [] });
    res.status(r.created === true ? 201 : 200).json(r);
  });

  // --- sObject Collections ---------------------------------------------------------------------
  const parseCollection = (req: Request, res: Response): z.infer<typeof CollectionBody> | undefined => {
    const parsed = CollectionBody.safeParse(req.body);
    if (!parsed.success) {
      sendError(
        res,
        400,
        'JSON_PARSER_ERROR',
        'Cannot deserialize instance of SObject collection request: expected {allOrNone, records[]}',
      );
      return undefined;
    }
    if (parsed.data.records.length > COLLECTION_MAX) {
      sendError(
        res,
        400,
        'EXCEEDED_ID_LIMIT',
        `record limit reached. cannot submit more than ${COLLECTION_MAX} records into this call`,
      );
      return undefined;
    }
    return parsed.data;
  };
  const typeOf = (rec: Record<string, unknown>): string | undefined => {
    const a = rec.attributes;
    return typeof a === 'object' && a !== null && typeof (a as { type?: unknown }).type === 'string'
      ? (a as { type: string }).type
      : undefined;
  };
  const noType: SaveError = {
    statusCode: 'INVALID_TYPE',
    message: 'sObject type is required in attributes',
    fields: [],
  };

  const collectionWrite = (mode: 'create' | 'update') => (req: Request, res: Response) => {
    state.counters.collections++;
    const body = parseCollection(req, res);
    if (body === undefined) return;
    const items: (SaveItem | SaveError)[] = body.records.map((rec) => {
      const type = typeOf(rec);
      if (type === undefined) return noType;
      const idKey = Object.keys(rec).find((k) => k.toLowerCase() === 'id');
      const rawId = idKey === undefined ? undefined : rec[idKey];
      if (mode === 'create' && rawId !== undefined) {
        return {
          statusCode: 'INVALID_FIELD',
          message: 'cannot specify Id in an insert call',
          fields: ['Id'],
        };
      }
      if (mode === 'update' && typeof rawId !== 'string') {
        return {
          statusCode: 'MISSING_ARGUMENT',
          message: 'Id not specified in an update call',
          fields: ['Id'],
        };
      }
      return { type, input: rec, mode, id: typeof rawId === 'string' ? rawId : undefined };
    });
    res.json(saveWithPreErrors(items, body.allOrNone === true));
  };

  /** Items that failed before validation still take their place in the ordered results. */
  const saveWithPreErrors = (items: (SaveItem | SaveError)[], allOrNone: boolean): SaveResult[] => {
    const valid = items.filter((i): i is SaveItem => 'mode' in i);
    const anyPre = valid.length !== items.length;
    if (allOrNone && anyPre) {
      return items.map((i) =>
        'mode' in i
          ? {
              success: false,
              errors: [
                {
                  statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
                  message:
                    'Record rolled back because not all records were valid and the request was using AllOrNone header',
                  fields: [],
                },
              ],
            }
          : { success: false, errors: [i] },
      );
    }
    const saved = saveMany(ctx, valid, allOrNone, 'collections');
    let k = 0;
    return items.map((i) => ('mode' in i ? (saved[k++] as SaveResult) : { success: false, errors: [i] }));
  };

  router.post('/:version/composite/sobjects', versionGuard(42), collectionWrite('create'));
  router.patch('/:version/composite/sobjects', versionGuard(42), collectionWrite('update'));

  router.delete('/:version/composite/sobjects', versionGuard(42), (req, res) => {
    state.counters.collections++;
    const ids = typeof req.query.ids === 'string' ? req.query.ids.split(',').filter((s) => s !== '') : [];
    if (ids.length > COLLECTION_MAX)
      return sendError(
        res,
        400,
        'EXCEEDED_ID_LIMIT',
        `record limit reached. cannot submit more than ${COLLECTION_MAX} records into this call`,
      );
    const at = ctx.config.now().getTime();
    res.json(
      ids.map((id) => {
        const err = ctx.faults.shouldFailRecord()
          ? {
              statusCode: 'UNABLE_TO_LOCK_ROW',
              message: `unable to obtain exclusive access to this record or 1 records: ${id}`,
              fields: [],
            }
          : state.softDelete(state.findById(id)?.table.name ?? '', id, 'collections', at);
        return err === undefined
          ? { id: toId18(id), success: true, errors: [] }
          : { id, success: false, errors: [err] };
      }),
    );
  });

  router.patch('/:version/composite/sobjects/:type/:extField', versionGuard(46), (req, res) => {
    state.counters.collections++;
    const body = parseCollection(req, res);
    if (body === undefined) return;
    const items = body.records.map((rec) =>
      upsertItem(ctx, typeOf(rec) ?? String(req.params.type), String(req.params.extField), rec),
    );
    res.json(saveWithPreErrors(items, body.allOrNone === true));
  });

  // Retrieve many: POST {ids, fields} (jsforce _retrieveMany) or GET ?ids=&fields=.
  const retrieveMany = (req: Request, res: Response) => {
    state.counters.collections++;
    const t = tableOr404(req, res);
    if (t === undefined) return;
    const src =
      req.method === 'GET'
        ? { ids: String(req.query.ids ?? '').split(','), fields: String(req.query.fields ?? '').split(',') }
        : (req.body as { ids?: unknown; fields?: unknown });
    const ids = Array.isArray(src.ids) ? src.ids.map(String).filter((s) => s !== '') : [];
    const fields = Array.isArray(src.fields) ? src.fields.map(String).filter((s) => s !== '') : [];
    if (ids.length > 2000) return sendError(res, 400, 'EXCEEDED_ID_LIMIT', 'too many ids');
    const cols = columnsFor(ctx, t, fields);
    if (!Array.isArray(cols)) return sendError(res, 400, cols.statusCode, cols.message);
    res.json(
      ids.map((raw) => {
        const id = toId18(raw);
        const rec = id === undefined ? undefined : t.records.get(id);
        return rec === undefined || rec.IsDeleted === true
          ? null
          : toJsonRecord(t, cols, rec, versionOf(req));
      }),
    );
  };
  router.post('/:version/composite/sobjects/:type', versionGuard(42), retrieveMany);
  router.get('/:version/composite/sobjects/:type', versionGuard(42), retrieveMany);

  return router;
}
