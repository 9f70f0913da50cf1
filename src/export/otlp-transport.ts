import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { JsonMetricsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import type { QueuedBatch } from './otlp-queue.js';
import { parseRetryAfterMs } from './retry-policy.js';

/**
 * One OTLP/HTTP request and what its outcome means for retrying (OTLP/HTTP specification,
 * "Failures"; the collector's otlphttp exporter): 2xx success (with an optional partial
 * success), 429/502/503/504 and network errors or timeouts retryable with the server's
 * Retry-After, everything else permanent.
 *
 * Why not the official `@opentelemetry/otlp-exporter-base` HTTP transport: its only public
 * entry point (`createOtlpHttpExportDelegate`) wraps it in a fixed RetryingTransport (≤ 5 retries
 * inside one timeout) and reports a failure without its status code or Retry-After, so retries
 * across export cycles, the queue and the circuit breaker could not be built on it. The request
 * bodies are still produced by the official serializers, and responses are read with them.
 */

export type TransportResult =
  | {
      kind: 'success';
      status: number;
      /** From the response's partialSuccess (0 when absent or unreadable). */
      rejectedPoints: number;
      errorMessage: string;
    }
  | { kind: 'retryable'; status?: number; retryAfterMs?: number; error: string }
  | { kind: 'permanent'; status?: number; error: string };

export interface TransportOptions {
  url: string;
  headers: Record<string, string>;
  userAgent: string;
  clock: () => number;
}

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
/** A response body larger than this is not read (the official transport uses the same bound). */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

export class OtlpHttpTransport {
  private readonly agent: HttpAgent;
  private readonly request: typeof httpRequest;
  private readonly url: URL;

  constructor(private readonly opts: TransportOptions) {
    this.url = new URL(opts.url);
    const https = this.url.protocol === 'https:';
    // One connection kept alive: batches go out one at a time, in order.
    this.agent = https
      ? new HttpsAgent({ keepAlive: true, maxSockets: 1 })
      : new HttpAgent({ keepAlive: true, maxSockets: 1 });
    this.request = https ? httpsRequest : httpRequest;
  }

  send(batch: QueuedBatch, timeoutMs: number): Promise<TransportResult> {
    return new Promise<TransportResult>((resolve) => {
      let settled = false;
      const finish = (r: TransportResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };
      const headers: Record<string, string | number> = {
        ...this.opts.headers,
        'Content-Type': batch.contentType,
        'Content-Length': batch.body.length,
        'User-Agent': this.opts.userAgent,
      };
      if (batch.contentEncoding !== undefined) headers['Content-Encoding'] = batch.contentEncoding;
      const req = this.request(this.url, { method: 'POST', headers, agent: this.agent }, (res) => {
        readResponse(res, (body, tooLarge) => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            finish({ kind: 'success', status, ...partialSuccess(batch.contentType, body) });
          } else if (RETRYABLE_STATUS.has(status)) {
            const retryAfter = res.headers['retry-after'];
            finish({
              kind: 'retryable',
              status,
              retryAfterMs: parseRetryAfterMs(
                Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
                this.opts.clock(),
              ),
              error: `HTTP ${status}${describeBody(body)}`,
            });
          } else {
            finish({
              kind: 'permanent',
              status,
              error: `HTTP ${status}${tooLarge ? ' (response too large)' : describeBody(body)}`,
            });
          }
        });
      });
      // A whole-exchange deadline, not a socket idle timeout: a backend that trickles bytes must
      // not hold a batch for longer than `timeout` either.
      const timer = setTimeout(() => {
        finish({ kind: 'retryable', error: `timed out after ${timeoutMs} ms` });
        req.destroy();
      }, timeoutMs);
      // Network errors (refused, reset, DNS...) are retryable, as the collector treats them.
      req.on('error', (err: NodeJS.ErrnoException) =>
        finish({ kind: 'retryable', error: err.code ?? err.message }),
      );
      req.end(batch.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function readResponse(res: IncomingMessage, done: (body: Buffer, tooLarge: boolean) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  res.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_RESPONSE_BYTES) tooLarge = true;
    else chunks.push(chunk);
  });
  res.on('end', () => done(tooLarge ? Buffer.alloc(0) : Buffer.concat(chunks), tooLarge));
  res.on('error', () => done(Buffer.concat(chunks), tooLarge));
}

/** The OTLP partialSuccess of a 2xx answer, read with the official deserializers. */
function partialSuccess(contentType: string, body: Buffer): { rejectedPoints: number; errorMessage: string } {
  if (body.length === 0) return { rejectedPoints: 0, errorMessage: '' };
  try {
    const serializer = contentType === 'application/json' ? JsonMetricsSerializer : ProtobufMetricsSerializer;
    const ps = serializer.deserializeResponse(body).partialSuccess;
    // int64 may arrive as a string in OTLP/JSON.
    const rejected = Number(ps?.rejectedDataPoints ?? 0);
    return {
      rejectedPoints: Number.isFinite(rejected) && rejected > 0 ? rejected : 0,
      errorMessage: ps?.errorMessage ?? '',
    };
  } catch {
    return { rejectedPoints: 0, errorMessage: '' };
  }
}

/** A short, printable excerpt of an error body for logs. */
function describeBody(body: Buffer): string {
  if (body.length === 0) return '';
  const text = body.subarray(0, 200).toString('utf8');
  // google.rpc.Status in protobuf is binary: only quote text that reads as text.
  return /^[\x20-\x7e\s]*$/.test(text) ? `: ${text.trim()}` : '';
}
