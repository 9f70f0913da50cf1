import express, { type Express } from 'express';

export interface ApiServerOptions {
  /** Readiness (SPEC §10): config loaded, listeners up, last evaluation fresh, not draining. */
  ready: () => { ready: boolean; reason: string };
}

/** The api listener (SPEC §2): health now; report, alerts, reload and dashboard build on it. */
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
  return app;
}
