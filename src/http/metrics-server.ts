import type { Server } from 'node:http';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { Logger } from 'pino';
import { negotiateFormat, writeExposition, type ExpositionSink } from '../export/prometheus-text.js';
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
 * to the event loop between them, so a large scrape does not stall ingest, and waits for the
 * socket to drain, so a slow scraper does not have it queued in memory; gzip when the scraper
 * asks for it, as Prometheus always does.
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
      let gone = false;
      res.once('close', () => (gone = !res.writableFinished));
      if (gzip) {
        const z = createGzip({ level: 1 });
        z.on('error', (err) => res.destroy(err));
        z.pipe(res);
        // Once the scraper has gone nothing drains the compressor: close it, which ends a wait.
        res.once('close', () => z.destroy());
        await writeExposition(
          opts.store,
          streamSink(z, () => gone),
          { openMetrics },
        );
        z.end();
      } else {
        await writeExposition(
          opts.store,
          streamSink(res, () => gone),
          { openMetrics },
        );
        res.end();
      }
      if (gone) opts.log.debug('scraper went away mid-scrape');
      else opts.onScrape(Number(process.hrtime.bigint() - started) / 1e9);
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

/**
 * `out` as an exposition sink: the exposition waits while `out` holds more than its high-water
 * mark (the scraper reads slower than vigil writes) until it drains or closes, and stops once
 * `gone()` (the scraper went away).
 */
function streamSink(out: Writable, gone: () => boolean): ExpositionSink {
  return {
    write: (chunk) => (out.write(chunk) ? undefined : drained(out)),
    get closed() {
      return gone();
    },
  };
}

function drained(out: Writable): Promise<void> {
  if (out.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}
