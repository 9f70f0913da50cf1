import type { ExpHistogramPoint, FlatAttrs, HistogramPoint, RejectReason, SummaryPoint } from './types.js';

/**
 * Point validation, shared by every ingest path. Each returns null when the point is valid, or
 * a reason plus a message for the partialSuccess / push error list.
 */
export interface Invalid {
  reason: RejectReason;
  message: string;
}

/**
 * checkNumber's test alone. Small enough that V8 always inlines it: on a hot path a call that is
 * not inlined boxes its double argument into a heap number (a point's worth of garbage).
 */
export function numberOk(value: number, monotonic: boolean): boolean {
  return Number.isFinite(value) && !(monotonic && value < 0);
}

export function checkNumber(value: number, monotonic: boolean): Invalid | null {
  if (numberOk(value, monotonic)) return null;
  if (!Number.isFinite(value)) return { reason: 'invalid_value', message: `non-finite value ${value}` };
  if (monotonic && value < 0)
    return { reason: 'invalid_value', message: `negative value ${value} on a monotonic sum` };
  return null;
}

export function checkHistogram(p: HistogramPoint): Invalid | null {
  if (!(p.count >= 0) || !Number.isFinite(p.count))
    return { reason: 'invalid_histogram', message: `invalid count ${p.count}` };
  if (Number.isNaN(p.sum) || !Number.isFinite(p.sum))
    return { reason: 'invalid_histogram', message: `non-finite sum ${p.sum}` };
  const nb = p.bucketCounts.length;
  if (nb === 0) {
    if (p.bounds.length !== 0)
      return { reason: 'invalid_histogram', message: 'explicit bounds without bucket counts' };
    return null;
  }
  if (nb !== p.bounds.length + 1)
    return {
      reason: 'invalid_histogram',
      message: `${nb} bucket counts for ${p.bounds.length} explicit bounds (want bounds + 1)`,
    };
  let prev = -Infinity;
  for (const b of p.bounds) {
    if (!Number.isFinite(b) || !(b > prev))
      return {
        reason: 'invalid_histogram',
        message: 'explicit bounds must be finite and strictly increasing',
      };
    prev = b;
  }
  let total = 0;
  for (const c of p.bucketCounts) {
    if (!(c >= 0)) return { reason: 'invalid_histogram', message: `negative bucket count ${c}` };
    total += c;
  }
  if (total !== p.count)
    return { reason: 'invalid_histogram', message: `bucket counts add up to ${total}, count is ${p.count}` };
  return null;
}

export function checkExpHistogram(p: ExpHistogramPoint): Invalid | null {
  if (!Number.isInteger(p.scale) || p.scale < -10 || p.scale > 20)
    return { reason: 'invalid_histogram', message: `scale ${p.scale} outside [-10, 20]` };
  if (!(p.count >= 0) || !Number.isFinite(p.sum) || !(p.zeroCount >= 0))
    return { reason: 'invalid_histogram', message: 'invalid count, sum or zero count' };
  let total = p.zeroCount;
  const [first, last] = expBucketIndexRange(p.scale);
  for (const side of [p.positive, p.negative]) {
    if (!Number.isInteger(side.offset))
      return { reason: 'invalid_histogram', message: `bucket offset ${side.offset}` };
    // 2^20 buckets would already be 8 MiB of counts: a malformed or hostile point.
    if (side.counts.length > 1 << 16)
      return { reason: 'invalid_histogram', message: `${side.counts.length} buckets is too many` };
    // A bucket no double can fall into is malformed; it would also make the delta merge span
    // billions of indexes (offsets are sint32 on the wire, any integer in JSON).
    if (side.counts.length > 0 && (side.offset < first || side.offset + side.counts.length - 1 > last))
      return {
        reason: 'invalid_histogram',
        message: `buckets ${side.offset}..${side.offset + side.counts.length - 1} outside the range of doubles at scale ${p.scale} (${first}..${last})`,
      };
    for (const c of side.counts) {
      if (!(c >= 0)) return { reason: 'invalid_histogram', message: `negative bucket count ${c}` };
      total += c;
    }
  }
  if (total !== p.count)
    return { reason: 'invalid_histogram', message: `bucket counts add up to ${total}, count is ${p.count}` };
  return null;
}

/**
 * The bucket indexes a finite non-zero double magnitude can fall into at `scale`: bucket i holds
 * (2^(i·2^-scale), 2^((i+1)·2^-scale)], and magnitudes run from 2^-1074 to just below 2^1024.
 * (At scale 0: -1075..1023; at scale 20: about ±2^30; at scale -10: -2..0.)
 */
export function expBucketIndexRange(scale: number): [number, number] {
  const perOctave = Math.pow(2, scale);
  return [Math.ceil(-1074 * perOctave) - 1, Math.ceil(1024 * perOctave) - 1];
}

export function checkSummary(p: SummaryPoint): Invalid | null {
  if (!(p.count >= 0) || !Number.isFinite(p.count) || Number.isNaN(p.sum))
    return { reason: 'invalid_value', message: 'invalid summary count or sum' };
  for (const [q] of p.quantiles) {
    if (!(q >= 0 && q <= 1)) return { reason: 'invalid_value', message: `quantile ${q} outside [0, 1]` };
  }
  return null;
}

/** Attribute limits of one point (its series identity), as the OTel SDK's attribute limits. */
export interface AttributeLimits {
  /** `limits.max_attributes_per_point`. */
  maxAttributes: number;
  /** `limits.max_attribute_value_length`, in characters (UTF-16 code units, as the SDK counts). */
  maxValueLength: number;
}

export const DEFAULT_ATTRIBUTE_LIMITS: AttributeLimits = { maxAttributes: 128, maxValueLength: 4096 };

/** Attribute keys beyond this many characters are not dimensions but data sent by mistake. */
export const MAX_ATTRIBUTE_KEY_LENGTH = 256;

/**
 * The attribute check every ingest path applies before a point creates a series. The OTel SDK
 * drops attributes beyond its count limit and truncates values beyond its length limit; in a
 * metrics store either would change the series' identity — dropping `http.route` or cutting two
 * long URLs to the same prefix silently merges series (SPEC §3: never merged) — so vigil rejects
 * the point instead, counts it and says why in the reply.
 */
export function checkAttributes(attrs: FlatAttrs, limits: AttributeLimits): Invalid | null {
  const n = attrs.length / 2;
  if (n > limits.maxAttributes)
    return {
      reason: 'attribute_count_limit',
      message: `a point has ${n} attributes, more than limits.max_attributes_per_point (${limits.maxAttributes})`,
    };
  for (let i = 0; i < attrs.length; i += 2) {
    const key = attrs[i]!;
    if (key.length > MAX_ATTRIBUTE_KEY_LENGTH)
      return {
        reason: 'attribute_length_limit',
        message: `attribute key ${JSON.stringify(key.slice(0, 64))}… has ${key.length} characters, more than ${MAX_ATTRIBUTE_KEY_LENGTH}`,
      };
    const length = attrs[i + 1]!.length;
    if (length > limits.maxValueLength)
      return {
        reason: 'attribute_length_limit',
        message: `attribute ${JSON.stringify(key)} has a value of ${length} characters, more than limits.max_attribute_value_length (${limits.maxValueLength})`,
      };
  }
  return null;
}
