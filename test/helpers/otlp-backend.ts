import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { decodeRequest, plainBody, type DecodedRequest } from './otlp-proto.js';

/**
 * An OTLP backend front for export tests: a real HTTP server on a fixed loopback port that
 * records every request (decoded with the independent protobufjs decoder) and, by default,
 * forwards it to a real receiver (a second vigil process) and relays that receiver's answer.
 * Faults are real too: `down()` closes the listening socket (connections are refused), `respond`
 * answers with a chosen status and headers, `delayMs` holds requests (a slow backend).
 */

export interface BackendRequest {
  atMs: number;
  path: string;
  headers: IncomingHttpHeaders;
  /** The body as sent (gzip removed). */
  body: Buffer;
  decoded: DecodedRequest;
  /** What the exporter was answered (0 when it gave up before an answer). */
  status: number;
}

export interface Fault {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Answer this many requests so, then go back to forwarding (default: until changed). */
  times?: number;
}

export class OtlpBackend {
  readonly requests: BackendRequest[] = [];
  /** Forward here (a receiver's `/v1/metrics` URL); undefined answers 200 with an empty body. */
  target: string | undefined;
  /** Hold every request this long before answering. */
  delayMs = 0;
  private fault: Fault | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private portNumber = 0;

  static async start(target?: string): Promise<OtlpBackend> {
    const b = new OtlpBackend();
    b.target = target;
    await b.up();
    return b;
  }

  get port(): number {
    return this.portNumber;
  }

  get url(): string {
    return `http://127.0.0.1:${this.portNumber}/v1/metrics`;
  }

  respond(fault: Fault | undefined): void {
    this.fault = fault === undefined ? undefined : { ...fault };
  }

  /** Listen again, on the same port as before. */
  async up(): Promise<void> {
    if (this.server !== undefined) return;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => void this.handle(req.url ?? '/', req.headers, Buffer.concat(chunks), res));
    });
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.portNumber, '127.0.0.1', () => resolve());
    });
    this.portNumber = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stop listening and cut open connections: the exporter sees ECONNREFUSED / resets. */
  async down(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async close(): Promise<void> {
    await this.down();
  }

  /** Requests that reached the backend and were answered 2xx. */
  delivered(): BackendRequest[] {
    return this.requests.filter((r) => r.status >= 200 && r.status < 300);
  }

  private async handle(
    path: string,
    headers: IncomingHttpHeaders,
    raw: Buffer,
    res: ServerResponse,
  ): Promise<void> {
    const atMs = Date.now();
    const body = plainBody(raw, headers['content-encoding']);
    const contentType = String(headers['content-type'] ?? '');
    const rec: BackendRequest = {
      atMs,
      path,
      headers,
      body,
      decoded: decodeRequest(body, contentType),
      status: 0,
    };
    this.requests.push(rec);
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (gone(res)) return;
    const fault = this.fault;
    if (fault !== undefined) {
      if (fault.times !== undefined && --fault.times <= 0) this.fault = undefined;
      rec.status = fault.status;
      res.writeHead(fault.status, { 'content-type': 'text/plain', ...fault.headers });
      res.end(fault.body ?? '');
      return;
    }
    if (this.target === undefined) {
      rec.status = 200;
      res.writeHead(200, { 'content-type': contentType });
      res.end();
      return;
    }
    const answer = await fetch(this.target, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
    });
    const answerBody = Buffer.from(await answer.arrayBuffer());
    rec.status = answer.status;
    if (gone(res)) return;
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? contentType });
    res.end(answerBody);
  }
}

/** The exporter hung up (its timeout): nothing to answer. */
function gone(res: ServerResponse): boolean {
  return res.destroyed || res.socket === null || res.socket.destroyed;
}
