import { applyNumber } from '../store/apply.js';
import type { ResourceEntry } from '../store/resource.js';
import type { Series } from '../store/series.js';
import type { MetricStream, Store } from '../store/store.js';
import type { IngestTally } from './types.js';

/**
 * An OTel SDK exports the same series in the same order at every interval, and in OTLP/protobuf
 * every time and number value is a fixed-width field (fixed64 / double / sfixed64). So a request
 * for the same series as an earlier one has the same length and the same bytes everywhere but in
 * those 8-byte slots. Such a request is known: its structure was validated, its attributes decoded
 * and its series found when it was first seen; now only its values need reading. This is the idea
 * of Prometheus's scrape cache (series found by the bytes of their sample line), for OTLP.
 *
 * A shape is recorded from a request that the full decoder accepted whole (number points only, no
 * rejection, each point's fields once, no flags) and is used while the store has removed nothing
 * since (`Store.generation`): its series and resources are then still the ones it names. The
 * comparison is exact, so any other change (a new series, another attribute, an exemplar, a
 * histogram) takes the full path.
 */

/** Times and value of one number point: offsets of their 8-byte payloads (-1: absent). */
const SLOTS_PER_POINT = 3;
const START = 0;
const TIME = 1;
const VALUE = 2;
const TWO_POW_32 = 2 ** 32;

interface Shape {
  /** The recorded request with its slots zeroed. */
  readonly bytes: Buffer;
  /** Payload offsets, ascending, each followed in `slotOf` by point × 3 + role. */
  readonly offsets: Int32Array;
  readonly slotOf: Int32Array;
  /** Per point: whether the value is as_int (sfixed64) rather than as_double. */
  readonly isInt: Uint8Array;
  readonly streams: readonly MetricStream[];
  readonly series: readonly Series[];
  readonly resources: readonly ResourceEntry[];
  readonly generation: number;
}

/** What the full decoder reports while it decodes a request, to record its shape. */
export class ShapeRecorder {
  failed = false;
  readonly slots: number[] = [];
  readonly isInt: number[] = [];
  readonly streams: MetricStream[] = [];
  readonly series: Series[] = [];
  readonly resources: ResourceEntry[] = [];

  point(
    startAt: number,
    timeAt: number,
    valueAt: number,
    isInt: boolean,
    stream: MetricStream,
    s: Series,
  ): void {
    this.slots.push(startAt, timeAt, valueAt);
    this.isInt.push(isInt ? 1 : 0);
    this.streams.push(stream);
    this.series.push(s);
  }

  resource(entry: ResourceEntry): void {
    if (!this.resources.includes(entry)) this.resources.push(entry);
  }
}

export class KnownRequests {
  /** By request length: the shapes of that length, most recent first. */
  private readonly byLength = new Map<number, Shape[]>();
  /** All shapes, oldest first, for eviction. */
  private readonly order: Shape[] = [];

  constructor(private readonly maxShapes = 64) {}

  get size(): number {
    return this.order.length;
  }

  /**
   * Applies `buf` through a known shape: true when one matched (every point applied or rejected
   * into `tally` as the full decoder would); false when the full decoder must run.
   */
  apply(bytes: Uint8Array, store: Store, nowMs: number, tally: IngestTally): boolean {
    const candidates = this.byLength.get(bytes.length);
    if (candidates === undefined) return false;
    const buf = asBuffer(bytes);
    for (const shape of candidates) {
      if (shape.generation !== store.generation) continue;
      if (this.raw.length < shape.offsets.length * 2) this.raw = new Uint32Array(shape.offsets.length * 4);
      if (!readIfSame(shape, buf, this.raw)) continue;
      this.applyValues(shape, nowMs, tally);
      return true;
    }
    return false;
  }

  /** Scratch: the slots' raw bytes as little-endian uint32 pairs, in byte order. */
  private raw = new Uint32Array(0);

  /** Keeps the shape of a request the full decoder has just accepted whole. */
  record(buf: Uint8Array, rec: ShapeRecorder, store: Store): void {
    const points = rec.isInt.length;
    if (rec.failed || points === 0) return;
    const pairs: Array<[number, number]> = [];
    for (let i = 0; i < rec.slots.length; i++) if (rec.slots[i]! >= 0) pairs.push([rec.slots[i]!, i]);
    pairs.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < pairs.length; i++) if (pairs[i]![0] < pairs[i - 1]![0] + 8) return;
    // A copy (the shape outlives the request, whose buffer is not vigil's to keep), slots zeroed.
    const bytes = Buffer.from(buf);
    for (const [at] of pairs) bytes.fill(0, at, at + 8);
    const shape: Shape = {
      bytes,
      offsets: Int32Array.from(pairs, (p) => p[0]),
      slotOf: Int32Array.from(pairs, (p) => p[1]),
      isInt: Uint8Array.from(rec.isInt),
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

  private applyValues(shape: Shape, nowMs: number, tally: IngestTally): void {
    const { offsets, slotOf, isInt, streams, series } = shape;
    const raw = this.raw;
    const points = isInt.length;
    // Slots are in byte order; points are applied in request order, as the full decoder does.
    const values = new Float64Array(points * SLOTS_PER_POINT);
    for (let i = 0; i < offsets.length; i++) {
      const lo = raw[2 * i]!;
      const hi = raw[2 * i + 1]!;
      const slot = slotOf[i]!;
      const role = slot % SLOTS_PER_POINT;
      if (role !== VALUE) {
        // fixed64 nanoseconds as whole milliseconds, exactly as ProtoReader.nanosAsMs.
        values[slot] = Math.floor((hi * TWO_POW_32 + lo) / 1e6);
      } else if (isInt[(slot - role) / SLOTS_PER_POINT] === 1) {
        values[slot] = (hi | 0) * TWO_POW_32 + lo; // sfixed64, as ProtoReader.sfixed64
      } else {
        F64_BITS[0] = lo;
        F64_BITS[1] = hi;
        values[slot] = F64[0]!;
      }
    }
    for (let p = 0; p < points; p++) {
      const stream = streams[p]!;
      const bad = applyNumber(
        stream,
        series[p]!,
        values[p * SLOTS_PER_POINT + START]!,
        values[p * SLOTS_PER_POINT + TIME]!,
        values[p * SLOTS_PER_POINT + VALUE]!,
        nowMs,
      );
      if (bad !== null) tally.reject(bad.reason, stream.desc.name + ': ' + bad.message);
      else tally.accepted++;
    }
    for (const r of shape.resources) r.updatedMs = nowMs;
  }
}

/** A double's bytes as two uint32 (little-endian, as on the wire). */
const F64 = new Float64Array(1);
const F64_BITS = new Uint32Array(F64.buffer);

/**
 * Whether `buf` equals the shape's bytes everywhere outside its 8-byte slots; the slots' bytes go
 * to `raw`. One memcmp of the whole request instead of one per run of bytes between slots (a
 * native call per run cost more than the comparing): the slots are zeroed in `buf` for the
 * comparison, as they are in the shape, and put back before returning.
 */
function readIfSame(shape: Shape, buf: Buffer, raw: Uint32Array): boolean {
  const { offsets } = shape;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = offsets.length;
  for (let i = 0; i < n; i++) {
    const at = offsets[i]!;
    raw[2 * i] = view.getUint32(at, true);
    raw[2 * i + 1] = view.getUint32(at + 4, true);
    view.setUint32(at, 0);
    view.setUint32(at + 4, 0);
  }
  const same = shape.bytes.equals(buf);
  for (let i = 0; i < n; i++) {
    const at = offsets[i]!;
    view.setUint32(at, raw[2 * i]!, true);
    view.setUint32(at + 4, raw[2 * i + 1]!, true);
  }
  return same;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
