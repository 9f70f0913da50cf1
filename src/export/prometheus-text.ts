import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { ResourceEntry } from '../store/resource.js';
import type { Series } from '../store/series.js';
import type { Family, MetricStream, Store } from '../store/store.js';
import type { ExpHistogramPoint, FlatAttrs, HistogramPoint, SummaryPoint } from '../store/types.js';
import { labelName } from './prometheus-naming.js';

/**
 * The Prometheus text exposition (format 0.0.4, or OpenMetrics 1.0 when asked) of the store.
 *
 * Written by hand rather than with the SDK's PrometheusSerializer, which keeps only one
 * resource, cannot render exponential histograms and serialises synchronously (~1 s for 10k
 * histogram series, research/otel-js.md). Here label strings are cached on streams and series,
 * output goes out in chunks, and the writer yields to the event loop every `yieldEveryMs` so a
 * large scrape never stalls ingest.
 */

export interface ExpositionSink {
  /**
   * Takes a chunk. A promise when the sink holds enough for now (a socket whose peer reads
   * slower than vigil writes): no more is written until it resolves.
   */
  write(chunk: string): void | Promise<void>;
  /** True once nobody reads any more (the scraper went away): the exposition stops there. */
  readonly closed?: boolean;
}

export interface ExpositionOptions {
  openMetrics: boolean;
  /**
   * Yield to the event loop after this much synchronous work. Default 2 ms: with 4 ms, ingest
   * requests arriving during a scrape waited behind its slices (B10 p99 15–28 ms against 7–11 ms
   * with 2 ms, side by side); the serialisation's total time and its ratio to the SDK's did not move.
   */
  yieldEveryMs?: number;
  /** Chunk size handed to the sink (default 64 KiB of text). */
  chunkChars?: number;
}

export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/** OpenMetrics when the scraper lists it with a non-zero weight (Prometheus does by default). */
export function negotiateFormat(accept: string | undefined): { openMetrics: boolean; contentType: string } {
  const openMetrics =
    accept !== undefined &&
    accept
      .split(',')
      .some(
        (part) =>
          part.trim().startsWith('application/openmetrics-text') && !/;\s*q=0(\.0*)?\s*(;|$)/.test(part),
      );
  return { openMetrics, contentType: openMetrics ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE };
}

/** A float as Prometheus writes it. */
export function formatValue(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Number.isNaN(v)) return 'NaN';
  return String(v);
}

export function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

function escapeHelp(v: string): string {
  return /[\\\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n') : v;
}

/** Labels vigil derives from the resource and scope; attributes never override them. */
const RESERVED = new Set(['job', 'instance', 'otel_scope_name', 'otel_scope_version']);
/** Attributes a source used as identity: shown as job/instance, not again in target_info. */
const IDENTITY_ATTRS = new Set(['service.name', 'service.namespace', 'service.instance.id']);

export function jobOf(r: ResourceEntry): string {
  return r.serviceNamespace !== '' ? `${r.serviceNamespace}/${r.serviceName}` : r.serviceName;
}

/**
 * `name="value"` pairs for attributes, names normalised; two keys that normalise to the same
 * label are joined with `;` in key order, as otlptranslator does. `skip` names are left out.
 * `prefix` comes first. Built with one `join` because series keep this string: a `+=` rope
 * would keep a cons string per piece (about 2.5x the bytes of the flat string).
 */
export function attributeLabels(
  attrs: FlatAttrs,
  skip: ReadonlySet<string>,
  skipKeys?: ReadonlySet<string>,
  prefix = '',
): string {
  if (attrs.length === 0) return prefix;
  const byName = new Map<string, string>();
  for (let i = 0; i < attrs.length; i += 2) {
    const key = attrs[i]!;
    const value = attrs[i + 1]!;
    if (value === '' || skipKeys?.has(key)) continue;
    const name = labelName(key);
    if (name === '' || skip.has(name)) continue;
    const prev = byName.get(name);
    byName.set(name, prev === undefined ? value : `${prev};${value}`);
  }
  const names = [...byName.keys()].sort();
  const parts = [prefix];
  for (const n of names) parts.push(',', n, '="', escapeLabelValue(byName.get(n)!), '"');
  return parts.join('');
}

function resourceLabels(r: ResourceEntry): string {
  let out = `job="${escapeLabelValue(jobOf(r))}"`;
  if (r.instanceId !== '') out += `,instance="${escapeLabelValue(r.instanceId)}"`;
  return out;
}

function streamPrefix(stream: MetricStream): string {
  if (stream.labelPrefix === undefined) {
    let p = resourceLabels(stream.resource);
    if (stream.scope.name !== '') p += `,otel_scope_name="${escapeLabelValue(stream.scope.name)}"`;
    if (stream.scope.version !== '') p += `,otel_scope_version="${escapeLabelValue(stream.scope.version)}"`;
    stream.labelPrefix = p;
  }
  return stream.labelPrefix;
}

const HISTOGRAM_SKIP = new Set([...RESERVED, 'le']);
const SUMMARY_SKIP = new Set([...RESERVED, 'quantile']);

function seriesLabels(stream: MetricStream, s: Series): string {
  if (s.labels === undefined) {
    const type = stream.family.type;
    const skip = type === 'histogram' ? HISTOGRAM_SKIP : type === 'summary' ? SUMMARY_SKIP : RESERVED;
    s.labels = attributeLabels(s.attrs, skip, undefined, streamPrefix(stream));
  }
  return s.labels;
}

/** Cumulative `[le, count]` pairs of an exponential histogram, as classic buckets (SPEC §7). */
export function expHistogramBuckets(p: ExpHistogramPoint): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const factor = Math.pow(2, -p.scale);
  const bound = (index: number): number => Math.pow(2, index * factor);
  let cum = 0;
  let lastLe = -Infinity;
  const push = (le: number, count: number): void => {
    cum += count;
    if (le > lastLe) {
      out.push([le, cum]);
      lastLe = le;
    } else if (out.length > 0) out[out.length - 1]![1] = cum;
  };
  // Negative buckets from the most negative: bucket i holds (-base^(i+1), -base^i].
  const neg = p.negative;
  for (let j = neg.counts.length - 1; j >= 0; j--) {
    const c = neg.counts[j]!;
    if (c > 0) push(-bound(neg.offset + j), c);
  }
  if (p.zeroCount > 0 || neg.counts.some((c) => c > 0)) push(p.zeroThreshold, p.zeroCount);
  const pos = p.positive;
  for (let j = 0; j < pos.counts.length; j++) {
    const c = pos.counts[j]!;
    if (c > 0) push(bound(pos.offset + j + 1), c);
  }
  return out;
}

/**
 * `,le="<bound>"} ` per bound, cached by bounds array: the store shares one bounds array between
 * the points of a layout, so formatting bounds (String(number) is not cheap) happens once per
 * layout instead of once per bucket per scrape.
 */
const leCache = new WeakMap<readonly number[], readonly string[]>();
function leLabels(bounds: readonly number[]): readonly string[] {
  let le = leCache.get(bounds);
  if (le === undefined) {
    le = bounds.map((b) => `,le="${formatValue(b)}"} `);
    leCache.set(bounds, le);
  }
  return le;
}

/** The samples of one series, or '' while it holds no point. */
function seriesText(name: string, stream: MetricStream, s: Series): string {
  if (!s.filled) return '';
  const labels = seriesLabels(stream, s);
  switch (stream.desc.kind) {
    case 'sum':
    case 'gauge':
      return `${name}{${labels}} ${formatValue(s.value)}\n`;
    case 'histogram': {
      const p = s.point as HistogramPoint;
      const le = leLabels(p.bounds);
      const head = `${name}_bucket{${labels}`;
      let out = '';
      let cum = 0;
      for (let i = 0; i < le.length; i++) {
        cum += p.bucketCounts[i]!;
        out += head + le[i]! + cum + '\n';
      }
      return out + histogramTail(name, labels, p.count, p.sum);
    }
    case 'exponential_histogram': {
      const p = s.point as ExpHistogramPoint;
      let out = '';
      for (const [le, cum] of expHistogramBuckets(p)) {
        if (le !== Infinity) out += `${name}_bucket{${labels},le="${formatValue(le)}"} ${cum}\n`;
      }
      return out + histogramTail(name, labels, p.count, p.sum);
    }
    case 'summary': {
      const p = s.point as SummaryPoint;
      let out = '';
      for (const [q, v] of p.quantiles)
        out += `${name}{${labels},quantile="${formatValue(q)}"} ${formatValue(v)}\n`;
      return out + `${name}_sum{${labels}} ${formatValue(p.sum)}\n${name}_count{${labels}} ${p.count}\n`;
    }
  }
}

function histogramTail(name: string, labels: string, count: number, sum: number): string {
  return (
    `${name}_bucket{${labels},le="+Inf"} ${count}\n` +
    `${name}_sum{${labels}} ${formatValue(sum)}\n` +
    `${name}_count{${labels}} ${count}\n`
  );
}

function familyHeader(family: Family, openMetrics: boolean): string {
  // OpenMetrics names a counter family without its `_total` sample suffix.
  const name =
    openMetrics && family.type === 'counter' && family.name.endsWith('_total')
      ? family.name.slice(0, -'_total'.length)
      : family.name;
  // promtool lints a family without help text; fall back to the OTel name.
  const first = family.streams.values().next().value as MetricStream | undefined;
  const help = family.help !== '' ? family.help : (first?.desc.name ?? family.name);
  // OpenMetrics calls untyped `unknown`; a counter pushed without `_total` is `unknown` there too,
  // since an OpenMetrics counter's samples must end in `_total` and renaming them would change
  // the series a scraper stores.
  const type =
    openMetrics &&
    (family.type === 'untyped' || (family.type === 'counter' && !family.name.endsWith('_total')))
      ? 'unknown'
      : family.type;
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}

/**
 * The store as an exposition, streamed to `sink`, yielding to the event loop as it goes and
 * waiting while the sink holds enough: without that wait a scraper reading slower than vigil
 * writes had the whole exposition queued in vigil's memory (tens of MiB at 10k histograms).
 */
export async function writeExposition(
  store: Store,
  sink: ExpositionSink,
  opts: ExpositionOptions,
): Promise<void> {
  const yieldEveryMs = opts.yieldEveryMs ?? 2;
  const chunkChars = opts.chunkChars ?? 64 * 1024;
  let buf = '';
  let sliceStart = performance.now();
  let sinceCheck = 0;
  /** Hands `buf` to the sink, waiting if it asks to; false once the sink is closed. */
  const flush = async (): Promise<boolean> => {
    const wait = sink.write(buf);
    buf = '';
    if (wait !== undefined) {
      await wait;
      sliceStart = performance.now();
    }
    return sink.closed !== true;
  };
  /** After each series: a chunk out when one is full, a yield every `yieldEveryMs`; false: stop. */
  const maybeYield = async (): Promise<boolean> => {
    if (buf.length >= chunkChars && !(await flush())) return false;
    if (++sinceCheck < 64) return true;
    sinceCheck = 0;
    if (performance.now() - sliceStart < yieldEveryMs) return true;
    if (buf !== '' && !(await flush())) return false;
    await yieldToLoop();
    sliceStart = performance.now();
    return sink.closed !== true;
  };

  const liveResources = new Set<ResourceEntry>();
  // Snapshot the family list: a sweep during a yield may delete families (Map iteration would
  // cope, but a stable list makes the output order deterministic for one scrape).
  for (const family of [...store.families.values()]) {
    let body = '';
    for (const stream of family.streams) {
      let wrote = false;
      for (const s of stream.series.values()) {
        const text = seriesText(family.name, stream, s);
        if (text === '') continue;
        if (body === '') {
          buf += familyHeader(family, opts.openMetrics);
          body = 'started';
        }
        buf += text;
        wrote = true;
        if (!(await maybeYield())) return;
      }
      if (wrote) liveResources.add(stream.resource);
    }
  }
  if (liveResources.size > 0) {
    buf += '# HELP target_info Target metadata\n# TYPE target_info gauge\n';
    for (const r of liveResources) {
      buf += `target_info{${resourceLabels(r)}${attributeLabels(r.attrs, RESERVED, IDENTITY_ATTRS)}} 1\n`;
      if (!(await maybeYield())) return;
    }
  }
  if (opts.openMetrics) buf += '# EOF\n';
  if (buf !== '') await flush();
}
