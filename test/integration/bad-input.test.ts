import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequestType } from '../helpers/otlp-proto.js';
import { find, parseExposition } from '../helpers/prometheus-text.js';
import { startVigil, testConfig, type VigilProcess } from '../helpers/vigil-process.js';

/**
 * Bad input gets a clear error and loses nothing else (brief: Standards). Every case ends by
 * checking that vigil still serves and that the good data is there.
 */

let vigil: VigilProcess;
beforeAll(async () => {
  vigil = await startVigil(testConfig('limits:\n  max_request_bytes: 1MiB\n'));
});
afterAll(async () => {
  expect(await vigil.stop()).toBe(0);
});

const otlp = (body: string | Uint8Array, headers: Record<string, string>) =>
  fetch(`${vigil.ingest}/v1/metrics`, { method: 'POST', body, headers });

function gauge(name: string, value: unknown, attributes: unknown[] = []) {
  return {
    name,
    unit: '1',
    gauge: { dataPoints: [{ asDouble: value, timeUnixNano: '1700000000000000000', attributes }] },
  };
}

function request(metrics: unknown[], service = 'bad-input') {
  return JSON.stringify({
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeMetrics: [{ scope: { name: 't' }, metrics }],
      },
    ],
  });
}

async function samples() {
  return parseExposition(await (await fetch(`${vigil.metrics}/metrics`)).text());
}

describe('OTLP/HTTP bad input', () => {
  it('answers an unknown Content-Type with 415', async () => {
    const res = await otlp('x', { 'Content-Type': 'text/plain' });
    expect(res.status).toBe(415);
    expect(await res.text()).toMatch(/application\/x-protobuf/);
  });

  it('answers garbage protobuf with 400 and a google.rpc.Status', async () => {
    const res = await otlp(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2]), {
      'Content-Type': 'application/x-protobuf',
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/x-protobuf');
    const body = new Uint8Array(await res.arrayBuffer());
    expect(body[0]).toBe(0x08); // field 1 (code), varint
    expect(body[1]).toBe(3); // INVALID_ARGUMENT
  });

  it('answers a truncated body with 400 and stores nothing of it', async () => {
    const full = Buffer.from(request([gauge('truncated.gauge', 1)]));
    const res = await otlp(full.subarray(0, full.length - 10), { 'Content-Type': 'application/json' });
    expect(res.status).toBe(400);
    const status = (await res.json()) as { code: number; message: string };
    expect(status.code).toBe(3);
    expect(status.message).toMatch(/JSON/);
    expect(find(await samples(), 'truncated_gauge_ratio')).toHaveLength(0);
  });

  it('answers a gzip bomb with 413 without inflating it', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024)); // 64 MiB of zeros in ~64 KiB
    expect(bomb.length).toBeLessThan(200_000);
    const res = await otlp(bomb, { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'gzip' });
    expect(res.status).toBe(413);
  });

  it('answers an unknown Content-Encoding with 400', async () => {
    const res = await otlp('x', { 'Content-Type': 'application/json', 'Content-Encoding': 'br0tli' });
    expect(res.status).toBe(400);
  });

  it('rejects an invalid histogram and a NaN counter in partialSuccess while the valid points land', async () => {
    const body = request([
      gauge('mixed.good', 7),
      {
        name: 'mixed.hist',
        unit: 's',
        histogram: {
          aggregationTemporality: 2,
          dataPoints: [
            // 3 bucket counts for 1 bound: invalid
            {
              count: '3',
              sum: 1,
              bucketCounts: ['1', '1', '1'],
              explicitBounds: [1],
              timeUnixNano: '1700000000000000000',
            },
          ],
        },
      },
      {
        name: 'mixed.counter',
        sum: {
          aggregationTemporality: 2,
          isMonotonic: true,
          dataPoints: [
            { asDouble: 'NaN', timeUnixNano: '1700000000000000000' },
            {
              asDouble: 4,
              timeUnixNano: '1700000000000000000',
              attributes: [{ key: 'ok', value: { stringValue: 'yes' } }],
            },
          ],
        },
      },
    ]);
    const res = await otlp(body, { 'Content-Type': 'application/json' });
    expect(res.status).toBe(200);
    const reply = (await res.json()) as {
      partialSuccess?: { rejectedDataPoints: string | number; errorMessage: string };
    };
    expect(Number(reply.partialSuccess?.rejectedDataPoints)).toBe(2);
    expect(reply.partialSuccess?.errorMessage).toMatch(/histogram|bucket/i);
    const s = await samples();
    expect(find(s, 'mixed_good_ratio', { job: 'bad-input' })[0]?.value).toBe(7);
    expect(find(s, 'mixed_counter_total', { ok: 'yes' })[0]?.value).toBe(4);
    expect(find(s, 'mixed_hist_seconds_count')).toHaveLength(0);
  });

  it('stores __proto__ and constructor attribute keys as plain keys', async () => {
    const attrs = [
      { key: '__proto__', value: { stringValue: 'polluted' } },
      { key: 'constructor', value: { stringValue: 'ctor' } },
    ];
    const res = await otlp(request([gauge('proto.keys', 1, attrs)]), { 'Content-Type': 'application/json' });
    expect(res.status).toBe(200);
    const s = find(await samples(), 'proto_keys_ratio', { job: 'bad-input' });
    expect(s).toHaveLength(1);
    expect(Object.values(s[0]!.labels)).toContain('polluted');
    expect(Object.values(s[0]!.labels)).toContain('ctor');
  });

  it('reuses a body’s memory for the next request and keeps all each request stored', async () => {
    // OTLP/protobuf bodies are read into memory lent per request and reused (BodyBuffers): a
    // decoder that kept a view into a body instead of a copy would see it overwritten by the
    // next request of the same size. Same-length requests in turn, a garbage one between them,
    // then the first again (the known-request path).
    const proto = (route: string, value: number): Uint8Array =>
      RequestType.encode(
        RequestType.fromObject(JSON.parse(request([gauge('reuse.g', value, [attr(route)])]))),
      ).finish();
    const attr = (route: string) => ({ key: 'route', value: { stringValue: route } });
    const headers = { 'Content-Type': 'application/x-protobuf' };
    const a = proto('/alpha', 1);
    const b = proto('/bravo', 2);
    expect(b.length).toBe(a.length);
    expect((await otlp(a, headers)).status).toBe(200);
    expect(
      (
        await otlp(
          a.map(() => 0xff),
          headers,
        )
      ).status,
    ).toBe(400);
    expect((await otlp(b, headers)).status).toBe(200);
    expect((await otlp(proto('/alpha', 3), headers)).status).toBe(200);
    const got = find(await samples(), 'reuse_g_ratio', { job: 'bad-input' }).map((s) => [
      s.labels.route,
      s.value,
    ]);
    expect(got.sort()).toEqual([
      ['/alpha', 3],
      ['/bravo', 2],
    ]);
  });

  it('keeps serving after all of the above', async () => {
    expect((await fetch(`${vigil.api}/livez`)).status).toBe(200);
    const res = await otlp(request([gauge('after.all', 1)]), { 'Content-Type': 'application/json' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('{}');
  });
});

describe('JSON push bad input', () => {
  const push = (body: string) =>
    fetch(`${vigil.ingest}/api/v1/push`, {
      method: 'POST',
      body,
      headers: { 'Content-Type': 'application/json' },
    });

  it('answers a body that is not a push object with 400', async () => {
    expect((await push('[1,2]')).status).toBe(400);
    expect((await push('{"metrics": 3}')).status).toBe(400);
    expect((await push('{nope')).status).toBe(400);
  });

  it('rejects bad items one by one and keeps the good ones', async () => {
    const res = await push(
      JSON.stringify({
        resource: { 'service.name': 'pushy' },
        metrics: [
          { name: 'good.counter', type: 'counter', value: 2 },
          { name: 'bad counter!', type: 'counter', value: 1 },
          { name: 'neg.counter', type: 'counter', value: -1 },
          { name: 'weird', type: 'summary', value: 1 },
          { name: 'good.gauge', type: 'gauge', value: 5, attributes: { __proto__: 'x' } },
        ],
      }).replace('"attributes":{}', '"attributes":{"__proto__":"x"}'),
    );
    expect(res.status).toBe(200);
    const reply = (await res.json()) as {
      accepted: number;
      rejected: number;
      errors: Array<{ index: number }>;
    };
    expect(reply.accepted).toBe(2);
    expect(reply.rejected).toBe(3);
    expect(reply.errors.map((e) => e.index)).toEqual([1, 2, 3]);
    const s = await samples();
    expect(find(s, 'good_counter_total', { job: 'pushy' })[0]?.value).toBe(2);
    expect(find(s, 'good_gauge', { job: 'pushy' })[0]?.value).toBe(5);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
