/**
 * A lean request router for the emulator. Express 5's per-request machinery costs several times
 * more CPU than the emulator's own work (measured on this 2-core machine: bare express ≈ 2,800
 * requests per CPU-second vs ≈ 12,900 for bare node:http), which would make the sandbox the
 * bottleneck of throughput benchmarks. Routes are therefore written against this small
 * express-like surface (params, query, body, status/json/setHeader), served directly on
 * node:http by `listen()`, and mounted into the exported express app as one middleware.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Path parameter names used by the routes; a handler reads only the names its pattern has. */
export type RouteParams = Record<
  'type' | 'id' | 'from' | 'to' | 'fromId' | 'toId' | 'name' | 'token' | 'ownerId' | 'pipelineId',
  string
>;

export interface SbRequest {
  method: string;
  path: string;
  url: string;
  host: string;
  query: Record<string, string | string[]>;
  params: RouteParams;
  headers: IncomingHttpHeaders;
  body: unknown;
  socket: Socket;
}

export interface SbResponse {
  statusCode: number;
  readonly headersSent: boolean;
  locals: Record<string, unknown>;
  status(code: number): SbResponse;
  setHeader(name: string, value: string): void;
  json(value: unknown): void;
  end(): void;
  redirect(status: number, url: string): void;
}

export type Next = (err?: unknown) => void;
export type Handler = (req: SbRequest, res: SbResponse) => void | Promise<void>;
export type Middleware = (req: SbRequest, res: SbResponse, next: Next) => void;
export type ErrorHandler = (err: unknown, req: SbRequest, res: SbResponse) => void;

interface Route {
  method: string;
  segments: string[];
  handler: Handler;
}

/** Routes by method and `/a/:b/c` patterns (a `:name` segment matches one path segment). */
export class MiniRouter {
  readonly routes: Route[] = [];

  private add(method: string, pattern: string, handler: Handler): void {
    this.routes.push({ method, segments: pattern.split('/').slice(1), handler });
  }
  get(p: string, h: Handler): void {
    this.add('GET', p, h);
  }
  post(p: string, h: Handler): void {
    this.add('POST', p, h);
  }
  put(p: string, h: Handler): void {
    this.add('PUT', p, h);
  }
  patch(p: string, h: Handler): void {
    this.add('PATCH', p, h);
  }
  delete(p: string, h: Handler): void {
    this.add('DELETE', p, h);
  }
}

/** Compiled routing table: first segment-by-segment match in registration order. */
class RouteTable {
  private readonly routes: Route[] = [];

  addAll(r: MiniRouter): void {
    this.routes.push(...r.routes);
  }

  match(method: string, path: string): { handler: Handler; params: RouteParams } | undefined {
    const parts = path.split('/').slice(1);
    // Express ignores one trailing slash (the SDK calls `/crm/v3/owners/`).
    if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
    outer: for (const route of this.routes) {
      if (route.method !== method || route.segments.length !== parts.length) continue;
      let params: Record<string, string> | undefined;
      for (let i = 0; i < parts.length; i++) {
        const seg = route.segments[i] ?? '';
        const part = parts[i] ?? '';
        if (seg.charCodeAt(0) === 58 /* : */) {
          if (part === '') continue outer;
          (params ??= {})[seg.slice(1)] = safeDecode(part);
        } else if (seg !== part) continue outer;
      }
      return { handler: route.handler, params: (params ?? {}) as RouteParams };
    }
    return undefined;
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function parseQuery(search: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (search === '') return out;
  for (const [k, v] of new URLSearchParams(search)) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[k] = [prev, v];
  }
  return out;
}

export class BodyError extends Error {
  constructor(
    readonly kind: 'parse' | 'too-large',
    message: string,
  ) {
    super(message);
  }
}

function readBody(raw: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    raw.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new BodyError('too-large', 'Request body too large'));
        raw.destroy();
        return;
      }
      chunks.push(c);
    });
    raw.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    raw.on('error', reject);
  });
}

function parseBody(buf: Buffer, contentType: string | undefined): unknown {
  if (buf.length === 0) return undefined;
  const ct = (contentType ?? '').toLowerCase();
  if (ct.includes('application/x-www-form-urlencoded'))
    return Object.fromEntries(new URLSearchParams(buf.toString('utf8')));
  if (ct.includes('json') || ct === '') {
    try {
      return JSON.parse(buf.toString('utf8')) as unknown;
    } catch (e) {
      throw new BodyError('parse', e instanceof Error ? e.message : 'unparseable JSON');
    }
  }
  return undefined;
}

class Res implements SbResponse {
  locals: Record<string, unknown> = {};
  constructor(private readonly raw: ServerResponse) {}
  get statusCode(): number {
    return this.raw.statusCode;
  }
  set statusCode(v: number) {
    this.raw.statusCode = v;
  }
  get headersSent(): boolean {
    return this.raw.headersSent;
  }
  status(code: number): SbResponse {
    this.raw.statusCode = code;
    return this;
  }
  setHeader(name: string, value: string): void {
    this.raw.setHeader(name, value);
  }
  json(value: unknown): void {
    const body = JSON.stringify(value);
    this.raw.setHeader('Content-Type', 'application/json; charset=utf-8');
    this.raw.setHeader('Content-Length', Buffer.byteLength(body));
    this.raw.end(body);
  }
  end(): void {
    this.raw.end();
  }
  redirect(status: number, url: string): void {
    this.raw.statusCode = status;
    this.raw.setHeader('Location', url);
    this.raw.end();
  }
}

export interface MiniAppOptions {
  bodyLimitBytes: number;
  onError: ErrorHandler;
  notFound: Handler;
}

/**
 * Middlewares (optionally under a path prefix) then the routing table. `handle` serves a raw
 * node:http request and never throws.
 */
export class MiniApp {
  private readonly middlewares: { prefix: string; fn: Middleware }[] = [];
  private readonly table = new RouteTable();

  constructor(private readonly opts: MiniAppOptions) {}

  use(prefix: string, ...fns: Middleware[]): void {
    for (const fn of fns) this.middlewares.push({ prefix, fn });
  }

  routes(...routers: MiniRouter[]): void {
    for (const r of routers) this.table.addAll(r);
  }

  handle = (raw: IncomingMessage, rawRes: ServerResponse): void => {
    const url = raw.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const req: SbRequest = {
      method: raw.method ?? 'GET',
      path,
      url,
      host: raw.headers.host ?? 'localhost',
      query: parseQuery(q === -1 ? '' : url.slice(q + 1)),
      params: {} as RouteParams,
      headers: raw.headers,
      body: undefined,
      socket: raw.socket,
    };
    const res = new Res(rawRes);
    const fail = (err: unknown): void => {
      try {
        this.opts.onError(err, req, res);
      } catch {
        if (!rawRes.headersSent) rawRes.statusCode = 500;
        rawRes.end();
      }
    };
    const dispatch = (): void => {
      const m = this.table.match(req.method, path);
      if (m === undefined) {
        void Promise.resolve(this.opts.notFound(req, res)).catch(fail);
        return;
      }
      req.params = m.params;
      try {
        const out = m.handler(req, res);
        if (out instanceof Promise) out.catch(fail);
      } catch (e) {
        fail(e);
      }
    };
    const withBody = (): void => {
      if (req.method === 'GET' || req.method === 'DELETE' || req.method === 'HEAD') return dispatch();
      readBody(raw, this.opts.bodyLimitBytes).then((buf) => {
        try {
          req.body = parseBody(buf, raw.headers['content-type']);
        } catch (e) {
          return fail(e);
        }
        dispatch();
      }, fail);
    };
    let i = 0;
    const next: Next = (err?: unknown): void => {
      if (err !== undefined) return fail(err);
      while (i < this.middlewares.length) {
        const mw = this.middlewares[i++];
        if (mw === undefined || !path.startsWith(mw.prefix)) continue;
        try {
          mw.fn(req, res, next);
        } catch (e) {
          fail(e);
        }
        return;
      }
      withBody();
    };
    next();
  };
}
