import {
  AggregationType,
  InstrumentType,
  type AggregationOption,
  type ViewOptions,
} from '@opentelemetry/sdk-metrics';
import { DEFAULT_LATENCY_BOUNDARIES_MS } from '../config/schema.js';
import type { MetricKind } from '../store/types.js';

/** A configured histogram view (SPEC §3 `views`), already validated. */
export interface HistogramView {
  instrumentName: string;
  aggregation: 'explicit_bucket_histogram' | 'exponential_histogram';
  boundaries?: number[] | undefined;
  maxSize?: number | undefined;
}

/** The SDK's instrument-name wildcard: `*` any run, `?` one character. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/**
 * Config views → OpenTelemetry SDK views, and the same decision made ahead of the SDK: vigil
 * must know a histogram's stored kind before the SDK collects, to admit its series under the
 * limits. In the SDK every matching view makes its own stream, so an instrument matched by two
 * views would be stored twice under one name; vigil refuses such an instrument instead. With no
 * matching view a histogram gets explicit buckets on the SPEC §3 latency boundaries (as advice,
 * so it stays the SDK's default aggregation).
 */
export class ViewResolver {
  private readonly compiled: Array<{ re: RegExp; view: HistogramView }>;

  constructor(private readonly views: readonly HistogramView[]) {
    this.compiled = views.map((view) => ({ re: globToRegExp(view.instrumentName), view }));
  }

  /** The stored kind of histogram instrument `name`, or an error text when views overlap on it. */
  histogramKind(name: string): MetricKind | string {
    const hits = this.compiled.filter((c) => c.re.test(name));
    if (hits.length > 1)
      return `instrument ${name} matches ${hits.length} views (${hits.map((h) => h.view.instrumentName).join(', ')}); views must not overlap`;
    return hits[0]?.view.aggregation === 'exponential_histogram' ? 'exponential_histogram' : 'histogram';
  }

  sdkViews(cardinalityLimit: number): ViewOptions[] {
    return this.views.map((v) => {
      const aggregation: AggregationOption =
        v.aggregation === 'exponential_histogram'
          ? {
              type: AggregationType.EXPONENTIAL_HISTOGRAM as const,
              options: { maxSize: v.maxSize ?? 160, recordMinMax: true },
            }
          : {
              type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM as const,
              options: { boundaries: v.boundaries ?? DEFAULT_LATENCY_BOUNDARIES_MS, recordMinMax: true },
            };
      return {
        instrumentName: v.instrumentName,
        instrumentType: InstrumentType.HISTOGRAM,
        aggregation,
        aggregationCardinalityLimit: cardinalityLimit,
      };
    });
  }
}
