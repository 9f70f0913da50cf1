import fc from 'fast-check';
import protobuf from 'protobufjs';

/**
 * Protobuf wire-format surgery for the fuzz tests, guided by a protobufjs schema (`Type`):
 *
 * - {@link reencode}: the same message written differently but equivalently, as the protobuf
 *   spec allows a sender to (fields in another order, packed repeated fields split or unpacked,
 *   unknown fields added). A decoder must read every such encoding to the same data.
 * - {@link wireMutation}: corruptions for fuzzing — of the bytes (flips, truncation, splicing,
 *   runaway varints and lengths) and of the field tree with the enclosing lengths kept right
 *   (wrong wire types, duplicated or dropped fields, random payloads, extreme values), so that
 *   damage deep inside a message gets past the framing of its parents.
 */

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

/** One field as it sits on the wire; `children` when it is a message field whose payload parsed. */
export interface WireNode {
  no: number;
  wire: number;
  /** LEN: the payload; VARINT: the varint's bytes; I64 / I32: the 8 / 4 bytes. */
  data: Uint8Array;
  children?: WireNode[] | undefined;
}

export function varintBytes(n: bigint | number): number[] {
  let v = BigInt(n);
  if (v < 0n) v = BigInt.asUintN(64, v);
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

/** Read a varint at `pos`; throws when it runs past `end`. */
function readVarint(buf: Uint8Array, pos: number, end: number): { value: bigint; next: number } {
  let value = 0n;
  let shift = 0n;
  for (let i = pos; i < end && i < pos + 10; i++) {
    const b = buf[i]!;
    value |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return { value, next: i + 1 };
    shift += 7n;
  }
  throw new Error(`bad varint at ${pos}`);
}

/** The fields of one message (not descending); throws on anything malformed. */
export function readFields(buf: Uint8Array): WireNode[] {
  const out: WireNode[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const tag = readVarint(buf, pos, buf.length);
    const no = Number(tag.value >> 3n);
    const wire = Number(tag.value & 7n);
    pos = tag.next;
    let end: number;
    let start = pos;
    switch (wire) {
      case WIRE_VARINT:
        end = readVarint(buf, pos, buf.length).next;
        break;
      case WIRE_I64:
        end = pos + 8;
        break;
      case WIRE_I32:
        end = pos + 4;
        break;
      case WIRE_LEN: {
        const len = readVarint(buf, pos, buf.length);
        start = len.next;
        end = start + Number(len.value);
        break;
      }
      default:
        throw new Error(`wire type ${wire}`);
    }
    if (end > buf.length || no === 0) throw new Error(`field ${no} runs past the end`);
    out.push({ no, wire, data: buf.subarray(start, end) });
    pos = end;
  }
  return out;
}

/** The field tree of a message of `type` (message fields descended into). */
export function parseTree(buf: Uint8Array, type: protobuf.Type): WireNode[] {
  const nodes = readFields(buf);
  for (const n of nodes) {
    const child = type.fieldsById[n.no]?.resolve().resolvedType;
    if (n.wire === WIRE_LEN && child instanceof protobuf.Type) n.children = parseTree(n.data, child);
  }
  return nodes;
}

/** Serialise a field tree, recomputing every length from the children. */
export function writeTree(nodes: readonly WireNode[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const n of nodes) {
    const data = n.children !== undefined ? writeTree(n.children) : n.data;
    parts.push(Uint8Array.from(varintBytes((BigInt(n.no) << 3n) | BigInt(n.wire))));
    if (n.wire === WIRE_LEN) parts.push(Uint8Array.from(varintBytes(data.length)));
    parts.push(data);
  }
  return Buffer.concat(parts);
}

function flatten(nodes: WireNode[], into: Array<{ node: WireNode; siblings: WireNode[] }> = []) {
  for (const n of nodes) {
    into.push({ node: n, siblings: nodes });
    if (n.children !== undefined) flatten(n.children, into);
  }
  return into;
}

// ---- equivalent encodings ---------------------------------------------------------------------

/** Scalar types written packed, and the size of one element (0 = varint). */
const PACKED_SIZE: Readonly<Record<string, number>> = {
  double: 8,
  fixed64: 8,
  sfixed64: 8,
  float: 4,
  fixed32: 4,
  sfixed32: 4,
  int32: 0,
  int64: 0,
  uint32: 0,
  uint64: 0,
  sint32: 0,
  sint64: 0,
  bool: 0,
  enum: 0,
};

function packedElements(data: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = 0;
  while (pos < data.length) {
    const end = size > 0 ? pos + size : readVarint(data, pos, data.length).next;
    out.push(data.subarray(pos, end));
    pos = end;
  }
  return out;
}

/** A source of choices in [0, 1), e.g. from fast-check (`fc.infiniteStream(fc.double(...))` or a seeded PRNG). */
export type Choose = () => number;

/** A small deterministic PRNG for {@link reencode}, seeded by the property. */
export function prng(seed: number): Choose {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/**
 * `buf` (a valid message of `type`) written differently with the same meaning: fields of different
 * numbers interleaved in another order (same-number fields keep their order), packed repeated
 * scalars split into several packed runs or unpacked, unknown fields (numbers 1000+) added.
 */
export function reencode(buf: Uint8Array, type: protobuf.Type, choose: Choose): Uint8Array {
  const fields = readFields(buf).flatMap((n): WireNode[] => {
    const field = type.fieldsById[n.no]?.resolve();
    const child = field?.resolvedType;
    if (n.wire === WIRE_LEN && child instanceof protobuf.Type)
      return [{ ...n, data: reencode(n.data, child, choose) }];
    const size = field !== undefined && field.repeated ? PACKED_SIZE[field.type] : undefined;
    if (n.wire === WIRE_LEN && size !== undefined && n.data.length > 0) {
      const elems = packedElements(n.data, size);
      const c = choose();
      if (c < 0.3) {
        // Unpacked: one field per element.
        const wire = size === 8 ? WIRE_I64 : size === 4 ? WIRE_I32 : WIRE_VARINT;
        return elems.map((data) => ({ no: n.no, wire, data }));
      }
      if (c < 0.7 && elems.length > 1) {
        // Two packed runs (a parser must concatenate them).
        const cut = 1 + Math.floor(choose() * (elems.length - 1));
        return [
          { no: n.no, wire: WIRE_LEN, data: Buffer.concat(elems.slice(0, cut)) },
          { no: n.no, wire: WIRE_LEN, data: Buffer.concat(elems.slice(cut)) },
        ];
      }
    }
    return [n];
  });
  // Interleave the per-number queues at random, keeping each number's own order.
  const queues = new Map<number, WireNode[]>();
  for (const f of fields) {
    const q = queues.get(f.no);
    if (q === undefined) queues.set(f.no, [f]);
    else q.push(f);
  }
  const out: WireNode[] = [];
  const live = [...queues.values()];
  while (live.length > 0) {
    const i = Math.floor(choose() * live.length);
    const q = live[i]!;
    out.push(q.shift()!);
    if (q.length === 0) live.splice(i, 1);
    if (choose() < 0.05) out.push(unknownField(choose));
  }
  return writeTree(out);
}

function unknownField(choose: Choose): WireNode {
  const no = 1000 + Math.floor(choose() * 1000);
  const kind = Math.floor(choose() * 4);
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(choose() * 256));
  switch (kind) {
    case 0:
      return {
        no,
        wire: WIRE_VARINT,
        data: Uint8Array.from(varintBytes(BigInt(Math.floor(choose() * 2 ** 40)))),
      };
    case 1:
      return { no, wire: WIRE_I64, data: bytes(8) };
    case 2:
      return { no, wire: WIRE_I32, data: bytes(4) };
    default:
      return { no, wire: WIRE_LEN, data: bytes(Math.floor(choose() * 12)) };
  }
}

// ---- corruptions --------------------------------------------------------------------------------

const EXTREME_VARINTS = [
  0n,
  1n,
  127n,
  128n,
  2n ** 31n - 1n,
  2n ** 31n,
  2n ** 32n,
  2n ** 53n + 1n,
  2n ** 63n,
  2n ** 64n - 1n,
];

function f64(v: number): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  return b;
}
const EXTREME_I64 = [
  f64(NaN),
  f64(Infinity),
  f64(-Infinity),
  f64(-0),
  f64(Number.MAX_VALUE),
  f64(Number.MIN_VALUE),
  Buffer.from('ffffffffffffffff', 'hex'),
  Buffer.from('0000000000000080', 'hex'),
];

/** One corruption, applied by {@link applyMutation}; fast-check shrinks its numbers. */
export type WireMutation =
  | { kind: 'flip'; edits: Array<[number, number]> }
  | { kind: 'truncate'; at: number }
  | { kind: 'splice'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; n: number }
  | { kind: 'repeat'; at: number; n: number }
  | { kind: 'huge-length'; at: number; len: bigint }
  | { kind: 'overlong-varint'; at: number }
  | { kind: 'wire-type'; node: number; wire: number }
  | { kind: 'duplicate'; node: number }
  | { kind: 'drop'; node: number }
  | { kind: 'payload'; node: number; bytes: Uint8Array }
  | { kind: 'extreme'; node: number; pick: number }
  | { kind: 'unknown'; node: number; seed: number };

export const wireMutation: fc.Arbitrary<WireMutation> = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('splice' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 64 }) }),
  fc.record({
    kind: fc.constant('huge-length' as const),
    at: fc.nat(),
    len: fc.constantFrom(2n ** 31n, 2n ** 32n, 2n ** 35n, 2n ** 63n, 2n ** 64n - 1n),
  }),
  fc.record({ kind: fc.constant('overlong-varint' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('wire-type' as const),
    node: fc.nat(),
    wire: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({ kind: fc.constant('duplicate' as const), node: fc.nat() }),
  fc.record({ kind: fc.constant('drop' as const), node: fc.nat() }),
  fc.record({
    kind: fc.constant('payload' as const),
    node: fc.nat(),
    bytes: fc.uint8Array({ maxLength: 24 }),
  }),
  fc.record({ kind: fc.constant('extreme' as const), node: fc.nat(), pick: fc.nat() }),
  fc.record({ kind: fc.constant('unknown' as const), node: fc.nat(), seed: fc.nat() }),
);

/**
 * Apply a corruption to a message of `type`. Byte-level kinds may break the framing anywhere;
 * tree-level kinds change one field (chosen by index among all fields at any depth) and
 * re-serialise, so every enclosing length is right and only that field is damaged.
 */
export function applyMutation(buf: Uint8Array, type: protobuf.Type, m: WireMutation): Uint8Array {
  const b = Buffer.from(buf);
  const at = (i: number, n = b.length + 1) => (n === 0 ? 0 : i % n);
  switch (m.kind) {
    case 'flip':
      for (const [i, v] of m.edits) if (b.length > 0) b[at(i, b.length)] = v;
      return b;
    case 'truncate':
      return b.subarray(0, at(m.at, b.length));
    case 'splice': {
      const i = at(m.at);
      return Buffer.concat([b.subarray(0, i), m.bytes, b.subarray(i)]);
    }
    case 'delete': {
      const i = at(m.at);
      return Buffer.concat([b.subarray(0, i), b.subarray(i + m.n)]);
    }
    case 'repeat': {
      const i = at(m.at);
      const piece = b.subarray(i, i + m.n);
      return Buffer.concat([b.subarray(0, i + piece.length), piece, b.subarray(i + piece.length)]);
    }
    case 'huge-length': {
      const i = at(m.at);
      const field = Uint8Array.from([0x0a, ...varintBytes(m.len)]);
      return Buffer.concat([b.subarray(0, i), field, b.subarray(i)]);
    }
    case 'overlong-varint': {
      const i = at(m.at);
      return Buffer.concat([
        b.subarray(0, i),
        Buffer.from([0x08, ...Array(11).fill(0xff), 0x01]),
        b.subarray(i),
      ]);
    }
  }
  let tree: WireNode[];
  try {
    tree = parseTree(b, type);
  } catch {
    return b;
  }
  const all = flatten(tree);
  if (all.length === 0) return b;
  const { node, siblings } = all[m.node % all.length]!;
  switch (m.kind) {
    case 'wire-type':
      node.wire = m.wire;
      node.children = undefined;
      break;
    case 'duplicate':
      siblings.splice(siblings.indexOf(node) + 1, 0, { ...node });
      break;
    case 'drop':
      siblings.splice(siblings.indexOf(node), 1);
      break;
    case 'payload':
      node.children = undefined;
      node.data = m.bytes;
      if (node.wire !== WIRE_LEN) node.wire = WIRE_LEN;
      break;
    case 'extreme':
      if (node.wire === WIRE_VARINT)
        node.data = Uint8Array.from(varintBytes(EXTREME_VARINTS[m.pick % EXTREME_VARINTS.length]!));
      else if (node.wire === WIRE_I64) node.data = EXTREME_I64[m.pick % EXTREME_I64.length]!;
      else if (node.wire === WIRE_I32) node.data = Uint8Array.from([0xff, 0xff, 0xff, 0xff]);
      else if (node.children === undefined) node.data = new Uint8Array(0);
      break;
    case 'unknown':
      siblings.splice(siblings.indexOf(node), 0, unknownField(prng(m.seed)));
      break;
  }
  return writeTree(tree);
}
