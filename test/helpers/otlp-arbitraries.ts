import { ValueType } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import fc from 'fast-check';
import type { Store } from '../../src/store/store.js';
import type { ExpHistogramPoint, HistogramPoint, SummaryPoint } from '../../src/store/types.js';
import { MAGIC_KEYS } from './fuzz.js';
import { MAX_ATTRIBUTE_KEY_LENGTH } from '../../src/store/validate.js';

/**
 * fast-check arbitraries of OTLP metrics requests, for the property and fuzz tests.
 *
 * A generated request is a small model (`GenRequest`) that can be written three ways — the
 * OTLP/JSON object shape (which protobufjs's `fromObject` also reads, for the protobuf encoding),
 * the SDK's `ResourceMetrics` (for the official `@opentelemetry/otlp-transformer` serializers) —
 * and from which {@link expectedStore} derives, without vigil's code, what the store must hold
 * afterwards and how many points must be accepted and rejected. Points can be made invalid on
 * purpose (`invalidPoints`); each says why, and the model counts it as rejected.
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

// ---- writing the model --------------------------------------------------------------------------

const base64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

/** A double as OTLP/JSON writes it: non-finite values as strings. */
function jsonDouble(v: number): number | string {
  return Number.isFinite(v) ? v : String(v);
}

function anyValueJson(v: GenValue): Record<string, unknown> {
  switch (v.t) {
    case 'string':
      return { stringValue: v.v };
    case 'bool':
      return { boolValue: v.v };
    case 'int':
      return { intValue: v.v.toString() };
    case 'double':
      return { doubleValue: jsonDouble(v.v) };
    case 'bytes':
      return { bytesValue: base64(v.v) };
    case 'array':
      return { arrayValue: { values: v.v.map(anyValueJson) } };
    case 'kvlist':
      return { kvlistValue: { values: v.v.map(kvJson) } };
    case 'empty':
      return {};
  }
}

const kvJson = (a: GenAttr) => ({ key: a.key, value: anyValueJson(a.value) });

function pointJson(m: GenMetric, p: GenPoint): Record<string, unknown> {
  const out: Record<string, unknown> = {
    attributes: p.attrs.map(kvJson),
    startTimeUnixNano: p.startNs.toString(),
    timeUnixNano: p.timeNs.toString(),
  };
  if (m.kind === 'gauge' || m.kind === 'sum') {
    const n = p.number!;
    if (n.t === 'double') out['asDouble'] = jsonDouble(n.v);
    else if (n.t === 'int') out['asInt'] = n.v.toString();
  } else if (m.kind === 'histogram') {
    const h = p.histogram!;
    Object.assign(out, {
      count: String(h.count),
      sum: jsonDouble(h.sum),
      bucketCounts: h.counts.map(String),
      explicitBounds: h.bounds.map(jsonDouble),
    });
    if (h.min !== undefined) out['min'] = jsonDouble(h.min);
    if (h.max !== undefined) out['max'] = jsonDouble(h.max);
  } else if (m.kind === 'exponential_histogram') {
    const h = p.exp!;
    Object.assign(out, {
      count: String(h.count),
      sum: jsonDouble(h.sum),
      scale: h.scale,
      zeroCount: String(h.zeroCount),
      zeroThreshold: h.zeroThreshold,
      positive: { offset: h.positive.offset, bucketCounts: h.positive.counts.map(String) },
      negative: { offset: h.negative.offset, bucketCounts: h.negative.counts.map(String) },
    });
    if (h.min !== undefined) out['min'] = jsonDouble(h.min);
    if (h.max !== undefined) out['max'] = jsonDouble(h.max);
  } else {
    const s = p.summary!;
    Object.assign(out, {
      count: String(s.count),
      sum: jsonDouble(s.sum),
      quantileValues: s.quantiles.map(([quantile, value]) => ({
        quantile: jsonDouble(quantile),
        value: jsonDouble(value),
      })),
    });
  }
  return out;
}

function metricJson(m: GenMetric): Record<string, unknown> {
  const dataPoints = m.points.map((p) => pointJson(m, p));
  const data: Record<string, unknown> = { dataPoints };
  if (m.kind === 'sum')
    Object.assign(data, { aggregationTemporality: m.temporality, isMonotonic: m.monotonic });
  if (m.kind === 'histogram' || m.kind === 'exponential_histogram')
    data['aggregationTemporality'] = m.temporality;
  const field = m.kind === 'exponential_histogram' ? 'exponentialHistogram' : m.kind;
  return { name: m.name, unit: m.unit, description: m.description, [field]: data };
}

/**
 * The request as an OTLP/JSON object (lowerCamelCase, int64 as decimal strings, NaN and
 * infinities as strings). `JSON.stringify` of it is an OTLP/JSON body; protobufjs's
 * `RequestType.fromObject` of it gives the protobuf encoding.
 */
export function toOtlpJson(req: GenRequest): { resourceMetrics: unknown[] } {
  return {
    resourceMetrics: req.resources.map((r) => ({
      resource: { attributes: r.attrs.map(kvJson) },
      scopeMetrics: r.scopes.map((s) => ({
        scope: { name: s.name, version: s.version },
        metrics: s.metrics.map(metricJson),
      })),
    })),
  };
}

function sdkValue(v: GenValue): unknown {
  switch (v.t) {
    case 'int':
      return Number(v.v);
    case 'array':
      return v.v.map(sdkValue);
    case 'string':
    case 'bool':
    case 'double':
      return v.v;
    default:
      throw new Error(`no SDK attribute value for ${v.t}`);
  }
}

/** Attributes as the SDK holds them; `__proto__` defined as an own key, as the SDK's callers would. */
function sdkAttrs(attrs: readonly GenAttr[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of attrs)
    Object.defineProperty(out, a.key, { value: sdkValue(a.value), enumerable: true, writable: true });
  return out;
}

const hrTime = (ns: bigint): [number, number] => [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];

/** The request as the SDK's ResourceMetrics (for the official otlp-transformer serializers); sdkOnly models only. */
export function toResourceMetrics(req: GenRequest): ResourceMetrics[] {
  return req.resources.map((r) => ({
    // The serializers read only `attributes` and `schemaUrl` of a Resource.
    resource: { attributes: sdkAttrs(r.attrs), schemaUrl: undefined } as unknown as Resource,
    scopeMetrics: r.scopes.map((s) => ({
      scope: { name: s.name, version: s.version },
      metrics: s.metrics.map((m): MetricData => {
        const ints = m.points.every((p) => p.number?.t === 'int');
        const descriptor = {
          name: m.name,
          unit: m.unit,
          description: m.description,
          valueType: ints ? ValueType.INT : ValueType.DOUBLE,
        };
        const temporality =
          m.temporality === 1 ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE;
        const base = (p: GenPoint) => ({
          startTime: hrTime(p.startNs),
          endTime: hrTime(p.timeNs),
          attributes: sdkAttrs(p.attrs),
        });
        switch (m.kind) {
          case 'gauge':
          case 'sum':
            return {
              descriptor,
              aggregationTemporality: temporality,
              dataPointType: m.kind === 'sum' ? DataPointType.SUM : DataPointType.GAUGE,
              isMonotonic: m.monotonic,
              dataPoints: m.points.map((p) => ({
                ...base(p),
                value: p.number!.t === 'none' ? NaN : Number((p.number as { v: number | bigint }).v),
              })),
            } as MetricData;
          case 'histogram':
            return {
              descriptor,
              aggregationTemporality: temporality,
              dataPointType: DataPointType.HISTOGRAM,
              dataPoints: m.points.map((p) => {
                const h = p.histogram!;
                return {
                  ...base(p),
                  value: {
                    buckets: { boundaries: h.bounds, counts: h.counts },
                    sum: h.sum,
                    count: h.count,
                    min: h.min,
                    max: h.max,
                  },
                };
              }),
            } as MetricData;
          case 'exponential_histogram':
            return {
              descriptor,
              aggregationTemporality: temporality,
              dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
              dataPoints: m.points.map((p) => {
                const h = p.exp!;
                return {
                  ...base(p),
                  value: {
                    count: h.count,
                    sum: h.sum,
                    scale: h.scale,
                    zeroCount: h.zeroCount,
                    positive: { offset: h.positive.offset, bucketCounts: h.positive.counts },
                    negative: { offset: h.negative.offset, bucketCounts: h.negative.counts },
                    min: h.min,
                    max: h.max,
                  },
                };
              }),
            } as MetricData;
          case 'summary':
            throw new Error('the SDK has no summaries');
        }
      }),
    })),
  }));
}

// ---- what the store must hold -------------------------------------------------------------------

/** Attribute text as README "Ingest" documents it (the collector's `AsString`), written independently of src/. */
export function attributeText(v: GenValue): string {
  switch (v.t) {
    case 'string':
      return v.v;
    case 'bool':
      return v.v ? 'true' : 'false';
    case 'int':
      return v.v.toString();
    case 'double':
      return String(v.v);
    case 'bytes':
      return base64(v.v);
    case 'empty':
      return '';
    default:
      return nestedText(v);
  }
}

function nestedText(v: GenValue): string {
  switch (v.t) {
    case 'string':
      return JSON.stringify(v.v);
    case 'bool':
      return v.v ? 'true' : 'false';
    case 'int':
      return v.v.toString();
    case 'double':
      return Number.isFinite(v.v) ? String(v.v) : JSON.stringify(String(v.v));
    case 'bytes':
      return JSON.stringify(base64(v.v));
    case 'empty':
      return 'null';
    case 'array':
      return `[${v.v.map(nestedText).join(',')}]`;
    case 'kvlist':
      return `{${v.v.map((a) => `${JSON.stringify(a.key)}:${nestedText(a.value)}`).join(',')}}`;
  }
}

/** Flat attributes sorted by key, as the store keeps them. */
export function sortedAttrs(attrs: readonly GenAttr[]): string[] {
  const pairs = attrs.map((a) => [a.key, attributeText(a.value)] as const);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return pairs.flat();
}

/** Nanoseconds as the store's milliseconds: the double nearest the count, / 1e6, floored (both decoders' rule). */
export const nsToMs = (ns: bigint): number => Math.floor(Number(ns) / 1e6);

/** One series as the store must hold it (see {@link storeContents} for the same shape from a Store). */
export interface ExpectedSeries {
  resource: string[];
  scope: { name: string; version: string };
  name: string;
  unit: string;
  description: string;
  kind: GenKind;
  monotonic: boolean;
  temporality: 'delta' | 'cumulative';
  attrs: string[];
  startMs: number;
  timeMs: number;
  /** Number series: the value; other kinds: the point. */
  value: unknown;
}

export interface ExpectedOutcome {
  series: ExpectedSeries[];
  accepted: number;
  rejected: number;
}

/** What decoding `req` into an empty store must give. */
export function expectedStore(req: GenRequest): ExpectedOutcome {
  const series: ExpectedSeries[] = [];
  let accepted = 0;
  let rejected = 0;
  for (const r of req.resources) {
    for (const s of r.scopes) {
      for (const m of s.metrics) {
        const needsTemporality =
          m.kind === 'sum' || m.kind === 'histogram' || m.kind === 'exponential_histogram';
        if (needsTemporality && m.temporality === 0) {
          rejected += m.points.length;
          continue;
        }
        for (const p of m.points) {
          if (p.invalid !== undefined) {
            rejected++;
            continue;
          }
          accepted++;
          series.push({
            resource: sortedAttrs(r.attrs),
            scope: { name: s.name, version: s.version },
            name: m.name,
            unit: m.unit,
            description: m.description,
            kind: m.kind,
            monotonic: m.monotonic,
            temporality: needsTemporality && m.temporality === 1 ? 'delta' : 'cumulative',
            attrs: sortedAttrs(p.attrs),
            startMs: nsToMs(p.startNs),
            timeMs: nsToMs(p.timeNs),
            value: expectedValue(m, p),
          });
        }
      }
    }
  }
  return { series: sortSeries(series), accepted, rejected };
}

function expectedValue(m: GenMetric, p: GenPoint): unknown {
  switch (m.kind) {
    case 'gauge':
    case 'sum': {
      const n = p.number!;
      const v = n.t === 'int' ? Number(n.v) : (n as { v: number }).v;
      // A delta sum is accumulated onto 0, which turns a -0 into 0.
      return m.kind === 'sum' && m.temporality === 1 ? 0 + v : v;
    }
    case 'histogram': {
      const h = p.histogram!;
      return {
        count: h.count,
        sum: h.sum,
        min: h.min ?? NaN,
        max: h.max ?? NaN,
        bounds: h.bounds,
        bucketCounts: h.counts,
      };
    }
    case 'exponential_histogram': {
      const h = p.exp!;
      return {
        count: h.count,
        sum: h.sum,
        min: h.min ?? NaN,
        max: h.max ?? NaN,
        scale: h.scale,
        zeroCount: h.zeroCount,
        zeroThreshold: h.zeroThreshold,
        positive: h.positive,
        negative: h.negative,
      };
    }
    case 'summary': {
      const s = p.summary!;
      return { count: s.count, sum: s.sum, quantiles: s.quantiles };
    }
  }
}

function sortSeries<T extends { name: string; attrs: string[] }>(list: T[]): T[] {
  const key = (s: T) => `${s.name}\u0000${JSON.stringify(s.attrs)}`;
  return list.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** Everything `store` holds, in the shape of {@link ExpectedSeries}, sorted the same way. */
export function storeContents(store: Store): ExpectedSeries[] {
  const out: ExpectedSeries[] = [];
  for (const st of store.streams.values()) {
    for (const s of st.series.values()) {
      if (!s.filled) continue;
      let value: unknown;
      let startMs = s.startMs;
      let timeMs = s.timeMs;
      if (st.desc.kind === 'sum' || st.desc.kind === 'gauge') value = s.value;
      else {
        const {
          startMs: ps,
          timeMs: pt,
          ...rest
        } = s.point as HistogramPoint | ExpHistogramPoint | SummaryPoint;
        startMs = ps;
        timeMs = pt;
        value = rest;
      }
      out.push({
        resource: [...st.resource.attrs],
        scope: { name: st.scope.name, version: st.scope.version },
        name: st.desc.name,
        unit: st.desc.unit,
        description: st.desc.description,
        kind: st.desc.kind,
        monotonic: st.desc.monotonic,
        temporality: st.desc.temporality,
        attrs: [...s.attrs],
        startMs,
        timeMs,
        value,
      });
    }
  }
  return sortSeries(out);
}

/** A deep copy with every -0 made 0: OTLP/JSON cannot carry the sign of a zero. */
export function withoutNegativeZero<T>(x: T): T {
  if (typeof x === 'number') return (Object.is(x, -0) ? 0 : x) as T;
  if (Array.isArray(x)) return x.map(withoutNegativeZero) as T;
  if (typeof x === 'object' && x !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) out[k] = withoutNegativeZero(v);
    return out as T;
  }
  return x;
}
