import type { Store } from '../../src/store/store.js';
import type { ExpHistogramPoint, HistogramPoint, SummaryPoint } from '../../src/store/types.js';
import type { GenAttr, GenKind, GenMetric, GenPoint, GenRequest, GenValue } from './otlp-arbitraries.js';
import { base64 } from './otlp-model-writers.js';

/**
 * What the store must hold after a generated OTLP request (otlp-arbitraries.ts) is decoded into
 * an empty one — derived from the README's rules, not from src/ — and the store's contents in
 * the same shape, for comparing the two.
 */

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
