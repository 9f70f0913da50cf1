import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { handlePush, PushBodyError, type PushContext } from '../ingest/json-push.js';
import { decodeOtlpJson } from '../ingest/otlp-json-decode.js';
import { KnownRequests } from '../ingest/otlp-known-requests.js';
import { decodeOtlpProto } from '../ingest/otlp-proto-decode.js';
import { contentTypeOf, exportResponse, statusBody } from '../ingest/otlp-response.js';
import { DecodeError, IngestTally } from '../ingest/types.js';
import type { SelfTelemetry, Transport } from '../export/self-telemetry.js';
import type { Store } from '../store/store.js';
import type { PushGroups } from '../ingest/pushgateway.js';
import { BEARER_CHALLENGE } from './bearer-auth.js';
import { createLimitedServer, type ConnectionLimits } from './connection-limits.js';
import { isRefusal, type AdmissionTicket, type IngestAdmission, type Refusal } from './ingest-admission.js';
import { handlePrometheusPush } from './prometheus-push-handler.js';
import { BodyBuffers } from './body-buffers.js';
import { BodyError, readBody } from './read-body.js';

/**
 * OTLP bodies up to 4 MiB are read into reused memory, and up to 4 MiB of it is kept between
 * requests (room for several concurrent SDK exporters), for 10 s after the last body.
 */
const BODY_BUFFERS = {
  maxBufferBytes: 4 * 1024 * 1024,
  maxKeptBytes: 4 * 1024 * 1024,
  releaseAfterMs: 10_000,
};

/** google.rpc.Code values used in OTLP error bodies. */
const RPC_INVALID_ARGUMENT = 3;
const RPC_RESOURCE_EXHAUSTED = 8;
const RPC_UNAUTHENTICATED = 16;

export interface IngestServerOptions {
  store: Store;
  telemetry: SelfTelemetry;
  /** Load shedding: shutdown, memory, concurrent requests, body bytes in flight. */
  admission: IngestAdmission;
  connections: ConnectionLimits;
  /**
   * Checks `Authorization` when ingest needs a token (`ingest.token_file`, VIGIL_INGEST_TOKEN);
   * undefined: open, as the collector's otlpreceiver without an auth extension.
   */
  authorise?: ((authorization: string | undefined) => boolean) | undefined;
  clock: () => number;
  maxRequestBytes: () => number;
  push: () => Omit<PushContext, 'nowMs'>;
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
  const bodyBuffers = new BodyBuffers(BODY_BUFFERS);
  return createLimitedServer(opts.connections, (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const route =
      path === '/v1/metrics'
        ? 'otlp'
        : path === '/api/v1/push'
          ? 'push'
          : path.startsWith('/metrics/') && opts.prometheusPush !== undefined
            ? 'prometheus'
            : undefined;
    if (route === undefined) {
      req.resume();
      return sendText(res, 404, `no route for ${req.method} ${path}\n`);
    }
    // Authorisation comes first: without the token nothing is read, and nothing is told.
    if (opts.authorise !== undefined && !opts.authorise(req.headers.authorization))
      return unauthorised(req, res, route, opts);
    if (route === 'prometheus') {
      const ctx = {
        groups: opts.prometheusPush!,
        telemetry: opts.telemetry,
        maxRequestBytes: opts.maxRequestBytes(),
        admit: () => admit(opts, res),
      };
      handlePrometheusPush(req, res, path, ctx).catch((err: unknown) => internalError(res, err, opts.log));
      return;
    }
    if (req.method !== 'POST') return methodNotAllowed(req, res);
    const handled =
      route === 'otlp'
        ? handleOtlp(req, res, opts, knownRequests, bodyBuffers)
        : handleJsonPush(req, res, opts);
    handled.catch((err: unknown) => internalError(res, err, opts.log));
  });
}

/**
 * Take a slot for this request (released when its answer is done or its connection closes), or
 * the refusal to answer with.
 */
function admit(opts: IngestServerOptions, res: ServerResponse): AdmissionTicket | Refusal {
  const ticket = opts.admission.enter();
  if (!isRefusal(ticket)) res.once('close', ticket.release);
  return ticket;
}

function unauthorised(
  req: IncomingMessage,
  res: ServerResponse,
  route: 'otlp' | 'push' | 'prometheus',
  opts: IngestServerOptions,
): void {
  req.resume();
  const message =
    'unauthorised: send Authorization: Bearer <token> (ingest.token_file or VIGIL_INGEST_TOKEN)';
  res.setHeader('WWW-Authenticate', BEARER_CHALLENGE);
  if (route === 'otlp') {
    const format = mediaType(req) === 'application/json' ? 'json' : 'proto';
    opts.telemetry.recordRequest(format === 'json' ? 'otlp_json' : 'otlp_proto', 401, undefined);
    const body = statusBody(format, RPC_UNAUTHENTICATED, message);
    res.writeHead(401, { 'Content-Type': contentTypeOf(format), 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  } else if (route === 'push') {
    opts.telemetry.recordRequest('json_push', 401, undefined);
    const body = JSON.stringify({ error: message });
    res.writeHead(401, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  } else {
    opts.telemetry.recordRequest('prometheus_push', 401, undefined);
    sendText(res, 401, `${message}\n`);
  }
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

async function handleOtlp(
  req: IncomingMessage,
  res: ServerResponse,
  opts: IngestServerOptions,
  knownRequests: KnownRequests,
  bodyBuffers: BodyBuffers,
): Promise<void> {
  const type = mediaType(req);
  const format =
    type === 'application/x-protobuf' ? 'proto' : type === 'application/json' ? 'json' : undefined;
  const transport: Transport = format === 'json' ? 'otlp_json' : 'otlp_proto';
  const reply = (
    status: number,
    body: Buffer | string,
    contentType: string,
    tally?: IngestTally,
    refusal?: Refusal,
  ): void => {
    opts.telemetry.recordRequest(transport, status, tally, refusal?.reason);
    res.writeHead(status, {
      'Content-Type': contentType,
      'Content-Length': Buffer.byteLength(body),
      ...(refusal !== undefined ? { 'Retry-After': String(refusal.retryAfterSeconds) } : {}),
    });
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
  // The collector's memory_limiter answers refusals as 503 with a google.rpc.Status, in the
  // request's encoding; the exporters retry them after Retry-After.
  const refuse = (r: Refusal): void =>
    reply(r.status, statusBody(format, r.rpcCode, r.message), contentType, undefined, r);
  const ticket = admit(opts, res);
  if (isRefusal(ticket)) {
    req.resume();
    return refuse(ticket);
  }
  let body: Buffer;
  try {
    // The decoders keep nothing of the body (they copy what they keep): its memory is reused.
    body = await readBody(req, opts.maxRequestBytes(), ticket.take, bodyBuffers);
  } catch (err) {
    if (err instanceof BodyError) {
      if (err.refusal !== undefined) return refuse(err.refusal);
      return fail(
        err.status,
        err.status === 413 ? RPC_RESOURCE_EXHAUSTED : RPC_INVALID_ARGUMENT,
        err.message,
      );
    }
    throw err;
  }
  const tally = new IngestTally();
  try {
    const late = ticket.proceed();
    if (late !== undefined) return refuse(late);
    if (format === 'proto') decodeOtlpProto(body, opts.store, opts.clock(), tally, knownRequests);
    else decodeOtlpJson(parseJson(body), opts.store, opts.clock(), tally);
  } catch (err) {
    if (err instanceof DecodeError) return fail(400, RPC_INVALID_ARGUMENT, err.message);
    throw err;
  } finally {
    bodyBuffers.give(body);
  }
  reply(200, exportResponse(format, tally), contentType, tally);
}

async function handleJsonPush(
  req: IncomingMessage,
  res: ServerResponse,
  opts: IngestServerOptions,
): Promise<void> {
  const reply = (status: number, body: unknown, tally?: IngestTally, refusal?: Refusal): void => {
    opts.telemetry.recordRequest('json_push', status, tally, refusal?.reason);
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
      ...(refusal !== undefined ? { 'Retry-After': String(refusal.retryAfterSeconds) } : {}),
    });
    res.end(text);
  };
  const type = mediaType(req);
  if (type !== 'application/json' && type !== '') {
    req.resume();
    return reply(415, { error: `unsupported Content-Type "${type}"; use application/json` });
  }
  const ticket = admit(opts, res);
  if (isRefusal(ticket)) {
    req.resume();
    return reply(ticket.status, { error: ticket.message }, undefined, ticket);
  }
  let body: Buffer;
  try {
    body = await readBody(req, opts.maxRequestBytes(), ticket.take);
  } catch (err) {
    if (err instanceof BodyError) return reply(err.status, { error: err.message }, undefined, err.refusal);
    throw err;
  }
  const late = ticket.proceed();
  if (late !== undefined) return reply(late.status, { error: late.message }, undefined, late);
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
