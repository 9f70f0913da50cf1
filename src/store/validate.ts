import type { ExpHistogramPoint, HistogramPoint, RejectReason, SummaryPoint } from './types.js';

/**
 * Point validation, shared by every ingest path. Each returns null when the point is valid, or
 * a reason plus a message for the partialSuccess / push error list.
 */
export interface Invalid {
  reason: RejectReason;
  message: string;
}

export function checkNumber(value: number, monotonic: boolean): Invalid | null {
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
