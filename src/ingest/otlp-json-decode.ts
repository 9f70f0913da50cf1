import { applyExpHistogram, applyHistogram, applyNumber, applySummary } from '../store/apply.js';
import type { ResourceEntry } from '../store/resource.js';
import type { Series } from '../store/series.js';
import type { MetricStream, Store } from '../store/store.js';
import type {
  ExpBuckets,
  ExpHistogramPoint,
  HistogramPoint,
  MetricDescriptor,
  MetricKind,
  RejectReason,
  ScopeInfo,
  SummaryPoint,
  Temporality,
} from '../store/types.js';
import {
  checkExpHistogram,
  checkHistogram,
  checkNumber,
  checkSummary,
  type Invalid,
} from '../store/validate.js';
import { DecodeError, type IngestTally, reasonText, rejectionText } from './types.js';

/**
 * OTLP/JSON (ExportMetricsServiceRequest, already `JSON.parse`d) straight into the store.
 *
 * Strict where the spec is (lowerCamelCase keys, int64 as decimal strings, enum integers) and lenient
 * where the collector is (snake_case keys, enum names, int64 as numbers, "NaN"/"Infinity" doubles,
 * unknown fields ignored). Only a body that is not a request at all throws (DecodeError, before the
 * store is touched); anything malformed deeper rejects the points it affects, counted in the tally,
 * and the rest still land. Attributes become flat `[k, v, ...]` arrays: a parsed object is never
 * used as a map keyed by attribute keys, so `__proto__` stays a plain key.
 */
export function decodeOtlpJson(body: unknown, store: Store, nowMs: number, tally: IngestTally): void {
  if (!isObject(body)) throw new DecodeError('OTLP/JSON body must be an ExportMetricsServiceRequest object');
  const rms = pick(body, 'resourceMetrics', 'resource_metrics');
  if (rms === undefined || rms === null) return;
  if (!Array.isArray(rms)) throw new DecodeError('OTLP/JSON resourceMetrics must be an array');
  for (let i = 0; i < rms.length; i++) {
    decodeResourceMetrics(rms[i], `resourceMetrics[${i}]`, store, nowMs, tally);
  }
}

/** A problem with one point (or one group of points): rejected, counted, decoding goes on. */
class PointError extends Error {
  constructor(
    readonly reason: RejectReason,
    message: string,
  ) {
    super(message);
  }
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A field by its lowerCamelCase (spec) or snake_case (collector-lenient) name. */
function pick(o: Json, camel: string, snake: string): unknown {
  const v = o[camel];
  return v !== undefined ? v : o[snake];
}

/**
 * Points that a malformed container hides cannot be counted; reporting one rejected point (rather
 * than zero) makes the client see data loss instead of a mere warning.
 */
const UNCOUNTABLE = 1;

function decodeResourceMetrics(
  rm: unknown,
  where: string,
  store: Store,
  nowMs: number,
  tally: IngestTally,
): void {
  if (!isObject(rm)) {
    tally.reject('invalid_value', `${where} is not an object`, UNCOUNTABLE);
    return;
  }
  let attrs: string[];
  try {
    const resource = rm['resource'];
    if (resource !== undefined && resource !== null && !isObject(resource))
      throw new PointError('invalid_value', 'resource is not an object');
    attrs = isObject(resource) ? decodeAttributes(resource['attributes']) : [];
  } catch (e) {
    if (!(e instanceof PointError)) throw e;
    tally.reject(e.reason, `${where}.resource: ${e.message}`, countResourcePoints(rm));
    return;
  }
  const sms = pick(rm, 'scopeMetrics', 'scope_metrics');
  if (sms === undefined || sms === null) return;
  if (!Array.isArray(sms)) {
    tally.reject('invalid_value', `${where}.scopeMetrics is not an array`, UNCOUNTABLE);
    return;
  }
  // The resource entry is created on the first metric that has points, so a request with no points
  // never leaves an entry behind that no stream will ever expire.
  let entry: ResourceEntry | undefined;
  const resourceOf = (): ResourceEntry => (entry ??= store.resource(attrs));
  for (let j = 0; j < sms.length; j++) {
    const sm: unknown = sms[j];
    if (!isObject(sm)) {
      tally.reject('invalid_value', `${where}.scopeMetrics[${j}] is not an object`, UNCOUNTABLE);
      continue;
    }
    const scopeJson = sm['scope'];
    const scope: ScopeInfo = isObject(scopeJson)
      ? { name: text(scopeJson['name']), version: text(scopeJson['version']) }
      : { name: '', version: '' };
    const metrics = sm['metrics'];
    if (metrics === undefined || metrics === null) continue;
    if (!Array.isArray(metrics)) {
      tally.reject('invalid_value', `${where}.scopeMetrics[${j}].metrics is not an array`, UNCOUNTABLE);
      continue;
    }
    for (const m of metrics as unknown[]) decodeMetric(m, scope, resourceOf, store, nowMs, tally);
  }
}

/** The data field of a Metric, in oneof order. */
const DATA_FIELDS: ReadonlyArray<readonly [string, string, MetricKind]> = [
  ['gauge', 'gauge', 'gauge'],
  ['sum', 'sum', 'sum'],
  ['histogram', 'histogram', 'histogram'],
  ['exponentialHistogram', 'exponential_histogram', 'exponential_histogram'],
  ['summary', 'summary', 'summary'],
];

function decodeMetric(
  m: unknown,
  scope: ScopeInfo,
  resourceOf: () => ResourceEntry,
  store: Store,
  nowMs: number,
  tally: IngestTally,
): void {
  if (!isObject(m)) {
    tally.reject('invalid_value', 'metric is not an object', UNCOUNTABLE);
    return;
  }
  const name = text(m['name']);
  let data: unknown;
  let field = '';
  let kind: MetricKind = 'gauge';
  for (const [camel, snake, k] of DATA_FIELDS) {
    const v = pick(m, camel, snake);
    if (v !== undefined && v !== null) {
      data = v;
      field = camel;
      kind = k;
      break;
    }
  }
  // No data field (or one vigil does not know): nothing to store, nothing to count.
  if (data === undefined) return;
  if (!isObject(data)) {
    tally.reject('invalid_value', `${name}: ${field} is not an object`, UNCOUNTABLE);
    return;
  }
  const points = pick(data, 'dataPoints', 'data_points');
  if (points === undefined || points === null) return;
  if (!Array.isArray(points)) {
    tally.reject('invalid_value', `${name}: dataPoints is not an array`, UNCOUNTABLE);
    return;
  }
  const n = countRecorded(points);
  if (n === 0) return;

  let temporality: Temporality = 'cumulative';
  if (kind === 'sum' || kind === 'histogram' || kind === 'exponential_histogram') {
    const t = parseTemporality(pick(data, 'aggregationTemporality', 'aggregation_temporality'));
    if (t === undefined) {
      tally.reject(
        'unsupported',
        `${name}: ${field} without a DELTA or CUMULATIVE aggregationTemporality`,
        n,
      );
      return;
    }
    temporality = t;
  }
  const desc: MetricDescriptor = {
    name,
    unit: text(m['unit']),
    description: text(m['description']),
    kind,
    monotonic: kind === 'sum' && pick(data, 'isMonotonic', 'is_monotonic') === true,
    temporality,
  };
  const stream = store.stream(resourceOf(), scope, desc);
  if (typeof stream === 'string') {
    tally.reject(stream, reasonText(stream) + ' ' + name, n);
    return;
  }
  for (const p of points as unknown[]) {
    try {
      decodePoint(p, stream, store, nowMs, tally);
    } catch (e) {
      if (!(e instanceof PointError)) throw e;
      tally.reject(e.reason, `${name}: ${e.message}`);
    }
  }
}

function decodePoint(
  p: unknown,
  stream: MetricStream,
  store: Store,
  nowMs: number,
  tally: IngestTally,
): void {
  if (!isObject(p)) throw new PointError('invalid_value', 'data point is not an object');
  if (isNoRecordedValue(p)) return;
  const attrs = decodeAttributes(p['attributes']);
  const startMs = nanosAsMs(pick(p, 'startTimeUnixNano', 'start_time_unix_nano'), 'startTimeUnixNano');
  const timeMs = nanosAsMs(pick(p, 'timeUnixNano', 'time_unix_nano'), 'timeUnixNano');
  // The point's own check runs before `store.series`, so an invalid point never creates an
  // empty series; `apply*` then accumulates it.
  const series = (bad: Invalid | null): Series | undefined => {
    if (bad !== null) throw new PointError(bad.reason, bad.message);
    const s = store.series(stream, null, attrs);
    if (typeof s !== 'string') return s;
    tally.reject(s, rejectionText(s, store, attrs));
    return undefined;
  };
  let bad: Invalid | null;
  switch (stream.desc.kind) {
    case 'sum':
    case 'gauge': {
      const value = numberValue(p);
      const s = series(checkNumber(value, stream.desc.monotonic));
      if (s === undefined) return;
      bad = applyNumber(stream, s, startMs, timeMs, value, nowMs);
      break;
    }
    case 'histogram': {
      const hp = histogramPoint(p, startMs, timeMs);
      const s = series(checkHistogram(hp));
      if (s === undefined) return;
      bad = applyHistogram(stream, s, hp, nowMs);
      break;
    }
    case 'exponential_histogram': {
      const ep = expHistogramPoint(p, startMs, timeMs);
      const s = series(checkExpHistogram(ep));
      if (s === undefined) return;
      bad = applyExpHistogram(stream, s, ep, nowMs);
      break;
    }
    case 'summary': {
      const sp = summaryPoint(p, startMs, timeMs);
      const s = series(checkSummary(sp));
      if (s === undefined) return;
      bad = applySummary(s, sp, nowMs);
      break;
    }
  }
  if (bad !== null) throw new PointError(bad.reason, bad.message);
  tally.accepted++;
}

function numberValue(p: Json): number {
  const d = pick(p, 'asDouble', 'as_double');
  if (d !== undefined && d !== null) {
    const v = asNumber(d);
    if (v === undefined) throw new PointError('invalid_value', 'asDouble is not a number');
    return v;
  }
  const i = pick(p, 'asInt', 'as_int');
  if (i !== undefined && i !== null) {
    const v = toInt(i);
    if (v === undefined) throw new PointError('invalid_value', 'asInt is not an integer');
    return v;
  }
  throw new PointError('invalid_value', 'data point has neither asDouble nor asInt');
}

function histogramPoint(p: Json, startMs: number, timeMs: number): HistogramPoint {
  return {
    startMs,
    timeMs,
    count: uintField(p, 'count', 'count', 'invalid_histogram'),
    sum: doubleField(p, 'sum', 'sum', 0, 'invalid_histogram'),
    min: doubleField(p, 'min', 'min', NaN, 'invalid_histogram'),
    max: doubleField(p, 'max', 'max', NaN, 'invalid_histogram'),
    bounds: numberList(pick(p, 'explicitBounds', 'explicit_bounds'), asNumber, 'explicitBounds'),
    bucketCounts: numberList(pick(p, 'bucketCounts', 'bucket_counts'), toUint, 'bucketCounts'),
  };
}

function expHistogramPoint(p: Json, startMs: number, timeMs: number): ExpHistogramPoint {
  const scale = p['scale'];
  const scaleValue = scale === undefined || scale === null ? 0 : toInt32(scale);
  if (scaleValue === undefined) throw new PointError('invalid_histogram', 'scale is not an integer');
  return {
    startMs,
    timeMs,
    count: uintField(p, 'count', 'count', 'invalid_histogram'),
    sum: doubleField(p, 'sum', 'sum', 0, 'invalid_histogram'),
    min: doubleField(p, 'min', 'min', NaN, 'invalid_histogram'),
    max: doubleField(p, 'max', 'max', NaN, 'invalid_histogram'),
    scale: scaleValue,
    zeroCount: uintField(p, 'zeroCount', 'zero_count', 'invalid_histogram'),
    zeroThreshold: doubleField(p, 'zeroThreshold', 'zero_threshold', 0, 'invalid_histogram'),
    positive: expBuckets(p['positive'], 'positive'),
    negative: expBuckets(p['negative'], 'negative'),
  };
}

function expBuckets(v: unknown, side: string): ExpBuckets {
  if (v === undefined || v === null) return { offset: 0, counts: [] };
  if (!isObject(v)) throw new PointError('invalid_histogram', `${side} is not an object`);
  const o = v['offset'];
  const offset = o === undefined || o === null ? 0 : toInt32(o);
  if (offset === undefined) throw new PointError('invalid_histogram', `${side}.offset is not an integer`);
  return {
    offset,
    counts: numberList(pick(v, 'bucketCounts', 'bucket_counts'), toUint, `${side}.bucketCounts`),
  };
}

function summaryPoint(p: Json, startMs: number, timeMs: number): SummaryPoint {
  const qv = pick(p, 'quantileValues', 'quantile_values');
  const quantiles: Array<[number, number]> = [];
  if (qv !== undefined && qv !== null) {
    if (!Array.isArray(qv)) throw new PointError('invalid_value', 'quantileValues is not an array');
    for (const q of qv as unknown[]) {
      if (!isObject(q)) throw new PointError('invalid_value', 'quantileValues entry is not an object');
      quantiles.push([
        doubleField(q, 'quantile', 'quantile', 0, 'invalid_value'),
        doubleField(q, 'value', 'value', 0, 'invalid_value'),
      ]);
    }
  }
  return {
    startMs,
    timeMs,
    count: uintField(p, 'count', 'count', 'invalid_value'),
    sum: doubleField(p, 'sum', 'sum', 0, 'invalid_value'),
    quantiles,
  };
}

function uintField(o: Json, camel: string, snake: string, reason: RejectReason): number {
  const v = pick(o, camel, snake);
  if (v === undefined || v === null) return 0;
  const n = toUint(v);
  if (n === undefined) throw new PointError(reason, `${camel} is not an unsigned integer`);
  return n;
}

function doubleField(o: Json, camel: string, snake: string, absent: number, reason: RejectReason): number {
  const v = pick(o, camel, snake);
  if (v === undefined || v === null) return absent;
  const n = asNumber(v);
  if (n === undefined) throw new PointError(reason, `${camel} is not a number`);
  return n;
}

function numberList(v: unknown, parse: (x: unknown) => number | undefined, what: string): number[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new PointError('invalid_histogram', `${what} is not an array`);
  const out: number[] = [];
  for (const x of v as unknown[]) {
    const n = parse(x);
    if (n === undefined) throw new PointError('invalid_histogram', `${what} holds a non-number`);
    out.push(n);
  }
  return out;
}

function isNoRecordedValue(p: Json): boolean {
  const f = p['flags'];
  const flags = f === undefined || f === null ? 0 : toUint(f);
  return flags !== undefined && flags % 2 === 1;
}

function countRecorded(points: unknown[]): number {
  let n = 0;
  for (const p of points) if (!isObject(p) || !isNoRecordedValue(p)) n++;
  return n;
}

/** Every recorded point under a ResourceMetrics, for rejecting them all at once. */
function countResourcePoints(rm: Json): number {
  let n = 0;
  const sms = pick(rm, 'scopeMetrics', 'scope_metrics');
  if (!Array.isArray(sms)) return UNCOUNTABLE;
  for (const sm of sms as unknown[]) {
    const metrics = isObject(sm) ? sm['metrics'] : undefined;
    if (!Array.isArray(metrics)) continue;
    for (const m of metrics as unknown[]) {
      if (!isObject(m)) continue;
      for (const [camel, snake] of DATA_FIELDS) {
        const data = pick(m, camel, snake);
        if (!isObject(data)) continue;
        const points = pick(data, 'dataPoints', 'data_points');
        if (Array.isArray(points)) n += countRecorded(points as unknown[]);
      }
    }
  }
  return Math.max(n, UNCOUNTABLE);
}

function parseTemporality(v: unknown): Temporality | undefined {
  switch (v) {
    case 1:
    case '1':
    case 'AGGREGATION_TEMPORALITY_DELTA':
      return 'delta';
    case 2:
    case '2':
    case 'AGGREGATION_TEMPORALITY_CUMULATIVE':
      return 'cumulative';
    default:
      return undefined;
  }
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

const UINT_TEXT = /^\d+$/;
const INT_TEXT = /^[+-]?\d+$/;
const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/*
 * Integers outside their protobuf type are refused, as Go's protojson (the collector) refuses
 * them: unchecked, 400 decimal digits become Infinity (an infinite timestamp or count) and a
 * JSON number such as 1e300 passes `Number.isInteger`. A JSON number is a double, so its bound
 * is the double nearest the type's limit; decimal strings are checked exactly.
 */
const UINT64_MAX = 2n ** 64n - 1n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** uint64 from a JSON number or decimal string (exact up to 2^53). */
function toUint(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v <= 2 ** 64 ? v : undefined;
  if (typeof v === 'string' && UINT_TEXT.test(v) && (v.length < 20 || BigInt(v) <= UINT64_MAX))
    return Number(v);
  return undefined;
}

/** int64 from a JSON number or decimal string (exact up to 2^53). */
function toInt(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) <= 2 ** 63 ? v : undefined;
  if (typeof v !== 'string' || !INT_TEXT.test(v)) return undefined;
  if (v.length >= 19) {
    const b = BigInt(v);
    if (b < INT64_MIN || b > INT64_MAX) return undefined;
  }
  return Number(v);
}

/** sint32 (an exponential histogram's scale and bucket offsets). */
function toInt32(v: unknown): number | undefined {
  const n = toInt(v);
  return n !== undefined && n >= -(2 ** 31) && n < 2 ** 31 ? n : undefined;
}

/** A double from a JSON number, a numeric string, or "NaN" / "Infinity" / "-Infinity". */
function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return undefined;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return NUMBER_TEXT.test(v) ? Number(v) : undefined;
}

/**
 * Nanoseconds since the epoch as whole milliseconds: the nearest double to the count, / 10^6,
 * floored — exactly what the protobuf decoder computes from the fixed64, so both agree.
 */
function nanosAsMs(v: unknown, what: string): number {
  if (v === undefined || v === null) return 0;
  const ns = toUint(v);
  if (ns === undefined) throw new PointError('invalid_value', `${what} is not an unsigned integer`);
  return Math.floor(ns / 1e6);
}

/** Decode an attribute list (KeyValue[]) into a flat `[k0, v0, k1, v1, ...]` array. */
function decodeAttributes(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new PointError('invalid_value', 'attributes is not an array');
  const out: string[] = [];
  for (const kv of v as unknown[]) {
    if (!isObject(kv)) throw new PointError('invalid_value', 'attribute is not a KeyValue object');
    const key = kv['key'];
    if (typeof key !== 'string') throw new PointError('invalid_value', 'attribute key is not a string');
    const value = anyValueText(kv['value']);
    if (value === undefined)
      throw new PointError('invalid_value', `attribute ${JSON.stringify(key)}: bad value`);
    out.push(key, value);
  }
  return out;
}

/** AnyValue nesting (arrays in arrays...) beyond this is refused rather than recursed into. */
export const MAX_ANY_VALUE_DEPTH = 32;

/**
 * An OTLP/JSON-shaped AnyValue as vigil's attribute text: strings as is, booleans "true"/"false",
 * integers as exact decimals, doubles via String(), bytes as base64, arrays and key-value lists as
 * JSON text, an empty value as "". Undefined when the value is malformed. The protobuf decoder
 * renders nested values through this function too, so both encodings produce the same series.
 */
export function anyValueText(v: unknown): string | undefined {
  if (v === undefined || v === null) return '';
  if (!isObject(v)) return undefined;
  let x = pick(v, 'stringValue', 'string_value');
  if (x !== undefined && x !== null) return typeof x === 'string' ? x : undefined;
  x = pick(v, 'boolValue', 'bool_value');
  if (x !== undefined && x !== null) return typeof x === 'boolean' ? (x ? 'true' : 'false') : undefined;
  x = pick(v, 'intValue', 'int_value');
  if (x !== undefined && x !== null) return int64Text(x);
  x = pick(v, 'doubleValue', 'double_value');
  if (x !== undefined && x !== null) {
    const d = asNumber(x);
    return d === undefined ? undefined : String(d);
  }
  x = pick(v, 'bytesValue', 'bytes_value');
  if (x !== undefined && x !== null) return typeof x === 'string' ? x : undefined;
  const nested = jsonText(v, 0);
  return nested === 'null' ? '' : nested;
}

/** JSON text of an AnyValue inside an array or key-value list. */
function jsonText(v: unknown, depth: number): string | undefined {
  if (v === undefined || v === null) return 'null';
  if (!isObject(v) || depth > MAX_ANY_VALUE_DEPTH) return undefined;
  let x = pick(v, 'stringValue', 'string_value');
  if (x !== undefined && x !== null) return typeof x === 'string' ? JSON.stringify(x) : undefined;
  x = pick(v, 'boolValue', 'bool_value');
  if (x !== undefined && x !== null) return typeof x === 'boolean' ? (x ? 'true' : 'false') : undefined;
  x = pick(v, 'intValue', 'int_value');
  if (x !== undefined && x !== null) return int64Text(x);
  x = pick(v, 'doubleValue', 'double_value');
  if (x !== undefined && x !== null) {
    const d = asNumber(x);
    if (d === undefined) return undefined;
    // JSON has no NaN or Infinity: those travel as strings, as in OTLP/JSON itself.
    return Number.isFinite(d) ? String(d) : JSON.stringify(String(d));
  }
  x = pick(v, 'bytesValue', 'bytes_value');
  if (x !== undefined && x !== null) return typeof x === 'string' ? JSON.stringify(x) : undefined;
  x = pick(v, 'arrayValue', 'array_value');
  if (x !== undefined && x !== null) {
    const values = listOf(x);
    if (values === undefined) return undefined;
    let out = '[';
    for (let i = 0; i < values.length; i++) {
      const t = jsonText(values[i], depth + 1);
      if (t === undefined) return undefined;
      out += (i === 0 ? '' : ',') + t;
    }
    return out + ']';
  }
  x = pick(v, 'kvlistValue', 'kvlist_value');
  if (x !== undefined && x !== null) {
    const values = listOf(x);
    if (values === undefined) return undefined;
    let out = '{';
    for (let i = 0; i < values.length; i++) {
      const kv = values[i];
      if (!isObject(kv) || typeof kv['key'] !== 'string') return undefined;
      const t = jsonText(kv['value'], depth + 1);
      if (t === undefined) return undefined;
      out += (i === 0 ? '' : ',') + JSON.stringify(kv['key']) + ':' + t;
    }
    return out + '}';
  }
  return 'null';
}

function listOf(v: unknown): unknown[] | undefined {
  if (!isObject(v)) return undefined;
  const values = v['values'];
  if (values === undefined || values === null) return [];
  return Array.isArray(values) ? (values as unknown[]) : undefined;
}

/** The exact decimal text of an int64 given as a JSON number or string. */
function int64Text(v: unknown): string | undefined {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return String(v);
    return Number.isInteger(v) ? BigInt(v).toString() : undefined;
  }
  if (typeof v !== 'string' || !INT_TEXT.test(v)) return undefined;
  // Up to 15 digits a double is exact; past that, BigInt keeps every digit.
  if (v.length <= 15) return String(Number(v));
  const b = BigInt(v);
  return BigInt.asIntN(64, b) === b ? b.toString() : undefined;
}
