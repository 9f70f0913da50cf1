import { canonicalPairs, tupleKey } from '../store/canonical-key.js';
import { resourceIdentity } from '../store/resource.js';
import type { FamilyType } from '../store/store.js';
import type { HistogramPoint, RejectReason, SummaryPoint } from '../store/types.js';
import type { TextFamily, TextMetric } from './prometheus-text-parse.js';
import type { GroupingKey } from './pushgateway-path.js';

/**
 * One push, turned into the series it will write: Pushgateway's label rules applied (grouping
 * labels overwrite a sample's labels of the same name, `job` always from the grouping key,
 * `instance` from the grouping key or else the sample), then mapped onto vigil's identity: the
 * resource is `service.name` = job and `service.instance.id` = instance, so `/metrics` renders
 * `job` and `instance` exactly where the Pushgateway does, and every other label becomes a
 * point attribute under its own name. Pure: nothing here touches the store.
 */

/** The group's bookkeeping gauges, as the Pushgateway exposes them. */
export const PUSH_TIME = 'push_time_seconds';
export const PUSH_FAILURE_TIME = 'push_failure_time_seconds';
export const PUSH_TIME_HELP = 'Last Unix time when changing this group in the Pushgateway succeeded.';
export const PUSH_FAILURE_TIME_HELP = 'Last Unix time when changing this group in the Pushgateway failed.';

/** A push the Pushgateway would refuse as invalid or inconsistent (400), with vigil's reject reason. */
export class PushRejected extends Error {
  override readonly name = 'PushRejected';
  constructor(
    message: string,
    readonly reason: RejectReason,
  ) {
    super(message);
  }
}

/** Where a series lives: its source (resource) and its attributes. */
export interface SeriesPlace {
  readonly resourceAttrs: readonly string[];
  readonly resourceKey: string;
  /** Sorted flat attributes without `job` / `instance`; empty values dropped. */
  readonly attrs: readonly string[];
  readonly attrsKey: string;
}

export interface PlannedSample extends SeriesPlace {
  readonly family: string;
  readonly type: FamilyType;
  readonly help: string;
  /** Counter, gauge and untyped samples. */
  readonly value: number;
  /** Histogram and summary samples (times are set when written). */
  readonly point: HistogramPoint | SummaryPoint | undefined;
}

type ResourceCache = Map<string, { attrs: string[]; key: string }>;

/**
 * Where a series with these labels goes. `labels` are the sample's own labels (flat); the
 * grouping key's labels win over them, as Pushgateway's `sanitizeLabels` does. `resources`
 * caches the resource per instance within one push.
 */
export function placeSeries(
  key: GroupingKey,
  labels: readonly string[],
  resources: ResourceCache = new Map(),
): SeriesPlace {
  const g = key.labels;
  let groupInstance: string | undefined;
  for (let i = 0; i < g.length; i += 2) if (g[i] === 'instance') groupInstance = g[i + 1];
  let instance = groupInstance ?? '';
  const flat: string[] = [];
  for (let i = 0; i < labels.length; i += 2) {
    const k = labels[i]!;
    const v = labels[i + 1]!;
    if (k === 'job') continue;
    if (k === 'instance') {
      if (groupInstance === undefined) instance = v;
      continue;
    }
    // An empty label value is the same as no label to Prometheus; keeping it would let
    // `m{a=""}` and `m` become two series that render identically.
    if (v === '' || inGroupingKey(g, k)) continue;
    flat.push(k, v);
  }
  for (let i = 0; i < g.length; i += 2) {
    const k = g[i]!;
    if (k !== 'job' && k !== 'instance' && g[i + 1] !== '') flat.push(k, g[i + 1]!);
  }
  let resource = resources.get(instance);
  if (resource === undefined) {
    const attrs = ['service.name', key.job];
    if (instance !== '') attrs.push('service.instance.id', instance);
    resources.set(instance, (resource = { attrs, key: resourceIdentity(attrs).key }));
  }
  const { key: attrsKey, sorted } = canonicalPairs(flat);
  return {
    resourceAttrs: resource.attrs,
    resourceKey: resource.key,
    attrs: sorted,
    attrsKey,
  };
}

function inGroupingKey(g: readonly string[], name: string): boolean {
  for (let i = 0; i < g.length; i += 2) if (g[i] === name) return true;
  return false;
}

/** The samples of a push, checked on their own (not yet against the store). */
export function planPush(
  key: GroupingKey,
  families: ReadonlyMap<string, TextFamily>,
): { samples: PlannedSample[]; points: number } {
  const samples: PlannedSample[] = [];
  const resources: ResourceCache = new Map();
  for (const mf of families.values()) {
    // The Pushgateway overwrites these with its own; a pushed one never shows.
    if (mf.name === PUSH_TIME || mf.name === PUSH_FAILURE_TIME) continue;
    const type = (mf.type ?? 'untyped') as FamilyType;
    const reserved = type === 'histogram' ? 'le' : type === 'summary' ? 'quantile' : undefined;
    if (reserved !== undefined && inGroupingKey(key.labels, reserved))
      explicitLabel(mf.name, key, [], reserved);
    const help = mf.help ?? '';
    // Within a family, a series is its resource and attributes. Built flat (`join`) rather than
    // by concatenation: hashing a deep concatenated string costs microseconds.
    const seen = new Set<string>();
    for (const m of mf.metrics) {
      for (let i = 0; i < m.labels.length; i += 2) {
        const ln = m.labels[i]!;
        if (ln.startsWith('__'))
          throw new PushRejected(
            `collected metric ${JSON.stringify(mf.name)} ${describe(key, m.labels)} has a label with an invalid name: ${ln}`,
            'invalid_value',
          );
        if (ln === reserved) explicitLabel(mf.name, key, m.labels, reserved);
      }
      const place = placeSeries(key, m.labels, resources);
      const id = tupleKey([place.resourceKey, place.attrsKey]);
      if (seen.has(id))
        throw new PushRejected(
          `collected metric ${JSON.stringify(mf.name)} ${describe(key, m.labels)} was collected before with the same name and label values`,
          'invalid_value',
        );
      seen.add(id);
      samples.push({
        resourceAttrs: place.resourceAttrs,
        resourceKey: place.resourceKey,
        attrs: place.attrs,
        attrsKey: place.attrsKey,
        family: mf.name,
        type,
        help,
        value: m.value,
        point:
          type === 'histogram'
            ? histogramPoint(mf.name, m)
            : type === 'summary'
              ? summaryPoint(mf.name, m)
              : undefined,
      });
    }
  }
  return { samples, points: samples.length };
}

function explicitLabel(name: string, key: GroupingKey, labels: readonly string[], label: string): never {
  throw new PushRejected(
    `collected metric ${JSON.stringify(name)} ${describe(key, labels)} must not have an explicit ${JSON.stringify(label)} label`,
    'invalid_value',
  );
}

/** `{a="x",job="j"}` for error messages: the sample's labels as the group exposes them. */
function describe(key: GroupingKey, labels: readonly string[]): string {
  const merged = new Map<string, string>();
  for (let i = 0; i < labels.length; i += 2) merged.set(labels[i]!, labels[i + 1]!);
  for (let i = 0; i < key.labels.length; i += 2) merged.set(key.labels[i]!, key.labels[i + 1]!);
  const parts = [...merged.keys()].sort().map((k) => `${k}=${JSON.stringify(merged.get(k))}`);
  return `{${parts.join(',')}}`;
}

/**
 * A count as expfmt keeps it (`uint64(value)`: the fraction dropped). Negative, NaN or infinite
 * counts wrap around in Go; vigil refuses them.
 */
function count(family: string, what: string, v: number): number {
  if (!(v >= 0) || !Number.isFinite(v))
    throw new PushRejected(
      `histogram or summary ${JSON.stringify(family)}: invalid ${what} ${v}`,
      'invalid_histogram',
    );
  return Math.trunc(v);
}

/**
 * A classic histogram as an OTel explicit-bucket point. The Pushgateway stores buckets as sent
 * and renders whatever it got; vigil keeps histograms as OpenTelemetry data, so the buckets must
 * describe one distribution: finite distinct bounds (sorted here), cumulative counts that never
 * decrease, and a `+Inf` bucket, when sent, equal to `_count`.
 */
function histogramPoint(family: string, m: TextMetric): HistogramPoint {
  const total = m.count === undefined ? 0 : count(family, '_count', m.count);
  const finite: Array<[number, number]> = [];
  for (const [le, c] of m.buckets ?? []) {
    const cum = count(family, 'bucket count', c);
    if (le === Infinity) {
      if (cum !== total)
        throw new PushRejected(
          `histogram ${JSON.stringify(family)}: +Inf bucket ${cum} differs from _count ${total}`,
          'invalid_histogram',
        );
    } else if (le === -Infinity) {
      throw new PushRejected(`histogram ${JSON.stringify(family)}: bucket le="-Inf"`, 'invalid_histogram');
    } else finite.push([le, cum]);
  }
  finite.sort((a, b) => a[0] - b[0]);
  const bounds: number[] = [];
  const bucketCounts: number[] = [];
  let prev = 0;
  for (const [le, cum] of finite) {
    if (bounds.length > 0 && bounds[bounds.length - 1] === le)
      throw new PushRejected(
        `histogram ${JSON.stringify(family)}: bucket le="${le}" sent twice`,
        'invalid_histogram',
      );
    if (cum < prev)
      throw new PushRejected(
        `histogram ${JSON.stringify(family)}: bucket counts decrease at le="${le}"`,
        'invalid_histogram',
      );
    bounds.push(le);
    bucketCounts.push(cum - prev);
    prev = cum;
  }
  if (total < prev)
    throw new PushRejected(
      `histogram ${JSON.stringify(family)}: _count ${total} is below the last bucket's ${prev}`,
      'invalid_histogram',
    );
  if (bounds.length > 0) bucketCounts.push(total - prev);
  return {
    startMs: 0,
    timeMs: 0,
    count: total,
    sum: m.sum ?? 0,
    min: NaN,
    max: NaN,
    bounds,
    bucketCounts,
  };
}

function summaryPoint(family: string, m: TextMetric): SummaryPoint {
  return {
    startMs: 0,
    timeMs: 0,
    count: m.count === undefined ? 0 : count(family, '_count', m.count),
    sum: m.sum ?? 0,
    quantiles: m.quantiles ?? [],
  };
}
