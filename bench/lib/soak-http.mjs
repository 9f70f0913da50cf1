// One HTTP exchange for the soak, with its status and time. http-load.mjs's send() does not fit
// here: it fixes one method and content type per target and treats any non-2xx answer as a
// failure, while the soak mixes PUT, POST and DELETE on one path and sends bodies that must be
// refused with a 4xx.
import { Buffer } from 'node:buffer';
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { URL } from 'node:url';

/** Give up on an answer after this long: a stalled vigil shows as errors, not as a hung soak. */
const TIMEOUT_MS = 30_000;

/**
 * `method` `url` with `body` (Buffer, string or none) and `headers`, on `agent` (keep-alive).
 * Resolves with `{ status, body (Buffer), ms }`; rejects on a network error or timeout.
 */
export function exchange(agent, url, { method = 'GET', headers = {}, body } = {}) {
  const { hostname, port, pathname, search } = new URL(url);
  const payload = body === undefined ? undefined : Buffer.from(body);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(
      {
        agent,
        host: hostname,
        port: Number(port),
        path: `${pathname}${search}`,
        method,
        headers: payload === undefined ? headers : { ...headers, 'Content-Length': payload.length },
        timeout: TIMEOUT_MS,
      },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode, body: Buffer.concat(chunks), ms: performance.now() - t0 }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** The q-quantile (0..1) of `values` (sorted in place), or null when there are none. */
export function quantile(values, q) {
  if (values.length === 0) return null;
  values.sort((a, b) => a - b);
  return values[Math.min(values.length - 1, Math.floor(q * values.length))];
}
