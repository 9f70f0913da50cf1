import { describe, expect, it } from 'vitest';
import {
  isDelimitedProtobuf,
  parseMetricFamiliesDelimited,
} from '../../src/ingest/prometheus-proto-parse.js';
import { parsePrometheusText } from '../../src/ingest/prometheus-text-parse.js';
import { DecodeError } from '../../src/ingest/types.js';
import { encodeDelimited, PROTO_CONTENT_TYPE } from '../helpers/prometheus-proto.js';

const GAUGE = 1;
const SUMMARY = 2;
const UNTYPED = 3;
const HISTOGRAM = 4;

describe('isDelimitedProtobuf', () => {
  it('recognises exactly what the Pushgateway recognises', () => {
    expect(isDelimitedProtobuf(PROTO_CONTENT_TYPE)).toBe(true);
    expect(
      isDelimitedProtobuf(
        'application/vnd.google.protobuf; encoding=delimited; proto=io.prometheus.client.MetricFamily',
      ),
    ).toBe(true);
    expect(
      isDelimitedProtobuf('application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily'),
    ).toBe(false);
    expect(isDelimitedProtobuf('text/plain; version=0.0.4')).toBe(false);
    expect(isDelimitedProtobuf(undefined)).toBe(false);
  });
});

describe('parseMetricFamiliesDelimited', () => {
  it('decodes to the same families as the equivalent text', () => {
    const body = encodeDelimited([
      {
        name: 'jobs_total',
        help: 'Jobs.',
        metric: [{ label: [{ name: 'queue', value: 'a' }], counter: { value: 17 } }],
      },
      {
        name: 'temp',
        type: GAUGE,
        metric: [{ label: [{ name: 'room', value: 'Zürich' }], gauge: { value: -1.5 } }],
      },
      { name: 'free', type: UNTYPED, metric: [{ untyped: { value: 3 } }] },
      {
        name: 'req_seconds',
        type: HISTOGRAM,
        metric: [
          {
            histogram: {
              sampleCount: 4,
              sampleSum: 7.25,
              bucket: [
                { cumulativeCount: 1, upperBound: 0.005 },
                { cumulativeCount: 3, upperBound: 0.5 },
              ],
            },
          },
        ],
      },
      {
        name: 'rpc',
        type: SUMMARY,
        metric: [{ summary: { sampleCount: 100, sampleSum: 5, quantile: [{ quantile: 0.5, value: 0.01 }] } }],
      },
    ]);
    const fromProto = parseMetricFamiliesDelimited(body);
    const fromText = parsePrometheusText(
      Buffer.from(
        '# HELP jobs_total Jobs.\n# TYPE jobs_total counter\njobs_total{queue="a"} 17\n# TYPE temp gauge\ntemp{room="Zürich"} -1.5\n' +
          '# TYPE free untyped\nfree 3\n# TYPE req_seconds histogram\nreq_seconds_bucket{le="0.005"} 1\nreq_seconds_bucket{le="0.5"} 3\n' +
          'req_seconds_sum 7.25\nreq_seconds_count 4\n# TYPE rpc summary\nrpc{quantile="0.5"} 0.01\nrpc_sum 5\nrpc_count 100\n',
      ),
    );
    expect(fromProto.timestamps).toBe(false);
    expect([...fromProto.families.values()]).toEqual([...fromText.families.values()]);
  });

  it('notes timestamps and lets a later family of the same name win', () => {
    const r = parseMetricFamiliesDelimited(
      encodeDelimited([
        { name: 'm', type: GAUGE, metric: [{ gauge: { value: 1 } }] },
        { name: 'm', type: GAUGE, metric: [{ gauge: { value: 2 }, timestampMs: 1700000000000 }] },
      ]),
    );
    expect(r.timestamps).toBe(true);
    expect(r.families.get('m')!.metrics.map((m) => m.value)).toEqual([2]);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      'an invalid metric name',
      { name: 'bad-name', type: GAUGE, metric: [{ gauge: { value: 1 } }] },
      /not a valid metric name/,
    ],
    [
      'a value of another type',
      { name: 'm', type: GAUGE, metric: [{ counter: { value: 1 } }] },
      /collected metric "m" is not a GAUGE/,
    ],
    [
      'an invalid label name',
      { name: 'm', type: GAUGE, metric: [{ label: [{ name: '__x', value: '1' }], gauge: { value: 1 } }] },
      /invalid name: __x/,
    ],
    [
      'duplicate label names',
      {
        name: 'm',
        type: GAUGE,
        metric: [
          {
            label: [
              { name: 'a', value: '1' },
              { name: 'a', value: '2' },
            ],
            gauge: { value: 1 },
          },
        ],
      },
      /two or more labels with the same name: a/,
    ],
    [
      'a gauge histogram',
      { name: 'm', type: 5, metric: [{ gauge: { value: 1 } }] },
      /unsupported metric type 5/,
    ],
  ])('refuses %s', (_what, family, message) => {
    expect(() => parseMetricFamiliesDelimited(encodeDelimited([family]))).toThrow(message);
  });

  it('refuses a truncated body with a DecodeError', () => {
    const body = encodeDelimited([{ name: 'm', type: GAUGE, metric: [{ gauge: { value: 1 } }] }]);
    expect(() => parseMetricFamiliesDelimited(body.subarray(0, body.length - 3))).toThrow(DecodeError);
  });
});
