import { isUtf8 } from 'node:buffer';
import type { TextFamily, TextMetric, TextMetricType, TextParseResult } from './prometheus-text-parse.js';
import { ProtoReader, WIRE_I64, WIRE_LEN, WIRE_VARINT } from './protobuf-reader.js';
import { DecodeError } from './types.js';

/**
 * The Prometheus protobuf exposition, length-delimited `io.prometheus.client.MetricFamily`
 * messages (`Content-Type: application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
 * encoding=delimited`): what client_golang's `push` package sends to a Pushgateway by default.
 * Decoded with vigil's wire reader into the same families as the text parser, so both formats
 * take one path into the groups. Checked as client_golang's gatherer would (valid names, no
 * duplicate label names, UTF-8 values, a value of the family's type); native-histogram fields
 * are ignored (classic buckets only, as on the Pushgateway's text `/metrics`).
 */

/** MetricType enum of metrics.proto, by number. */
const TYPES: readonly TextMetricType[] = [
  'counter',
  'gauge',
  'summary',
  'untyped',
  'histogram',
  'gauge_histogram',
];
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Whether a Content-Type names the delimited protobuf format (otherwise the Pushgateway reads text). */
export function isDelimitedProtobuf(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const [media, ...params] = contentType.split(';').map((p) => p.trim());
  if (media!.toLowerCase() !== 'application/vnd.google.protobuf') return false;
  const p = new Map(
    params.map((kv) => {
      const eq = kv.indexOf('=');
      return [
        kv.slice(0, eq).trim().toLowerCase(),
        kv
          .slice(eq + 1)
          .trim()
          .replace(/^"|"$/g, ''),
      ] as const;
    }),
  );
  return p.get('proto') === 'io.prometheus.client.MetricFamily' && p.get('encoding') === 'delimited';
}

/** Decode a delimited body. Throws DecodeError. A later family of the same name replaces an earlier one. */
export function parseMetricFamiliesDelimited(body: Buffer): TextParseResult {
  const r = new ProtoReader(body);
  const families = new Map<string, TextFamily>();
  const state = { timestamps: false };
  while (r.pos < r.length) {
    const end = r.len(r.length);
    const mf = family(r, end, state);
    if (mf.metrics.length > 0) families.set(mf.name, mf);
    else families.delete(mf.name);
  }
  return { families, timestamps: state.timestamps };
}

function family(r: ProtoReader, end: number, state: { timestamps: boolean }): TextFamily {
  let name = '';
  let help: string | undefined;
  let typeNumber = 0; // COUNTER is proto2's default
  const metrics: Array<[number, number]> = [];
  while (r.pos < end) {
    const tag = r.tag(end);
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === WIRE_LEN) name = text(r, end);
    else if (field === 2 && wire === WIRE_LEN) help = text(r, end);
    else if (field === 3 && wire === WIRE_VARINT) typeNumber = r.uint32(end);
    else if (field === 4 && wire === WIRE_LEN) {
      const mEnd = r.len(end);
      metrics.push([r.pos, mEnd]);
      r.pos = mEnd;
    } else r.skip(wire, end);
  }
  if (!METRIC_NAME.test(name)) throw new DecodeError(`${JSON.stringify(name)} is not a valid metric name`);
  const type = TYPES[typeNumber];
  if (type === undefined || type === 'gauge_histogram')
    throw new DecodeError(`unsupported metric type ${typeNumber} for metric name ${JSON.stringify(name)}`);
  const out: TextFamily = { name, help, type, metrics: [] };
  for (const [start, mEnd] of metrics) {
    r.pos = start;
    out.metrics.push(metric(r, mEnd, out, state));
  }
  r.pos = end;
  return out;
}

function metric(r: ProtoReader, end: number, mf: TextFamily, state: { timestamps: boolean }): TextMetric {
  const m: TextMetric = {
    labels: [],
    value: 0,
    count: undefined,
    sum: undefined,
    quantiles: undefined,
    buckets: undefined,
  };
  let has = false;
  while (r.pos < end) {
    const tag = r.tag(end);
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === WIRE_LEN) label(r, r.len(end), mf.name, m.labels);
    else if (field === 6 && wire === WIRE_VARINT) {
      r.skip(wire, end);
      state.timestamps = true;
    } else if (wire === WIRE_LEN && field === valueField(mf.type)) {
      const vEnd = r.len(end);
      has = true;
      if (mf.type === 'summary') summary(r, vEnd, m);
      else if (mf.type === 'histogram') histogram(r, vEnd, m);
      else m.value = singleValue(r, vEnd);
      r.pos = vEnd;
    } else r.skip(wire, end);
  }
  if (!has)
    throw new DecodeError(
      `collected metric ${JSON.stringify(mf.name)} is not a ${String(mf.type).toUpperCase()}`,
    );
  return m;
}

/** The Metric field that holds a value of the family's type. */
function valueField(type: TextMetricType | undefined): number {
  switch (type) {
    case 'gauge':
      return 2;
    case 'counter':
      return 3;
    case 'summary':
      return 4;
    case 'untyped':
      return 5;
    case 'histogram':
      return 7;
    default:
      return -1;
  }
}

function label(r: ProtoReader, end: number, metricName: string, labels: string[]): void {
  let name = '';
  let value = '';
  while (r.pos < end) {
    const tag = r.tag(end);
    if (tag === ((1 << 3) | WIRE_LEN)) name = text(r, end);
    else if (tag === ((2 << 3) | WIRE_LEN)) value = text(r, end);
    else r.skip(tag & 7, end);
  }
  if (!LABEL_NAME.test(name) || name.startsWith('__'))
    throw new DecodeError(
      `collected metric ${JSON.stringify(metricName)} has a label with an invalid name: ${name}`,
    );
  for (let i = 0; i < labels.length; i += 2)
    if (labels[i] === name)
      throw new DecodeError(
        `collected metric ${JSON.stringify(metricName)} has two or more labels with the same name: ${name}`,
      );
  labels.push(name, value);
}

/** A string field; label values (and names) must be UTF-8. */
function text(r: ProtoReader, end: number): string {
  const sEnd = r.len(end);
  const start = r.pos;
  r.pos = sEnd;
  if (!isUtf8(r.buf.subarray(start, sEnd)))
    throw new DecodeError(`string at byte ${start} is not valid UTF-8`);
  return r.utf8(start, sEnd);
}

/** Gauge, Counter and Untyped: field 1 is the value. */
function singleValue(r: ProtoReader, end: number): number {
  let v = 0;
  while (r.pos < end) {
    const tag = r.tag(end);
    if (tag === ((1 << 3) | WIRE_I64)) v = r.double(end);
    else r.skip(tag & 7, end);
  }
  return v;
}

function summary(r: ProtoReader, end: number, m: TextMetric): void {
  while (r.pos < end) {
    const tag = r.tag(end);
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === WIRE_VARINT) m.count = r.uint64(end);
    else if (field === 2 && wire === WIRE_I64) m.sum = r.double(end);
    else if (field === 3 && wire === WIRE_LEN) {
      const qEnd = r.len(end);
      let q = 0;
      let v = 0;
      while (r.pos < qEnd) {
        const t = r.tag(qEnd);
        if (t === ((1 << 3) | WIRE_I64)) q = r.double(qEnd);
        else if (t === ((2 << 3) | WIRE_I64)) v = r.double(qEnd);
        else r.skip(t & 7, qEnd);
      }
      (m.quantiles ??= []).push([q, v]);
    } else r.skip(wire, end);
  }
}

function histogram(r: ProtoReader, end: number, m: TextMetric): void {
  let countFloat: number | undefined;
  while (r.pos < end) {
    const tag = r.tag(end);
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === WIRE_VARINT) m.count = r.uint64(end);
    else if (field === 4 && wire === WIRE_I64) countFloat = r.double(end);
    else if (field === 2 && wire === WIRE_I64) m.sum = r.double(end);
    else if (field === 3 && wire === WIRE_LEN) {
      const bEnd = r.len(end);
      let cum: number | undefined;
      let cumFloat: number | undefined;
      let upper = 0;
      while (r.pos < bEnd) {
        const t = r.tag(bEnd);
        if (t === ((1 << 3) | WIRE_VARINT)) cum = r.uint64(bEnd);
        else if (t === ((4 << 3) | WIRE_I64)) cumFloat = r.double(bEnd);
        else if (t === ((2 << 3) | WIRE_I64)) upper = r.double(bEnd);
        else r.skip(t & 7, bEnd);
      }
      (m.buckets ??= []).push([upper, cum ?? cumFloat ?? 0]);
    } else r.skip(wire, end);
  }
  if (m.count === undefined && countFloat !== undefined) m.count = countFloat;
}
