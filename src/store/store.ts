import { Series } from './series.js';
import { ResourceEntry, resourceIdentity } from './resource.js';
import type { FlatAttrs, MetricDescriptor, MetricKind, RejectReason, ScopeInfo } from './types.js';
import { checkAttributes, DEFAULT_ATTRIBUTE_LIMITS, type AttributeLimits, type Invalid } from './validate.js';
import { canonicalPairs, tupleKey } from './canonical-key.js';

export interface StoreLimits {
  /** Series across all metrics (SPEC `limits.max_series`). */
  maxSeries: number;
  /** Series per metric name, across sources (SPEC `limits.max_series_per_metric`). */
  maxSeriesPerMetric: number;
  /** A series not updated for this long is removed by `sweep` (SPEC `limits.series_ttl`). */
  seriesTtlMs: number;
  /** Attributes of a new series (`limits.max_attributes_per_point`, `max_attribute_value_length`); default 128 / 4096. */
  attributes?: AttributeLimits;
}

/**
 * The Prometheus-level type of a family: streams of one family must agree on it. `untyped` only
 * comes from data pushed in Prometheus form (the text push).
 */
export type FamilyType = 'counter' | 'gauge' | 'untyped' | 'histogram' | 'summary';

/**
 * How streams are grouped into exposition families. Injected (main.ts wires the Prometheus
 * naming rules) so the store does not depend on any exporter.
 */
export type FamilyNamer = (desc: MetricDescriptor) => { name: string; type: FamilyType };

/** All streams that share one exposition name (SPEC §7: one family per name). */
export class Family {
  readonly streams = new Set<MetricStream>();
  constructor(
    readonly name: string,
    readonly type: FamilyType,
    /** Help and unit of the first stream, as Prometheus keeps one per family. */
    readonly help: string,
  ) {}
}

/** One (resource, scope, metric) stream and its series. */
export class MetricStream {
  readonly series = new Map<string, Series>();
  /**
   * Decoder-specific raw keys (e.g. the attribute bytes of an OTLP point) → series, so the hot
   * path finds a known series without decoding or sorting its attributes.
   */
  readonly aliases = new Map<string, Series>();
  /** Decoder cache: the series each point position held in the last request (see the OTLP decoder). */
  readonly recent: Array<Series | undefined> = [];
  /** Serialiser cache: the label prefix shared by every series of this stream. */
  labelPrefix: string | undefined;

  constructor(
    readonly id: string,
    readonly resource: ResourceEntry,
    readonly scope: ScopeInfo,
    readonly desc: MetricDescriptor,
    readonly family: Family,
  ) {}

  /**
   * Fast path: a known raw key. A point without attributes has the raw key '' which is also its
   * canonical key, so it is never aliased: look it up directly.
   */
  lookup(rawKey: string): Series | undefined {
    return rawKey === '' ? this.series.get('') : this.aliases.get(rawKey);
  }
}

export interface StoreOptions {
  limits: StoreLimits;
  clock: () => number;
  familyOf: FamilyNamer;
}

/**
 * The series store: sources (resources) → streams → series, grouped into exposition families.
 * It owns identity, limits and expiry; point arithmetic lives with the ingest paths' callers
 * (`store/apply.ts`).
 */
export class Store {
  readonly resources = new Map<string, ResourceEntry>();
  readonly streams = new Map<string, MetricStream>();
  readonly families = new Map<string, Family>();
  private readonly perMetric = new Map<string, number>();
  private seriesCount = 0;
  /**
   * Bumped whenever a series, stream or resource is removed or a stream changes shape: caches
   * that hold store objects (the OTLP decoder's known requests) are valid only within one.
   */
  generation = 0;
  private limits: StoreLimits;
  private readonly clock: () => number;
  private readonly familyOf: FamilyNamer;

  constructor(opts: StoreOptions) {
    this.limits = opts.limits;
    this.clock = opts.clock;
    this.familyOf = opts.familyOf;
  }

  get size(): number {
    return this.seriesCount;
  }

  setLimits(limits: StoreLimits): void {
    this.limits = limits;
  }

  /** The entry for a resource's identity, created on first sight; attributes refreshed. */
  resource(attrs: FlatAttrs): ResourceEntry {
    const sorted = canonicalPairs(attrs).sorted;
    const key = resourceIdentity(sorted).key;
    const now = this.clock();
    let entry = this.resources.get(key);
    if (entry === undefined) {
      entry = new ResourceEntry(sorted, now);
      this.resources.set(key, entry);
    } else {
      if (!sameStrings(entry.attrs, sorted)) {
        entry.attrs = sorted;
        this.generation++;
      }
      entry.updatedMs = now;
    }
    return entry;
  }

  /** The stream for (resource, scope, metric), or why its points cannot be stored. */
  stream(resource: ResourceEntry, scope: ScopeInfo, desc: MetricDescriptor): MetricStream | RejectReason {
    const id = streamKey(resource.key, scope, desc.name, desc.kind);
    let s = this.streams.get(id);
    if (s !== undefined) {
      // A stream whose temporality or unit changes keeps its identity; the latest shape wins.
      if (s.desc.temporality !== desc.temporality || s.desc.monotonic !== desc.monotonic) {
        const fam = this.familyOf(desc);
        if (fam.name !== s.family.name || fam.type !== s.family.type) return 'type_conflict';
        (s as { desc: MetricDescriptor }).desc = desc;
        this.generation++;
      }
      return s;
    }
    if (desc.name === '') return 'invalid_name';
    const { name, type } = this.familyOf(desc);
    let family = this.families.get(name);
    if (family === undefined) {
      family = new Family(name, type, desc.description);
      this.families.set(name, family);
    } else if (family.type !== type) {
      return 'type_conflict';
    }
    s = new MetricStream(id, resource, scope, desc, family);
    this.streams.set(id, s);
    family.streams.add(s);
    resource.streamCount++;
    return s;
  }

  /**
   * Slow path: find or create the series for `attrs`, under the limits. `rawKey` (when the caller
   * has one) becomes an alias for later fast lookups. `exempt` series (vigil's own telemetry)
   * count towards the totals but are never refused: the sidecar must always report on itself.
   */
  series(
    stream: MetricStream,
    rawKey: string | null,
    attrs: FlatAttrs,
    exempt = false,
  ): Series | RejectReason {
    const { key, sorted } = canonicalPairs(attrs);
    let s = stream.series.get(key);
    if (s === undefined) {
      const metric = stream.desc.name;
      const perMetric = this.perMetric.get(metric) ?? 0;
      if (!exempt) {
        // Checked once, when a series is created: a known series passed it then.
        const bad = checkAttributes(sorted, this.attributeLimits);
        if (bad !== null) return bad.reason;
        if (this.seriesCount >= this.limits.maxSeries) return 'series_limit';
        if (perMetric >= this.limits.maxSeriesPerMetric) return 'series_per_metric_limit';
      }
      s = new Series(key, sorted, this.clock());
      stream.series.set(key, s);
      this.perMetric.set(metric, perMetric + 1);
      this.seriesCount++;
    }
    if (rawKey !== null && rawKey !== key) {
      // Bound the alias map: a client that reorders attributes on every push must not grow it
      // without limit. Clearing only costs a slow-path lookup per series.
      if (stream.aliases.size >= 2 * stream.series.size + 16) stream.aliases.clear();
      stream.aliases.set(rawKey, s);
    }
    return s;
  }

  /** Why a point with `attrs` could not create a series under the attribute limits (null: it could). */
  attributeProblem(attrs: FlatAttrs): Invalid | null {
    return checkAttributes(attrs, this.attributeLimits);
  }

  private get attributeLimits(): AttributeLimits {
    return this.limits.attributes ?? DEFAULT_ATTRIBUTE_LIMITS;
  }

  /** The series for `attrs` if the store holds it; never creates one. */
  findSeries(stream: MetricStream, attrs: FlatAttrs): Series | undefined {
    return stream.series.get(canonicalPairs(attrs).key);
  }

  /** How many more series the limits allow: in all, and for `metric` (callers that must check first). */
  headroom(metric: string): { total: number; perMetric: number } {
    return {
      total: this.limits.maxSeries - this.seriesCount,
      perMetric: this.limits.maxSeriesPerMetric - (this.perMetric.get(metric) ?? 0),
    };
  }

  /** Remove one series now (a Pushgateway DELETE or replace); a stream left empty goes with it. */
  removeSeries(stream: MetricStream, s: Series): boolean {
    if (stream.series.get(s.key) !== s) return false;
    this.generation++;
    stream.series.delete(s.key);
    for (const [raw, a] of stream.aliases) if (a === s) stream.aliases.delete(raw);
    const m = stream.desc.name;
    const left = (this.perMetric.get(m) ?? 0) - 1;
    if (left > 0) this.perMetric.set(m, left);
    else this.perMetric.delete(m);
    this.seriesCount--;
    if (stream.series.size === 0) this.dropStream(stream);
    return true;
  }

  /** Remove series not updated within the TTL, then streams, families and resources left empty. */
  sweep(): number {
    const cutoff = this.clock() - this.limits.seriesTtlMs;
    let removed = 0;
    for (const stream of this.streams.values()) {
      let streamRemoved = 0;
      // forEach, not for-of: this runs every few seconds, too seldom for V8 to optimise it, and
      // unoptimised, for-of over a Map allocates an entry and an iterator result per series
      // (6 MiB a sweep at 100k series, measured: an idle vigil's only large allocation, which
      // kept V8 from seeing it idle; README "Memory per series").
      stream.series.forEach((s, key) => {
        if (s.updatedMs < cutoff && s.owner === undefined) {
          stream.series.delete(key);
          streamRemoved++;
          this.generation++;
        }
      });
      if (streamRemoved > 0) {
        for (const [raw, s] of stream.aliases)
          if (s.updatedMs < cutoff && s.owner === undefined) stream.aliases.delete(raw);
        const m = stream.desc.name;
        const left = (this.perMetric.get(m) ?? 0) - streamRemoved;
        if (left > 0) this.perMetric.set(m, left);
        else this.perMetric.delete(m);
        this.seriesCount -= streamRemoved;
        removed += streamRemoved;
      }
      if (stream.series.size === 0) this.dropStream(stream);
    }
    // A source whose every point was refused has an entry but no stream: expire it too.
    for (const [key, r] of this.resources)
      if (r.streamCount <= 0 && r.updatedMs < cutoff) {
        this.resources.delete(key);
        this.generation++;
      }
    return removed;
  }

  private dropStream(stream: MetricStream): void {
    this.generation++;
    this.streams.delete(stream.id);
    stream.family.streams.delete(stream);
    if (stream.family.streams.size === 0) this.families.delete(stream.family.name);
    const r = stream.resource;
    r.streamCount--;
    if (r.streamCount <= 0) this.resources.delete(r.key);
  }
}

/** The key of a (resource, scope, metric, kind) stream in {@link Store.streams}. */
export function streamKey(resourceKey: string, scope: ScopeInfo, name: string, kind: MetricKind): string {
  return tupleKey([resourceKey, scope.name, scope.version, name, kind]);
}

/** The Prometheus type a stream's points take: what decides whether streams can share a family. */
export function familyType(desc: MetricDescriptor): FamilyType {
  switch (desc.kind) {
    case 'sum':
      return desc.monotonic ? 'counter' : 'gauge';
    case 'gauge':
      return 'gauge';
    case 'histogram':
    case 'exponential_histogram':
      return 'histogram';
    case 'summary':
      return 'summary';
  }
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
