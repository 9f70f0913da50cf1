import type { HrTime } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  type ExponentialHistogram,
  type Histogram,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { applyExpHistogram, applyHistogram, applyNumber } from '../store/apply.js';
import type { ResourceEntry } from '../store/resource.js';
import type { Series } from '../store/series.js';
import type { MetricStream, Store } from '../store/store.js';
import type { MetricDescriptor, MetricKind } from '../store/types.js';
import { attributeText } from './attributes.js';
import { IngestTally, reasonText } from './types.js';

/**
 * Moves what the OpenTelemetry SDK collected (JSON-push meters, vigil's own instruments) into
 * the store, so every exporter reads one place. The SDK hands back the same attributes object
 * for a series on every collection, so a WeakMap keyed by it skips re-sorting attributes.
 */
export class SdkCollector {
  private readonly aliases = new WeakMap<MetricStream, WeakMap<object, Series>>();

  constructor(private readonly store: Store) {}

  apply(
    rm: ResourceMetrics,
    resource: ResourceEntry,
    nowMs: number,
    opts: {
      /** Never refused by the limits (vigil's own telemetry). */
      exempt?: boolean;
      /**
       * Only fill series the store already admitted, keeping their last-update time: the SDK
       * reports every cumulative series on every collection, so for pushed data the push
       * itself, not the collection, is what keeps a series alive (and the TTL meaningful).
       */
      admittedOnly?: boolean;
      tally?: IngestTally;
    } = {},
  ): IngestTally {
    const tally = opts.tally ?? new IngestTally();
    for (const sm of rm.scopeMetrics) {
      const scope = { name: sm.scope.name, version: sm.scope.version ?? '' };
      for (const metric of sm.metrics) {
        const desc = describe(metric);
        const stream = this.store.stream(resource, scope, desc);
        if (typeof stream === 'string') {
          tally.reject(stream, `${reasonText(stream)}: ${desc.name}`, metric.dataPoints.length);
          continue;
        }
        let aliases = this.aliases.get(stream);
        if (aliases === undefined) {
          aliases = new WeakMap();
          this.aliases.set(stream, aliases);
        }
        for (const dp of metric.dataPoints) {
          let series = aliases.get(dp.attributes);
          // A series swept by the TTL must not be written through a stale alias.
          if (series !== undefined && stream.series.get(series.key) !== series) series = undefined;
          if (series === undefined && opts.admittedOnly) {
            series = this.store.findSeries(stream, flatten(dp.attributes));
            if (series === undefined) continue;
            aliases.set(dp.attributes, series);
          }
          if (series === undefined) {
            const found = this.store.series(stream, null, flatten(dp.attributes), opts.exempt ?? false);
            if (typeof found === 'string') {
              tally.reject(found, `${reasonText(found)}: ${desc.name}`);
              continue;
            }
            series = found;
            aliases.set(dp.attributes, series);
          }
          const touchMs = opts.admittedOnly ? series.updatedMs : nowMs;
          const startMs = hrMs(dp.startTime);
          const timeMs = hrMs(dp.endTime);
          let bad;
          if (metric.dataPointType === DataPointType.HISTOGRAM) {
            const v = dp.value as Histogram;
            bad = applyHistogram(
              stream,
              series,
              {
                startMs,
                timeMs,
                count: v.count,
                sum: v.sum ?? 0,
                min: v.min ?? NaN,
                max: v.max ?? NaN,
                bounds: v.buckets.boundaries,
                bucketCounts: v.buckets.counts,
              },
              touchMs,
            );
          } else if (metric.dataPointType === DataPointType.EXPONENTIAL_HISTOGRAM) {
            const v = dp.value as ExponentialHistogram;
            bad = applyExpHistogram(
              stream,
              series,
              {
                startMs,
                timeMs,
                count: v.count,
                sum: v.sum ?? 0,
                min: v.min ?? NaN,
                max: v.max ?? NaN,
                scale: v.scale,
                zeroCount: v.zeroCount,
                zeroThreshold: 0,
                positive: { offset: v.positive.offset, counts: v.positive.bucketCounts },
                negative: { offset: v.negative.offset, counts: v.negative.bucketCounts },
              },
              touchMs,
            );
          } else {
            bad = applyNumber(stream, series, startMs, timeMs, dp.value as number, touchMs);
          }
          if (bad === null) tally.accepted++;
          else tally.reject(bad.reason, `${desc.name}: ${bad.message}`);
        }
      }
    }
    return tally;
  }
}

function describe(metric: MetricData): MetricDescriptor {
  const d = metric.descriptor;
  let kind: MetricKind;
  switch (metric.dataPointType) {
    case DataPointType.SUM:
      kind = 'sum';
      break;
    case DataPointType.GAUGE:
      kind = 'gauge';
      break;
    case DataPointType.HISTOGRAM:
      kind = 'histogram';
      break;
    case DataPointType.EXPONENTIAL_HISTOGRAM:
      kind = 'exponential_histogram';
      break;
  }
  return {
    name: d.name,
    unit: d.unit,
    description: d.description,
    kind,
    monotonic: metric.dataPointType === DataPointType.SUM && metric.isMonotonic,
    temporality:
      kind === 'gauge' || metric.aggregationTemporality === AggregationTemporality.CUMULATIVE
        ? 'cumulative'
        : 'delta',
  };
}

function flatten(attrs: Record<string, unknown>): string[] {
  const flat: string[] = [];
  // Object.keys lists an own `__proto__` key like any other: attributes stay plain data.
  for (const k of Object.keys(attrs)) flat.push(k, attributeText(attrs[k]));
  return flat;
}

export function hrMs(t: HrTime): number {
  return t[0] * 1000 + t[1] / 1e6;
}
