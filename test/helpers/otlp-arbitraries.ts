import fc from 'fast-check';
import { MAGIC_KEYS } from './fuzz.js';
import { MAX_ATTRIBUTE_KEY_LENGTH } from '../../src/store/validate.js';

/**
 * fast-check arbitraries of OTLP metrics requests, for the property and fuzz tests.
 *
 * A generated request is a small model (`GenRequest`): otlp-model-writers.ts writes it as
 * OTLP/JSON (which protobufjs's `fromObject` also reads, for the protobuf encoding) or as the
 * SDK's `ResourceMetrics` (for the official `@opentelemetry/otlp-transformer` serializers), and
 * otlp-model-store.ts derives from it, without vigil's code, what the store must hold afterwards
 * and how many points must be accepted and rejected. Points can be made invalid on purpose
 * (`invalidPoints`); each says why, and the model counts it as rejected.
 */

// ---- model ----------------------------------------------------------------------------------------

export type GenValue =
  | { readonly t: 'string'; readonly v: string }
  | { readonly t: 'bool'; readonly v: boolean }
  | { readonly t: 'int'; readonly v: bigint }
  | { readonly t: 'double'; readonly v: number }
  | { readonly t: 'bytes'; readonly v: Uint8Array }
  | { readonly t: 'array'; readonly v: readonly GenValue[] }
  | { readonly t: 'kvlist'; readonly v: readonly GenAttr[] }
  | { readonly t: 'empty' };

export interface GenAttr {
  readonly key: string;
  readonly value: GenValue;
}

export type GenKind = 'gauge' | 'sum' | 'histogram' | 'exponential_histogram' | 'summary';

export type GenNumber = { t: 'double'; v: number } | { t: 'int'; v: bigint } | { t: 'none' };

export interface GenHistogram {
  count: number;
  sum: number;
  bounds: number[];
  counts: number[];
  min?: number | undefined;
  max?: number | undefined;
}

export interface GenExpHistogram {
  count: number;
  sum: number;
  scale: number;
  zeroCount: number;
  zeroThreshold: number;
  positive: { offset: number; counts: number[] };
  negative: { offset: number; counts: number[] };
  min?: number | undefined;
  max?: number | undefined;
}

export interface GenSummary {
  count: number;
  sum: number;
  quantiles: Array<[number, number]>;
}

export interface GenPoint {
  attrs: GenAttr[];
  startNs: bigint;
  timeNs: bigint;
  number?: GenNumber;
  histogram?: GenHistogram;
  exp?: GenExpHistogram;
  summary?: GenSummary;
  /** Why the point must be rejected; undefined for a valid point. */
  invalid?: string | undefined;
}

export interface GenMetric {
  name: string;
  unit: string;
  description: string;
  kind: GenKind;
  monotonic: boolean;
  /** 0 (unspecified: every point is rejected), 1 delta, 2 cumulative. Gauges and summaries ignore it. */
  temporality: 0 | 1 | 2;
  points: GenPoint[];
}

export interface GenScope {
  name: string;
  version: string;
  metrics: GenMetric[];
}

export interface GenResource {
  attrs: GenAttr[];
  scopes: GenScope[];
}

export interface GenRequest {
  resources: GenResource[];
}

// ---- attribute values ---------------------------------------------------------------------------

/** Text that stresses decoders: magic keys, escapes, non-BMP characters, lone surrogates excluded. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 2, arbitrary: fc.constantFrom(...MAGIC_KEYS) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      '"',
      '\\',
      '\n',
      'a"b\\c\nd',
      'Zürich',
      '日本',
      '🔥',
      '{"x":1}',
      'NaN',
    ),
  },
  { weight: 1, arbitrary: fc.string({ minLength: 200, maxLength: 600 }) },
);

/**
 * Canonical series keys join attributes with U+0001 / U+0002 (src/store/series.ts), so text
 * holding those two characters can alias another attribute set of the same metric — a known
 * limitation (README, "Fuzz and property tests"); the generators leave them out of
 * keys and values that must round-trip exactly (they still appear in the raw fuzz inputs).
 */
const safeText = (s: string): string => s.split('\u0001').join('_').split('\u0002').join('_');

/** Keys within the store's key length limit (longer ones are rejected: test/fuzz covers that apart). */
export const attrKey: fc.Arbitrary<string> = nastyString
  .map(safeText)
  .filter((s) => s.length <= MAX_ATTRIBUTE_KEY_LENGTH);
const attrText: fc.Arbitrary<string> = nastyString.map(safeText);

const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const finiteDouble = fc.double({ noNaN: true, noDefaultInfinity: true });
const anyDouble = fc.oneof(finiteDouble, fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, Number.MIN_VALUE));

/** AnyValue of every kind, nested up to `depth` levels of arrays / kvlists. */
export function anyValue(depth: number, sdkOnly = false): fc.Arbitrary<GenValue> {
  const leaves: Array<fc.Arbitrary<GenValue>> = [
    attrText.map((v) => ({ t: 'string', v })),
    fc.boolean().map((v) => ({ t: 'bool', v })),
    (sdkOnly ? fc.bigInt({ min: -(2n ** 53n) + 1n, max: 2n ** 53n - 1n }) : int64).map((v) => ({
      t: 'int',
      v,
    })),
    (sdkOnly ? finiteDouble.filter((d) => !Number.isInteger(d)) : anyDouble).map((v) => ({ t: 'double', v })),
  ];
  if (!sdkOnly) {
    leaves.push(fc.uint8Array({ maxLength: 12 }).map((v) => ({ t: 'bytes', v })));
    leaves.push(fc.constant({ t: 'empty' }));
  }
  const leaf = fc.oneof(...leaves);
  if (sdkOnly) {
    // The SDK's attribute values: primitives and homogeneous arrays of primitives.
    return fc.oneof(
      { weight: 4, arbitrary: leaf },
      {
        weight: 1,
        arbitrary: fc
          .oneof(
            fc.array(
              attrText.map((v): GenValue => ({ t: 'string', v })),
              { maxLength: 3 },
            ),
            fc.array(
              fc.boolean().map((v): GenValue => ({ t: 'bool', v })),
              { maxLength: 3 },
            ),
          )
          .map((v): GenValue => ({ t: 'array', v })),
      },
    );
  }
  if (depth <= 0) return leaf;
  const inner = anyValue(depth - 1);
  return fc.oneof(
    { weight: 6, arbitrary: leaf },
    { weight: 1, arbitrary: fc.array(inner, { maxLength: 3 }).map((v): GenValue => ({ t: 'array', v })) },
    {
      weight: 1,
      arbitrary: fc
        .array(fc.record({ key: attrKey, value: inner }), { maxLength: 3 })
        .map((v): GenValue => ({ t: 'kvlist', v })),
    },
  );
}

/** An attribute list with distinct keys (duplicate keys are a separate, documented rule). */
export function attributes(maxLength = 4, sdkOnly = false): fc.Arbitrary<GenAttr[]> {
  return fc.uniqueArray(fc.record({ key: attrKey, value: anyValue(2, sdkOnly) }), {
    maxLength,
    selector: (a) => a.key,
  });
}

// ---- points -------------------------------------------------------------------------------------

const nat = (max: number) => fc.integer({ min: 0, max });
const timeNs = fc.oneof(
  { weight: 4, arbitrary: fc.bigInt({ min: 1_600_000_000_000_000_000n, max: 1_800_000_000_000_000_000n }) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) },
);

/** Strictly increasing finite bounds (0 and -0 count as equal). */
const bounds = fc
  .uniqueArray(finiteDouble, { maxLength: 6, comparator: (a, b) => a === b })
  .map((b) => b.sort((x, y) => x - y));

/** A histogram point on bounds from `layout` (SDKs give every point of a metric the same bounds). */
const histogram = (layout: fc.Arbitrary<number[]>): fc.Arbitrary<GenHistogram> =>
  layout.chain((b) =>
    fc
      .record({
        counts: fc.array(nat(1_000_000), { minLength: b.length + 1, maxLength: b.length + 1 }),
        sum: finiteDouble,
        min: fc.option(finiteDouble, { nil: undefined }),
        max: fc.option(finiteDouble, { nil: undefined }),
        empty: fc.boolean(),
      })
      .map(({ counts, sum, min, max, empty }) =>
        // A point may also carry no buckets at all (count and sum only).
        empty && b.length === 0
          ? { count: 0, sum, bounds: [], counts: [], min, max }
          : { count: counts.reduce((a, c) => a + c, 0), sum, bounds: b, counts, min, max },
      ),
  );

const expBuckets = (scale: number) =>
  fc.record({
    // Bucket indexes a double can fall into at this scale (index 0 is (1, base]).
    offset: scale < 0 ? fc.integer({ min: -1, max: 0 }) : fc.integer({ min: -50, max: 50 }),
    counts: fc.array(nat(1_000_000), { maxLength: scale < 0 ? 1 : 6 }),
  });

const expHistogram: fc.Arbitrary<GenExpHistogram> = fc.integer({ min: -10, max: 20 }).chain((scale) =>
  fc
    .record({
      sum: finiteDouble,
      zeroCount: nat(1000),
      zeroThreshold: fc.double({ min: 0, max: 1e-3, noNaN: true }),
      positive: expBuckets(scale),
      negative: expBuckets(scale),
      min: fc.option(finiteDouble, { nil: undefined }),
      max: fc.option(finiteDouble, { nil: undefined }),
    })
    .map((h) => ({
      ...h,
      scale,
      count:
        h.zeroCount +
        h.positive.counts.reduce((a, c) => a + c, 0) +
        h.negative.counts.reduce((a, c) => a + c, 0),
    })),
);

const summary: fc.Arbitrary<GenSummary> = fc.record({
  count: nat(1_000_000),
  sum: finiteDouble,
  quantiles: fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), finiteDouble), { maxLength: 4 }),
});

function numberValue(monotonic: boolean, sdkOnly: boolean): fc.Arbitrary<GenNumber> {
  const double = monotonic ? fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }) : finiteDouble;
  const int = fc.bigInt({ min: monotonic ? 0n : -(2n ** 53n) + 1n, max: 2n ** 53n - 1n });
  return fc.oneof(
    (sdkOnly ? double.filter((d) => !Number.isInteger(d)) : double).map((v): GenNumber => ({
      t: 'double',
      v,
    })),
    int.map((v): GenNumber => ({ t: 'int', v })),
  );
}

/** One valid point of `kind`; the `attrs` passed in make it a distinct series. */
function validPoint(
  m: Pick<GenMetric, 'kind' | 'monotonic'>,
  sdkOnly: boolean,
  layout: number[] | undefined,
): fc.Arbitrary<GenPoint> {
  const times = fc.tuple(timeNs, timeNs).map(([a, b]): [bigint, bigint] => (a <= b ? [a, b] : [b, a]));
  const data: fc.Arbitrary<Pick<GenPoint, 'number' | 'histogram' | 'exp' | 'summary'>> =
    m.kind === 'gauge' || m.kind === 'sum'
      ? numberValue(m.kind === 'sum' && m.monotonic, sdkOnly).map((number) => ({ number }))
      : m.kind === 'histogram'
        ? histogram(layout === undefined ? bounds : fc.constant(layout)).map((h) => ({ histogram: h }))
        : m.kind === 'exponential_histogram'
          ? // The SDK's exponential histogram has no zero threshold (the serializer leaves it out).
            expHistogram.map((exp) => ({ exp: sdkOnly ? { ...exp, zeroThreshold: 0 } : exp }))
          : summary.map((s) => ({ summary: s }));
  return fc
    .record({ attrs: attributes(3, sdkOnly), times, data })
    .map(({ attrs, times: [startNs, timeNs], data }): GenPoint => ({ ...data, attrs, startNs, timeNs }));
}

/** Ways to break a point of `kind`, each with the reason it must be rejected. */
function breakPoint(m: GenMetric, p: GenPoint): fc.Arbitrary<GenPoint> {
  const broken = (why: string, change: Partial<GenPoint>): GenPoint => ({ ...p, ...change, invalid: why });
  switch (m.kind) {
    case 'gauge':
    case 'sum': {
      const ways: Array<fc.Arbitrary<GenPoint>> = [
        fc
          .constantFrom(NaN, Infinity, -Infinity)
          .map((v) => broken(`non-finite ${v}`, { number: { t: 'double', v } })),
        fc.constant(broken('no value', { number: { t: 'none' } })),
      ];
      if (m.kind === 'sum' && m.monotonic)
        ways.push(
          fc
            .double({ max: -Number.MIN_VALUE, noNaN: true, noDefaultInfinity: true })
            .map((v) => broken('negative monotonic', { number: { t: 'double', v } })),
          fc
            .bigInt({ min: -(2n ** 53n) + 1n, max: -1n })
            .map((v) => broken('negative monotonic int', { number: { t: 'int', v } })),
        );
      return fc.oneof(...ways);
    }
    case 'histogram': {
      const h = p.histogram!;
      const extra = h.counts.length === 0 ? [1, 1] : [1];
      const ways: Array<fc.Arbitrary<GenPoint>> = [
        fc
          .constantFrom(NaN, Infinity, -Infinity)
          .map((sum) => broken('non-finite sum', { histogram: { ...h, sum } })),
        fc.constant(
          broken('one bucket count too many', {
            // Two when the point had no buckets: one count and no bounds is a valid layout.
            histogram: { ...h, counts: [...h.counts, ...extra], count: h.count + extra.length },
          }),
        ),
        fc.constant(
          broken('bounds without buckets', { histogram: { ...h, bounds: [1, 2], counts: [], count: 0 } }),
        ),
      ];
      // Without buckets a point is count and sum only: any count is valid then.
      if (h.counts.length > 0)
        ways.push(fc.constant(broken('count off by one', { histogram: { ...h, count: h.count + 1 } })));
      if (h.bounds.length >= 2)
        ways.push(
          fc.constant(
            broken('bounds not increasing', { histogram: { ...h, bounds: [...h.bounds].reverse() } }),
          ),
        );
      if (h.bounds.length >= 1)
        ways.push(
          fc
            .constantFrom(NaN, Infinity, -Infinity)
            .map((b) =>
              broken('non-finite bound', { histogram: { ...h, bounds: [...h.bounds.slice(0, -1), b] } }),
            ),
        );
      return fc.oneof(...ways);
    }
    case 'exponential_histogram': {
      const h = p.exp!;
      return fc.oneof(
        fc.constantFrom(-11, 21, 1000).map((scale) => broken('scale out of range', { exp: { ...h, scale } })),
        fc.constant(broken('count off by one', { exp: { ...h, count: h.count + 1 } })),
        fc.constantFrom(NaN, Infinity).map((sum) => broken('non-finite sum', { exp: { ...h, sum } })),
      );
    }
    case 'summary': {
      const s = p.summary!;
      return fc.oneof(
        fc
          .constantFrom(1.5, -0.25, NaN, Infinity)
          .map((q) =>
            broken('quantile out of range', { summary: { ...s, quantiles: [...s.quantiles, [q, 1]] } }),
          ),
        fc.constant(broken('NaN sum', { summary: { ...s, sum: NaN } })),
      );
    }
  }
}

export interface RequestOptions {
  /** Make some points (and some metrics' temporality) invalid. */
  invalidPoints?: boolean;
  /** Only what the OpenTelemetry JS SDK can express (no summaries, bytes, kvlists, unspecified temporality). */
  sdkOnly?: boolean;
  maxPoints?: number;
}

const KINDS: readonly GenKind[] = ['gauge', 'sum', 'histogram', 'exponential_histogram', 'summary'];

/** A metric with `n` points, each a distinct series (the attribute `fz.i` holds its index). */
function metric(index: number, opts: RequestOptions): fc.Arbitrary<GenMetric> {
  const kinds = opts.sdkOnly ? KINDS.filter((k) => k !== 'summary') : KINDS;
  return fc
    .record({
      kind: fc.constantFrom(...kinds),
      monotonic: fc.boolean(),
      temporality: opts.sdkOnly
        ? fc.constantFrom<1 | 2>(1, 2)
        : opts.invalidPoints
          ? fc.constantFrom<0 | 1 | 2>(1, 2, 2, 2, 2, 0)
          : fc.constantFrom<1 | 2>(1, 2),
      unit: fc.constantFrom('', '1', 'ms', 's', 'By', '{request}', '%'),
      description: fc.oneof(fc.constant(''), attrText),
      n: fc.integer({ min: 1, max: opts.maxPoints ?? 4 }),
      layout: fc.option(bounds, { nil: undefined, freq: 3 }),
    })
    .chain((m) => {
      const shape: GenMetric = {
        name: `fz.m${index}`,
        unit: m.unit,
        description: m.description,
        kind: m.kind,
        monotonic: m.kind === 'sum' && m.monotonic,
        temporality: m.temporality,
        points: [],
      };
      const point = (i: number): fc.Arbitrary<GenPoint> =>
        validPoint(shape, opts.sdkOnly ?? false, m.layout)
          .chain((p) =>
            opts.invalidPoints
              ? fc.oneof(
                  { weight: 2, arbitrary: fc.constant(p) },
                  { weight: 1, arbitrary: breakPoint(shape, p) },
                )
              : fc.constant(p),
          )
          .map((p) => ({
            ...p,
            // The index attribute makes each point its own series whatever the random attributes are.
            attrs: [
              ...p.attrs.filter((a) => a.key !== 'fz.i'),
              { key: 'fz.i', value: { t: 'int', v: BigInt(i) } },
            ],
          }));
      return fc
        .tuple(...Array.from({ length: m.n }, (_, i) => point(i)))
        .map((points) => ({ ...shape, points }));
    });
}

/** A request: one or two resources (distinct service names), one or two scopes, uniquely named metrics. */
export function otlpRequest(opts: RequestOptions = {}): fc.Arbitrary<GenRequest> {
  let next = 0;
  return fc
    .record({
      resources: fc.integer({ min: 1, max: 2 }),
      scopes: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 2, maxLength: 4 }),
      extra: fc.array(attributes(3, opts.sdkOnly), { minLength: 2, maxLength: 2 }),
      scopeNames: fc.array(fc.tuple(attrText, attrText), { minLength: 4, maxLength: 4 }),
    })
    .chain(({ resources, scopes, extra, scopeNames }) => {
      next = 0;
      const res: Array<fc.Arbitrary<GenResource>> = [];
      for (let r = 0; r < resources; r++) {
        const scopeArbs: Array<fc.Arbitrary<GenScope>> = [];
        const nScopes = r === 0 ? 1 : 2;
        for (let s = 0; s < nScopes; s++) {
          const nMetrics = scopes[r * 2 + s] ?? 1;
          const [name, version] = scopeNames[r * 2 + s]!;
          const metrics = Array.from({ length: nMetrics }, () => metric(next++, opts));
          scopeArbs.push(fc.tuple(...metrics).map((ms) => ({ name, version, metrics: ms })));
        }
        const attrs: GenAttr[] = [
          ...extra[r]!.filter((a) => !a.key.startsWith('service.')),
          { key: 'service.name', value: { t: 'string', v: `fz-svc-${r}` } },
        ];
        res.push(fc.tuple(...scopeArbs).map((ss) => ({ attrs, scopes: ss })));
      }
      return fc.tuple(...res).map((rs) => ({ resources: rs }));
    });
}
