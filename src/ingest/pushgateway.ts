import type { Series } from '../store/series.js';
import { streamKey, type FamilyType, type MetricStream, type Store } from '../store/store.js';
import type {
  HistogramPoint,
  MetricDescriptor,
  MetricKind,
  RejectReason,
  ScopeInfo,
  SummaryPoint,
} from '../store/types.js';
import type { TextParseResult } from './prometheus-text-parse.js';
import type { GroupingKey } from './pushgateway-path.js';
import {
  placeSeries,
  planPush,
  PUSH_FAILURE_TIME,
  PUSH_FAILURE_TIME_HELP,
  PUSH_TIME,
  PUSH_TIME_HELP,
  PushRejected,
  type PlannedSample,
  type SeriesPlace,
} from './pushgateway-plan.js';
import { matchShape, recordShape, type PushShape } from './push-shape.js';
import { IngestTally, reasonText } from './types.js';

/**
 * Pushgateway groups on vigil's store (SPEC §3): a group is a grouping key and the series its
 * pushes wrote. PUT replaces the group's metric families, POST only the families it sends,
 * DELETE removes the group; each successful change sets the group's `push_time_seconds`, each
 * refused one its `push_failure_time_seconds`, as the Pushgateway does.
 *
 * A push is all or nothing, as on the Pushgateway: it is checked first (timestamps, type and
 * name-suffix conflicts with every other family on `/metrics`, series another group already
 * exposes, the series limits) and only then written. Pushed series are pinned: exempt from
 * `limits.series_ttl` (a Pushgateway keeps a group until it is deleted) but counted towards
 * `limits.max_series` and `limits.max_series_per_metric`. A series a group keeps across pushes
 * stays the same store series, so the signal windows see one counter, not a new one per push.
 */

/** No scope: nothing extra (`otel_scope_*`) on the exposed series, exactly as the Pushgateway shows them. */
const PUSH_SCOPE: ScopeInfo = { name: '', version: '' };

/**
 * A group's series in one family: the streams that hold them and how many there are. A series in
 * those streams is the group's when its `owner` is the group; nothing else is kept per series,
 * since a sidecar may hold 100k pushed series and every record counts (B5).
 */
interface GroupFamily {
  readonly type: FamilyType;
  readonly streams: Set<MetricStream>;
  count: number;
}

class Group {
  /** Family name → the group's series in it. */
  readonly families = new Map<string, GroupFamily>();
  /** Where the group's bookkeeping gauges live. */
  readonly place: SeriesPlace;
  /**
   * The shape of the last text push and the series of its samples (with which are counters),
   * while nothing else has changed the group since; `replace` when that push was a PUT (the
   * group holds nothing else).
   */
  shape: { shape: PushShape; series: Series[]; counters: Uint8Array; replace: boolean } | undefined =
    undefined;
  constructor(readonly key: GroupingKey) {
    this.place = placeSeries(key, []);
  }

  /** The group's series in `gf`; streams left without any are forgotten on the way. */
  each(gf: GroupFamily, fn: (stream: MetricStream, series: Series) => void): void {
    for (const stream of gf.streams) {
      let mine = false;
      for (const series of stream.series.values())
        if (series.owner === this) {
          mine = true;
          fn(stream, series);
        }
      if (!mine) gf.streams.delete(stream);
    }
  }
}

/** The last push-scope stream {@link PushGroups.find} looked up. */
interface StreamMemo {
  family: string;
  resourceKey: string;
  kind: MetricKind | '';
  stream: MetricStream | undefined;
}

const newMemo = (): StreamMemo => ({ family: '', resourceKey: '', kind: '', stream: undefined });

export interface PushOutcome {
  /** 200, or 400 for a push the Pushgateway would refuse. */
  readonly status: 200 | 400;
  readonly message: string;
  readonly tally: IngestTally;
}

export interface PushGroupsOptions {
  store: Store;
  clock: () => number;
}

export class PushGroups {
  private readonly groups = new Map<string, Group>();

  constructor(private readonly opts: PushGroupsOptions) {}

  /** Groups held. */
  get size(): number {
    return this.groups.size;
  }

  /**
   * A text push with exactly the shape of the group's last one (see push-shape.ts): its values
   * are written to the same series, nothing is parsed or checked again — a check would find what
   * the last push's found, since the group's series are its own until it changes. Undefined when
   * the full path must run (no shape, another shape, a PUT after a POST, a value not plain decimal).
   */
  pushSameShape(key: GroupingKey, body: Buffer, replace: boolean): PushOutcome | undefined {
    const group = this.groups.get(key.key);
    const known = group?.shape;
    if (group === undefined || known === undefined || (replace && !known.replace)) return undefined;
    const { series, counters } = known;
    if (this.values.length < series.length) this.values = new Float64Array(series.length * 2);
    if (!matchShape(known.shape, body, this.values)) return undefined;
    const now = this.opts.clock();
    for (let i = 0; i < series.length; i++) writeNumber(series[i]!, counters[i] === 1, this.values[i]!, now);
    this.stampSuccess(group, now);
    const tally = new IngestTally();
    tally.accepted = series.length;
    return { status: 200, message: '', tally };
  }

  /** Scratch for {@link pushSameShape}'s values. */
  private values = new Float64Array(0);

  /**
   * PUT (`replace`) or POST a parsed body to a group. With the text `body` it was parsed from,
   * the push's shape is kept for {@link pushSameShape} (from the group's second push on).
   */
  push(key: GroupingKey, parsed: TextParseResult, replace: boolean, body?: Buffer): PushOutcome {
    const tally = new IngestTally();
    const now = this.opts.clock();
    const existing = this.groups.get(key.key);
    if (existing !== undefined) existing.shape = undefined;
    // Only a group pushed to before keeps a shape: it costs a copy of the body, which a group
    // pushed once (most of a 100k-series load) would hold for nothing.
    const repeated = existing !== undefined && existing.families.size > 0;
    let points = 0;
    for (const mf of parsed.families.values()) points += mf.metrics.length;
    let samples: PlannedSample[];
    let reuse: Array<Series | undefined>;
    try {
      if (parsed.timestamps) throw new PushRejected('pushed metrics must not have timestamps', 'unsupported');
      samples = planPush(key, parsed.families).samples;
      reuse = this.check(key, samples, replace);
    } catch (err) {
      if (!(err instanceof PushRejected)) throw err;
      this.recordFailure(key, now);
      tally.reject(err.reason, err.message, points);
      return {
        status: 400,
        message: `pushed metrics are invalid or inconsistent with existing metrics: ${err.message}`,
        tally,
      };
    }
    const written = this.apply(key, samples, reuse, replace, now, tally);
    if (
      repeated &&
      body !== undefined &&
      written !== undefined &&
      samples.every((x) => x.point === undefined)
    ) {
      const shape = recordShape(body, samples);
      if (shape !== undefined) {
        const counters = new Uint8Array(samples.length);
        for (let i = 0; i < samples.length; i++) counters[i] = samples[i]!.type === 'counter' ? 1 : 0;
        this.group(key).shape = { shape, series: written, counters, replace };
      }
    }
    return { status: 200, message: '', tally };
  }

  /** DELETE: the group and everything it exposes, bookkeeping included. Unknown groups are fine. */
  delete(key: GroupingKey): void {
    const group = this.groups.get(key.key);
    if (group === undefined) return;
    for (const name of [...group.families.keys()]) this.releaseAll(group, name, undefined);
    this.groups.delete(key.key);
  }

  /** Families the push leaves to be replaced: all but the bookkeeping on PUT, those sent on POST. */
  private replaced(group: Group | undefined, samples: PlannedSample[], replace: boolean): Set<string> {
    const names = new Set<string>();
    if (group === undefined) return names;
    if (replace) {
      for (const name of group.families.keys())
        if (name !== PUSH_TIME && name !== PUSH_FAILURE_TIME) names.add(name);
    }
    for (const s of samples) if (group.families.has(s.family)) names.add(s.family);
    return names;
  }

  /**
   * The stored series at a family, type and place, whoever owns it: in the push scope's stream of
   * that kind. `memo` keeps the last stream found, so the stream key is built once per family and
   * resource rather than per sample (a push's samples come family by family, most often from one
   * resource); it must not outlive a change to the store's streams.
   */
  private find(
    family: string,
    type: FamilyType,
    place: SeriesPlace,
    memo: StreamMemo = newMemo(),
  ): Series | undefined {
    const kind = kindOf(type);
    if (memo.family !== family || memo.resourceKey !== place.resourceKey || memo.kind !== kind) {
      memo.family = family;
      memo.resourceKey = place.resourceKey;
      memo.kind = kind;
      memo.stream = this.opts.store.streams.get(streamKey(place.resourceKey, PUSH_SCOPE, family, kind));
    }
    return memo.stream?.series.get(place.attrsKey);
  }

  /**
   * Everything that would make the exposition inconsistent, or break a limit; throws
   * PushRejected. Returns, per sample, the group's series it updates in place (if any).
   */
  private check(key: GroupingKey, samples: PlannedSample[], replace: boolean): Array<Series | undefined> {
    const { store } = this.opts;
    const group = this.groups.get(key.key);
    const replaced = this.replaced(group, samples, replace);
    const pushed = new Map<string, FamilyType>();
    for (const s of samples) pushed.set(s.family, s.type);
    const mineIn = (name: string): number => group?.families.get(name)?.count ?? 0;

    /** The type a family will have after this push, or undefined when it will not exist. */
    const typeAfter = (name: string): FamilyType | undefined => {
      const own = pushed.get(name);
      if (own !== undefined) return own;
      const family = store.families.get(name);
      if (family === undefined) return undefined;
      const mine = replaced.has(name) ? mineIn(name) : 0;
      return familySize(family.streams) > mine ? family.type : undefined;
    };

    for (const [name, type] of pushed) {
      if (name === 'target_info')
        throw new PushRejected(
          'metric name "target_info" is reserved for the sources\' resource attributes',
          'invalid_name',
        );
      const family = store.families.get(name);
      if (family !== undefined && family.type !== type && familySize(family.streams) > mineIn(name))
        throw new PushRejected(
          `metric family ${JSON.stringify(name)} is a ${family.type} elsewhere on /metrics; pushed as ${type}`,
          'type_conflict',
        );
      checkSuffixes(name, type, typeAfter);
    }

    const reuse: Array<Series | undefined> = [];
    const reused = new Set<Series>();
    const created = new Map<string, number>();
    const memo = newMemo();
    for (const s of samples) {
      // The attribute limits of every ingest path; a push over them is refused whole, as for the series limits.
      const bad = store.attributeProblem(s.attrs);
      if (bad !== null) throw new PushRejected(bad.message, bad.reason);
      const found = this.find(s.family, s.type, s, memo);
      const owner = found?.owner;
      if (owner !== undefined && owner !== group)
        throw new PushRejected(
          `collected metric ${JSON.stringify(s.family)} in this group was collected before with the same name and label values (group ${owner instanceof Group ? describeGroup(owner.key) : '?'})`,
          'invalid_value',
        );
      // A series whose type changes (untyped and gauge share a stream) is replaced, not reused.
      const mine =
        group !== undefined && owner === group && group.families.get(s.family)?.type === s.type
          ? found
          : undefined;
      reuse.push(mine);
      if (mine !== undefined) reused.add(mine);
      else if (found === undefined) created.set(s.family, (created.get(s.family) ?? 0) + 1);
    }
    if (group === undefined || !group.families.has(PUSH_TIME))
      created.set(PUSH_TIME, (created.get(PUSH_TIME) ?? 0) + 1);
    if (group === undefined || !group.families.has(PUSH_FAILURE_TIME))
      created.set(PUSH_FAILURE_TIME, (created.get(PUSH_FAILURE_TIME) ?? 0) + 1);
    const removed = new Map<string, number>();
    for (const name of replaced)
      group!.each(group!.families.get(name)!, (stream, series) => {
        if (!reused.has(series)) removed.set(stream.desc.name, (removed.get(stream.desc.name) ?? 0) + 1);
      });

    let net = 0;
    for (const [metric, n] of created) {
      net += n;
      if (n - (removed.get(metric) ?? 0) > store.headroom(metric).perMetric)
        throw new PushRejected(reasonText('series_per_metric_limit'), 'series_per_metric_limit');
    }
    for (const n of removed.values()) net -= n;
    if (net > store.headroom('').total) throw new PushRejected(reasonText('series_limit'), 'series_limit');
    return reuse;
  }

  /** Writes the push; returns the series of its samples, or undefined when some were refused. */
  private apply(
    key: GroupingKey,
    samples: PlannedSample[],
    reuse: Array<Series | undefined>,
    replace: boolean,
    now: number,
    tally: IngestTally,
  ): Series[] | undefined {
    const group = this.group(key);
    const replaced = this.replaced(group, samples, replace);
    const keep = new Set<Series>();
    for (const o of reuse) if (o !== undefined) keep.add(o);
    // Drop what the push replaces first, so streams and families left empty go (a family that
    // changes type is recreated) and the limits see the room they free.
    for (const name of replaced) this.releaseAll(group, name, keep);
    const written: Series[] = [];
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i]!;
      const series = reuse[i] ?? this.series(group, s.family, s.type, s, s.help);
      if (typeof series === 'string') {
        tally.reject(series, reasonText(series));
        continue;
      }
      write(series, s, now);
      written.push(series);
      tally.accepted++;
    }
    this.stampSuccess(group, now);
    return written.length === samples.length ? written : undefined;
  }

  /** The group's bookkeeping after a successful push. */
  private stampSuccess(group: Group, now: number): void {
    this.setGauge(group, PUSH_TIME, PUSH_TIME_HELP, now / 1000, false, now);
    this.setGauge(group, PUSH_FAILURE_TIME, PUSH_FAILURE_TIME_HELP, 0, true, now);
  }

  /** A refused push still marks the group (creating it if new), as the Pushgateway does. */
  private recordFailure(key: GroupingKey, now: number): void {
    const group = this.group(key);
    group.shape = undefined;
    this.setGauge(group, PUSH_FAILURE_TIME, PUSH_FAILURE_TIME_HELP, now / 1000, false, now);
    this.setGauge(group, PUSH_TIME, PUSH_TIME_HELP, 0, true, now);
    if (group.families.size === 0) this.groups.delete(key.key);
  }

  private group(key: GroupingKey): Group {
    let group = this.groups.get(key.key);
    if (group === undefined) this.groups.set(key.key, (group = new Group(key)));
    return group;
  }

  /** Set one of the group's bookkeeping gauges; skipped when the limits or another group forbid it. */
  private setGauge(
    group: Group,
    name: string,
    help: string,
    value: number,
    onlyIfAbsent: boolean,
    now: number,
  ): void {
    const found = this.find(name, 'gauge', group.place);
    if (found !== undefined && found.owner !== undefined && found.owner !== group) return;
    const existing = found?.owner === group ? found : undefined;
    if (existing !== undefined && onlyIfAbsent) return;
    const series = existing ?? this.series(group, name, 'gauge', group.place, help);
    if (typeof series === 'string') return;
    series.value = value;
    series.timeMs = now;
    series.updatedMs = now;
    series.filled = true;
  }

  /** The group's series at `place`, created (owned by the group) and recorded when new. */
  private series(
    group: Group,
    family: string,
    type: FamilyType,
    place: SeriesPlace,
    help: string,
  ): Series | RejectReason {
    const { store } = this.opts;
    const resource = store.resources.get(place.resourceKey) ?? store.resource(place.resourceAttrs);
    const stream = store.stream(resource, PUSH_SCOPE, descriptor(family, type, help));
    if (typeof stream === 'string') return stream;
    const series = store.series(stream, null, place.attrs);
    if (typeof series === 'string') return series;
    if (series.owner === group) return series;
    series.owner = group;
    let gf = group.families.get(family);
    if (gf === undefined) group.families.set(family, (gf = { type, streams: new Set(), count: 0 }));
    gf.streams.add(stream);
    gf.count++;
    return series;
  }

  /** Remove the group's series in family `name` but those in `keep`; the family goes when none are left. */
  private releaseAll(group: Group, name: string, keep: Set<Series> | undefined): void {
    const gf = group.families.get(name)!;
    const drop: Array<{ stream: MetricStream; series: Series }> = [];
    group.each(gf, (stream, series) => {
      if (keep === undefined || !keep.has(series)) drop.push({ stream, series });
    });
    for (const { stream, series } of drop) {
      this.opts.store.removeSeries(stream, series);
      series.owner = undefined;
      gf.count--;
    }
    if (gf.count === 0) group.families.delete(name);
  }
}

function familySize(streams: Iterable<MetricStream>): number {
  let n = 0;
  for (const s of streams) n += s.series.size;
  return n;
}

function describeGroup(key: GroupingKey): string {
  const parts: string[] = [];
  for (let i = 0; i < key.labels.length; i += 2)
    parts.push(`${key.labels[i]}=${JSON.stringify(key.labels[i + 1])}`);
  return `{${parts.join(',')}}`;
}

/**
 * client_golang's suffix-collision rule, which the Pushgateway's consistency check applies: a
 * summary or histogram `x` and a family `x_count` / `x_sum` (`x_bucket` for histograms) cannot
 * both be exposed, since their samples would share names.
 */
function checkSuffixes(
  name: string,
  type: FamilyType,
  typeAfter: (n: string) => FamilyType | undefined,
): void {
  const m = /^(.+)_(count|sum|bucket)$/.exec(name);
  if (m !== null) {
    const base = typeAfter(m[1]!);
    if (base === 'histogram' || (base === 'summary' && m[2] !== 'bucket'))
      throw new PushRejected(
        `collected metric named ${JSON.stringify(name)} collides with previously collected ${base} named ${JSON.stringify(m[1])}`,
        'type_conflict',
      );
  }
  if (type === 'summary' || type === 'histogram') {
    const suffixes = type === 'histogram' ? ['_count', '_sum', '_bucket'] : ['_count', '_sum'];
    for (const suffix of suffixes)
      if (typeAfter(name + suffix) !== undefined)
        throw new PushRejected(
          `collected histogram or summary named ${JSON.stringify(name)} collides with previously collected metric named ${JSON.stringify(name + suffix)}`,
          'type_conflict',
        );
  }
}

function kindOf(type: FamilyType): MetricKind {
  switch (type) {
    case 'counter':
      return 'sum';
    case 'histogram':
      return 'histogram';
    case 'summary':
      return 'summary';
    case 'gauge':
    case 'untyped':
      return 'gauge';
  }
}

function descriptor(name: string, type: FamilyType, help: string): MetricDescriptor {
  return {
    name,
    unit: '',
    description: help,
    kind: kindOf(type),
    monotonic: type === 'counter',
    temporality: 'cumulative',
    prometheus: { name, type },
  };
}

/** Store a pushed sample; a counter or histogram that went down restarts (new start time). */
function write(s: Series, p: PlannedSample, now: number): void {
  if (p.point === undefined) return writeNumber(s, p.type === 'counter', p.value, now);
  const prev = s.point as HistogramPoint | SummaryPoint | undefined;
  const reset = prev === undefined || p.point.count < prev.count;
  s.point = { ...p.point, startMs: reset ? now : prev.startMs, timeMs: now };
  s.timeMs = now;
  s.updatedMs = now;
  s.filled = true;
}

/** Store a counter, gauge or untyped value. */
function writeNumber(s: Series, counter: boolean, value: number, now: number): void {
  if (counter && (!s.filled || value < s.value)) s.startMs = now;
  s.value = value;
  s.timeMs = now;
  s.updatedMs = now;
  s.filled = true;
}
