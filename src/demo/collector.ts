import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for the OpenTelemetry Collector the demo's vigil exports to (when the config names
 * no OTLP endpoint), so the export side of the dashboard has something to show: it accepts
 * `POST /v1/metrics` (an empty ExportMetricsServiceResponse: everything accepted) and, while
 * `down()` says so, answers 503 as a collector under maintenance would. Nothing is decoded.
 */
export class DemoCollector {
  private server: Server | undefined;
  /** Export requests answered 200 and 503. */
  readonly counts = { accepted: 0, refused: 0 };

  constructor(private readonly down: () => boolean) {}

  /** Listens on 127.0.0.1 on a free port; resolves to the OTLP metrics URL. */
  async start(): Promise<string> {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.method !== 'POST' || req.url !== '/v1/metrics') {
          res.writeHead(404).end();
        } else if (this.down()) {
          this.counts.refused++;
          res
            .writeHead(503, { 'retry-after': '1', 'content-type': 'text/plain' })
            .end('collector unavailable');
        } else {
          this.counts.accepted++;
          const json = (req.headers['content-type'] ?? '').startsWith('application/json');
          res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
          res.end(json ? '{}' : undefined);
        }
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/metrics`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
