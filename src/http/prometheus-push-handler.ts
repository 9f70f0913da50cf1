import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SelfTelemetry } from '../export/self-telemetry.js';
import { isDelimitedProtobuf, parseMetricFamiliesDelimited } from '../ingest/prometheus-proto-parse.js';
import { parsePrometheusText, TextParseError } from '../ingest/prometheus-text-parse.js';
import type { PushGroups } from '../ingest/pushgateway.js';
import { parseGroupingPath } from '../ingest/pushgateway-path.js';
import { DecodeError, type IngestTally } from '../ingest/types.js';
import { isRefusal, type AdmissionTicket, type Refusal } from './ingest-admission.js';
import { BodyError, readBody } from './read-body.js';

/**
 * `PUT|POST|DELETE /metrics/job/<job>{/<label>/<value>}` on the ingest listener: the
 * Pushgateway's push API (SPEC §3) in the text format or the delimited protobuf format that
 * client_golang sends, with the Pushgateway's answers — 200 and an empty body for a push, 202 for
 * a delete, 400 with the reason as plain text, 405 with `Allow` for other methods — so existing
 * Pushgateway clients work unchanged.
 */

export interface PrometheusPushContext {
  groups: PushGroups;
  telemetry: SelfTelemetry;
  maxRequestBytes: number;
  /** Takes the request's admission slot, or says why vigil sheds it (503/429 with `Retry-After`). */
  admit: () => AdmissionTicket | Refusal;
}

const ALLOW = 'DELETE, OPTIONS, POST, PUT';

export async function handlePrometheusPush(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  ctx: PrometheusPushContext,
): Promise<void> {
  const reply = (
    status: number,
    text: string,
    tally?: IngestTally,
    headers: Record<string, string> = {},
    refusal?: Refusal,
  ): void => {
    if (status !== 404) ctx.telemetry.recordRequest('prometheus_push', status, tally, refusal?.reason);
    const body = text === '' ? '' : `${text}\n`;
    res.writeHead(status, {
      ...headers,
      ...(body === '' ? {} : { 'Content-Type': 'text/plain; charset=utf-8' }),
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
  };
  const where = parseGroupingPath(path);
  if (!where.ok && where.status === 404) {
    req.resume();
    return reply(404, where.message);
  }
  const method = req.method ?? '';
  if (method === 'OPTIONS') {
    req.resume();
    return reply(200, '', undefined, { Allow: ALLOW });
  }
  if (method !== 'PUT' && method !== 'POST' && method !== 'DELETE') {
    req.resume();
    return reply(405, `${method} not allowed; use PUT, POST or DELETE`, undefined, { Allow: ALLOW });
  }
  if (!where.ok) {
    req.resume();
    return reply(where.status, where.message);
  }
  const ticket = ctx.admit();
  const refuse = (r: Refusal): void =>
    reply(r.status, r.message, undefined, { 'Retry-After': String(r.retryAfterSeconds) }, r);
  if (isRefusal(ticket)) {
    req.resume();
    return refuse(ticket);
  }
  if (method === 'DELETE') {
    req.resume();
    ctx.groups.delete(where.key);
    return reply(202, '');
  }
  let body: Buffer;
  try {
    body = await readBody(req, ctx.maxRequestBytes, ticket.take);
  } catch (err) {
    if (err instanceof BodyError) return err.refusal ? refuse(err.refusal) : reply(err.status, err.message);
    throw err;
  }
  const late = ticket.proceed();
  if (late !== undefined) return refuse(late);
  // As the Pushgateway: the delimited protobuf format when the Content-Type says so exactly,
  // the text format otherwise (whatever the Content-Type).
  const text = !isDelimitedProtobuf(req.headers['content-type']);
  const replace = method === 'PUT';
  const same = text ? ctx.groups.pushSameShape(where.key, body, replace) : undefined;
  if (same !== undefined) return reply(same.status, same.message, same.tally);
  let parsed;
  try {
    parsed = text ? parsePrometheusText(body) : parseMetricFamiliesDelimited(body);
  } catch (err) {
    if (err instanceof TextParseError || err instanceof DecodeError) return reply(400, err.message);
    throw err;
  }
  const outcome = ctx.groups.push(where.key, parsed, replace, text ? body : undefined);
  reply(outcome.status, outcome.message, outcome.tally);
}
