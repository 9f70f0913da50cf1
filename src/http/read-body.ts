import type { IncomingMessage } from 'node:http';
import * as zlib from 'node:zlib';
import type { BodyBuffers } from './body-buffers.js';
import type { Refusal } from './ingest-admission.js';

/** Why a body could not be read; `status` is the HTTP answer (`refusal` set when load was shed). */
export class BodyError extends Error {
  constructor(
    readonly status: 400 | 408 | 413 | 415 | 429 | 503,
    message: string,
    readonly refusal?: Refusal,
  ) {
    super(message);
  }
}

/** Accounts decompressed body bytes as they arrive (admission control); a refusal stops the read. */
export type BodyBudget = (bytes: number) => Refusal | undefined;

/** zstd appeared in node:zlib with Node 22.15; offer it only where the runtime has it. */
const zstdFactory = (zlib as unknown as { createZstdDecompress?: () => zlib.Zlib & NodeJS.ReadWriteStream })
  .createZstdDecompress;

export const SUPPORTED_ENCODINGS = ['identity', 'gzip', 'deflate', ...(zstdFactory ? ['zstd'] : [])];

/**
 * Read a request body, decompressing as it streams, and stop as soon as the decompressed size
 * passes `maxBytes`: a decompression bomb never allocates past the limit (SPEC §3). Node's
 * `maxOutputLength` on the one-shot zlib calls would also bound it, but only after inflating
 * into one buffer; streaming lets us abort early and count bytes precisely.
 *
 * With `buffers`, an uncompressed body of a declared length is read into one of them; the caller
 * gives it back (`buffers.give`) once done with it.
 */
export function readBody(
  req: IncomingMessage,
  maxBytes: number,
  budget?: BodyBudget,
  buffers?: BodyBuffers,
): Promise<Buffer> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  let inflater: (zlib.Zlib & NodeJS.ReadWriteStream) | undefined;
  if (encoding === 'gzip' || encoding === 'x-gzip') inflater = zlib.createGunzip();
  else if (encoding === 'deflate')
    inflater = undefined; // chosen on the first bytes: zlib or raw
  else if (encoding === 'zstd' && zstdFactory) inflater = zstdFactory();
  else if (encoding !== 'identity' && encoding !== '')
    return Promise.reject(new BodyError(400, `unsupported Content-Encoding "${encoding}"`));

  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes && encoding === 'identity') {
    req.resume();
    return Promise.reject(new BodyError(413, `body of ${declared} bytes exceeds the ${maxBytes}-byte limit`));
  }

  return new Promise<Buffer>((resolve, reject) => {
    // Node's parser ends the body at its Content-Length: it never holds more.
    const into =
      buffers !== undefined &&
      inflater === undefined &&
      (encoding === 'identity' || encoding === '') &&
      Number.isFinite(declared)
        ? buffers.take(declared)
        : undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    let rawSize = 0;
    let done = false;
    let sink: NodeJS.ReadWriteStream | undefined = inflater;
    const fail = (err: BodyError): void => {
      if (done) return;
      done = true;
      // The listeners below (and so this closure) live as long as the request, which a keep-alive
      // connection holds until its next request: drop the chunks now, not at the next GC of it.
      chunks.length = 0;
      if (into !== undefined) buffers!.give(into);
      sink?.removeAllListeners('data');
      (sink as zlib.Zlib | undefined)?.close?.();
      // Drain the rest so the connection can be reused; nothing more is buffered.
      req.removeAllListeners('data');
      req.resume();
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      if (done) return;
      size += chunk.length;
      if (size > maxBytes) {
        fail(new BodyError(413, `decompressed body exceeds the ${maxBytes}-byte limit`));
        return;
      }
      const refused = budget?.(chunk.length);
      if (refused !== undefined) {
        fail(new BodyError(refused.status, refused.message, refused));
        return;
      }
      if (into !== undefined) chunk.copy(into, size - chunk.length);
      else chunks.push(chunk);
    };
    const finish = (): void => {
      if (done) return;
      done = true;
      const body =
        into !== undefined
          ? into.subarray(0, size)
          : chunks.length === 1
            ? chunks[0]!
            : Buffer.concat(chunks, size);
      chunks.length = 0;
      resolve(body);
    };
    const attach = (s: NodeJS.ReadWriteStream): void => {
      sink = s;
      s.on('data', onData);
      s.on('end', finish);
      s.on('error', (e: Error) =>
        fail(new BodyError(400, `cannot decompress ${encoding} body: ${e.message}`)),
      );
    };
    if (inflater) attach(inflater);
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      rawSize += chunk.length;
      // The compressed stream is bounded too, so a slow trickle of junk cannot grow forever.
      if (rawSize > maxBytes) {
        fail(new BodyError(413, `body exceeds the ${maxBytes}-byte limit`));
        return;
      }
      if (encoding === 'deflate' && sink === undefined) {
        // RFC 9110 "deflate" is zlib-wrapped, but many clients send raw deflate: sniff the header.
        const zlibHeader =
          chunk.length >= 2 && (chunk[0]! & 0x0f) === 8 && (chunk[0]! * 256 + chunk[1]!) % 31 === 0;
        attach(zlibHeader ? zlib.createInflate() : zlib.createInflateRaw());
      }
      if (sink) sink.write(chunk);
      else onData(chunk);
    });
    req.on('end', () => {
      if (sink) sink.end();
      else finish();
    });
    req.on('error', (e) => fail(new BodyError(400, `request body: ${e.message}`)));
    req.on('aborted', () => fail(new BodyError(400, 'request aborted')));
  });
}
