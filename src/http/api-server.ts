import express, { type Express, type Request, type Response } from 'express';
import { healthReport } from '../report/reliability-report.js';

export interface ApiServerOptions {
  /** Readiness (SPEC §10): config loaded, listeners up, last evaluation fresh, not draining. */
  ready: () => { ready: boolean; reason: string };
  /** The reliability report from live state (SPEC §6). */
  report: (includeTraces: boolean) => Record<string, unknown>;
  version: string;
  /** Reload signals, rules and sources from the config file (SPEC §1). */
  reload: () => { ok: boolean; errors: string[] };
  /** Whether an `Authorization` header may call write endpoints (SPEC §8). */
  writeAuth: (authorization: string | undefined) => boolean;
  /** Mounts the alerts API (src/alerting/alerts-api.ts) with this listener's write authorisation. */
  mountAlerting?: (app: Express, authorised: (req: Request, res: Response) => boolean) => void;
  /** The report as Server-Sent Events (src/http/report-stream.ts). */
  reportStream?: (req: Request, res: Response) => void;
  /** The dashboard's page at `/` and its assets (src/http/dashboard.ts). */
  mountDashboard?: (app: Express) => void;
}

/** The api listener (SPEC §2): health, the reliability report and its stream, reload, the dashboard. */
export function createApiApp(opts: ApiServerOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.get('/livez', (_req, res) => {
    res.type('text/plain').send('ok\n');
  });
  app.get('/readyz', (_req, res) => {
    const r = opts.ready();
    res
      .status(r.ready ? 200 : 503)
      .type('text/plain')
      .send(r.ready ? 'ready\n' : `not ready: ${r.reason}\n`);
  });
  app.get('/api/v2/diagnostics/reliability', (req, res) => {
    const traces = String(req.query['include_traces'] ?? '').toLowerCase();
    const report = opts.report(traces === 'true' || traces === '1');
    res.set({ 'Cache-Control': 'no-store', 'X-Reliability-Version': 'v1' });
    if (
      req.accepts(['application/json', 'application/health+json']) === 'application/health+json' &&
      wantsHealth(req)
    ) {
      const health = healthReport(report, opts.version);
      res
        .status(health['status'] === 'fail' ? 503 : 200)
        .type('application/health+json')
        .send(JSON.stringify(health));
      return;
    }
    res.type('application/json').send(JSON.stringify(report));
  });
  if (opts.reportStream !== undefined) app.get('/api/v2/diagnostics/reliability/stream', opts.reportStream);
  const authorised = (req: Request, res: Response): boolean => {
    if (opts.writeAuth(req.headers.authorization)) return true;
    res.status(401).set('WWW-Authenticate', 'Bearer realm="vigil"').json({
      error: 'unauthorised: send Authorization: Bearer <token> (api.token_file or VIGIL_API_TOKEN)',
    });
    return false;
  };
  app.post('/-/reload', (req, res) => {
    if (!authorised(req, res)) return;
    const r = opts.reload();
    if (r.ok) res.status(200).json({ status: 'reloaded' });
    else res.status(400).json({ status: 'failed', errors: r.errors });
  });
  opts.mountAlerting?.(app, authorised);
  opts.mountDashboard?.(app);
  return app;
}

/** Only an explicit `application/health+json` (not `*\/*`) selects the health format. */
function wantsHealth(req: Request): boolean {
  return /application\/health\+json/.test(req.headers.accept ?? '');
}
