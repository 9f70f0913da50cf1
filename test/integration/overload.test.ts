import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { RequestType } from '../helpers/otlp-proto.js';
import { find, parseExposition } from '../helpers/prometheus-text.js';
import { eventually, startVigil, testConfig, type VigilProcess } from '../helpers/vigil-process.js';

/**
 * Overload (README "Overload and security"): a load far above what vigil is allowed to hold is
 * shed with 429 / 503 and Retry-After, RSS stays under the hard memory limit, and once the load
 * stops vigil serves again by itself with the data pushed before intact.
 */

const MIB = 1024 * 1024;
const LOAD_MS = 6000;
const CLIENTS = 48;

function rssMib(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error('no VmRSS');
  return Number(m[1]) / 1024;
}

/** An OTLP/JSON body of `points` gauge points over 200 series (the same series every time). */
function otlpJsonBody(points: number): string {
  const dataPoints = Array.from({ length: points }, (_, i) => ({
    asDouble: i,
    timeUnixNano: String(1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n),
    attributes: [{ key: 'slot', value: { stringValue: `s${i % 200}` } }],
  }));
  return JSON.stringify({
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'flood' } }] },
        scopeMetrics: [{ metrics: [{ name: 'flood.gauge', gauge: { dataPoints } }] }],
      },
    ],
  });
}

function otlpProtoBody(points: number): Uint8Array {
  const dataPoints = Array.from({ length: points }, (_, i) => ({
    asDouble: i,
    timeUnixNano: 1_700_000_000_000_000_000 + i * 1_000_000,
    attributes: [{ key: 'slot', value: { stringValue: `p${i % 200}` } }],
  }));
  return RequestType.encode(
    RequestType.fromObject({
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'flood-proto' } }] },
          scopeMetrics: [{ metrics: [{ name: 'flood.proto', gauge: { dataPoints } }] }],
        },
      ],
    }),
  ).finish();
}

/**
 * One POST from a pool without a socket limit: every client of the flood really is in flight at
 * once (a pooled client such as fetch's may queue requests on its side and never reach the
 * server's limits). Keep-alive, as exporters do: with `Connection: close` the server would close
 * the socket after an early refusal while the body is still being written.
 */
const flooder = new Agent({ keepAlive: true, maxSockets: Infinity });

function post(
  url: string,
  contentType: string,
  body: string | Uint8Array,
): Promise<{ status: number; retryAfter: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent: flooder, headers: { 'content-type': contentType } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function pushGood(v: VigilProcess): Promise<void> {
  const push = await fetch(`${v.ingest}/api/v1/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      resource: { 'service.name': 'precious' },
      metrics: [
        { name: 'precious.events', type: 'counter', value: 42 },
        { name: 'precious.level', type: 'gauge', value: 7 },
      ],
    }),
  });
  expect(push.status).toBe(200);
  const prom = await fetch(`${v.ingest}/metrics/job/precious-batch`, {
    method: 'PUT',
    body: 'batch_rows 1234\n',
  });
  expect(prom.status).toBe(200);
}

async function expectGoodData(v: VigilProcess): Promise<void> {
  const s = parseExposition(await (await fetch(`${v.metrics}/metrics`)).text());
  expect(find(s, 'precious_events_total', { job: 'precious' })[0]?.value).toBe(42);
  expect(find(s, 'precious_level', { job: 'precious' })[0]?.value).toBe(7);
  expect(find(s, 'batch_rows', { job: 'precious-batch' })[0]?.value).toBe(1234);
}

describe('overload', () => {
  it('sheds a flood with 503 (429) + Retry-After, keeps RSS under the hard limit, and serves again within seconds of its end', async () => {
    // What this machine's vigil needs idle, so the limits sit a known distance above it.
    const probe = await startVigil(testConfig());
    await new Promise((r) => setTimeout(r, 500));
    const idleMib = Math.round(rssMib(probe.proc.pid!));
    expect(await probe.stop()).toBe(0);
    // Soft 16 MiB above idle: the flood's bodies and decoding pass it; hard far enough above for
    // what RSS adds to the guard's estimate between readings (allocator slack, V8's free pages).
    const hardMib = idleMib + 130;
    const softMib = idleMib + 16;
    const vigil = await startVigil(
      testConfig(
        `limits:\n  memory_limit_mib: ${hardMib}\n  memory_spike_limit_mib: ${hardMib - softMib}\n` +
          `  max_concurrent_requests: 8\n  max_inflight_bytes: 8MiB\n  max_request_bytes: 4MiB\n`,
      ),
    );
    try {
      await pushGood(vigil);
      const pid = vigil.proc.pid!;
      const jsonBody = otlpJsonBody(9500); // ~1 MiB, several times that in objects when parsed
      const protoBody = otlpProtoBody(40_000); // ~1.8 MiB
      expect(jsonBody.length).toBeGreaterThan(MIB);

      let peakMib = 0;
      const sampler = setInterval(() => {
        if (vigil.proc.exitCode === null) peakMib = Math.max(peakMib, rssMib(pid));
      }, 20);
      const codes = new Map<number, number>();
      const missingRetryAfter: number[] = [];
      const loadEnds = Date.now() + LOAD_MS;
      await Promise.all(
        Array.from({ length: CLIENTS }, async (_, i) => {
          const proto = i % 4 === 0;
          while (Date.now() < loadEnds) {
            const res = await post(
              `${vigil.ingest}/v1/metrics`,
              proto ? 'application/x-protobuf' : 'application/json',
              proto ? protoBody : jsonBody,
            );
            codes.set(res.status, (codes.get(res.status) ?? 0) + 1);
            if (res.status !== 200) {
              if (!/^\d+$/.test(res.retryAfter ?? '')) missingRetryAfter.push(res.status);
              await new Promise((r) => setTimeout(r, 20)); // a client that retries hard
            }
          }
        }),
      );
      const loadEndedMs = Date.now();
      clearInterval(sampler);
      flooder.destroy();
      peakMib = Math.max(peakMib, rssMib(pid));

      // Recovery: the next push is accepted without anyone doing anything.
      await eventually(
        async () => {
          const res = await fetch(`${vigil.ingest}/v1/metrics`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: otlpJsonBody(10),
          });
          return res.status === 200;
        },
        30_000,
        100,
      );
      const recoveredMs = Date.now() - loadEndedMs;
      await eventually(async () => (await fetch(`${vigil.api}/readyz`)).status === 200, 10_000);
      await expectGoodData(vigil);

      const samples = parseExposition(await (await fetch(`${vigil.metrics}/metrics`)).text());
      const refused = (reason: string) =>
        find(samples, 'vigil_receiver_refused_requests_total', { reason }).reduce((n, s) => n + s.value, 0);
      const summary = {
        idleMib,
        softMib,
        hardMib,
        peakMib: Math.round(peakMib),
        recoveredMs,
        codes: Object.fromEntries(codes),
        refused: Object.fromEntries(
          ['memory_soft_limit', 'memory_hard_limit', 'concurrency_limit', 'inflight_bytes_limit'].map((r) => [
            r,
            refused(r),
          ]),
        ),
      };
      console.log('overload figures', JSON.stringify(summary));

      expect(
        [...codes.keys()].every((c) => c === 200 || c === 429 || c === 503),
        JSON.stringify(summary),
      ).toBe(true);
      expect(codes.get(200) ?? 0, 'some of the load is served').toBeGreaterThan(0);
      // Memory is the limit this flood always reaches. Whether the concurrency or byte limits
      // answer some of it first is a race between the clients' headers and the guard's readings
      // (CI saw a run with none): their 429s are tested on their own in connection-limits.test.ts.
      expect(codes.get(503) ?? 0, 'memory shed with 503').toBeGreaterThan(0);
      expect(missingRetryAfter).toEqual([]);
      expect(peakMib, JSON.stringify(summary)).toBeLessThan(hardMib);
      expect(refused('memory_soft_limit') + refused('memory_hard_limit')).toBeGreaterThanOrEqual(
        codes.get(503)!,
      );
      expect(refused('concurrency_limit') + refused('inflight_bytes_limit')).toBeGreaterThanOrEqual(
        codes.get(429) ?? 0,
      );
      // Regression: with the collector's 10 s between soft-limit GCs, the garbage of the last
      // accepted requests kept vigil refusing 4.3–4.6 s after the flood (V8, unlike Go's
      // collector, does not collect it by itself while vigil refuses). Now a GC a second.
      expect(recoveredMs, JSON.stringify(summary)).toBeLessThan(3000);
    } finally {
      expect(await vigil.stop()).toBe(0);
    }
  });
});
