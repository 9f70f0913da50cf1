import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { handlePush, PushBodyError, type PushContext } from '../ingest/json-push.js';
import { decodeOtlpJson } from '../ingest/otlp-json-decode.js';
import { KnownRequests } from '../ingest/otlp-known-requests.js';
import { decodeOtlpProto } from '../ingest/otlp-proto-decode.js';
import { exportResponse, statusBody } from '../ingest/otlp-response.js';
import { DecodeError, IngestTally } from '../ingest/types.js';
import type { SelfTelemetry, Transport } from '../export/self-telemetry.js';
import type { Store } from '../store/store.js';
import type { PushGroups } from '../ingest/pushgateway.js';
import type { MemoryGuard } from './memory-guard.js';
import { handlePrometheusPush } from './prometheus-push-handler.js';
import { BodyError, readBody } from './read-body.js';

/** google.rpc.Code values used in OTLP error bodies. */
const RPC_INVALID_ARGUMENT = 3;
const RPC_RESOURCE_EXHAUSTED = 8;
const RPC_UNAVAILABLE = 14;

export interface IngestServerOptions {
  store: Store;
  telemetry: SelfTelemetry;
  memory: MemoryGuard;
  clock: () => number;
  maxRequestBytes: () => number;
  push: () => Omit<PushContext, 'nowMs'>;
  /** False while shutting down: ingest answers 503 (SPEC §1). */
  accepting: () => boolean;
  /** Pushgateway-compatible groups for `/metrics/job/...`; without them those paths are 404. */
  prometheusPush?: PushGroups;
  log: Logger;
}

/**
 * The ingest listener (SPEC §2–§3). Plain node:http rather than express: it serves three fixed
 * routes at thousands of requests per second, and each framework layer is paid per request.
 */
export function createIngestServer(opts: IngestServerOptions): Server {
  /** Shapes of OTLP/protobuf requests seen before, so a repeat only has its values read. */
  const knownRequests = new KnownRequests();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/v1/metrics') {
      if (req.method !== 'POST') return methodNotAllowed(req, res);
      handleOtlp(req, res, opts, knownRequests).catch((err: unknown) => internalError(res, err, opts.log));
    } else if (path === '/api/v1/push') {
      if (req.method !== 'POST') return methodNotAllowed(req, res);
      handleJsonPush(req, res, opts).catch((err: unknown) => internalError(res, err, opts.log));
    } else if (path.startsWith('/metrics/') && opts.prometheusPush !== undefined) {
      const ctx = {
        groups: opts.prometheusPush,
        telemetry: opts.telemetry,
        maxRequestBytes: opts.maxRequestBytes(),
        refused: refusal(opts),
      };
      handlePrometheusPush(req, res, path, ctx).catch((err: unknown) => internalError(res, err, opts.log));
    } else {
      req.resume();
      sendText(res, 404, `no route for ${req.method} ${path}\n`);
    }
  });
  // Slow clients must not hold sockets forever (a slowloris answer); keep-alive stays cheap.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 65_000;
  return server;
}

/** A bug must cost one request, never the process: log it and answer 500. */
export function internalError(res: ServerResponse, err: unknown, log: Logger): void {
  log.error({ err }, 'ingest request failed');
  if (!res.headersSent) sendText(res, 500, 'internal error\n');
  else res.destroy();
}

function methodNotAllowed(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  res.setHeader('Allow', 'POST');
  sendText(res, 405, `${req.method} not allowed; use POST\n`);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Load shedding shared by every ingest route: 503 while draining or over the memory limit. */
function refusal(opts: IngestServerOptions): { status: number; code: number; message: string } | undefined {
  if (!opts.accepting()) return { status: 503, code: RPC_UNAVAILABLE, message: 'vigil is shutting down' };
  if (opts.memory.overloaded)
    return {
      status: 503,
      code: RPC_UNAVAILABLE,
      message: 'memory above limits.memory_soft_mib; retry later',
    };
  return undefined;
}

async function handleOtlp(
  req: IncomingMessage,
  res: ServerResponse,
  opts: IngestServerOptions,
  knownRequests: KnownRequests,
): Promise<void> {
  const type = mediaType(req);
  const format =
    type === 'application/x-protobuf' ? 'proto' : type === 'application/json' ? 'json' : undefined;
  const transport: Transport = format === 'json' ? 'otlp_json' : 'otlp_proto';
  const reply = (status: number, body: Buffer | string, contentType: string, tally?: IngestTally): void => {
    opts.telemetry.recordRequest(transport, status, tally);
    res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };
  if (format === undefined) {
    req.resume();
    return reply(
      415,
      `unsupported Content-Type "${type}"; use application/x-protobuf or application/json\n`,
      'text/plain; charset=utf-8',
    );
  }
  const contentType = format === 'proto' ? 'application/x-protobuf' : 'application/json';
  const fail = (status: number, code: number, message: string): void =>
    reply(status, statusBody(format, code, message), contentType);
  const refused = refusal(opts);
  if (refused !== undefined) {
    req.resume();
    res.setHeader('Retry-After', '5');
    return fail(refused.status, refused.code, refused.message);
  }
  let body: Buffer;
  try {
    body = await readBody(req, opts.maxRequestBytes());
  } catch (err) {
    if (err instanceof BodyError)
      return fail(
        err.status,
        err.status === 413 ? RPC_RESOURCE_EXHAUSTED : RPC_INVALID_ARGUMENT,
        err.message,
      );
    throw err;
  }
  const tally = new IngestTally();
  try {
    if (format === 'proto') decodeOtlpProto(body, opts.store, opts.clock(), tally, knownRequests);
    else decodeOtlpJson(parseJson(body), opts.store, opts.clock(), tally);
  } catch (err) {
    if (err instanceof DecodeError) return fail(400, RPC_INVALID_ARGUMENT, err.message);
    throw err;
  }
  reply(200, exportResponse(format, tally), contentType, tally);
}

async function handleJsonPush(
  req: IncomingMessage,
  res: ServerResponse,
  opts: IngestServerOptions,
): Promise<void> {
  const reply = (status: number, body: unknown, tally?: IngestTally): void => {
    opts.telemetry.recordRequest('json_push', status, tally);
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };
  const type = mediaType(req);
  if (type !== 'application/json' && type !== '') {
    req.resume();
    return reply(415, { error: `unsupported Content-Type "${type}"; use application/json` });
  }
  const refused = refusal(opts);
  if (refused !== undefined) {
    req.resume();
    res.setHeader('Retry-After', '5');
    return reply(refused.status, { error: refused.message });
  }
  let body: Buffer;
  try {
    body = await readBody(req, opts.maxRequestBytes());
  } catch (err) {
    if (err instanceof BodyError) return reply(err.status, { error: err.message });
    throw err;
  }
  const tally = new IngestTally();
  try {
    const result = handlePush(parseJson(body), { ...opts.push(), nowMs: opts.clock() }, tally);
    reply(200, result, tally);
  } catch (err) {
    if (err instanceof DecodeError || err instanceof PushBodyError) return reply(400, { error: err.message });
    throw err;
  }
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new DecodeError(`invalid JSON: ${(err as Error).message}`);
  }
}
