import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { startVigil, type Vigil } from '../../src/main.js';
import { RequestType } from '../helpers/otlp-proto.js';
import { find, parseExposition, type Sample } from '../helpers/prometheus-text.js';
import { encodeDelimited, PROTO_CONTENT_TYPE } from '../helpers/prometheus-proto.js';

/**
 * `__proto__`, `constructor` and `prototype` as attribute keys, label names and JSON keys on every
 * ingest path (and in the config and the api's JSON bodies) are plain data: Object.prototype stays
 * clean and the pushed data is kept with those names as ordinary labels. vigil runs in this
 * process, behind its real HTTP listeners, so this process's Object.prototype is vigil's.
 */

const MAGIC = ['__proto__', 'constructor', 'prototype'] as const;

let vigil: Vigil;
let base: Record<'ingest' | 'api' | 'metrics', string>;
const protoNamesBefore = Object.getOwnPropertyNames(Object.prototype).sort();

beforeAll(async () => {
  // The config: a `__proto__` key is an error at its line (a record would drop it silently);
  // `constructor` and `prototype` are plain keys.
  const refused = parseConfigText(
    [
      'alerting:',
      '  external_labels: {__proto__: {polluted: yes}, constructor: c}',
      'signals:',
      '  s: {metric: pp.json.push, stat: last, window: 10s, where: {__proto__: a}}',
      '',
    ].join('\n'),
    'c.yaml',
  );
  expect(refused.ok ? [] : refused.errors).toEqual([
    "c.yaml:2:21 alerting.external_labels.__proto__: '__proto__' cannot be used as a key",
    "c.yaml:4:62 signals.s.where.__proto__: '__proto__' cannot be used as a key",
  ]);
  assertPrototypeClean();
  const ok = parseConfigText(
    [
      'listeners: {ingest: 127.0.0.1:0, api: 127.0.0.1:0, metrics: 127.0.0.1:0}',
      'alerting:',
      '  external_labels: {constructor: c, prototype: p}',
      'report:',
      '  sections: {constructor: {prototype: s}}',
      'signals:',
      '  s: {metric: pp.json.push, stat: last, window: 10s, where: {constructor: b}}',
      '',
    ].join('\n'),
    'c.yaml',
  );
  if (!ok.ok) throw new Error(ok.errors.join('\n'));
  expect(Object.keys(ok.config.alerting.external_labels)).toEqual(['constructor', 'prototype']);
  expect(ok.config.report.sections['constructor']).toEqual({ prototype: 's' });
  assertPrototypeClean();
  vigil = await startVigil(ok.config, createLogger('silent'), { env: {} });
  const url = (n: 'ingest' | 'api' | 'metrics') => `http://127.0.0.1:${vigil.addresses[n].port}`;
  base = { ingest: url('ingest'), api: url('api'), metrics: url('metrics') };
});

afterAll(async () => {
  await vigil.shutdown('test');
});

function assertPrototypeClean(): void {
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(protoNamesBefore);
  const probe = {} as Record<string, unknown>;
  expect(probe['polluted']).toBeUndefined();
  expect(Object.getPrototypeOf(probe)).toBe(Object.prototype);
  expect(typeof Object.prototype.toString).toBe('function');
  expect(String({})).toBe('[object Object]');
}

const kv = (key: string, value: string) => ({ key, value: { stringValue: value } });
/** Attributes named __proto__, constructor, prototype with values a, b, c (and a nested map). */
const magicAttrs = () => [
  ...MAGIC.map((k, i) => kv(k, 'abc'[i]!)),
  { key: 'nested', value: { kvlistValue: { values: [kv('__proto__', 'inner')] } } },
];

/** The series' label values: each magic key is a label (its name sanitised as any other key). */
function expectMagicLabels(s: Sample | undefined, values = ['a', 'b', 'c']): void {
  expect(s, 'series missing').toBeDefined();
  const labels = s!.labels;
  for (const v of values) expect(Object.values(labels)).toContain(v);
  expect(Object.keys(labels)).toContain('constructor');
  expect(Object.keys(labels)).toContain('prototype');
}

async function samples(): Promise<Sample[]> {
  return parseExposition(await (await fetch(`${base.metrics}/metrics`)).text());
}

describe('prototype pollution', () => {
  it('OTLP/JSON: magic JSON keys anywhere, magic attribute keys on resource, scope and point', async () => {
    const metric = {
      name: 'pp.otlp.json',
      gauge: { dataPoints: [{ asDouble: 1, attributes: magicAttrs() }] },
    };
    const body = JSON.stringify({
      resourceMetrics: [
        {
          resource: { attributes: [kv('service.name', 'pp-json'), ...MAGIC.map((k) => kv(k, 'r'))] },
          scopeMetrics: [{ scope: { name: '__proto__' }, metrics: [metric] }],
        },
      ],
    })
      // JSON.parse makes these own keys: the decoder must never merge or assign through them.
      .replace(
        '{"resourceMetrics"',
        '{"__proto__":{"polluted":"1"},"constructor":{"prototype":{"polluted":"2"}},"resourceMetrics"',
      )
      .replace('"asDouble":1', '"asDouble":1,"__proto__":{"polluted":"3"}');
    const res = await fetch(`${base.ingest}/v1/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('{}');
    assertPrototypeClean();
    const sample = find(await samples(), 'pp_otlp_json', { job: 'pp-json' })[0];
    expectMagicLabels(sample);
    expect(sample?.labels['__proto__']).toBe('a');
    expect(sample?.labels['nested']).toBe('{"__proto__":"inner"}');
  });

  it('OTLP/protobuf: magic attribute keys', async () => {
    const body = RequestType.encode(
      RequestType.fromObject({
        resourceMetrics: [
          {
            resource: { attributes: [kv('service.name', 'pp-proto'), kv('__proto__', 'r')] },
            scopeMetrics: [
              {
                metrics: [
                  {
                    name: 'pp.otlp.proto',
                    gauge: { dataPoints: [{ asDouble: 2, attributes: magicAttrs() }] },
                  },
                ],
              },
            ],
          },
        ],
      }),
    ).finish();
    const res = await fetch(`${base.ingest}/v1/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body,
    });
    expect(res.status).toBe(200);
    assertPrototypeClean();
    expectMagicLabels(find(await samples(), 'pp_otlp_proto', { job: 'pp-proto' })[0]);
  });

  it('JSON push: magic keys in the body, the resource and the attributes', async () => {
    const body =
      '{"__proto__":{"polluted":"4"},"resource":{"service.name":"pp-push","__proto__":"r","constructor":"r","prototype":"r"},' +
      '"metrics":[{"name":"pp.json.push","type":"gauge","value":3,"__proto__":{"polluted":"5"},' +
      '"attributes":{"__proto__":"a","constructor":"b","prototype":"c"}}]}';
    const res = await fetch(`${base.ingest}/api/v1/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 1, rejected: 0, errors: [] });
    assertPrototypeClean();
    expectMagicLabels(find(await samples(), 'pp_json_push', { job: 'pp-push' })[0]);
  });

  it('Prometheus text and protobuf push: constructor / prototype as label names and grouping labels; __proto__ refused as reserved', async () => {
    const text = await fetch(`${base.ingest}/metrics/job/pp-prom/constructor/g1/prototype/g2`, {
      method: 'PUT',
      body: 'pp_prom_text{constructor="b",prototype="c",x="a"} 4\n',
    });
    expect(text.status).toBe(200);
    const proto = await fetch(`${base.ingest}/metrics/job/pp-prom-proto`, {
      method: 'PUT',
      headers: { 'content-type': PROTO_CONTENT_TYPE },
      body: encodeDelimited([
        {
          name: 'pp_prom_proto',
          type: 1, // GAUGE
          metric: [
            {
              label: [
                { name: 'constructor', value: 'b' },
                { name: 'prototype', value: 'c' },
                { name: 'x', value: 'a' },
              ],
              gauge: { value: 5 },
            },
          ],
        },
      ]),
    });
    expect(proto.status).toBe(200);
    // Label names starting with __ are reserved in Prometheus: refused with 400, as the Pushgateway does.
    const reserved = await fetch(`${base.ingest}/metrics/job/pp-prom`, {
      method: 'POST',
      body: 'pp_prom_reserved{__proto__="x"} 1\n',
    });
    expect(reserved.status).toBe(400);
    const reservedPath = await fetch(`${base.ingest}/metrics/job/pp-prom/__proto__/x`, {
      method: 'PUT',
      body: 'y 1\n',
    });
    expect(reservedPath.status).toBe(400);
    assertPrototypeClean();
    const s = await samples();
    const t = find(s, 'pp_prom_text', { job: 'pp-prom' })[0];
    expect(t?.labels['constructor']).toBe('g1'); // the grouping key wins, as on a Pushgateway
    expect(t?.labels['prototype']).toBe('g2');
    expect(t?.labels['x']).toBe('a');
    expectMagicLabels(find(s, 'pp_prom_proto', { job: 'pp-prom-proto' })[0], ['a', 'b', 'c']);
    expect(find(s, 'pp_prom_reserved')).toEqual([]);
  });

  it('api JSON bodies: magic keys in an ack body change nothing', async () => {
    const res = await fetch(`${base.api}/api/v1/alerts/0123456789abcdef/ack`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"by":"x","__proto__":{"polluted":"6"},"constructor":{"prototype":{"polluted":"7"}}}',
    });
    expect([400, 404]).toContain(res.status);
    assertPrototypeClean();
    expect((await fetch(`${base.api}/livez`)).status).toBe(200);
  });
});
