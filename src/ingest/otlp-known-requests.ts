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
/** What a role holds when its field is absent, as the full decoder's defaults. */
const ABSENT = [0, 0, 0, 0, NaN, NaN, 0];

const DOUBLE = 0;
const INT = 1;
const HISTOGRAM = 2;
const TWO_POW_32 = 2 ** 32;

interface Shape {
  /** The recorded request with its slots zeroed. */
  readonly bytes: Buffer;
  /** Slot offsets, ascending; with their width (bytes) and point × ROLES + role. */
  readonly offsets: Int32Array;
  readonly widths: Int32Array;
  readonly slotOf: Int32Array;
  /** Per point: DOUBLE, INT or HISTOGRAM. */
  readonly kinds: Uint8Array;
  /** Per histogram point: its explicit bounds, as the full decoder read them. */
  readonly bounds: ReadonlyArray<readonly number[] | undefined>;
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
  /** Scratch: the slots' bytes as little-endian uint32 pairs, in byte order. */
  private raw = new Uint32Array(0);
  /** Scratch: the decoded values, ROLES per point. */
  private values = new Float64Array(0);
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
      this.applyValues(shape, nowMs, tally);
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
    const shape: Shape = {
      bytes,
      offsets,
      widths,
      slotOf: Int32Array.from(slots, (s) => s[2]),
      kinds: Uint8Array.from(rec.kinds),
      bounds: rec.bounds,
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
   * Copies `buf` to `scratch` with the shape's slots zeroed, as they are in the shape, and their
   * bytes in `raw`; then one memcmp of the whole request decides (a native call per run of bytes
   * between slots cost more than the comparing). The copy (one memcpy) costs less than zeroing
   * the request in place and putting its bytes back (twice the writes), and a DataView over
   * vigil's own ArrayBuffer stays monomorphic.
   */
  private zeroSlots(shape: Shape, buf: Buffer): void {
    const { offsets, widths } = shape;
    const length = buf.length;
    if (this.scratch.length < length) {
      this.scratch = new Uint8Array(Math.max(length, this.scratch.length * 2));
      this.scratchView = new DataView(this.scratch.buffer);
    }
    const words = (length >> 2) + 2;
    if (this.raw.length < words) this.raw = new Uint32Array(words * 2);
    const raw = this.raw;
    const view = this.scratchView;
    this.scratch.set(buf);
    let w = 0;
    for (let i = 0; i < offsets.length; i++) {
      const end = offsets[i]! + widths[i]!;
      // Every slot is whole 8-byte words (fixed64, double, sfixed64, packed fixed64 counts).
      for (let at = offsets[i]!; at < end; at += 8) {
        raw[w++] = view.getUint32(at, true);
        raw[w++] = view.getUint32(at + 4, true);
        view.setFloat64(at, 0);
      }
    }
  }

  private applyValues(shape: Shape, nowMs: number, tally: IngestTally): void {
    const { offsets, widths, slotOf, kinds, streams, series } = shape;
    const raw = this.raw;
    const points = kinds.length;
    // Scratch reused across requests: a fresh one was a large backing store (and GC pressure)
    // per request.
    if (this.values.length < points * ROLES) this.values = new Float64Array(points * ROLES * 2);
    const values = this.values;
    for (let p = 0; p < points; p++) for (let r = 0; r < ROLES; r++) values[p * ROLES + r] = ABSENT[r]!;
    // Only requests with histograms need it (for a number request it was most of its garbage).
    let buckets: Array<number[] | undefined> | undefined;
    let w = 0;
    for (let i = 0; i < offsets.length; i++) {
      const slot = slotOf[i]!;
      const role = slot % ROLES;
      const point = (slot - role) / ROLES;
      if (role === BUCKETS) {
        // Runs in wire order, appended as the full decoder appends them (packed or not).
        buckets ??= new Array<number[] | undefined>(points);
        const counts = (buckets[point] ??= []);
        for (let k = 0; k < widths[i]!; k += 8, w += 2) counts.push(raw[w + 1]! * TWO_POW_32 + raw[w]!);
        continue;
      }
      const lo = raw[w]!;
      const hi = raw[w + 1]!;
      w += 2;
      if (role === START || role === TIME) {
        // fixed64 nanoseconds as whole milliseconds, exactly as ProtoReader.nanosAsMs.
        values[slot] = Math.floor((hi * TWO_POW_32 + lo) / 1e6);
      } else if (role === VALUE && kinds[point] === INT) {
        values[slot] = (hi | 0) * TWO_POW_32 + lo; // sfixed64, as ProtoReader.sfixed64
      } else if (role === VALUE && kinds[point] === HISTOGRAM) {
        values[slot] = hi * TWO_POW_32 + lo; // fixed64 count
      } else {
        F64_BITS[0] = lo;
        F64_BITS[1] = hi;
        values[slot] = F64[0]!;
      }
    }
    for (let p = 0; p < points; p++) {
      const stream = streams[p]!;
      const v = p * ROLES;
      let bad: Invalid | null;
      if (kinds[p] === HISTOGRAM) {
        const point: HistogramPoint = {
          startMs: values[v + START]!,
          timeMs: values[v + TIME]!,
          count: values[v + VALUE]!,
          sum: values[v + SUM]!,
          min: values[v + MIN]!,
          max: values[v + MAX]!,
          bounds: shape.bounds[p] ?? NO_BOUNDS,
          bucketCounts: buckets?.[p] ?? [],
        };
        bad = applyHistogram(stream, series[p]!, point, nowMs);
      } else {
        bad = applyNumber(
          stream,
          series[p]!,
          values[v + START]!,
          values[v + TIME]!,
          values[v + VALUE]!,
          nowMs,
        );
      }
      if (bad !== null) tally.reject(bad.reason, stream.desc.name + ': ' + bad.message);
      else tally.accepted++;
    }
    for (const r of shape.resources) r.updatedMs = nowMs;
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
