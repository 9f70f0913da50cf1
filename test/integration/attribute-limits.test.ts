import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequestType, ResponseType } from '../helpers/otlp-proto.js';
import { find, parseExposition, type Sample } from '../helpers/prometheus-text.js';
import { eventually, startVigil, testConfig, type VigilProcess } from '../helpers/vigil-process.js';

/**
 * `limits.max_attributes_per_point` and `limits.max_attribute_value_length` on every ingest path
 * of the real process: the point over a limit is rejected with the reason (never truncated,
 * never stored with attributes dropped), the valid points of the same request are kept.
 */

let vigil: VigilProcess;
beforeAll(async () => {
  vigil = await startVigil(
    testConfig('limits:\n  max_attributes_per_point: 3\n  max_attribute_value_length: 16\n'),
  );
});
afterAll(async () => {
  expect(await vigil.stop()).toBe(0);
});

const LONG = 'x'.repeat(17);
const kv = (key: string, value: string) => ({ key, value: { stringValue: value } });
const four = [kv('a', '1'), kv('b', '2'), kv('c', '3'), kv('d', '4')];

function otlpRequest(service: string, metric: string) {
  const now = String(Date.now() * 1e6);
  return {
    resourceMetrics: [
      {
        resource: { attributes: [kv('service.name', service)] },
        scopeMetrics: [
          {
            metrics: [
              {
                name: metric,
                gauge: {
                  dataPoints: [
                    { asDouble: 1, timeUnixNano: now, attributes: [kv('ok', 'yes')] },
                    { asDouble: 2, timeUnixNano: now, attributes: four },
                    { asDouble: 3, timeUnixNano: now, attributes: [kv('url', LONG)] },
                  ],
                },
              },
            ],
          },
        ],
      },
    ],
  };
}

async function samples(): Promise<Sample[]> {
  return parseExposition(await (await fetch(`${vigil.metrics}/metrics`)).text());
}

const rejected = (s: Sample[], transport: string, reason: string) =>
  find(s, 'vigil_receiver_rejected_points_total', { transport, reason })[0]?.value;

describe('attribute limits on every ingest path', () => {
  it('OTLP/JSON: partialSuccess names the limit; the valid point is stored', async () => {
    const res = await fetch(`${vigil.ingest}/v1/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(otlpRequest('lim-json', 'lim.json')),
    });
    expect(res.status).toBe(200);
    const reply = (await res.json()) as {
      partialSuccess: { rejectedDataPoints: string; errorMessage: string };
    };
    expect(Number(reply.partialSuccess.rejectedDataPoints)).toBe(2);
    expect(reply.partialSuccess.errorMessage).toBe(
      'a point has 4 attributes, more than limits.max_attributes_per_point (3); ' +
        'attribute "url" has a value of 17 characters, more than limits.max_attribute_value_length (16)',
    );
    const s = await samples();
    expect(find(s, 'lim_json', { job: 'lim-json' }).map((x) => x.value)).toEqual([1]);
    expect(rejected(s, 'otlp_json', 'attribute_count_limit')).toBe(1);
    expect(rejected(s, 'otlp_json', 'attribute_length_limit')).toBe(1);
  });

  it('OTLP/protobuf: the same, in the protobuf reply', async () => {
    const res = await fetch(`${vigil.ingest}/v1/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: RequestType.encode(RequestType.fromObject(otlpRequest('lim-proto', 'lim.proto'))).finish(),
    });
    expect(res.status).toBe(200);
    const reply = ResponseType.toObject(ResponseType.decode(new Uint8Array(await res.arrayBuffer())), {
      longs: Number,
    }) as { partialSuccess: { rejectedDataPoints: number; errorMessage: string } };
    expect(reply.partialSuccess.rejectedDataPoints).toBe(2);
    expect(reply.partialSuccess.errorMessage).toMatch(
      /max_attributes_per_point \(3\).*max_attribute_value_length \(16\)/,
    );
    const s = await samples();
    expect(find(s, 'lim_proto', { job: 'lim-proto' }).map((x) => x.value)).toEqual([1]);
    expect(rejected(s, 'otlp_proto', 'attribute_count_limit')).toBe(1);
  });

  it('JSON push: per-item errors; an over-long resource attribute refuses the body', async () => {
    const res = await fetch(`${vigil.ingest}/api/v1/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resource: { 'service.name': 'lim-push' },
        metrics: [
          { name: 'lim.push', type: 'gauge', value: 1, attributes: { ok: 'yes' } },
          { name: 'lim.push', type: 'gauge', value: 2, attributes: { a: 1, b: 2, c: 3, d: 4 } },
          { name: 'lim.push', type: 'gauge', value: 3, attributes: { url: LONG } },
        ],
      }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      accepted: 1,
      rejected: 2,
      errors: [
        {
          index: 1,
          message: 'lim.push: a point has 4 attributes, more than limits.max_attributes_per_point (3)',
        },
        {
          index: 2,
          message:
            'lim.push: attribute "url" has a value of 17 characters, more than limits.max_attribute_value_length (16)',
        },
      ],
    });
    const resource = await fetch(`${vigil.ingest}/api/v1/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ resource: { 'service.name': 'lim-push', team: LONG }, metrics: [] }),
    });
    expect(resource.status).toBe(400);
    expect(((await resource.json()) as { error: string }).error).toMatch(
      /^resource: attribute "team" has a value of 17 characters/,
    );
    // Pushed meters reach /metrics at the next collection.
    const s = await eventually(async () => {
      const now = await samples();
      return find(now, 'lim_push', { job: 'lim-push' }).length > 0 ? now : undefined;
    });
    expect(find(s, 'lim_push', { job: 'lim-push' }).map((x) => x.value)).toEqual([1]);
    expect(rejected(s, 'json_push', 'attribute_count_limit')).toBe(1);
    expect(rejected(s, 'json_push', 'attribute_length_limit')).toBe(1);
  });

  it('Prometheus push: over a limit the push is refused whole (400), as the series limits', async () => {
    const wide = await fetch(`${vigil.ingest}/metrics/job/lim-prom/zone/z1`, {
      method: 'PUT',
      body: 'lim_ok 1\nlim_wide{a="1",b="2",c="3"} 2\n',
    });
    expect(wide.status).toBe(400);
    expect(await wide.text()).toMatch(/max_attributes_per_point \(3\)/);
    const long = await fetch(`${vigil.ingest}/metrics/job/lim-prom`, {
      method: 'PUT',
      body: `lim_long{url="${LONG}"} 3\n`,
    });
    expect(long.status).toBe(400);
    expect(await long.text()).toMatch(/max_attribute_value_length \(16\)/);
    const ok = await fetch(`${vigil.ingest}/metrics/job/lim-prom/zone/z1`, {
      method: 'PUT',
      body: 'lim_ok 1\nlim_wide{a="1",b="2"} 2\n',
    });
    expect(ok.status).toBe(200);
    const s = await samples();
    expect(find(s, 'lim_wide', { job: 'lim-prom', zone: 'z1' }).map((x) => x.value)).toEqual([2]);
    expect(find(s, 'lim_long')).toEqual([]);
    expect(rejected(s, 'prometheus_push', 'attribute_count_limit')).toBe(2);
    expect(rejected(s, 'prometheus_push', 'attribute_length_limit')).toBe(1);
  });
});
