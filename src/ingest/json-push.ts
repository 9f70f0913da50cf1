import type { Attributes } from '@opentelemetry/api';
import type { Store } from '../store/store.js';
import type { ResourceEntry } from '../store/resource.js';
import type { FlatAttrs, MetricDescriptor, MetricKind } from '../store/types.js';
import { checkNumber } from '../store/validate.js';
import { attributeText } from './attributes.js';
import type { PushMeters, PushType } from './push-meters.js';
import { IngestTally, reasonText } from './types.js';
import type { ViewResolver } from './views.js';

/**
 * `POST /api/v1/push` (SPEC §3): a source without an OpenTelemetry SDK pushes raw values; they
 * are recorded into SDK instruments of that source's own MeterProvider. Each item is judged on
 * its own: one bad item never drops the good ones.
 */

export interface PushReply {
  /** Points recorded (one per value: an item with `values: [a, b]` is two points). */
  accepted: number;
  rejected: number;
  errors: Array<{ index: number; message: string }>;
}

/** The body is not a push request at all (→ 400). */
export class PushBodyError extends Error {}

/** OTel instrument-name syntax (API spec): a letter, then up to 254 of `[A-Za-z0-9_./-]`. */
const INSTRUMENT_NAME = /^[A-Za-z][A-Za-z0-9_./-]{0,254}$/;
const PUSH_TYPES: ReadonlySet<string> = new Set(['counter', 'updowncounter', 'gauge', 'histogram']);
/** Values per item (`values` array). */
export const MAX_VALUES_PER_ITEM = 100_000;

export interface PushContext {
  store: Store;
  meters: PushMeters;
  views: ViewResolver;
  scope: { name: string; version: string };
  nowMs: number;
  /**
   * Raw histogram observations, as pushed, for the signal engine's sketches (the SDK keeps only
   * buckets, which cannot give percentiles within 1%).
   */
  observe?: (
    resource: ResourceEntry,
    metric: string,
    unit: string,
    attrs: FlatAttrs,
    values: readonly number[],
  ) => void;
}

export function handlePush(body: unknown, ctx: PushContext, tally: IngestTally): PushReply {
  if (!isObject(body))
    throw new PushBodyError('body must be a JSON object {"resource": {...}, "metrics": [...]}');
  const metrics = body['metrics'];
  if (!Array.isArray(metrics)) throw new PushBodyError('"metrics" must be an array');
  const resource = body['resource'] ?? {};
  if (!isObject(resource)) throw new PushBodyError('"resource" must be an object of attributes');
  const resourceAttrs = attrsOf(resource);
  if (typeof resourceAttrs === 'string') throw new PushBodyError(`resource: ${resourceAttrs}`);
  // Resource attributes make no series, but they are held per source: the same limits bound them.
  const badResource = ctx.store.attributeProblem(resourceAttrs.flat);
  if (badResource !== null) throw new PushBodyError(`resource: ${badResource.message}`);

  const source = ctx.meters.source(resourceAttrs.flat);
  const reply: PushReply = { accepted: 0, rejected: 0, errors: [] };
  const fail = (
    index: number,
    points: number,
    message: string,
    reason: Parameters<IngestTally['reject']>[0],
  ) => {
    reply.rejected += points;
    tally.reject(reason, message, points);
    reply.errors.push({ index, message });
  };

  metrics.forEach((item: unknown, index) => {
    if (!isObject(item)) return fail(index, 1, 'item must be an object', 'invalid_value');
    const values = valuesOf(item);
    if (typeof values === 'string') return fail(index, 1, values, 'invalid_value');
    const n = values.length;
    const name = item['name'];
    if (typeof name !== 'string' || !INSTRUMENT_NAME.test(name))
      return fail(index, n, `invalid metric name ${JSON.stringify(name)}`, 'invalid_name');
    const type = item['type'];
    if (typeof type !== 'string' || !PUSH_TYPES.has(type))
      return fail(
        index,
        n,
        `${name}: type must be counter, updowncounter, gauge or histogram`,
        'invalid_value',
      );
    const unit = item['unit'] ?? '';
    if (typeof unit !== 'string' || unit.length > 63)
      return fail(index, n, `${name}: invalid unit`, 'invalid_value');
    const attrs = item['attributes'] ?? {};
    if (!isObject(attrs)) return fail(index, n, `${name}: attributes must be an object`, 'invalid_value');
    const parsedAttrs = attrsOf(attrs);
    if (typeof parsedAttrs === 'string') return fail(index, n, `${name}: ${parsedAttrs}`, 'invalid_value');
    const badAttrs = ctx.store.attributeProblem(parsedAttrs.flat);
    if (badAttrs !== null) return fail(index, n, `${name}: ${badAttrs.message}`, badAttrs.reason);
    for (const v of values) {
      const bad = checkNumber(v, type === 'counter' || type === 'histogram');
      if (bad !== null) return fail(index, n, `${name}: ${bad.message}`, bad.reason);
    }

    let kind: MetricKind = type === 'gauge' ? 'gauge' : type === 'histogram' ? 'histogram' : 'sum';
    if (type === 'histogram') {
      const k = ctx.views.histogramKind(name);
      if (k !== 'histogram' && k !== 'exponential_histogram') return fail(index, n, k, 'unsupported');
      kind = k;
    }
    const desc: MetricDescriptor = {
      name,
      unit,
      description: '',
      kind,
      monotonic: type === 'counter',
      temporality: 'cumulative',
    };
    const instrument = source.instrument(name, type as PushType, unit);
    if (typeof instrument === 'string') return fail(index, n, instrument, 'type_conflict');
    // Admission first: the store's limits decide, and the reply can say so.
    const stream = ctx.store.stream(source.resource, ctx.scope, desc);
    if (typeof stream === 'string') return fail(index, n, `${name}: ${reasonText(stream)}`, stream);
    const series = ctx.store.series(stream, null, parsedAttrs.flat);
    if (typeof series === 'string') return fail(index, n, `${name}: ${reasonText(series)}`, series);
    series.updatedMs = ctx.nowMs;
    instrument.recordAll(values, parsedAttrs.object);
    if (type === 'histogram') ctx.observe?.(source.resource, name, unit, parsedAttrs.flat, values);
    reply.accepted += n;
    tally.accepted += n;
  });
  return reply;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function valuesOf(item: Record<string, unknown>): number[] | string {
  if (item['values'] !== undefined) {
    const vs = item['values'];
    if (!Array.isArray(vs) || vs.length === 0) return '"values" must be a non-empty array of numbers';
    if (vs.length > MAX_VALUES_PER_ITEM) return `more than ${MAX_VALUES_PER_ITEM} values in one item`;
    for (const v of vs) if (typeof v !== 'number') return '"values" must be a non-empty array of numbers';
    return vs as number[];
  }
  const v = item['value'];
  if (typeof v !== 'number') return '"value" must be a number (or use "values")';
  return [v];
}

/**
 * Attributes from a parsed JSON object. JSON.parse makes `__proto__` an own data property, so
 * Object.keys sees it as a plain key; the SDK gets a fresh object built with defineProperty
 * (never assignment, which would hit the `__proto__` setter).
 */
function attrsOf(obj: Record<string, unknown>): { flat: string[]; object: Attributes } | string {
  const flat: string[] = [];
  const object: Attributes = {};
  // Count and lengths are the store's attribute limits (checked by the caller, as on every path).
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    if (k.length === 0) return 'attribute keys must not be empty';
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')
      return `attribute ${JSON.stringify(k.slice(0, 64))} must be a string, number or boolean`;
    flat.push(k, attributeText(v));
    Object.defineProperty(object, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return { flat, object };
}
