import fc from 'fast-check';
import type { TextMetricType } from '../../src/ingest/prometheus-text-parse.js';
import { MAGIC_KEYS } from './fuzz.js';
import { encodeDelimited } from './prometheus-proto.js';
import { varintBytes } from './proto-wire.js';

/**
 * fast-check arbitraries of Pushgateway pushes for the property and fuzz tests: metric families
 * (`GenFamily`), written in the text format 0.0.4 ({@link toText}) and in client_golang's
 * delimited protobuf ({@link toProto}), both independently of src/; and byte-level damage to
 * text bodies ({@link mutateText}).
 */

export interface GenMetric {
  labels: Array<[string, string]>;
  value: number;
  count: number;
  sum: number;
  quantiles: Array<[number, number]>;
  buckets: Array<[number, number]>;
}
export interface GenFamily {
  name: string;
  help: string | undefined;
  type: Exclude<TextMetricType, 'gauge_histogram'>;
  metrics: GenMetric[];
}

export const TYPE_NUMBERS = { counter: 0, gauge: 1, summary: 2, untyped: 3, histogram: 4 } as const;

/** Label values: any valid Unicode (the format escapes `\`, `"` and newlines). */
const labelValue = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
  fc.constantFrom('', '"', '\\', '\n', 'a\\"b\nc', ...MAGIC_KEYS),
);
const labelName = fc
  .stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,8}$/)
  .filter((n) => !n.startsWith('__') && n !== 'le' && n !== 'quantile');
const anyFloat = fc.oneof(
  fc.double(),
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, 1e21, 5e-324, Number.MAX_VALUE),
);

const metricOf = (type: GenFamily['type']): fc.Arbitrary<GenMetric> =>
  fc.record({
    labels: fc.uniqueArray(fc.tuple(labelName, labelValue), { maxLength: 3, selector: ([k]) => k }),
    value: anyFloat,
    count: fc.nat(1_000_000),
    sum: anyFloat,
    quantiles:
      type === 'summary'
        ? fc.uniqueArray(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), anyFloat), {
            maxLength: 3,
            selector: ([q]) => q,
          })
        : fc.constant([]),
    buckets:
      type === 'histogram'
        ? fc
            .uniqueArray(fc.double({ noNaN: true }), { maxLength: 4, comparator: (a, b) => a === b })
            .chain((les) =>
              fc.array(fc.nat(1000), { minLength: les.length, maxLength: les.length }).map((counts) => {
                let cum = 0;
                return les.sort((a, b) => a - b).map((le, i): [number, number] => [le, (cum += counts[i]!)]);
              }),
            )
        : fc.constant([]),
  });

/** Families with distinct names none of which another's `_count` / `_sum` / `_bucket` could be taken for. */
export const families: fc.Arbitrary<GenFamily[]> = fc
  .uniqueArray(fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,10}$/), { minLength: 1, maxLength: 4 })
  .chain((names) =>
    fc.tuple(
      ...names.map((base, i) =>
        fc
          .record({
            type: fc.constantFrom<GenFamily['type']>('counter', 'gauge', 'untyped', 'summary', 'histogram'),
            help: fc.option(fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('a\\b\nc', 'ü', '')), {
              nil: undefined,
            }),
          })
          .chain(({ type, help }) =>
            fc
              // One metric per label set: the text format merges a summary's or histogram's lines by labels.
              .uniqueArray(metricOf(type), {
                minLength: 1,
                maxLength: 3,
                selector: (m) => JSON.stringify([...m.labels].sort()),
              })
              .map((metrics): GenFamily => ({ name: `fz${i}_${base}x`, help, type, metrics })),
          ),
      ),
    ),
  );

const goFloat = (v: number): string =>
  Number.isNaN(v)
    ? 'NaN'
    : v === Infinity
      ? '+Inf'
      : v === -Infinity
        ? '-Inf'
        : Object.is(v, -0)
          ? '-0'
          : String(v);
const escapeValue = (s: string): string =>
  s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labelText = (labels: ReadonlyArray<readonly [string, string]>): string =>
  labels.length === 0 ? '' : `{${labels.map(([k, v]) => `${k}="${escapeValue(v)}"`).join(',')}}`;

/** The text format 0.0.4, written independently of src/. */
export function toText(fams: GenFamily[]): string {
  let out = '';
  for (const f of fams) {
    if (f.help !== undefined)
      out += `# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n`;
    out += `# TYPE ${f.name} ${f.type}\n`;
    for (const m of f.metrics) {
      if (f.type === 'summary') {
        for (const [q, v] of m.quantiles)
          out += `${f.name}${labelText([...m.labels, ['quantile', goFloat(q)]])} ${goFloat(v)}\n`;
      } else if (f.type === 'histogram') {
        for (const [le, c] of m.buckets)
          out += `${f.name}_bucket${labelText([...m.labels, ['le', goFloat(le)]])} ${c}\n`;
      } else {
        out += `${f.name}${labelText(m.labels)} ${goFloat(m.value)}\n`;
        continue;
      }
      out += `${f.name}_sum${labelText(m.labels)} ${goFloat(m.sum)}\n${f.name}_count${labelText(m.labels)} ${m.count}\n`;
    }
  }
  return out;
}

/** The same families as client_golang's `push` sends them (delimited protobuf). */
export function toProto(fams: GenFamily[]): Buffer {
  return encodeDelimited(
    fams.map((f) => ({
      name: f.name,
      ...(f.help === undefined ? {} : { help: f.help }),
      type: TYPE_NUMBERS[f.type],
      metric: f.metrics.map((m) => {
        const label = m.labels.map(([name, value]) => ({ name, value }));
        switch (f.type) {
          case 'summary':
            return {
              label,
              summary: {
                sampleCount: m.count,
                sampleSum: m.sum,
                quantile: m.quantiles.map(([quantile, value]) => ({ quantile, value })),
              },
            };
          case 'histogram':
            return {
              label,
              histogram: {
                sampleCount: m.count,
                sampleSum: m.sum,
                bucket: m.buckets.map(([upperBound, cumulativeCount]) => ({ upperBound, cumulativeCount })),
              },
            };
          default:
            return { label, [f.type]: { value: m.value } };
        }
      }),
    })),
  );
}

/** Text-format pieces, so that random bodies get past the first byte often. */
export const TOKENS = [
  '# HELP ', '# TYPE ', '#', ' ', '\t', '\n', 'm', 'm_count', 'm_sum', 'm_bucket', 'x:y', '{', '}', '=', '"', ',',
  '\\', '\\n', '\\"', 'le', 'quantile', 'a', '__name__', 'counter', 'gauge', 'summary', 'histogram', 'untyped',
  'gauge_histogram', 'COUNTER', '1', '-1', '1.5e3', '0x1p3', 'NaN', '+Inf', '-inf', 'Infinity', '1_0', '1e400',
  '9223372036854775808', '\r', '\u00e9', '\u0000',
]; // prettier-ignore
export const tokenSoup = fc
  .array(fc.constantFrom(...TOKENS), { maxLength: 60 })
  .map((t) => Buffer.from(t.join(''), 'utf8'));

/** Byte-level damage to a valid text body: flips, cuts, repeated or swapped lines, invalid UTF-8. */
export const textMutation = fc.record({
  kind: fc.constantFrom(
    'flip',
    'truncate',
    'splice',
    'swap-lines',
    'repeat-line',
    'invalid-utf8',
    'drop-newline',
  ),
  at: fc.nat(),
  other: fc.nat(),
  byte: fc.integer({ min: 0, max: 255 }),
});
export function mutateText(
  body: Buffer,
  m: { kind: string; at: number; other: number; byte: number },
): Buffer {
  const i = body.length === 0 ? 0 : m.at % body.length;
  const lines = body.toString('latin1').split('\n');
  const li = m.at % lines.length;
  const lj = m.other % lines.length;
  switch (m.kind) {
    case 'flip': {
      const b = Buffer.from(body);
      if (b.length > 0) b[i] = m.byte;
      return b;
    }
    case 'truncate':
      return body.subarray(0, i);
    case 'splice':
      return Buffer.concat([
        body.subarray(0, i),
        Buffer.from(TOKENS[m.other % TOKENS.length]!, 'utf8'),
        body.subarray(i),
      ]);
    case 'swap-lines':
      [lines[li], lines[lj]] = [lines[lj]!, lines[li]!];
      return Buffer.from(lines.join('\n'), 'latin1');
    case 'repeat-line':
      lines.splice(li, 0, lines[li]!);
      return Buffer.from(lines.join('\n'), 'latin1');
    case 'invalid-utf8':
      return Buffer.concat([
        body.subarray(0, i),
        Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80]),
        body.subarray(i),
      ]);
    default:
      return body.subarray(0, body.length - 1);
  }
}

/** Split a delimited body into its messages (valid bodies only). */
export function splitDelimited(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < body.length) {
    let len = 0;
    let shift = 0;
    let b: number;
    do {
      b = body[pos++]!;
      len += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b >= 0x80);
    out.push(body.subarray(pos, pos + len));
    pos += len;
  }
  return out;
}
export const delimit = (msgs: Uint8Array[]): Buffer =>
  Buffer.concat(msgs.flatMap((m) => [Uint8Array.from(varintBytes(m.length)), m]));
