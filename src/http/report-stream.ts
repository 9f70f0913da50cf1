import type { Request, Response } from 'express';
import type { Logger } from '../log.js';

/**
 * `GET /api/v2/diagnostics/reliability/stream`: the reliability report as Server-Sent Events,
 * for the dashboard (and `curl -N`). Events:
 *
 *   event: report   data: the report, exactly as GET /api/v2/diagnostics/reliability answers
 *   event: alerts   data: GET /api/v1/alerts's body (acks and hand resolutions per fingerprint)
 *   event: tick     data: {"timestamp", "uptime_seconds"} after an evaluation that changed neither
 *
 * A new stream gets `retry:` and the current report and alerts at once. After that, every
 * evaluation tick builds the payload once (only while someone listens) and fans the same bytes
 * out to every stream: `report` / `alerts` when they changed (the report's clock fields aside),
 * else a `tick`, so a client knows how fresh its view is. A comment line every `heartbeatMs`
 * keeps proxies (kubectl port-forward, ingress) from closing an idle stream.
 *
 * Bounded: at most `maxClients` streams (then 503 with Retry-After), and a stream whose unsent
 * bytes pass `maxBufferedBytes` (a stalled client) is cut; its EventSource reconnects and gets
 * the full state again.
 */

export interface ReportStreamOptions {
  /** The SPEC §6 report from live state (the same function GET uses). */
  report: () => Record<string, unknown>;
  /** The alerts API's list body (src/alerting/alerts-api.ts). */
  alerts: () => unknown;
  log: Logger;
  /** Concurrent streams allowed (default 32). */
  maxClients?: number;
  /** Interval of the keep-alive comment, ms (default 15 s). */
  heartbeatMs?: number;
  /** Reconnection delay suggested to EventSource, ms (default 2 s). */
  retryMs?: number;
  /** Unsent bytes after which a stream is cut (default 8 MiB). */
  maxBufferedBytes?: number;
}

/** Report fields that change on every build; a report differing only in these is not news. */
const CLOCK_FIELDS = ['timestamp', 'generation_time_ms', 'uptime_seconds'] as const;

const frame = (event: string, data: string): string => `event: ${event}\ndata: ${data}\n\n`;

export class ReportStream {
  private readonly clients = new Set<Response>();
  private readonly maxClients: number;
  private readonly heartbeatMs: number;
  private readonly retryMs: number;
  private readonly maxBufferedBytes: number;
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;
  /** The last payload built, valid while someone listens (reset when the last stream goes). */
  private current:
    { reportKey: string; report: string; tick: string; alertsKey: string; alerts: string } | undefined;

  constructor(private readonly opts: ReportStreamOptions) {
    this.maxClients = opts.maxClients ?? 32;
    this.heartbeatMs = opts.heartbeatMs ?? 15_000;
    this.retryMs = opts.retryMs ?? 2_000;
    this.maxBufferedBytes = opts.maxBufferedBytes ?? 8 * 1024 * 1024;
  }

  /** Streams open now. */
  get size(): number {
    return this.clients.size;
  }

  /** The route handler. */
  readonly handle = (req: Request, res: Response): void => {
    if (this.closed || this.clients.size >= this.maxClients) {
      res
        .status(503)
        .set({ 'Retry-After': '10', 'Cache-Control': 'no-store' })
        .json({
          error: this.closed
            ? 'shutting down'
            : `too many report streams (at most ${this.maxClients}); try again later`,
        });
      return;
    }
    const headers = {
      'Content-Type': 'text/event-stream; charset=utf-8',
      // no-transform: a compressing proxy would buffer the stream.
      'Cache-Control': 'no-store, no-transform',
      Connection: 'keep-alive',
      // nginx (and ingress-nginx) buffer responses unless told otherwise.
      'X-Accel-Buffering': 'no',
    };
    if (req.method === 'HEAD') {
      res.status(200).set(headers).end(); // a HEAD must not hold a stream slot
      return;
    }
    res.status(200).set(headers);
    res.flushHeaders();
    req.socket.setNoDelay(true);
    this.clients.add(res);
    res.on('close', () => this.drop(res));
    const state = this.current ?? this.build();
    this.write(res, `retry: ${this.retryMs}\n\n${state.report}${state.alerts}`);
    this.heartbeat ??= setInterval(() => this.broadcast(': heartbeat\n\n'), this.heartbeatMs).unref();
  };

  /** After each evaluation tick: one build, the same bytes to every stream. */
  publish(): void {
    if (this.clients.size === 0) return;
    const previous = this.current;
    const next = this.build();
    let out = '';
    if (next.reportKey !== previous?.reportKey) out += next.report;
    else out += next.tick;
    if (next.alertsKey !== previous?.alertsKey) out += next.alerts;
    this.broadcast(out);
  }

  /** Shutdown: end every stream (so the server can close) and refuse new ones. */
  close(): void {
    this.closed = true;
    for (const res of this.clients) res.end();
    this.clients.clear();
    this.stopHeartbeat();
  }

  private build(): NonNullable<ReportStream['current']> {
    const report = this.opts.report();
    const stable: Record<string, unknown> = { ...report };
    for (const f of CLOCK_FIELDS) delete stable[f];
    const alertsJson = JSON.stringify(this.opts.alerts());
    this.current = {
      reportKey: JSON.stringify(stable),
      report: frame('report', JSON.stringify(report)),
      tick: frame(
        'tick',
        JSON.stringify({ timestamp: report['timestamp'], uptime_seconds: report['uptime_seconds'] }),
      ),
      alertsKey: alertsJson,
      alerts: frame('alerts', alertsJson),
    };
    return this.current;
  }

  private broadcast(data: string): void {
    for (const res of this.clients) this.write(res, data);
  }

  private write(res: Response, data: string): void {
    if (res.writableLength > this.maxBufferedBytes) {
      this.opts.log.warn({ bufferedBytes: res.writableLength }, 'report stream not reading; closing it');
      res.destroy();
      this.drop(res);
      return;
    }
    res.write(data);
  }

  private drop(res: Response): void {
    this.clients.delete(res);
    if (this.clients.size > 0) return;
    this.stopHeartbeat();
    this.current = undefined; // nobody listens: the next stream builds afresh
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}
