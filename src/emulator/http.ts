/**
 * The HTTP/1.1 face of the emulator, on the same port as gRPC (listener.ts
 * tells them apart): what Google's emulators answer there, verified against
 * both of them (cloud_datastore_emulator and cloud_firestore_emulator 528):
 *
 *   GET  /          200 "Ok"             health check
 *   POST /reset     200 "Resetting..."   drops every project's data
 *   POST /shutdown  200 "Shutting down..." then the emulator stops
 *   POST /v1/projects/P:lookup (runQuery, runAggregationQuery, commit,
 *        beginTransaction, rollback, allocateIds, reserveIds)
 *                   the v1 REST API, JSON in the proto3 mapping
 *   POST /v1/projects/P:export, :import
 *                   managed export to / import from a local folder (managed-export.ts)
 *   anything else   404 "Not Found"
 *
 * Errors come back as Google's do: `{"error":{"code":400,"message":...,"status":"INVALID_ARGUMENT"}}`
 * with the HTTP status of the gRPC code.
 *
 * Google's two emulators answer 404 to a REST call whose Content-Type is not
 * JSON (curl's default `-d` sends a form type); production's REST endpoint
 * takes the JSON body either way, and a 404 for a missing header only
 * confuses, so the body is read as JSON whatever the header says.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { toStatus } from './rpc-error.js';
import { decodeToJson, encodeJsonRequest, INVALID_PAYLOAD, protoRoot } from './proto-json.js';
import type { Dispatch, RegisteredService } from './server.js';
import { TRANSPORT_LIMIT } from './server.js';

export interface HttpHooks {
  reset(): Promise<void> | void;
  shutdown(): void;
  /** `POST /v1/projects/P:export` and `:import` (managed export), answered with an Operation. */
  admin?(method: 'export' | 'import', projectId: string, body: Record<string, unknown>): Promise<object>;
}

/** HTTP status of each gRPC code (google.rpc.Code's documented mapping). */
const HTTP_STATUS = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];
const CODE_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS',
  'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED',
  'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
];

interface Route {
  svc: RegisteredService;
  method: string;
  requestType: string;
  responseType: string;
}

/** `lookup` → the Lookup method of each service, by REST prefix. */
function routes(registered: readonly RegisteredService[]): Map<string, Route> {
  const out = new Map<string, Route>();
  for (const svc of registered) {
    const proto = protoRoot().lookup(svc.name);
    if (proto === null || !('methods' in proto)) continue;
    const methods = (proto as unknown as { methods: Record<string, { resolvedRequestType: { fullName: string } | null; resolvedResponseType: { fullName: string } | null }> }).methods;
    for (const name of svc.methods.keys()) {
      const m = methods[name];
      if (m?.resolvedRequestType == null || m.resolvedResponseType == null) continue;
      const rest = name[0]!.toLowerCase() + name.slice(1);
      out.set(`${svc.restPrefix}\u0000${rest}`, {
        svc,
        method: name,
        requestType: m.resolvedRequestType.fullName.slice(1),
        responseType: m.resolvedResponseType.fullName.slice(1),
      });
    }
  }
  return out;
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function json(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function error(res: ServerResponse, err: unknown): void {
  const { code, details } = toStatus(err);
  json(res, HTTP_STATUS[code] ?? 500, JSON.stringify({ error: { code: HTTP_STATUS[code] ?? 500, message: details, status: CODE_NAMES[code] ?? 'UNKNOWN' } }));
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > TRANSPORT_LIMIT) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** `/v1/projects/my-app:lookup` → ['/v1', 'my-app', 'lookup'] */
const REST_PATH = /^(\/[^/]+)\/projects\/([^/:]+):([A-Za-z]+)$/;

export function createHttpHandler(registered: readonly RegisteredService[], dispatch: Dispatch, hooks: HttpHooks) {
  const table = routes(registered);
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const path = url.pathname;
    if (req.method === 'GET' && path === '/') return text(res, 200, 'Ok\n');
    if (req.method === 'POST' && path === '/reset') {
      void Promise.resolve()
        .then(() => hooks.reset())
        .then(() => text(res, 200, 'Resetting...\n'), (err: unknown) => error(res, err));
      return;
    }
    if (req.method === 'POST' && path === '/shutdown') {
      res.on('finish', () => hooks.shutdown());
      return text(res, 200, 'Shutting down...\n');
    }
    const m = REST_PATH.exec(path);
    if (m !== null && req.method === 'POST' && m[1] === '/v1' && (m[3] === 'export' || m[3] === 'import') && hooks.admin) {
      const admin = hooks.admin;
      const method = m[3];
      void (async () => {
        const body = await readBody(req);
        const parsed: unknown = body === undefined || body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return error(res, { code: 3, details: INVALID_PAYLOAD });
        const answer = await admin(method, decodeURIComponent(m[2]!), parsed as Record<string, unknown>);
        json(res, 200, JSON.stringify(answer, null, 2));
      })().catch((err: unknown) => error(res, err instanceof SyntaxError ? { code: 3, details: `${INVALID_PAYLOAD} (${err.message})` } : err));
      return;
    }
    const route = m === null || req.method !== 'POST' ? undefined : table.get(`${m[1]}\u0000${m[3]}`);
    if (m === null || route === undefined) return text(res, 404, 'Not Found\n');
    const projectId = decodeURIComponent(m[2]!);
    void (async () => {
      const body = await readBody(req);
      if (body === undefined) return error(res, { code: 8, details: `Request payload exceeds ${TRANSPORT_LIMIT} bytes.` });
      let parsed: unknown;
      try {
        parsed = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
      } catch (err) {
        return error(res, { code: 3, details: `${INVALID_PAYLOAD} (${(err as Error).message})` });
      }
      // The project in the path is the request's project_id (the REST binding of the field).
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) (parsed as Record<string, unknown>).projectId = projectId;
      const method = route.svc.methods.get(route.method)!;
      const binary = encodeJsonRequest(route.requestType, parsed);
      const request = method.definition.requestDeserialize(binary) as object;
      const response = await dispatch(method, request, binary.length);
      const encoded = method.definition.responseSerialize(response);
      json(res, 200, JSON.stringify(decodeToJson(route.responseType, encoded), null, 2));
    })().catch((err: unknown) => error(res, err));
  };
}
