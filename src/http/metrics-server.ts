import type { Server } from 'node:http';
import { createGzip } from 'node:zlib';
import type { Logger } from 'pino';
import { negotiateFormat, writeExposition } from '../export/prometheus-text.js';
import type { Store } from '../store/store.js';
import { createLimitedServer, type ConnectionLimits } from './connection-limits.js';

export interface MetricsServerOptions {
  store: Store;
  /** Brings SDK-held data (pushed meters, vigil's own instruments) into the store first. */
  refresh: () => Promise<void>;
  onScrape: (seconds: number) => void;
  connections: ConnectionLimits;
  log: Logger;
}

/**
 * `GET /metrics` (SPEC §7) on its own listener. The exposition is streamed in chunks and yields
 * to the event loop between them, so a large scrape does not stall ingest; gzip when the
 * scraper asks for it, as Prometheus always does.
 */
export function createMetricsServer(opts: MetricsServerOptions): Server {
  return createLimitedServer(opts.connections, (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    req.resume();
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('vigil serves GET /metrics here\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('use GET\n');
      return;
    }
    const started = process.hrtime.bigint();
    const { openMetrics, contentType } = negotiateFormat(req.headers.accept);
    const gzip = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
    const run = async (): Promise<void> => {
      await opts.refresh();
      res.writeHead(200, { 'Content-Type': contentType, ...(gzip ? { 'Content-Encoding': 'gzip' } : {}) });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      if (gzip) {
        const z = createGzip({ level: 1 });
        z.pipe(res);
        await writeExposition(opts.store, { write: (chunk) => void z.write(chunk) }, { openMetrics });
        z.end();
      } else {
        await writeExposition(opts.store, { write: (chunk) => void res.write(chunk) }, { openMetrics });
        res.end();
      }
      opts.onScrape(Number(process.hrtime.bigint() - started) / 1e9);
    };
    run().catch((err: unknown) => {
      opts.log.error({ err }, 'scrape failed');
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('scrape failed\n');
      } else res.destroy();
    });
  });
}
