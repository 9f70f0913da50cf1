import { applyHistogram, applyNumber } from '../store/apply.js';
import type { ResourceEntry } from '../store/resource.js';
import type { Series } from '../store/series.js';
import type { MetricStream, Store } from '../store/store.js';
import type { HistogramPoint } from '../store/types.js';
import type { Invalid } from '../store/validate.js';
import type { IngestTally } from './types.js';

/**
 * An OTel SDK exports the same series in the same order at every interval, and in OTLP/protobuf
 * every time, number value, histogram count, sum, min, max and bucket count is a fixed-width field
 * (fixed64 / double / sfixed64, bucket counts packed). So a request for the same series as an
 * earlier one has the same length and the same bytes everywhere but in those slots. Such a
 * request is known: its structure was validated, its attributes decoded and its series found when
 * it was first seen; now only its values need reading. This is the idea of Prometheus's scrape
 * cache (series found by the bytes of their sample line), for OTLP.
 *
 * A shape is recorded from a request that the full decoder accepted whole (number and histogram
 * points only, no rejection, each point's fields once, no flags) and is used while the store has
 * removed nothing since (`Store.generation`): its series and resources are then still the ones it
 * names. The comparison is exact, so any other change (a new series, another attribute, an
 * exemplar, another bucket layout) takes the full path, and every point is still validated.
 */

/** Slot roles of a point; a number point uses START, TIME and VALUE; BUCKETS may repeat. */
const START = 0;
const TIME = 1;
/** A number's value, a histogram's count. */
const VALUE = 2;
const SUM = 3;
const MIN = 4;
const MAX = 5;
/** A histogram's packed bucket counts: 8 bytes a bucket. */
const BUCKETS = 6;
const ROLES = 7;

const DOUBLE = 0;
const INT = 1;
const HISTOGRAM = 2;
const TWO_POW_32 = 2 ** 32;

interface Shape {
  /** The recorded request with its slots zeroed. */
  readonly bytes: Buffer;
  /** Slot offsets, ascending; with their width (bytes) and role. */
  readonly offsets: Int32Array;
  readonly widths: Int32Array;
  readonly roles: Uint8Array;
  /**
   * Per point: its first slot; one more entry at the end. A point's slots follow each other (a
   * point is one message on the wire), in the order of the points.
   */
  readonly firstSlot: Int32Array;
  /** Per point: DOUBLE, INT or HISTOGRAM. */
  readonly kinds: Uint8Array;
  /** Per histogram point: its explicit bounds, as the full decoder read them. */
  readonly bounds: ReadonlyArray<readonly number[] | undefined>;
  /**
   * Per histogram point: the point object this shape last gave its series. While the series
   * still holds it, nothing else has it (see {@link KnownRequests.histogram}) and it is
   * rewritten in place.
   */
  readonly given: Array<HistogramPoint | undefined>;
  readonly streams: readonly MetricStream[];
  readonly series: readonly Series[];
  readonly resources: readonly ResourceEntry[];
  readonly generation: number;
}

/** What the full decoder reports while it decodes a request, to record its shape. */
export class ShapeRecorder {
  failed = false;
  /** Flat (offset, width, point × ROLES + role) triples. */
  readonly slots: number[] = [];
  readonly kinds: number[] = [];
  readonly bounds: Array<readonly number[] | undefined> = [];
  readonly streams: MetricStream[] = [];
  readonly series: Series[] = [];
  readonly resources: ResourceEntry[] = [];

  /** A number point: `at` holds the START, TIME and VALUE offsets (-1: absent). */
  number(at: readonly number[], isInt: boolean, stream: MetricStream, s: Series): void {
    this.add(at, isInt ? INT : DOUBLE, undefined, stream, s);
  }

  /**
   * A histogram point: `at` holds an offset per scalar role (START to MAX; -1: absent) and
   * `buckets` the (offset, width) of each run of bucket counts, packed or not, in wire order.
   */
  histogram(
    at: readonly number[],
    buckets: readonly number[],
    bounds: readonly number[] | undefined,
    stream: MetricStream,
    s: Series,
  ): void {
    const point = this.add(at, HISTOGRAM, bounds, stream, s);
    for (let i = 0; i < buckets.length; i += 2)
      this.slots.push(buckets[i]!, buckets[i + 1]!, point * ROLES + BUCKETS);
  }

  resource(entry: ResourceEntry): void {
    if (!this.resources.includes(entry)) this.resources.push(entry);
  }

  private add(
    at: readonly number[],
    kind: number,
    bounds: readonly number[] | undefined,
    stream: MetricStream,
    s: Series,
  ): number {
    const point = this.kinds.length;
    for (let r = 0; r < at.length; r++) if (at[r]! >= 0) this.slots.push(at[r]!, 8, point * ROLES + r);
    this.kinds.push(kind);
    this.bounds.push(bounds);
    this.streams.push(stream);
    this.series.push(s);
    return point;
  }
}

export class KnownRequests {
  /** By request length: the shapes of that length, most recent first. */
  private readonly byLength = new Map<number, Shape[]>();
  /** All shapes, oldest first, for eviction. */
  private readonly order: Shape[] = [];
  /** Scratch: a histogram point's fields, by role. */
  private readonly fields = new Float64Array(BUCKETS);
  /** Scratch: a histogram point's bucket counts. */
  private counts = new Float64Array(16);
  /** Scratch: a copy of the request being compared, its slots zeroed. */
  private scratch = new Uint8Array(0);
  private scratchView = new DataView(this.scratch.buffer);

  constructor(private readonly maxShapes = 64) {}

  get size(): number {
    return this.order.length;
  }

  /**
   * Applies `bytes` through a known shape: true when one matched (every point applied or rejected
   * into `tally` as the full decoder would); false when the full decoder must run.
   */
  apply(bytes: Uint8Array, store: Store, nowMs: number, tally: IngestTally): boolean {
    const candidates = this.byLength.get(bytes.length);
    if (candidates === undefined) return false;
    const buf = asBuffer(bytes);
    // Shapes of one length usually share their slot layout (an SDK's requests differ in their
    // attributes, not their structure): the request is zeroed once per layout, and each further
    // candidate costs one memcmp, which stops at the first differing byte.
    let zeroedFor: Int32Array | undefined;
    for (const shape of candidates) {
      if (shape.generation !== store.generation) continue;
      if (shape.offsets !== zeroedFor) {
        this.zeroSlots(shape, buf);
        zeroedFor = shape.offsets;
      }
      if (!shape.bytes.equals(this.scratch.subarray(0, buf.length))) continue;
      this.applyValues(shape, new DataView(buf.buffer, buf.byteOffset, buf.byteLength), nowMs, tally);
      return true;
    }
    return false;
  }

  /** Keeps the shape of a request the full decoder has just accepted whole. */
  record(buf: Uint8Array, rec: ShapeRecorder, store: Store): void {
    const points = rec.kinds.length;
    if (rec.failed || points === 0) return;
    const slots: Array<[offset: number, width: number, slot: number]> = [];
    for (let i = 0; i < rec.slots.length; i += 3)
      slots.push([rec.slots[i]!, rec.slots[i + 1]!, rec.slots[i + 2]!]);
    slots.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < slots.length; i++) if (slots[i]![0] < slots[i - 1]![0] + slots[i - 1]![1]) return;
    // A copy (the shape outlives the request, whose buffer is not vigil's to keep), slots zeroed.
    const bytes = Buffer.from(buf);
    for (const [at, width] of slots) bytes.fill(0, at, at + width);
    let offsets: Int32Array = Int32Array.from(slots, (s) => s[0]);
    let widths: Int32Array = Int32Array.from(slots, (s) => s[1]);
    // One layout object for shapes of equal layout: `apply` zeroes a request once per layout.
    const same = this.byLength
      .get(buf.length)
      ?.find((o) => equalInts(o.offsets, offsets) && equalInts(o.widths, widths));
    if (same !== undefined) ({ offsets, widths } = same);
    // Each point's first slot (`p`: the next point not yet seen).
    const firstSlot = new Int32Array(points + 1);
    let p = 0;
    for (let i = 0; i < slots.length; i++) {
      const point = Math.floor(slots[i]![2] / ROLES);
      if (point < p - 1) return; // not one point after the other: never seen, but not assumed
      while (p <= point) firstSlot[p++] = i;
    }
    while (p <= points) firstSlot[p++] = slots.length;
    const shape: Shape = {
      bytes,
      offsets,
      widths,
      roles: Uint8Array.from(slots, (s) => s[2] % ROLES),
      firstSlot,
      kinds: Uint8Array.from(rec.kinds),
      bounds: rec.bounds,
      given: new Array<HistogramPoint | undefined>(points).fill(undefined),
      streams: rec.streams,
      series: rec.series,
      resources: rec.resources,
      generation: store.generation,
    };
    let list = this.byLength.get(buf.length);
    if (list === undefined) this.byLength.set(buf.length, (list = []));
    list.unshift(shape);
    this.order.push(shape);
    if (this.order.length > this.maxShapes) {
      const old = this.order.shift()!;
      const same = this.byLength.get(old.bytes.length)!;
      same.splice(same.indexOf(old), 1);
      if (same.length === 0) this.byLength.delete(old.bytes.length);
    }
  }

  /**
   * Copies `buf` to `scratch` with the shape's slots zeroed, as they are in the shape; then one
   * memcmp of the whole request decides (a native call per run of bytes between slots cost more
   * than the comparing). The copy (one memcpy) costs less than zeroing the request in place and
   * putting its bytes back (twice the writes); the values are then read from `buf` itself.
   */
  private zeroSlots(shape: Shape, buf: Buffer): void {
    const { offsets, widths } = shape;
    const length = buf.length;
    if (this.scratch.length < length) {
      this.scratch = new Uint8Array(Math.max(length, this.scratch.length * 2));
      this.scratchView = new DataView(this.scratch.buffer);
    }
    const view = this.scratchView;
    this.scratch.set(buf);
    for (let i = 0; i < offsets.length; i++) {
      const end = offsets[i]! + widths[i]!;
      // Every slot is whole 8-byte words (fixed64, double, sfixed64, packed fixed64 counts).
      for (let at = offsets[i]!; at < end; at += 8) view.setFloat64(at, 0);
    }
  }

  /**
   * Reads the slots of `bytes` (the request, matched to `shape`) and applies its points, one
   * point at a time: its fields in locals, its bucket counts in a scratch array.
   */
  private applyValues(shape: Shape, bytes: DataView, nowMs: number, tally: IngestTally): void {
    const { offsets, widths, roles, firstSlot, kinds, streams, series } = shape;
    const points = kinds.length;
    // An SDK's export gives every point the same start time and the same time: the last
    // conversion of each is kept (a division per point was a tenth of this path's time).
    let startLo = -1;
    let startHi = -1;
    let startMs = 0;
    let timeLo = -1;
    let timeHi = -1;
    let timeMs = 0;
    for (let p = 0; p < points; p++) {
      const kind = kinds[p]!;
      // Absent fields read as the full decoder's defaults: 0, and NaN for a histogram's min, max.
      let start = 0;
      let time = 0;
      let value = 0;
      let sum = 0;
      let min = NaN;
      let max = NaN;
      let buckets = 0;
      for (let i = firstSlot[p]!, end = firstSlot[p + 1]!; i < end; i++) {
        const role = roles[i]!;
        let o = offsets[i]!;
        if (role === BUCKETS) {
          // Runs in wire order, as the full decoder appends them (packed or not).
          const counts = this.countsFor(buckets + widths[i]! / 8);
          for (const e = o + widths[i]!; o < e; o += 8)
            counts[buckets++] = bytes.getUint32(o + 4, true) * TWO_POW_32 + bytes.getUint32(o, true);
          continue;
        }
        const lo = bytes.getUint32(o, true);
        const hi = bytes.getUint32(o + 4, true);
        // fixed64 nanoseconds as whole milliseconds, exactly as ProtoReader.nanosAsMs.
        if (role === START) {
          if (lo !== startLo || hi !== startHi) {
            startLo = lo;
            startHi = hi;
            startMs = Math.floor((hi * TWO_POW_32 + lo) / 1e6);
          }
          start = startMs;
        } else if (role === TIME) {
          if (lo !== timeLo || hi !== timeHi) {
            timeLo = lo;
            timeHi = hi;
            timeMs = Math.floor((hi * TWO_POW_32 + lo) / 1e6);
          }
          time = timeMs;
        } else if (role === VALUE && kind === INT) {
          value = (hi | 0) * TWO_POW_32 + lo; // sfixed64, as ProtoReader.sfixed64
        } else if (role === VALUE && kind === HISTOGRAM) {
          value = hi * TWO_POW_32 + lo; // fixed64 count
        } else {
          F64_BITS[0] = lo;
          F64_BITS[1] = hi;
          const double = F64[0]!;
          if (role === VALUE) value = double;
          else if (role === SUM) sum = double;
          else if (role === MIN) min = double;
          else max = double;
        }
      }
      const stream = streams[p]!;
      let bad: Invalid | null;
      if (kind === HISTOGRAM) {
        // Through a scratch array: passed as arguments to a call V8 does not inline, the doubles
        // would be boxed, a heap number each.
        const f = this.fields;
        f[START] = start;
        f[TIME] = time;
        f[VALUE] = value;
        f[SUM] = sum;
        f[MIN] = min;
        f[MAX] = max;
        bad = this.histogram(shape, p, stream, series[p]!, buckets, nowMs);
      } else {
        bad = applyNumber(stream, series[p]!, start, time, value, nowMs);
      }
      if (bad !== null) tally.reject(bad.reason, stream.desc.name + ': ' + bad.message);
      else tally.accepted++;
    }
    for (const r of shape.resources) r.updatedMs = nowMs;
  }

  private countsFor(length: number): Float64Array {
    if (this.counts.length < length) this.counts = new Float64Array(Math.max(length, 2 * this.counts.length));
    return this.counts;
  }

  /**
   * Histogram point `p` of a known request: its fields in `fields`, its `buckets` bucket counts in
   * `counts`. A new point object per point was most of this path's cost (an object, six boxed
   * doubles and a counts array per point, each living until the next export replaces it, so
   * copied by the scavenger): while the series still holds the point this shape gave it last
   * time, and the stream is cumulative, the point is rewritten in place. Nothing else keeps a
   * store's point past a synchronous read (the signal windows copy what they keep; the OTLP delta
   * converter keeps a copy), and no other ingest path writes into a point. The outcome is
   * applyHistogram's for a valid point — the bounds and the bucket layout are the recorded
   * request's, which the full decoder accepted, and a uint64 count cannot be negative; anything
   * else (a non-finite sum, counts that do not add up, a delta stream) takes applyHistogram.
   */
  private histogram(
    shape: Shape,
    p: number,
    stream: MetricStream,
    s: Series,
    buckets: number,
    nowMs: number,
  ): Invalid | null {
    const f = this.fields;
    const counts = this.counts;
    const prev = s.point as HistogramPoint | undefined;
    if (prev !== undefined && prev === shape.given[p] && stream.desc.temporality !== 'delta') {
      let total = 0;
      for (let i = 0; i < buckets; i++) total += counts[i]!;
      if (Number.isFinite(f[SUM]!) && (buckets === 0 || total === f[VALUE]!)) {
        if (f[TIME]! >= prev.timeMs) {
          prev.startMs = f[START]!;
          prev.timeMs = f[TIME]!;
          prev.count = f[VALUE]!;
          prev.sum = f[SUM]!;
          prev.min = f[MIN]!;
          prev.max = f[MAX]!;
          const bucketCounts = prev.bucketCounts as number[];
          for (let i = 0; i < buckets; i++) bucketCounts[i] = counts[i]!;
        }
        s.updatedMs = nowMs;
        s.filled = true;
        return null;
      }
    }
    const bucketCounts = new Array<number>(buckets);
    for (let i = 0; i < buckets; i++) bucketCounts[i] = counts[i]!;
    const point: HistogramPoint = {
      startMs: f[START]!,
      timeMs: f[TIME]!,
      count: f[VALUE]!,
      sum: f[SUM]!,
      min: f[MIN]!,
      max: f[MAX]!,
      bounds: shape.bounds[p] ?? NO_BOUNDS,
      bucketCounts,
    };
    const bad = applyHistogram(stream, s, point, nowMs);
    // The series holds this very object only if applyHistogram kept it (a cumulative point, not
    // older than the last); a delta stream's merged point is applyHistogram's own.
    shape.given[p] = s.point === point ? point : undefined;
    return bad;
  }
}

const NO_BOUNDS: readonly number[] = Object.freeze([]);

/** A double's bytes as two uint32 (little-endian, as on the wire). */
const F64 = new Float64Array(1);
const F64_BITS = new Uint32Array(F64.buffer);

function equalInts(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
