import { createServer, type RequestListener, type Server } from 'node:http';

/** Connection hygiene shared by the three listeners (`limits.*`, README "Overload and security"). */
export interface ConnectionLimits {
  /** Whole request, headers and body, must arrive within this (Node answers 408 and closes). */
  requestTimeoutMs: number;
  /** Headers must arrive within this: a slowloris client is cut off here. */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Request line plus headers; beyond it Node answers 431. */
  maxHeaderBytes: number;
  /** Headers beyond this count are ignored (no unbounded header maps). */
  maxHeadersCount: number;
  /** Open connections at once; further ones are closed as they are accepted. */
  maxConnections: number;
}

/**
 * An HTTP server with vigil's connection limits. Node checks the headers and request timeouts
 * only every `connectionsCheckingInterval` (30 s by default), which would let a slowloris client
 * hold its socket up to 40 s with a 10 s timeout: check at a quarter of the headers timeout
 * (at most once a second, at least every 100 ms).
 *
 * `maxRequestsPerSocket` stays unlimited: it exists to rebalance connections across replicas
 * behind a load balancer; a sidecar's clients are in its own pod, and a forced reconnect every
 * N requests would only cost them a handshake.
 */
export function createLimitedServer(limits: ConnectionLimits, handler: RequestListener): Server {
  const server = createServer(
    {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      maxHeaderSize: limits.maxHeaderBytes,
      connectionsCheckingInterval: Math.min(1000, Math.max(100, Math.floor(limits.headersTimeoutMs / 4))),
    },
    handler,
  );
  server.maxHeadersCount = limits.maxHeadersCount;
  server.maxConnections = limits.maxConnections;
  // A client that stops reading its answer (a slow-read attack on a large /metrics) leaves the
  // socket inactive: destroy it after the request timeout instead of holding the answer forever.
  server.timeout = limits.requestTimeoutMs;
  return server;
}

/** The connection limits from the parsed `limits` section. */
export function connectionLimits(l: {
  request_timeout: number;
  headers_timeout: number;
  keep_alive_timeout: number;
  max_header_bytes: number;
  max_headers_count: number;
  max_connections: number;
}): ConnectionLimits {
  return {
    requestTimeoutMs: l.request_timeout,
    headersTimeoutMs: l.headers_timeout,
    keepAliveTimeoutMs: l.keep_alive_timeout,
    maxHeaderBytes: l.max_header_bytes,
    maxHeadersCount: l.max_headers_count,
    maxConnections: l.max_connections,
  };
}
