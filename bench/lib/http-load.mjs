// HTTP load for the sections that drive a real server (vigil or a peer): pre-encoded bodies sent
// on keep-alive connections, closed loop (each connection sends its next request when the last
// one is answered), with the CPU time the server and this process used meanwhile.
import { Buffer } from 'node:buffer';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { URL } from 'node:url';
import { ownCpuSeconds } from './measure.mjs';
import { cpuAccount } from './vigil-process.mjs';

/** A server to load: base URL, method, content type, keep-alive agent of `connections` sockets. */
export function target(baseUrl, { method = 'POST', contentType, connections = 4 }) {
  const { hostname, port } = new URL(baseUrl);
  return {
    host: hostname,
    port: Number(port),
    method,
    contentType,
    connections,
    agent: new Agent({ keepAlive: true, maxSockets: connections }),
  };
}

/**
 * One request of `t` to `path` with `body`; resolves with its status and response body. Rejects on
 * a status outside 2xx, or when `check(status, body)` returns an error message: a run of rejected
 * requests would measure the wrong path.
 */
export function send(t, path, body, check) {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent: t.agent,
        host: t.host,
        port: t.port,
        path,
        method: t.method,
        headers: { 'Content-Type': t.contentType, 'Content-Length': body.length },
      },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const problem =
            res.statusCode < 200 || res.statusCode > 299
              ? `answered ${res.statusCode}: ${text.slice(0, 300)}`
              : check?.(res.statusCode, text);
          if (problem) reject(new Error(`${t.method} ${path}: ${problem}`));
          else resolve({ status: res.statusCode, text });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Sends `requests` (`{ path, body }`, cycled from `state.next`) on the target's connections for
 * `ms` milliseconds (requests under way then finish, on the clock). The requests made, the seconds
 * they took, and the CPU seconds the server `pid` and this process used meanwhile.
 */
export async function loadFor(t, requests, ms, { pid, check, state = { next: 0 } } = {}) {
  let made = 0;
  const t0 = performance.now();
  const deadline = t0 + ms;
  const server0 = pid === undefined ? undefined : cpuAccount(pid);
  const own0 = ownCpuSeconds();
  const connection = async () => {
    while (performance.now() < deadline) {
      const { path, body } = requests[state.next++ % requests.length];
      await send(t, path, body, check);
      made++;
    }
  };
  await Promise.all(Array.from({ length: t.connections }, connection));
  const seconds = (performance.now() - t0) / 1000;
  const server1 = server0 === undefined ? undefined : cpuAccount(pid);
  return {
    requests: made,
    seconds,
    serverCpu: server1 ? server1.cpu - server0.cpu : NaN,
    ownCpu: ownCpuSeconds() - own0,
  };
}
