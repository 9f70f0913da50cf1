import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { find, parseExposition } from '../helpers/prometheus-text.js';
import { eventually, startVigil, testConfig, type VigilProcess } from '../helpers/vigil-process.js';

/**
 * Connection hygiene on all three listeners (README "Overload and security"), with real sockets:
 * slowloris headers and trickled bodies are cut off at their timeouts while other clients are
 * served, oversized headers get 431, too many requests or body bytes at once get 429, too many
 * connections are closed on accept.
 */

const MAX_CONNECTIONS = 16;
let vigil: VigilProcess;
beforeAll(async () => {
  vigil = await startVigil(
    testConfig(
      `limits:\n  headers_timeout: 1s\n  request_timeout: 2s\n  max_header_bytes: 8KiB\n` +
        `  max_concurrent_requests: 2\n  max_connections: ${MAX_CONNECTIONS}\n  max_inflight_bytes: 64KiB\n`,
    ),
  );
});
afterAll(async () => {
  expect(await vigil.stop()).toBe(0);
});

const port = (url: string): number => Number(new URL(url).port);
const listeners = (): Array<[string, string]> => [
  ['ingest', vigil.ingest],
  ['api', vigil.api],
  ['metrics', vigil.metrics],
];

/** A raw connection: what the server sent, and when it closed the connection. */
interface Raw {
  socket: Socket;
  received: () => string;
  closed: Promise<number>;
}

async function open(url: string): Promise<Raw> {
  const socket = connect(port(url), '127.0.0.1');
  let data = '';
  socket.on('data', (c: Buffer) => (data += c.toString('latin1')));
  socket.on('error', () => undefined); // a reset is one way to be closed
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => data, closed };
}

/** Whether a fetch to each listener succeeds now: "other clients are served". */
async function othersServed(): Promise<void> {
  const push = await fetch(`${vigil.ingest}/api/v1/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      resource: { 'service.name': 'bystander' },
      metrics: [{ name: 'ok', type: 'gauge', value: 1 }],
    }),
  });
  expect(push.status).toBe(200);
  expect((await fetch(`${vigil.api}/livez`)).status).toBe(200);
  expect((await fetch(`${vigil.metrics}/metrics`)).status).toBe(200);
}

/** POSTs `body` as OTLP/JSON until vigil answers `status` (its state may take a moment to show). */
function postUntil(status: number, body: string): Promise<Response> {
  return eventually(async () => {
    const res = await fetch(`${vigil.ingest}/v1/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    return res.status === status ? res : undefined;
  });
}

describe('connection limits', () => {
  it('closes a slowloris connection (headers one line at a time) on every listener within the headers timeout, serving others meanwhile', async () => {
    const started = Date.now();
    const slow = await Promise.all(listeners().map(([, url]) => open(url)));
    for (const c of slow) c.socket.write('GET /livez HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => {
      for (const c of slow) if (!c.socket.destroyed) c.socket.write(`X-Slow-${Date.now()}: 1\r\n`);
    }, 200);
    try {
      await othersServed();
      const closedAt = await Promise.race([
        Promise.all(slow.map((c) => c.closed)),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('slowloris still connected')), 8000),
        ),
      ]);
      for (const [i, at] of closedAt.entries()) {
        const elapsed = at - started;
        // headers_timeout 1s, checked every 250 ms; generous above for a loaded 2-core machine.
        expect(elapsed, listeners()[i]![0]).toBeGreaterThanOrEqual(900);
        expect(elapsed, listeners()[i]![0]).toBeLessThan(6000);
        expect(slow[i]!.received(), listeners()[i]![0]).toMatch(/^(HTTP\/1\.1 408|$)/);
      }
    } finally {
      clearInterval(drip);
      for (const c of slow) c.socket.destroy();
    }
    await othersServed();
  });

  it('closes a request whose body trickles in past the request timeout (408)', async () => {
    const started = Date.now();
    const c = await open(vigil.ingest);
    c.socket.write(
      'POST /api/v1/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
    );
    const drip = setInterval(() => {
      if (!c.socket.destroyed) c.socket.write(' ');
    }, 200);
    try {
      await othersServed();
      const at = await Promise.race([
        c.closed,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('trickle still connected')), 8000),
        ),
      ]);
      expect(at - started).toBeGreaterThanOrEqual(1900);
      expect(at - started).toBeLessThan(7000);
      expect(c.received()).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      clearInterval(drip);
      c.socket.destroy();
    }
  });

  it('answers headers larger than max_header_bytes with 431 on every listener', async () => {
    for (const [name, url] of listeners()) {
      const c = await open(url);
      c.socket.write(`GET /livez HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(9 * 1024)}\r\n\r\n`);
      await c.closed;
      expect(c.received(), name).toMatch(/^HTTP\/1\.1 431 /);
    }
    await othersServed();
  });

  it('answers 429 + Retry-After beyond max_concurrent_requests, counted, and serves again once they end', async () => {
    // Two pushes whose bodies are still arriving hold both slots.
    const held = await Promise.all([open(vigil.ingest), open(vigil.ingest)]);
    for (const c of held)
      c.socket.write(
        'POST /v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{',
      );
    try {
      const refused = await postUntil(429, '{}');
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(refused.headers.get('content-type')).toBe('application/json');
      const status = (await refused.json()) as { code: number; message: string };
      expect(status.code).toBe(8); // RESOURCE_EXHAUSTED
      expect(status.message).toMatch(/max_concurrent_requests \(2\)/);
      const proto = await fetch(`${vigil.ingest}/v1/metrics`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: new Uint8Array(),
      });
      expect(proto.status).toBe(429);
      expect(proto.headers.get('content-type')).toBe('application/x-protobuf');
      expect([...new Uint8Array(await proto.arrayBuffer()).subarray(0, 2)]).toEqual([0x08, 8]);
      const push = await fetch(`${vigil.ingest}/metrics/job/j`, { method: 'PUT', body: 'x 1\n' });
      expect(push.status).toBe(429);
      expect(push.headers.get('retry-after')).toBe('1');
    } finally {
      for (const c of held) c.socket.end('}');
    }
    await Promise.all(held.map((c) => c.closed.catch(() => 0)));
    const ok = await postUntil(200, '{}');
    expect(await ok.text()).toBe('{}');
    const samples = parseExposition(await (await fetch(`${vigil.metrics}/metrics`)).text());
    const refusedCount = (transport: string) =>
      find(samples, 'vigil_receiver_refused_requests_total', { transport, reason: 'concurrency_limit' })[0]
        ?.value ?? 0;
    expect(refusedCount('otlp_json')).toBeGreaterThanOrEqual(1);
    expect(refusedCount('otlp_proto')).toBe(1);
    expect(refusedCount('prometheus_push')).toBe(1);
  });

  it('answers 429 + Retry-After when bodies in flight pass max_inflight_bytes, and lets a request alone pass it', async () => {
    const KIB = 1024;
    const otlpJson = (padBytes: number) => `{${' '.repeat(padBytes)}}`; // an empty request, padded
    // One push has sent 40 KiB of its body and waits: those bytes are held.
    const held = await open(vigil.ingest);
    held.socket.write(
      `POST /v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${100 * KIB}\r\n\r\n{` +
        ' '.repeat(40 * KIB),
    );
    try {
      // 40 KiB more is past the 64 KiB budget (once vigil has read the first body's bytes).
      const refused = await postUntil(429, otlpJson(40 * KIB));
      expect(refused.headers.get('retry-after')).toBe('1');
      const status = (await refused.json()) as { code: number; message: string };
      expect(status.code).toBe(8); // RESOURCE_EXHAUSTED
      expect(status.message).toMatch(/max_inflight_bytes \(65536 bytes\)/);
    } finally {
      held.socket.destroy();
    }
    await held.closed;
    // Alone, a body larger than the whole budget is served (max_request_bytes bounds it).
    const alone = await postUntil(200, otlpJson(100 * KIB));
    expect(await alone.text()).toBe('{}');
    const samples = parseExposition(await (await fetch(`${vigil.metrics}/metrics`)).text());
    expect(
      find(samples, 'vigil_receiver_refused_requests_total', {
        transport: 'otlp_json',
        reason: 'inflight_bytes_limit',
      })[0]?.value,
    ).toBeGreaterThanOrEqual(1);
    await othersServed();
  });

  it('closes connections beyond max_connections as they are accepted', async () => {
    const idle = await Promise.all(Array.from({ length: MAX_CONNECTIONS }, () => open(vigil.metrics)));
    try {
      // The server knows of them once it has accepted them: poll until the next one is refused.
      const extra = await eventually(async () => {
        const c = await open(vigil.metrics);
        c.socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
        const result = await Promise.race([
          c.closed.then(() => c),
          new Promise<undefined>((r) => setTimeout(() => r(undefined), 500)),
        ]);
        c.socket.destroy();
        return result !== undefined && c.received() === '' ? c : undefined;
      });
      expect(extra.received()).toBe('');
    } finally {
      for (const c of idle) c.socket.destroy();
    }
    await eventually(async () => (await fetch(`${vigil.metrics}/metrics`)).status === 200);
  });
});
