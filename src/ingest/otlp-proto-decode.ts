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
import { anyValueText } from './otlp-json-decode.js';
import { ProtoReader, WIRE_LEN, WireError, wireError, zigzag32 } from './protobuf-reader.js';
import { KnownRequests, ShapeRecorder } from './otlp-known-requests.js';
import { DecodeError, type IngestTally, reasonText, rejectionText } from './types.js';

/**
 * vigil's own OTLP/protobuf metrics decoder: an ExportMetricsServiceRequest straight into the
 * store, with no intermediate message objects.
 *
 * Two passes. The first checks the structure of the whole message tree (keys, wire types,
 * lengths, varints, packed arrays) without decoding any value, so a malformed body throws
 * DecodeError before the store is touched. The second decodes and applies. On the hot path a
 * point's attributes are not decoded at all: their raw bytes, as a latin1 string, are looked up
 * in the stream's alias map; only a miss decodes them.
 *
 * Field numbers and wire types are from open-telemetry/opentelemetry-proto
 * (metrics/v1/metrics.proto, common/v1/common.proto, resource/v1/resource.proto,
 * collector/metrics/v1/metrics_service.proto). A known field arriving with another wire type is
 * skipped as an unknown field, as the reference implementations do.
 */
export function decodeOtlpProto(
  buf: Uint8Array,
  store: Store,
  nowMs: number,
  tally: IngestTally,
  known?: KnownRequests,
): void {
  if (known?.apply(buf, store, nowMs, tally) === true) return;
  const r = new ProtoReader(buf);
  validateMessage(r, REQUEST, r.length);
  const rec = known !== undefined ? new ShapeRecorder() : undefined;
  new ProtoDecoder(r, store, nowMs, tally, rec).request();
  if (rec !== undefined && known !== undefined && tally.rejected === 0) known.record(buf, rec, store);
}

/** The structural pass alone (exported for benchmarks and tests); throws DecodeError. */
export function validateOtlpProto(buf: Uint8Array): void {
  validateMessage(new ProtoReader(buf), REQUEST, buf.length);
}

// ---------------------------------------------------------------------------------------------
// Structural validation, driven by a table of the length-delimited fields of each message type.

/** Packed repeated fixed64 / double: the payload is a whole number of 8-byte values. */
const PACKED_I64 = -1;
/** Packed repeated varint: the payload is a run of complete varints. */
const PACKED_VARINT = -2;

interface MessageRule {
  readonly name: string;
  /** By field number: the message type of a length-delimited field, or a PACKED_* code. */
  readonly len: ReadonlyArray<number | undefined>;
}

function rule(name: string, len: Record<number, number>): MessageRule {
  const byField: Array<number | undefined> = [];
  for (const [field, child] of Object.entries(len)) byField[Number(field)] = child;
  return { name, len: byField };
}

const REQUEST = 0;
const RULES: readonly MessageRule[] = [
  /* 0 */ rule('ExportMetricsServiceRequest', { 1: 1 }),
  /* 1 */ rule('ResourceMetrics', { 1: 2, 2: 3 }),
  /* 2 */ rule('Resource', { 1: 18 }),
  /* 3 */ rule('ScopeMetrics', { 1: 4, 2: 5 }),
  /* 4 */ rule('InstrumentationScope', { 3: 18 }),
  /* 5 */ rule('Metric', { 5: 6, 7: 7, 9: 8, 10: 9, 11: 10, 12: 18 }),
  /* 6 */ rule('Gauge', { 1: 11 }),
  /* 7 */ rule('Sum', { 1: 11 }),
  /* 8 */ rule('Histogram', { 1: 12 }),
  /* 9 */ rule('ExponentialHistogram', { 1: 13 }),
  /* 10 */ rule('Summary', { 1: 15 }),
  /* 11 */ rule('NumberDataPoint', { 5: 17, 7: 18 }),
  /* 12 */ rule('HistogramDataPoint', { 6: PACKED_I64, 7: PACKED_I64, 8: 17, 9: 18 }),
  /* 13 */ rule('ExponentialHistogramDataPoint', { 1: 18, 8: 14, 9: 14, 11: 17 }),
  /* 14 */ rule('ExponentialHistogramDataPoint.Buckets', { 2: PACKED_VARINT }),
  /* 15 */ rule('SummaryDataPoint', { 6: 16, 7: 18 }),
  /* 16 */ rule('SummaryDataPoint.ValueAtQuantile', {}),
  /* 17 */ rule('Exemplar', { 7: 18 }),
  /* 18 */ rule('KeyValue', { 2: 19 }),
  /* 19 */ rule('AnyValue', { 5: 20, 6: 21 }),
  /* 20 */ rule('ArrayValue', { 1: 19 }),
  /* 21 */ rule('KeyValueList', { 1: 18 }),
];

/**
 * Messages nested deeper than this are refused (only AnyValue arrays / lists can nest without
 * bound). 64 levels keep any accepted attribute within MAX_ANY_VALUE_DEPTH array levels.
 */
const MAX_MESSAGE_DEPTH = 64;

/**
 * The message types being validated, outermost first, and the depth of the innermost: kept
 * outside the recursion (validation is synchronous) so that an error can say where it happened
 * without a try/catch in every frame.
 */
const typeStack: number[] = [];
let innermost = 0;

function validateMessage(r: ProtoReader, type: number, end: number): void {
  try {
    validateFields(r, type, end, 0);
  } catch (e) {
    if (!(e instanceof WireError)) throw e;
    const path = typeStack.slice(0, innermost + 1).map((t) => RULES[t]!.name);
    throw new DecodeError(`malformed OTLP protobuf: ${e.detail} (in ${path.join(' > ')})`);
  }
}

function validateFields(r: ProtoReader, type: number, end: number, depth: number): void {
  typeStack[depth] = type;
  innermost = depth;
  if (depth > MAX_MESSAGE_DEPTH) throw wireError(`messages nested more than ${MAX_MESSAGE_DEPTH} deep`);
  const len = RULES[type]!.len;
  while (r.pos < end) {
    const tag = r.tag(end);
    if ((tag & 7) !== WIRE_LEN) {
      r.skip(tag & 7, end);
      continue;
    }
    const child = len[tag >>> 3];
    const e = r.len(end);
    if (child === undefined) {
      r.pos = e;
    } else if (child >= 0) {
      validateFields(r, child, e, depth + 1);
      innermost = depth;
    } else if (child === PACKED_I64) {
      if ((e - r.pos) % 8 !== 0)
        throw wireError(
          `packed field ${tag >>> 3} of ${e - r.pos} bytes is not a whole number of 8-byte values`,
        );
      r.pos = e;
    } else {
      while (r.pos < e) r.skipVarint(e);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding. Tags below are full keys, (field << 3) | wire type, named by message and field.

const T_REQUEST_RESOURCE_METRICS = 0x0a; // 1 LEN
const T_RM_RESOURCE = 0x0a; // 1 LEN
const T_RM_SCOPE_METRICS = 0x12; // 2 LEN
const T_RESOURCE_ATTRIBUTES = 0x0a; // 1 LEN
const T_SM_SCOPE = 0x0a; // 1 LEN
const T_SM_METRICS = 0x12; // 2 LEN
const T_SCOPE_NAME = 0x0a; // 1 LEN
const T_SCOPE_VERSION = 0x12; // 2 LEN
const T_METRIC_NAME = 0x0a; // 1 LEN
const T_METRIC_DESCRIPTION = 0x12; // 2 LEN
const T_METRIC_UNIT = 0x1a; // 3 LEN
const T_METRIC_GAUGE = 0x2a; // 5 LEN
const T_METRIC_SUM = 0x3a; // 7 LEN
const T_METRIC_HISTOGRAM = 0x4a; // 9 LEN
const T_METRIC_EXP_HISTOGRAM = 0x52; // 10 LEN
const T_METRIC_SUMMARY = 0x5a; // 11 LEN
const T_DATA_POINTS = 0x0a; // 1 LEN, in Gauge, Sum, Histogram, ExponentialHistogram, Summary
const T_DATA_TEMPORALITY = 0x10; // 2 VARINT
const T_SUM_MONOTONIC = 0x18; // 3 VARINT
const T_START = 0x11; // 2 I64, in every data point
const T_TIME = 0x19; // 3 I64, in every data point
const T_NUM_AS_DOUBLE = 0x21; // 4 I64
const T_NUM_AS_INT = 0x31; // 6 I64 (sfixed64)
const T_NUM_ATTRIBUTES = 0x3a; // 7 LEN
const T_NUM_FLAGS = 0x40; // 8 VARINT
const T_HIST_COUNT = 0x21; // 4 I64, also ExponentialHistogram and Summary points
const T_HIST_SUM = 0x29; // 5 I64, also ExponentialHistogram and Summary points
const T_HIST_BUCKET_COUNTS_PACKED = 0x32; // 6 LEN
const T_HIST_BUCKET_COUNTS = 0x31; // 6 I64 (unpacked)
const T_HIST_BOUNDS_PACKED = 0x3a; // 7 LEN
const T_HIST_BOUNDS = 0x39; // 7 I64 (unpacked)
const T_HIST_ATTRIBUTES = 0x4a; // 9 LEN
const T_HIST_FLAGS = 0x50; // 10 VARINT
const T_HIST_MIN = 0x59; // 11 I64
const T_HIST_MAX = 0x61; // 12 I64
const T_EXP_ATTRIBUTES = 0x0a; // 1 LEN
const T_EXP_SCALE = 0x30; // 6 VARINT (sint32)
const T_EXP_ZERO_COUNT = 0x39; // 7 I64
const T_EXP_POSITIVE = 0x42; // 8 LEN
const T_EXP_NEGATIVE = 0x4a; // 9 LEN
const T_EXP_FLAGS = 0x50; // 10 VARINT
const T_EXP_MIN = 0x61; // 12 I64
const T_EXP_MAX = 0x69; // 13 I64
const T_EXP_ZERO_THRESHOLD = 0x71; // 14 I64
const T_BUCKETS_OFFSET = 0x08; // 1 VARINT (sint32)
const T_BUCKETS_COUNTS_PACKED = 0x12; // 2 LEN
const T_BUCKETS_COUNTS = 0x10; // 2 VARINT (unpacked)
const T_SUMMARY_QUANTILES = 0x32; // 6 LEN
const T_SUMMARY_ATTRIBUTES = 0x3a; // 7 LEN
const T_SUMMARY_FLAGS = 0x40; // 8 VARINT
const T_QUANTILE = 0x09; // 1 I64
const T_QUANTILE_VALUE = 0x11; // 2 I64
const T_KV_KEY = 0x0a; // 1 LEN
const T_KV_VALUE = 0x12; // 2 LEN
const T_ANY_STRING = 0x0a; // 1 LEN
const T_ANY_BOOL = 0x10; // 2 VARINT
const T_ANY_INT = 0x18; // 3 VARINT
const T_ANY_DOUBLE = 0x21; // 4 I64
const T_ANY_ARRAY = 0x2a; // 5 LEN
const T_ANY_KVLIST = 0x32; // 6 LEN
const T_ANY_BYTES = 0x3a; // 7 LEN
const T_LIST_VALUES = 0x0a; // 1 LEN, in ArrayValue and KeyValueList

/** DataPointFlags.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK: a staleness marker, not a value. */
const NO_RECORDED_VALUE = 1;

/** The explicit_bounds of every histogram point that has none: one frozen array, not one each. */
const NO_BOUNDS: readonly number[] = Object.freeze([]);

const KIND_NAMES: Record<MetricKind, string> = {
  sum: 'Sum',
  gauge: 'Gauge',
  histogram: 'Histogram',
  exponential_histogram: 'ExponentialHistogram',
  summary: 'Summary',
};

/** JSON-shaped AnyValue, built only for nested (array / kvlist) attribute values. */
type AnyValueJson = Record<string, unknown>;

/** One request's decoding state; everything is read by position in the validated body. */
class ProtoDecoder {
  private resourceAttrs: string[] = [];
  private resourceEntry: ResourceEntry | undefined;
  /** The last packed explicit_bounds decoded (bytes and array), shared by later equal points. */
  private boundsAt = -1;
  private boundsLen = 0;
  private bounds: number[] = [];

  constructor(
    private readonly r: ProtoReader,
    private readonly store: Store,
    private readonly nowMs: number,
    private readonly tally: IngestTally,
    /** Set when the request's shape may be kept (see otlp-known-requests.ts). */
    private readonly rec?: ShapeRecorder,
  ) {}

  request(): void {
    const r = this.r;
    const end = r.length;
    r.pos = 0;
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag !== T_REQUEST_RESOURCE_METRICS) {
        r.skip(tag & 7, end);
        continue;
      }
      const e = r.len(end);
      this.resourceMetrics(r.pos, e);
      r.pos = e;
    }
  }

  private resourceMetrics(start: number, end: number): void {
    const r = this.r;
    // The resource may follow the scope metrics on the wire: read it first.
    const attrs: string[] = [];
    r.pos = start;
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag !== T_RM_RESOURCE) {
        r.skip(tag & 7, end);
        continue;
      }
      const e = r.len(end);
      this.attributes(r.pos, e, T_RESOURCE_ATTRIBUTES, attrs);
      r.pos = e;
    }
    this.resourceAttrs = attrs;
    // Created on the first metric with points, so a request without any leaves no entry behind.
    this.resourceEntry = undefined;
    r.pos = start;
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag !== T_RM_SCOPE_METRICS) {
        r.skip(tag & 7, end);
        continue;
      }
      const e = r.len(end);
      this.scopeMetrics(r.pos, e);
      r.pos = e;
    }
  }

  /**
   * The shared bounds array is about to grow past the packed run it was registered under (a
   * sender may split a repeated field into several runs, packed or not): its bytes no longer
   * describe it, so no later point may take it for that run alone.
   */
  private forgetBounds(): void {
    this.boundsAt = -1;
    this.boundsLen = -1;
  }

  private resource(): ResourceEntry {
    if (this.resourceEntry === undefined) {
      this.resourceEntry = this.store.resource(this.resourceAttrs);
      this.rec?.resource(this.resourceEntry);
    }
    return this.resourceEntry;
  }

  private scopeMetrics(start: number, end: number): void {
    const r = this.r;
    let name = '';
    let version = '';
    r.pos = start;
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag !== T_SM_SCOPE) {
        r.skip(tag & 7, end);
        continue;
      }
      const e = r.len(end);
      while (r.pos < e) {
        const t = r.tag(e);
        if (t === T_SCOPE_NAME || t === T_SCOPE_VERSION) {
          const se = r.len(e);
          if (t === T_SCOPE_NAME) name = r.utf8(r.pos, se);
          else version = r.utf8(r.pos, se);
          r.pos = se;
        } else {
          r.skip(t & 7, e);
        }
      }
    }
    const scope: ScopeInfo = { name, version };
    r.pos = start;
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag !== T_SM_METRICS) {
        r.skip(tag & 7, end);
        continue;
      }
      const e = r.len(end);
      this.metric(r.pos, e, scope);
      r.pos = e;
    }
  }

  private metric(start: number, end: number, scope: ScopeInfo): void {
    const r = this.r;
    let name = '';
    let description = '';
    let unit = '';
    let kind: MetricKind | undefined;
    let dataStart = 0;
    let dataEnd = 0;
    r.pos = start;
    while (r.pos < end) {
      const tag = r.tag(end);
      if ((tag & 7) !== WIRE_LEN) {
        r.skip(tag & 7, end);
        continue;
      }
      const e = r.len(end);
      switch (tag) {
        case T_METRIC_NAME:
          name = r.utf8(r.pos, e);
          break;
        case T_METRIC_DESCRIPTION:
          description = r.utf8(r.pos, e);
          break;
        case T_METRIC_UNIT:
          unit = r.utf8(r.pos, e);
          break;
        // The last data field wins, as for any oneof.
        case T_METRIC_GAUGE:
          kind = 'gauge';
          dataStart = r.pos;
          dataEnd = e;
          break;
        case T_METRIC_SUM:
          kind = 'sum';
          dataStart = r.pos;
          dataEnd = e;
          break;
        case T_METRIC_HISTOGRAM:
          kind = 'histogram';
          dataStart = r.pos;
          dataEnd = e;
          break;
        case T_METRIC_EXP_HISTOGRAM:
          kind = 'exponential_histogram';
          dataStart = r.pos;
          dataEnd = e;
          break;
        case T_METRIC_SUMMARY:
          kind = 'summary';
          dataStart = r.pos;
          dataEnd = e;
          break;
      }
      r.pos = e;
    }
    // No data (or a data type vigil does not know): nothing to store, nothing to count.
    if (kind === undefined) return;

    // Sum's temporality and monotonicity follow its data points on the wire: scan for them first.
    let points = 0;
    let temporalityCode = 0;
    let monotonic = false;
    r.pos = dataStart;
    while (r.pos < dataEnd) {
      const tag = r.tag(dataEnd);
      if (tag === T_DATA_POINTS) {
        points++;
        r.pos = r.len(dataEnd);
      } else if (tag === T_DATA_TEMPORALITY) {
        temporalityCode = r.uint32(dataEnd);
      } else if (tag === T_SUM_MONOTONIC) {
        monotonic = r.uint64(dataEnd) !== 0;
      } else {
        r.skip(tag & 7, dataEnd);
      }
    }
    if (points === 0) return;

    let temporality: Temporality = 'cumulative';
    if (kind === 'sum' || kind === 'histogram' || kind === 'exponential_histogram') {
      if (temporalityCode !== 1 && temporalityCode !== 2) {
        const what =
          temporalityCode === 0
            ? 'AGGREGATION_TEMPORALITY_UNSPECIFIED'
            : `unknown aggregation_temporality ${temporalityCode}`;
        this.tally.reject(
          'unsupported',
          `${name}: ${KIND_NAMES[kind]} with ${what} (DELTA or CUMULATIVE required)`,
          this.countRecorded(kind, dataStart, dataEnd),
        );
        return;
      }
      temporality = temporalityCode === 1 ? 'delta' : 'cumulative';
    }
    const desc: MetricDescriptor = {
      name,
      unit,
      description,
      kind,
      monotonic: kind === 'sum' && monotonic,
      temporality,
    };
    const stream = this.store.stream(this.resource(), scope, desc);
    if (typeof stream === 'string') {
      this.tally.reject(
        stream,
        reasonText(stream) + ' ' + name,
        this.countRecorded(kind, dataStart, dataEnd),
      );
      return;
    }

    if (this.rec !== undefined && kind !== 'sum' && kind !== 'gauge' && kind !== 'histogram')
      this.rec.failed = true;
    r.pos = dataStart;
    let index = 0;
    while (r.pos < dataEnd) {
      const tag = r.tag(dataEnd);
      if (tag !== T_DATA_POINTS) {
        r.skip(tag & 7, dataEnd);
        continue;
      }
      const e = r.len(dataEnd);
      switch (kind) {
        case 'sum':
        case 'gauge':
          this.numberPoint(stream, r.pos, e, index++);
          break;
        case 'histogram':
          this.histogramPoint(stream, r.pos, e, index++);
          break;
        case 'exponential_histogram':
          this.expHistogramPoint(stream, r.pos, e);
          break;
        case 'summary':
          this.summaryPoint(stream, r.pos, e);
          break;
      }
      r.pos = e;
    }
  }

  // -- points -----------------------------------------------------------------------------------

  /** The hot path: no allocation beyond the raw-key string when the series is known. */
  private numberPoint(stream: MetricStream, start: number, end: number, index: number): void {
    const r = this.r;
    let attrStart = -1;
    let attrEnd = -1;
    let split = false;
    let startMs = 0;
    let timeMs = 0;
    let value = 0;
    let hasValue = false;
    let flags = 0;
    // Where the 8-byte payloads are, and how often each field came (for the known-request shape).
    let startAt = -1;
    let timeAt = -1;
    let valueAt = -1;
    let starts = 0;
    let times = 0;
    let values = 0;
    r.pos = start;
    while (r.pos < end) {
      const at = r.pos;
      const tag = r.tag(end);
      switch (tag) {
        case T_NUM_ATTRIBUTES: {
          const e = r.len(end);
          if (attrStart < 0) attrStart = at;
          else if (at !== attrEnd) split = true;
          attrEnd = e;
          r.pos = e;
          break;
        }
        case T_START:
          startAt = r.pos;
          starts++;
          startMs = r.nanosAsMs(end);
          break;
        case T_TIME:
          timeAt = r.pos;
          times++;
          timeMs = r.nanosAsMs(end);
          break;
        case T_NUM_AS_DOUBLE:
          valueAt = r.pos;
          values++;
          value = r.double(end);
          hasValue = true;
          break;
        case T_NUM_AS_INT:
          valueAt = -2 - r.pos;
          values++;
          value = r.sfixed64(end);
          hasValue = true;
          break;
        case T_NUM_FLAGS:
          flags = r.uint32(end);
          break;
        default:
          r.skip(tag & 7, end);
      }
    }
    // Known requests take points whose fields each came at most once, the value once, no flags.
    if (this.rec !== undefined && (flags !== 0 || starts > 1 || times > 1 || values !== 1))
      this.rec.failed = true;
    if ((flags & NO_RECORDED_VALUE) !== 0) return;
    const name = stream.desc.name;
    if (!hasValue) {
      this.tally.reject('invalid_value', `${name}: data point has neither as_double nor as_int`);
      return;
    }
    let s = split ? undefined : this.sameAsLastTime(stream, index, attrStart, attrEnd);
    if (s === undefined) {
      const key = this.rawKey(start, end, T_NUM_ATTRIBUTES, attrStart, attrEnd, split);
      // The check runs only on a miss (`??`): a known series' points are checked when applied.
      s =
        stream.lookup(key) ??
        this.newSeries(stream, key, start, end, T_NUM_ATTRIBUTES, checkNumber(value, stream.desc.monotonic));
      if (s !== undefined) this.remember(stream, index, s, key, split);
    }
    if (s === undefined) return;
    this.applied(name, applyNumber(stream, s, startMs, timeMs, value, this.nowMs));
    if (this.rec !== undefined)
      this.rec.number([startAt, timeAt, valueAt >= 0 ? valueAt : -2 - valueAt], valueAt < -1, stream, s);
  }

  private histogramPoint(stream: MetricStream, start: number, end: number, index: number): void {
    const r = this.r;
    let attrStart = -1;
    let attrEnd = -1;
    let split = false;
    let flags = 0;
    let bounds: number[] | undefined;
    let boundsShared = false;
    const counts: number[] = [];
    // Where the fixed-width payloads are, for the known-request shape; -2 when a field repeats.
    let hStart = -1;
    let hTime = -1;
    let hCount = -1;
    let hSum = -1;
    let hMin = -1;
    let hMax = -1;
    const bucketRuns: number[] = [];
    const p: HistogramPoint = {
      startMs: 0,
      timeMs: 0,
      count: 0,
      sum: 0,
      min: NaN,
      max: NaN,
      bounds: NO_BOUNDS,
      bucketCounts: counts,
    };
    r.pos = start;
    while (r.pos < end) {
      const at = r.pos;
      const tag = r.tag(end);
      switch (tag) {
        case T_HIST_ATTRIBUTES: {
          const e = r.len(end);
          if (attrStart < 0) attrStart = at;
          else if (at !== attrEnd) split = true;
          attrEnd = e;
          r.pos = e;
          break;
        }
        case T_START:
          hStart = hStart === -1 ? r.pos : -2;
          p.startMs = r.nanosAsMs(end);
          break;
        case T_TIME:
          hTime = hTime === -1 ? r.pos : -2;
          p.timeMs = r.nanosAsMs(end);
          break;
        case T_HIST_COUNT:
          hCount = hCount === -1 ? r.pos : -2;
          p.count = r.fixed64(end);
          break;
        case T_HIST_SUM:
          hSum = hSum === -1 ? r.pos : -2;
          p.sum = r.double(end);
          break;
        case T_HIST_MIN:
          hMin = hMin === -1 ? r.pos : -2;
          p.min = r.double(end);
          break;
        case T_HIST_MAX:
          hMax = hMax === -1 ? r.pos : -2;
          p.max = r.double(end);
          break;
        case T_HIST_FLAGS:
          flags = r.uint32(end);
          break;
        case T_HIST_BUCKET_COUNTS_PACKED: {
          const e = r.len(end);
          if (this.rec !== undefined) bucketRuns.push(r.pos, e - r.pos);
          while (r.pos < e) counts.push(r.fixed64(e));
          break;
        }
        case T_HIST_BUCKET_COUNTS:
          if (this.rec !== undefined) bucketRuns.push(r.pos, 8);
          counts.push(r.fixed64(end));
          break;
        case T_HIST_BOUNDS_PACKED: {
          const e = r.len(end);
          const n = e - r.pos;
          if (bounds === undefined && n === this.boundsLen && r.sameBytes(this.boundsAt, r.pos, n)) {
            // Points of one metric almost always share their bounds: share one array too.
            bounds = this.bounds;
            boundsShared = true;
            r.pos = e;
            break;
          }
          if (bounds === undefined) {
            bounds = [];
            this.boundsAt = r.pos;
            this.boundsLen = n;
            this.bounds = bounds;
          } else if (boundsShared) {
            bounds = bounds.slice();
            boundsShared = false;
          } else if (bounds === this.bounds) {
            this.forgetBounds();
          }
          while (r.pos < e) bounds.push(r.double(e));
          break;
        }
        case T_HIST_BOUNDS:
          if (bounds === undefined) bounds = [];
          else if (boundsShared) {
            bounds = bounds.slice();
            boundsShared = false;
          } else if (bounds === this.bounds) {
            this.forgetBounds();
          }
          bounds.push(r.double(end));
          break;
        default:
          r.skip(tag & 7, end);
      }
    }
    if ((flags & NO_RECORDED_VALUE) !== 0) {
      if (this.rec !== undefined) this.rec.failed = true;
      return;
    }
    if (bounds !== undefined) p.bounds = bounds;
    const name = stream.desc.name;
    let s = split ? undefined : this.sameAsLastTime(stream, index, attrStart, attrEnd);
    if (s === undefined) {
      const key = this.rawKey(start, end, T_HIST_ATTRIBUTES, attrStart, attrEnd, split);
      // The check runs only on a miss (`??`): a known series' points are checked when applied.
      s = stream.lookup(key) ?? this.newSeries(stream, key, start, end, T_HIST_ATTRIBUTES, checkHistogram(p));
      if (s !== undefined) this.remember(stream, index, s, key, split);
    }
    if (s === undefined) return;
    this.applied(name, applyHistogram(stream, s, p, this.nowMs));
    if (this.rec !== undefined) {
      const at = [hStart, hTime, hCount, hSum, hMin, hMax];
      if (flags !== 0 || at.includes(-2)) this.rec.failed = true;
      else this.rec.histogram(at, bucketRuns, bounds, stream, s);
    }
  }

  private expHistogramPoint(stream: MetricStream, start: number, end: number): void {
    const r = this.r;
    let attrStart = -1;
    let attrEnd = -1;
    let split = false;
    let flags = 0;
    const p: ExpHistogramPoint = {
      startMs: 0,
      timeMs: 0,
      count: 0,
      sum: 0,
      min: NaN,
      max: NaN,
      scale: 0,
      zeroCount: 0,
      zeroThreshold: 0,
      positive: { offset: 0, counts: [] },
      negative: { offset: 0, counts: [] },
    };
    r.pos = start;
    while (r.pos < end) {
      const at = r.pos;
      const tag = r.tag(end);
      switch (tag) {
        case T_EXP_ATTRIBUTES: {
          const e = r.len(end);
          if (attrStart < 0) attrStart = at;
          else if (at !== attrEnd) split = true;
          attrEnd = e;
          r.pos = e;
          break;
        }
        case T_START:
          p.startMs = r.nanosAsMs(end);
          break;
        case T_TIME:
          p.timeMs = r.nanosAsMs(end);
          break;
        case T_HIST_COUNT:
          p.count = r.fixed64(end);
          break;
        case T_HIST_SUM:
          p.sum = r.double(end);
          break;
        case T_EXP_SCALE:
          p.scale = zigzag32(r.uint32(end));
          break;
        case T_EXP_ZERO_COUNT:
          p.zeroCount = r.fixed64(end);
          break;
        case T_EXP_ZERO_THRESHOLD:
          p.zeroThreshold = r.double(end);
          break;
        case T_EXP_MIN:
          p.min = r.double(end);
          break;
        case T_EXP_MAX:
          p.max = r.double(end);
          break;
        case T_EXP_FLAGS:
          flags = r.uint32(end);
          break;
        case T_EXP_POSITIVE:
        case T_EXP_NEGATIVE: {
          const e = r.len(end);
          this.buckets(r.pos, e, tag === T_EXP_POSITIVE ? p.positive : p.negative);
          r.pos = e;
          break;
        }
        default:
          r.skip(tag & 7, end);
      }
    }
    if ((flags & NO_RECORDED_VALUE) !== 0) return;
    const name = stream.desc.name;
    const key = this.rawKey(start, end, T_EXP_ATTRIBUTES, attrStart, attrEnd, split);
    // The check runs only on a miss (`??`): a known series' points are checked when applied.
    const s =
      stream.lookup(key) ?? this.newSeries(stream, key, start, end, T_EXP_ATTRIBUTES, checkExpHistogram(p));
    if (s !== undefined) this.applied(name, applyExpHistogram(stream, s, p, this.nowMs));
  }

  /** Merge one Buckets message into `into` (a repeated message field merges: counts append). */
  private buckets(start: number, end: number, into: ExpBuckets): void {
    const r = this.r;
    r.pos = start;
    while (r.pos < end) {
      const tag = r.tag(end);
      switch (tag) {
        case T_BUCKETS_OFFSET:
          into.offset = zigzag32(r.uint32(end));
          break;
        case T_BUCKETS_COUNTS_PACKED: {
          const e = r.len(end);
          while (r.pos < e) into.counts.push(r.uint64(e));
          break;
        }
        case T_BUCKETS_COUNTS:
          into.counts.push(r.uint64(end));
          break;
        default:
          r.skip(tag & 7, end);
      }
    }
  }

  private summaryPoint(stream: MetricStream, start: number, end: number): void {
    const r = this.r;
    let attrStart = -1;
    let attrEnd = -1;
    let split = false;
    let flags = 0;
    const p: SummaryPoint = { startMs: 0, timeMs: 0, count: 0, sum: 0, quantiles: [] };
    r.pos = start;
    while (r.pos < end) {
      const at = r.pos;
      const tag = r.tag(end);
      switch (tag) {
        case T_SUMMARY_ATTRIBUTES: {
          const e = r.len(end);
          if (attrStart < 0) attrStart = at;
          else if (at !== attrEnd) split = true;
          attrEnd = e;
          r.pos = e;
          break;
        }
        case T_START:
          p.startMs = r.nanosAsMs(end);
          break;
        case T_TIME:
          p.timeMs = r.nanosAsMs(end);
          break;
        case T_HIST_COUNT:
          p.count = r.fixed64(end);
          break;
        case T_HIST_SUM:
          p.sum = r.double(end);
          break;
        case T_SUMMARY_FLAGS:
          flags = r.uint32(end);
          break;
        case T_SUMMARY_QUANTILES: {
          const e = r.len(end);
          let quantile = 0;
          let value = 0;
          while (r.pos < e) {
            const t = r.tag(e);
            if (t === T_QUANTILE) quantile = r.double(e);
            else if (t === T_QUANTILE_VALUE) value = r.double(e);
            else r.skip(t & 7, e);
          }
          p.quantiles.push([quantile, value]);
          break;
        }
        default:
          r.skip(tag & 7, end);
      }
    }
    if ((flags & NO_RECORDED_VALUE) !== 0) return;
    const name = stream.desc.name;
    const key = this.rawKey(start, end, T_SUMMARY_ATTRIBUTES, attrStart, attrEnd, split);
    // The check runs only on a miss (`??`): a known series' points are checked when applied.
    const s =
      stream.lookup(key) ?? this.newSeries(stream, key, start, end, T_SUMMARY_ATTRIBUTES, checkSummary(p));
    if (s !== undefined) this.applied(name, applySummary(s, p, this.nowMs));
  }

  /**
   * The fastest path. A client exports a metric's series in the same order every time, so the
   * stream remembers which series each point position held last time; if this point's attribute
   * bytes equal that series' raw key, it is the same series: no latin1 string, no hash lookup
   * (together ~20% of decoding, bench B0/B1). Anything else falls through to `lookup`.
   */
  private sameAsLastTime(
    stream: MetricStream,
    index: number,
    attrStart: number,
    attrEnd: number,
  ): Series | undefined {
    const c = stream.recent[index];
    if (c === undefined || attrStart < 0) return undefined;
    const raw = c.rawKey;
    if (raw === undefined || !this.r.equalsLatin1(raw, attrStart, attrEnd)) return undefined;
    // A series the sweep (or a Pushgateway replace) removed must not be written to.
    return stream.series.get(c.key) === c ? c : undefined;
  }

  private remember(stream: MetricStream, index: number, s: Series, rawKey: string, split: boolean): void {
    if (split || rawKey === '') return;
    s.rawKey = rawKey;
    stream.recent[index] = s;
  }

  /** Count the outcome of applying a point. */
  private applied(name: string, bad: Invalid | null): void {
    if (bad !== null) this.invalid(name, bad);
    else this.tally.accepted++;
  }

  private invalid(name: string, bad: Invalid): void {
    this.tally.reject(bad.reason, name + ': ' + bad.message);
  }

  /** Data points that carry a value (staleness markers excluded), for rejecting a whole metric. */
  private countRecorded(kind: MetricKind, start: number, end: number): number {
    const r = this.r;
    const flagsTag =
      kind === 'histogram' ? T_HIST_FLAGS : kind === 'exponential_histogram' ? T_EXP_FLAGS : T_NUM_FLAGS;
    let n = 0;
    r.pos = start;
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag !== T_DATA_POINTS) {
        r.skip(tag & 7, end);
        continue;
      }
      const e = r.len(end);
      let flags = 0;
      while (r.pos < e) {
        const t = r.tag(e);
        if (t === flagsTag) flags = r.uint32(e);
        else r.skip(t & 7, e);
      }
      if ((flags & NO_RECORDED_VALUE) === 0) n++;
    }
    return n;
  }

  // -- attributes -------------------------------------------------------------------------------

  /**
   * The point's attribute fields as raw bytes (key, length and KeyValue of each), latin1: equal
   * bytes mean equal attributes, so no decoding is needed to find a known series.
   */
  private rawKey(
    start: number,
    end: number,
    attrTag: number,
    attrStart: number,
    attrEnd: number,
    split: boolean,
  ): string {
    if (attrStart < 0) return '';
    if (!split) return this.r.latin1(attrStart, attrEnd);
    // Attributes interleaved with other fields: join the pieces (rare; senders write them together).
    const r = this.r;
    const saved = r.pos;
    let key = '';
    r.pos = start;
    while (r.pos < end) {
      const at = r.pos;
      const tag = r.tag(end);
      if (tag === attrTag) {
        const e = r.len(end);
        key += r.latin1(at, e);
        r.pos = e;
      } else {
        r.skip(tag & 7, end);
      }
    }
    r.pos = saved;
    return key;
  }

  /**
   * The slow path for a point whose raw attribute bytes are not known: `bad` is the point's own
   * check, so an invalid point never leaves an empty series behind; otherwise decode the
   * attributes and find or create the series under the limits. Undefined (counted) when refused.
   */
  private newSeries(
    stream: MetricStream,
    rawKey: string,
    start: number,
    end: number,
    attrTag: number,
    bad: Invalid | null,
  ): Series | undefined {
    if (bad !== null) {
      this.invalid(stream.desc.name, bad);
      return undefined;
    }
    const saved = this.r.pos;
    const attrs: string[] = [];
    this.attributes(start, end, attrTag, attrs);
    this.r.pos = saved;
    const s = this.store.series(stream, rawKey, attrs);
    if (typeof s === 'string') {
      this.tally.reject(s, rejectionText(s, this.store, attrs));
      return undefined;
    }
    return s;
  }

  /** Append the KeyValue fields tagged `attrTag` in [start, end) to `out` as `[k, v, ...]`. */
  private attributes(start: number, end: number, attrTag: number, out: string[]): void {
    const r = this.r;
    r.pos = start;
    while (r.pos < end) {
      const tag = r.tag(end);
      if (tag !== attrTag) {
        r.skip(tag & 7, end);
        continue;
      }
      const e = r.len(end);
      let key = '';
      let value = '';
      while (r.pos < e) {
        const t = r.tag(e);
        if (t === T_KV_KEY) {
          const ke = r.len(e);
          key = r.utf8(r.pos, ke);
          r.pos = ke;
        } else if (t === T_KV_VALUE) {
          const ve = r.len(e);
          value = this.anyValue(r.pos, ve);
          r.pos = ve;
        } else {
          r.skip(t & 7, e);
        }
      }
      out.push(key, value);
    }
  }

  /** An AnyValue as attribute text (see `anyValueText` for the rules). */
  private anyValue(start: number, end: number): string {
    const r = this.r;
    let text = '';
    r.pos = start;
    while (r.pos < end) {
      const tag = r.tag(end);
      switch (tag) {
        case T_ANY_STRING: {
          const e = r.len(end);
          text = r.utf8(r.pos, e);
          r.pos = e;
          break;
        }
        case T_ANY_BOOL:
          text = r.uint64(end) !== 0 ? 'true' : 'false';
          break;
        case T_ANY_INT:
          r.varint64(end);
          text = r.int64TextFromParts();
          break;
        case T_ANY_DOUBLE:
          text = String(r.double(end));
          break;
        case T_ANY_BYTES: {
          const e = r.len(end);
          text = r.base64(r.pos, e);
          r.pos = e;
          break;
        }
        case T_ANY_ARRAY:
        case T_ANY_KVLIST: {
          r.pos = start;
          // Validation bounds the nesting below MAX_ANY_VALUE_DEPTH, so rendering cannot fail.
          text = anyValueText(this.anyValueJson(start, end)) ?? '';
          r.pos = end;
          return text;
        }
        default:
          r.skip(tag & 7, end);
      }
    }
    return text;
  }

  /** A nested AnyValue in its OTLP/JSON shape, rendered by the JSON decoder's rules. */
  private anyValueJson(start: number, end: number): AnyValueJson {
    const r = this.r;
    let v: AnyValueJson = {};
    r.pos = start;
    while (r.pos < end) {
      const tag = r.tag(end);
      switch (tag) {
        case T_ANY_STRING: {
          const e = r.len(end);
          v = { stringValue: r.utf8(r.pos, e) };
          r.pos = e;
          break;
        }
        case T_ANY_BOOL:
          v = { boolValue: r.uint64(end) !== 0 };
          break;
        case T_ANY_INT:
          r.varint64(end);
          v = { intValue: r.int64TextFromParts() };
          break;
        case T_ANY_DOUBLE:
          v = { doubleValue: r.double(end) };
          break;
        case T_ANY_BYTES: {
          const e = r.len(end);
          v = { bytesValue: r.base64(r.pos, e) };
          r.pos = e;
          break;
        }
        case T_ANY_ARRAY: {
          const e = r.len(end);
          const values: AnyValueJson[] = [];
          while (r.pos < e) {
            const t = r.tag(e);
            if (t !== T_LIST_VALUES) {
              r.skip(t & 7, e);
              continue;
            }
            const ve = r.len(e);
            values.push(this.anyValueJson(r.pos, ve));
            r.pos = ve;
          }
          v = { arrayValue: { values } };
          break;
        }
        case T_ANY_KVLIST: {
          const e = r.len(end);
          const values: Array<{ key: string; value: AnyValueJson }> = [];
          while (r.pos < e) {
            const t = r.tag(e);
            if (t !== T_LIST_VALUES) {
              r.skip(t & 7, e);
              continue;
            }
            const kvEnd = r.len(e);
            let key = '';
            let value: AnyValueJson = {};
            while (r.pos < kvEnd) {
              const kt = r.tag(kvEnd);
              if (kt === T_KV_KEY) {
                const ke = r.len(kvEnd);
                key = r.utf8(r.pos, ke);
                r.pos = ke;
              } else if (kt === T_KV_VALUE) {
                const ve = r.len(kvEnd);
                value = this.anyValueJson(r.pos, ve);
                r.pos = ve;
              } else {
                r.skip(kt & 7, kvEnd);
              }
            }
            values.push({ key, value });
          }
          v = { kvlistValue: { values } };
          break;
        }
        default:
          r.skip(tag & 7, end);
      }
    }
    return v;
  }
}
