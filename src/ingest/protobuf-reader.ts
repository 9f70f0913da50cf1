import { DecodeError } from './types.js';

/**
 * Protobuf wire-format primitives for vigil's own OTLP decoder.
 *
 * One reader per request walks the body with a cursor (`pos`); every read takes the end of the
 * enclosing message so that a length, varint or fixed-width value that runs past its parent is
 * caught where it happens. Nothing here allocates per field: 64-bit varints leave their halves in
 * `lo` / `hi` instead of returning an object, and doubles are read through one DataView.
 */

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

const TWO_POW_32 = 4294967296;

/** Node's Buffer has native latin1/utf8 slicers that skip `toString`'s argument handling. */
interface FastSlices {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}
const HAS_FAST_SLICES =
  typeof (Buffer.prototype as unknown as Partial<FastSlices>).latin1Slice === 'function' &&
  typeof (Buffer.prototype as unknown as Partial<FastSlices>).utf8Slice === 'function';

/** The Buffer view of `bytes`, without copying. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** ZigZag-decode a 32-bit value (sint32). */
export function zigzag32(n: number): number {
  return (n >>> 1) ^ -(n & 1);
}

export class ProtoReader {
  readonly buf: Buffer;
  private readonly view: DataView;
  /** Cursor: the next byte to read. */
  pos = 0;
  /** Low and high 32 bits (unsigned) of the last `varint64`. */
  lo = 0;
  hi = 0;

  constructor(bytes: Uint8Array) {
    this.buf = asBuffer(bytes);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  get length(): number {
    return this.buf.length;
  }

  /**
   * A field key, `(field << 3) | wireType`; rejects field number 0 and the wire types proto3 never
   * produces (groups, 6, 7).
   */
  tag(end: number): number {
    const pos = this.pos;
    let tag: number;
    if (pos < end && this.buf[pos]! < 0x80) {
      tag = this.buf[pos]!;
      this.pos = pos + 1;
    } else {
      this.varint64(end);
      if (this.hi !== 0) throw wireError(`field key too large at byte ${pos}`);
      tag = this.lo;
    }
    const wire = tag & 7;
    if (tag >>> 3 === 0) throw wireError(`field number 0 at byte ${pos}`);
    if (wire !== WIRE_VARINT && wire !== WIRE_I64 && wire !== WIRE_LEN && wire !== WIRE_I32)
      throw wireError(`unsupported wire type ${wire} (field ${tag >>> 3}) at byte ${pos}`);
    return tag;
  }

  /** A varint's low 32 bits as an unsigned number (uint32, enums, flags, bool; zigzag input). */
  uint32(end: number): number {
    const pos = this.pos;
    if (pos < end) {
      const b = this.buf[pos]!;
      if (b < 0x80) {
        this.pos = pos + 1;
        return b;
      }
    }
    this.varint64(end);
    return this.lo;
  }

  /** A varint as an unsigned number (uint64); exact up to 2^53. */
  uint64(end: number): number {
    const pos = this.pos;
    if (pos < end) {
      const b = this.buf[pos]!;
      if (b < 0x80) {
        this.pos = pos + 1;
        return b;
      }
    }
    this.varint64(end);
    return this.hi * TWO_POW_32 + this.lo;
  }

  /**
   * Read a varint of up to 10 bytes into `lo` / `hi`. The 10th byte may only carry the 64th bit:
   * anything more is an overflow, as in the reference (Go) implementation.
   */
  varint64(end: number): void {
    const buf = this.buf;
    const start = this.pos;
    let pos = start;
    let lo = 0;
    let hi = 0;
    let b: number;
    for (let shift = 0; shift < 28; shift += 7) {
      if (pos >= end) throw truncated('varint', start, end);
      b = buf[pos++]!;
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        this.lo = lo >>> 0;
        this.hi = 0;
        return;
      }
    }
    if (pos >= end) throw truncated('varint', start, end);
    b = buf[pos++]!;
    lo |= (b & 0x0f) << 28;
    hi = (b & 0x7f) >> 4;
    if (b >= 0x80) {
      for (let shift = 3; ; shift += 7) {
        if (pos >= end) throw truncated('varint', start, end);
        b = buf[pos++]!;
        if (shift === 31 && b > 1) throw wireError(`varint overflows 64 bits at byte ${start}`);
        hi |= (b & 0x7f) << shift;
        if (b < 0x80) break;
      }
    }
    this.pos = pos;
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }

  /** The signed value of the last `varint64` (int64); exact up to 2^53 in magnitude. */
  int64FromParts(): number {
    return (this.hi | 0) * TWO_POW_32 + this.lo;
  }

  /** The exact decimal text of the last `varint64` read as an int64 (BigInt only beyond 2^53). */
  int64TextFromParts(): string {
    const hi = this.hi | 0;
    // |value| < 2^53 exactly when the high word is within ±2^21 (minus the edge word).
    if (hi >= -0x200000 && hi < 0x200000) return String(hi * TWO_POW_32 + this.lo);
    return BigInt.asIntN(64, (BigInt(this.hi) << 32n) | BigInt(this.lo)).toString();
  }

  /** Skip a varint without decoding it. */
  skipVarint(end: number): void {
    const buf = this.buf;
    const start = this.pos;
    let pos = start;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw truncated('varint', start, end);
      const b = buf[pos++]!;
      if (b < 0x80) {
        if (i === 9 && b > 1) break;
        this.pos = pos;
        return;
      }
    }
    throw wireError(`varint overflows 64 bits at byte ${start}`);
  }

  /** fixed64 as an unsigned number (exact up to 2^53). */
  fixed64(end: number): number {
    const pos = this.pos;
    if (pos + 8 > end) throw truncated('fixed64', pos, end);
    this.pos = pos + 8;
    return this.view.getUint32(pos + 4, true) * TWO_POW_32 + this.view.getUint32(pos, true);
  }

  /** sfixed64 as a signed number (exact up to 2^53 in magnitude). */
  sfixed64(end: number): number {
    const pos = this.pos;
    if (pos + 8 > end) throw truncated('sfixed64', pos, end);
    this.pos = pos + 8;
    return this.view.getInt32(pos + 4, true) * TWO_POW_32 + this.view.getUint32(pos, true);
  }

  /**
   * A fixed64 nanosecond timestamp as whole milliseconds. The double nearest to the nanosecond count
   * (exact to ~256 ns in this century) divided by 10^6 and floored: the same value the JSON decoder
   * gets from the decimal text, so both encodings land on the same millisecond.
   */
  nanosAsMs(end: number): number {
    return Math.floor(this.fixed64(end) / 1e6);
  }

  double(end: number): number {
    const pos = this.pos;
    if (pos + 8 > end) throw truncated('double', pos, end);
    this.pos = pos + 8;
    return this.view.getFloat64(pos, true);
  }

  /** Read a length prefix; returns where the payload ends (the cursor is at its start). */
  len(end: number): number {
    const at = this.pos;
    let n: number;
    if (at < end && this.buf[at]! < 0x80) {
      n = this.buf[at]!;
      this.pos = at + 1;
    } else {
      this.varint64(end);
      if (this.hi !== 0) throw wireError(`length at byte ${at} is larger than the body`);
      n = this.lo;
    }
    const payloadEnd = this.pos + n;
    if (payloadEnd > end)
      throw wireError(
        `length ${n} at byte ${at} runs past the end of its enclosing message (${payloadEnd} > ${end})`,
      );
    return payloadEnd;
  }

  /** Skip one field's value of wire type `wire` (the key has been read). */
  skip(wire: number, end: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.skipVarint(end);
        return;
      case WIRE_I64:
        if (this.pos + 8 > end) throw truncated('fixed64', this.pos, end);
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.pos = this.len(end);
        return;
      case WIRE_I32:
        if (this.pos + 4 > end) throw truncated('fixed32', this.pos, end);
        this.pos += 4;
        return;
      default:
        throw wireError(`unsupported wire type ${wire} at byte ${this.pos}`);
    }
  }

  /** Bytes [start, end) as UTF-8 text (invalid sequences become U+FFFD, as Node does). */
  utf8(start: number, end: number): string {
    if (start === end) return '';
    return HAS_FAST_SLICES
      ? (this.buf as unknown as FastSlices).utf8Slice(start, end)
      : this.buf.toString('utf8', start, end);
  }

  /** Bytes [start, end) as a latin1 string: one char per byte, a cheap and exact map key. */
  latin1(start: number, end: number): string {
    if (start === end) return '';
    return HAS_FAST_SLICES
      ? (this.buf as unknown as FastSlices).latin1Slice(start, end)
      : this.buf.toString('latin1', start, end);
  }

  base64(start: number, end: number): string {
    return this.buf.toString('base64', start, end);
  }

  /** True when bytes [a, a+n) equal bytes [b, b+n). */
  /** Whether bytes [start, end) are the latin1 string `s` (a raw key made by `latin1`). */
  equalsLatin1(s: string, start: number, end: number): boolean {
    // A native slice and a memcmp beat a charCodeAt loop over the (external) string by far.
    return s.length === end - start && this.latin1(start, end) === s;
  }

  sameBytes(a: number, b: number, n: number): boolean {
    const buf = this.buf;
    for (let i = 0; i < n; i++) if (buf[a + i] !== buf[b + i]) return false;
    return true;
  }
}

/** A wire-format problem; the decoder adds where in the message tree it happened. */
export class WireError extends DecodeError {
  constructor(readonly detail: string) {
    super(detail);
  }
}

export function wireError(detail: string): WireError {
  return new WireError(detail);
}

function truncated(what: string, at: number, end: number): WireError {
  return new WireError(`truncated ${what} at byte ${at} (its message ends at byte ${end})`);
}
