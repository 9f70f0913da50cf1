import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { parseDurationMs } from '../config/units.js';
import type { Alerting, OperationResult } from './alerting.js';
import { SEVERITIES } from './alerting-config.js';
import type { NotifiableAlert } from './types.js';

/**
 * The alerts API on the api listener (SPEC §8):
 *
 *   GET    /api/v1/alerts[?state=firing&severity=critical]   list (Prometheus's envelope)
 *   GET    /api/v1/alerts/<fingerprint>
 *   POST   /api/v1/alerts/<fingerprint>/ack       {"by", "comment"?, "duration"?}
 *   DELETE /api/v1/alerts/<fingerprint>/ack       withdraw the ack
 *   POST   /api/v1/alerts/<fingerprint>/resolve   {"by"?, "comment"?}
 *
 * Writes are authorised before the body is read (401 changes nothing and reveals nothing about
 * the alert); bodies are JSON whatever the Content-Type says (curl's default is form encoding),
 * unknown keys and wrong types are 400.
 */

export interface AlertsApiOptions {
  alerting: Alerting;
  /** The api listener's write authorisation: sends the 401 itself and returns false. */
  authorised: (req: Request, res: Response) => boolean;
  log: Logger;
}

/** 365 days: anything longer is a typo, not an acknowledgement. */
const MAX_ACK_MS = 365 * 86_400_000;

const durationField = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDurationMs(v);
  if (ms === undefined || ms <= 0 || ms > MAX_ACK_MS) {
    ctx.addIssue({
      code: 'custom',
      message: `invalid duration ${JSON.stringify(v)} (use e.g. 30m, 4h, 2d; a number is seconds; at most 365d)`,
    });
    return z.NEVER;
  }
  return ms;
});

const by = z.string().trim().min(1, 'must not be empty').max(256);
const comment = z.string().max(4096).default('');
const ackBody = z.object({ by, comment, duration: durationField.optional() }).strict();
const resolveBody = z.object({ by: by.default('api'), comment }).strict();

const STATES = ['pending', 'firing', 'resolved'] as const;
const FINGERPRINT = /^[0-9a-f]{16}$/;

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

/** One alert in API responses; camelCase as Prometheus's and Alertmanager's APIs. */
export function alertJson(a: NotifiableAlert): Record<string, unknown> {
  return {
    fingerprint: a.fingerprint,
    rule: a.rule,
    state: a.status,
    severity: a.severity,
    escalated: a.escalated,
    labels: a.labels,
    annotations: a.annotations,
    activeAt: iso(a.activeAtMs),
    firedAt: iso(a.firedAtMs),
    resolvedAt: iso(a.resolvedAtMs),
    value: Number.isFinite(a.value) ? a.value : null,
    generatorURL: a.generatorUrl,
    acknowledgement:
      a.ack === undefined
        ? null
        : {
            by: a.ack.by,
            comment: a.ack.comment,
            at: iso(a.ack.atMs),
            expiresAt: iso(a.ack.expiresAtMs),
            silenceID: a.ack.silence?.id ?? null,
            ...(a.ack.silence?.lastError != null ? { silenceError: a.ack.silence.lastError } : {}),
          },
    resolvedByHand:
      a.manual === undefined ? null : { by: a.manual.by, comment: a.manual.comment, at: iso(a.manual.atMs) },
  };
}

function parseBody<T>(schema: z.ZodType<T>, req: Request, res: Response): T | undefined {
  const body: unknown = req.body ?? {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    res.status(400).json({ error: 'body must be a JSON object' });
    return undefined;
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const errors = parsed.error.issues.map((i) => {
    if (i.code === 'unrecognized_keys')
      return `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.join(', ')}`;
    return `${i.path.join('.') || 'body'}: ${i.message}`;
  });
  res.status(400).json({ error: errors.join('; '), errors });
  return undefined;
}

function answer(res: Response, result: OperationResult, status: string): void {
  if (result.ok) res.status(200).json({ status, alert: alertJson(result.alert) });
  else res.status(result.status).json({ error: result.error });
}

export function mountAlertsApi(app: Express, opts: AlertsApiOptions): void {
  const { alerting } = opts;
  const router = express.Router();
  const json = express.json({ limit: '16kb', type: () => true });
  const writer = (req: Request, res: Response, next: NextFunction): void => {
    if (opts.authorised(req, res)) next();
  };
  const known = (req: Request, res: Response, next: NextFunction): void => {
    if (FINGERPRINT.test(String(req.params['fingerprint']))) next();
    else res.status(404).json({ error: `no alert with fingerprint ${String(req.params['fingerprint'])}` });
  };

  router.get('/', (req, res) => {
    const state = req.query['state'];
    const severity = req.query['severity'];
    if (state !== undefined && !(STATES as readonly unknown[]).includes(state)) {
      res.status(400).json({ error: `state must be one of ${STATES.join(', ')}` });
      return;
    }
    if (severity !== undefined && !(SEVERITIES as readonly unknown[]).includes(severity)) {
      res.status(400).json({ error: `severity must be one of ${SEVERITIES.join(', ')}` });
      return;
    }
    const alerts = alerting
      .list()
      .filter(
        (a) =>
          (state === undefined || a.status === state) && (severity === undefined || a.severity === severity),
      );
    res.set('Cache-Control', 'no-store').json({ status: 'success', data: { alerts: alerts.map(alertJson) } });
  });
  router.get('/:fingerprint', known, (req, res) => {
    const a = alerting.get(String(req.params['fingerprint']));
    if (a === undefined)
      res.status(404).json({ error: `no alert with fingerprint ${String(req.params['fingerprint'])}` });
    else res.set('Cache-Control', 'no-store').json({ status: 'success', data: alertJson(a) });
  });
  router.post('/:fingerprint/ack', writer, known, json, async (req, res) => {
    const body = parseBody(ackBody, req, res);
    if (body === undefined) return;
    const result = await alerting.ack(String(req.params['fingerprint']), {
      by: body.by,
      comment: body.comment,
      ...(body.duration !== undefined ? { durationMs: body.duration } : {}),
    });
    answer(res, result, 'acknowledged');
  });
  router.delete('/:fingerprint/ack', writer, known, (req, res) => {
    answer(res, alerting.unack(String(req.params['fingerprint'])), 'unacknowledged');
  });
  router.post('/:fingerprint/resolve', writer, known, json, (req, res) => {
    const body = parseBody(resolveBody, req, res);
    if (body === undefined) return;
    answer(res, alerting.resolve(String(req.params['fingerprint']), body), 'resolved');
  });
  for (const [path, allow] of [
    ['/', 'GET'],
    ['/:fingerprint', 'GET'],
    ['/:fingerprint/ack', 'POST, DELETE'],
    ['/:fingerprint/resolve', 'POST'],
  ] as const) {
    router.all(path, (_req, res) => {
      res
        .status(405)
        .set('Allow', allow)
        .json({ error: `method not allowed; use ${allow}` });
    });
  }
  // Body-parser errors carry the status to answer with; anything else is ours.
  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const e = err as { status?: number; type?: string; message?: string };
    if (e.type === 'entity.parse.failed')
      res.status(400).json({ error: `malformed JSON body: ${e.message ?? ''}` });
    else if (e.type === 'entity.too.large') res.status(413).json({ error: 'body larger than 16 KiB' });
    else if (typeof e.status === 'number' && e.status >= 400 && e.status < 500)
      res.status(e.status).json({ error: e.message ?? 'bad request' });
    else {
      opts.log.error({ err }, 'alerts API failed');
      res.status(500).json({ error: 'internal error' });
    }
  });
  app.use('/api/v1/alerts', router);
}
