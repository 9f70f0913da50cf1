import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local HTTP receiver started by a test: records every request (method, path, headers, JSON
 * body) and answers it — with a status the test sets (a webhook receiver, one that fails on
 * purpose), or by forwarding it to a real server and relaying that server's answer (a recording
 * proxy in front of a real Alertmanager, so a test sees each request vigil made AND that
 * Alertmanager accepted it).
 */

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
  /** What the client was answered. */
  status: number;
}

export interface HttpRecorder {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Answer with this status (and body) instead of 200 / forwarding; undefined restores the default. */
  respondWith(status: number | undefined, body?: string, headers?: Record<string, string>): void;
  /** Wait for `n` requests in total. */
  waitFor(n: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  close(): Promise<void>;
}

export async function startRecorder(forwardTo?: string): Promise<HttpRecorder> {
  const requests: RecordedRequest[] = [];
  let override: { status: number; body: string; headers: Record<string, string> } | undefined;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        // keep the raw text
      }
      const rec: RecordedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body,
        status: 0,
      };
      const answer = (status: number, out: string, headers: Record<string, string> = {}): void => {
        rec.status = status;
        requests.push(rec);
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(out);
      };
      if (override !== undefined) return answer(override.status, override.body, override.headers);
      if (forwardTo === undefined) return answer(200, '{}');
      fetch(forwardTo + (req.url ?? ''), {
        method: req.method ?? 'GET',
        headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
        body: text === '' ? undefined : text,
      }).then(
        async (r) => answer(r.status, await r.text()),
        (err: unknown) => answer(502, JSON.stringify(String(err))),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    respondWith(status, body = '{}', headers = {}) {
      override = status === undefined ? undefined : { status, body, headers };
    },
    async waitFor(n, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (requests.length < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} requests, got ${requests.length}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return requests;
    },
    close() {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
