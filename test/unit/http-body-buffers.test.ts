import { once } from 'node:events';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BodyBuffers } from '../../src/http/body-buffers.js';
import { readBody } from '../../src/http/read-body.js';

const KIB = 1024;

describe('BodyBuffers', () => {
  it('lends a buffer of the asked length and reuses its memory once given back', () => {
    const buffers = new BodyBuffers({
      maxBufferBytes: 64 * KIB,
      maxKeptBytes: 256 * KIB,
      releaseAfterMs: 60_000,
    });
    const a = buffers.take(1000)!;
    expect(a.length).toBe(1000);
    expect(a.buffer.byteLength).toBe(1024); // a power of two: a body a little longer fits too
    buffers.give(a);
    const b = buffers.take(1020)!;
    expect(b.buffer).toBe(a.buffer);
    // While lent, memory is not lent twice.
    expect(buffers.take(1000)!.buffer).not.toBe(a.buffer);
  });

  it('takes back only memory it lent, and only once', () => {
    const buffers = new BodyBuffers({
      maxBufferBytes: 64 * KIB,
      maxKeptBytes: 256 * KIB,
      releaseAfterMs: 60_000,
    });
    const foreign = Buffer.alloc(1024);
    buffers.give(foreign);
    expect(buffers.take(1000)!.buffer).not.toBe(foreign.buffer);
    const lent = buffers.take(2000)!;
    buffers.give(lent);
    buffers.give(lent); // a second give must not put the memory on the free list twice
    const first = buffers.take(2000)!;
    const second = buffers.take(2000)!;
    expect(first.buffer).toBe(lent.buffer);
    expect(second.buffer).not.toBe(lent.buffer);
  });

  it('lends nothing above its buffer size and keeps no more than its bound', () => {
    const buffers = new BodyBuffers({
      maxBufferBytes: 64 * KIB,
      maxKeptBytes: 100 * KIB,
      releaseAfterMs: 60_000,
    });
    expect(buffers.take(64 * KIB + 1)).toBeUndefined();
    const a = buffers.take(64 * KIB)!;
    const b = buffers.take(64 * KIB)!;
    buffers.give(a);
    buffers.give(b); // 128 KiB would pass the 100 KiB bound: dropped, left to the GC
    expect(buffers.take(64 * KIB)!.buffer).toBe(a.buffer);
    expect(buffers.take(64 * KIB)!.buffer).not.toBe(b.buffer);
  });

  it('keeps nothing once no body came back for releaseAfterMs', () => {
    vi.useFakeTimers();
    try {
      const buffers = new BodyBuffers({
        maxBufferBytes: 64 * KIB,
        maxKeptBytes: 256 * KIB,
        releaseAfterMs: 50,
      });
      const a = buffers.take(1000)!;
      buffers.give(a);
      vi.advanceTimersByTime(30);
      buffers.give(buffers.take(1000)!); // in use again: the release waits another 50 ms
      vi.advanceTimersByTime(30);
      expect(buffers.kept).toBe(1024);
      vi.advanceTimersByTime(20);
      expect(buffers.kept).toBe(0);
      expect(buffers.take(1000)!.buffer).not.toBe(a.buffer);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('readBody into BodyBuffers', () => {
  const buffers = new BodyBuffers({
    maxBufferBytes: 1024 * KIB,
    maxKeptBytes: 4096 * KIB,
    releaseAfterMs: 60_000,
  });
  const bodies: Array<{ body: Buffer; lent: boolean }> = [];
  let port = 0;
  const server = createServer((req: IncomingMessage, res) => {
    readBody(req, 1024 * KIB, undefined, buffers).then(
      (body) => {
        const copy = Buffer.from(body);
        // Lent memory goes back on the free list and is the next to be lent; a foreign body's
        // give is a no-op.
        buffers.give(body);
        const again = buffers.take(body.length)!;
        bodies.push({ body: copy, lent: again.buffer === body.buffer });
        buffers.give(again);
        res.end();
      },
      (err: Error) => {
        res.statusCode = 400;
        res.end(err.message);
      },
    );
  });

  beforeAll(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => server.close());

  /** POSTs `pieces` as separate writes (so the body arrives in several chunks). */
  async function post(pieces: Buffer[], headers: Record<string, string | number>): Promise<void> {
    const req = request({ port, host: '127.0.0.1', method: 'POST', headers });
    // Listening first: a body of a declared length is answered as soon as its last byte is in.
    const response = once(req, 'response') as Promise<[IncomingMessage]>;
    for (const piece of pieces) {
      req.write(piece);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    req.end();
    const [res] = await response;
    res.resume();
    await once(res, 'end');
    expect(res.statusCode).toBe(200);
  }

  it('copies a body of a declared length into lent memory, chunk by chunk, in order', async () => {
    const body = Buffer.from(Array.from({ length: 300 * KIB }, (_, i) => (i * 7) % 251));
    const pieces = [body.subarray(0, 1000), body.subarray(1000, 200 * KIB), body.subarray(200 * KIB)];
    await post(pieces, { 'Content-Length': body.length });
    const got = bodies.pop()!;
    expect(got.lent).toBe(true);
    expect(got.body.equals(body)).toBe(true);
  });

  it('reads compressed and undeclared bodies as before, into memory of their own', async () => {
    const body = Buffer.from('x'.repeat(50 * KIB));
    const gzipped = gzipSync(body);
    await post([gzipped], { 'Content-Length': gzipped.length, 'Content-Encoding': 'gzip' });
    let got = bodies.pop()!;
    expect(got.lent).toBe(false);
    expect(got.body.equals(body)).toBe(true);
    await post([body.subarray(0, 10), body.subarray(10)], { 'Transfer-Encoding': 'chunked' });
    got = bodies.pop()!;
    expect(got.lent).toBe(false);
    expect(got.body.equals(body)).toBe(true);
  });
});
