import { expect } from 'vitest';
import type { Store } from '../../src/store/store.js';
import type { ExpHistogramPoint, HistogramPoint, SummaryPoint } from '../../src/store/types.js';

/**
 * What must hold of the store after any ingest, whatever was sent (README "Ingest": invalid
 * points are dropped, counted, never stored). Written from the contract, not from
 * src/store/validate.ts, so a check that lets something through is caught too.
 */

/** Largest time a uint64 nanosecond count can give, in ms (also well inside `Date`'s range). */
export const MAX_TIME_MS = Math.floor(2 ** 64 / 1e6);

const isCount = (n: number): boolean => Number.isFinite(n) && n >= 0;
const isTime = (ms: number): boolean => Number.isFinite(ms) && ms >= 0 && ms <= MAX_TIME_MS;

/** Every problem with the store's contents ([] when none), for `expect(...).toEqual([])`. */
export function storeProblems(store: Store): string[] {
  const problems: string[] = [];
  for (const st of store.streams.values()) {
    for (const s of st.series.values()) {
      if (!s.filled) continue;
      const where = `${st.desc.name}{${s.attrs.join(',')}}`;
      const bad = (what: string): void => void problems.push(`${where}: ${what}`);
      // Samples pushed in the Prometheus format keep any float as value or sum, as on a
      // Pushgateway (README "Prometheus text push"); their counts are still checked.
      const anyFloat = st.desc.prometheus !== undefined;
      const isSum = (v: number): boolean => anyFloat || Number.isFinite(v);
      if (s.attrs.length % 2 !== 0 || s.attrs.some((a) => typeof a !== 'string'))
        bad('attributes not flat strings');
      switch (st.desc.kind) {
        case 'sum':
        case 'gauge':
          if (!anyFloat) {
            if (!Number.isFinite(s.value)) bad(`value ${s.value}`);
            if (st.desc.monotonic && s.value < 0) bad(`negative monotonic value ${s.value}`);
          }
          if (!isTime(s.timeMs) || !isTime(s.startMs)) bad(`times ${s.startMs}..${s.timeMs}`);
          break;
        case 'histogram': {
          const p = s.point as HistogramPoint;
          if (!isTime(p.timeMs) || !isTime(p.startMs)) bad(`times ${p.startMs}..${p.timeMs}`);
          if (!isCount(p.count) || !isSum(p.sum)) bad(`count ${p.count} sum ${p.sum}`);
          if (p.bucketCounts.length > 0) {
            if (p.bucketCounts.length !== p.bounds.length + 1) bad('bucket and bound numbers');
            if (!p.bounds.every((b, i) => Number.isFinite(b) && (i === 0 || b > p.bounds[i - 1]!)))
              bad(`bounds ${p.bounds.join(',')}`);
            if (!p.bucketCounts.every(isCount)) bad(`bucket counts ${p.bucketCounts.join(',')}`);
            if (p.bucketCounts.reduce((a, c) => a + c, 0) !== p.count) bad('bucket counts do not add up');
          } else if (p.bounds.length > 0) bad('bounds without buckets');
          break;
        }
        case 'exponential_histogram': {
          const p = s.point as ExpHistogramPoint;
          if (!isTime(p.timeMs) || !isTime(p.startMs)) bad(`times ${p.startMs}..${p.timeMs}`);
          if (!Number.isInteger(p.scale) || p.scale < -10 || p.scale > 20) bad(`scale ${p.scale}`);
          if (!isCount(p.count) || !isCount(p.zeroCount) || !Number.isFinite(p.sum))
            bad(`count ${p.count} zero count ${p.zeroCount} sum ${p.sum}`);
          let total = p.zeroCount;
          for (const side of [p.positive, p.negative]) {
            if (!Number.isSafeInteger(side.offset)) bad(`offset ${side.offset}`);
            if (!side.counts.every(isCount)) bad('bucket counts');
            for (const c of side.counts) total += c;
          }
          if (total !== p.count) bad('bucket counts do not add up');
          break;
        }
        case 'summary': {
          const p = s.point as SummaryPoint;
          if (!isTime(p.timeMs) || !isTime(p.startMs)) bad(`times ${p.startMs}..${p.timeMs}`);
          if (!isCount(p.count) || (!anyFloat && Number.isNaN(p.sum))) bad(`count ${p.count} sum ${p.sum}`);
          if (!p.quantiles.every(([q]) => q >= 0 && q <= 1)) bad('quantile outside [0, 1]');
          break;
        }
      }
    }
  }
  return problems;
}

export function expectSaneStore(store: Store): void {
  expect(storeProblems(store)).toEqual([]);
}
