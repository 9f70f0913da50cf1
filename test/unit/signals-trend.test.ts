import { describe, expect, it } from 'vitest';
import { Trend, TREND_BUCKET_COUNT, TREND_BUCKET_MS, type TrendSnapshot } from '../../src/signals/trend.js';

const T0 = 1_700_000_400_000; // a multiple of 10 min
const S = 1000;
const M = 60 * S;
const H = 60 * M;
const B = TREND_BUCKET_MS;

/** Feeds `f(t)` every `stepMs` over [fromMs, toMs). */
function feed(trend: Trend, fromMs: number, toMs: number, stepMs: number, f: (tMs: number) => number) {
  for (let t = fromMs; t < toMs; t += stepMs) expect(trend.add(f(t), t)).toBe(true);
}

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('Trend > buckets', () => {
  it('groups values into 10-minute buckets with avg, min, max and count', () => {
    const t = new Trend();
    t.add(10, T0);
    t.add(20, T0 + 9 * M + 59 * S);
    t.add(30, T0 + 10 * M);
    expect(t.buckets(T0 + 10 * M)).toEqual([
      { startMs: T0, avg: 15, min: 10, max: 20, count: 2 },
      { startMs: T0 + 10 * M, avg: 30, min: 30, max: 30, count: 1 },
    ]);
  });

  it('keeps 144 buckets (24 h) and drops the oldest exactly when it leaves', () => {
    const t = new Trend();
    feed(t, T0, T0 + 150 * B, B, (ms) => (ms - T0) / B);
    const now = T0 + 150 * B - 1;
    const kept = t.buckets(now);
    expect(kept).toHaveLength(TREND_BUCKET_COUNT);
    expect(kept[0]!.startMs).toBe(T0 + 6 * B);
    expect(kept.at(-1)!.startMs).toBe(T0 + 149 * B);

    const u = new Trend();
    u.add(1, T0);
    expect(u.buckets(T0 + 144 * B - 1)).toHaveLength(1);
    expect(u.buckets(T0 + 144 * B)).toEqual([]);
  });

  it('skips empty buckets and shows nothing after a day of silence', () => {
    const t = new Trend();
    t.add(1, T0);
    t.add(2, T0 + 3 * H);
    expect(t.buckets(T0 + 3 * H).map((b) => b.startMs)).toEqual([T0, T0 + 3 * H]);
    expect(t.buckets(T0 + 3 * H + 25 * H)).toEqual([]);
    expect(t.baseline(T0 + 3 * H + 25 * H)).toBeUndefined();
  });

  it('rejects non-finite values and times older than the kept day', () => {
    const t = new Trend();
    expect(t.add(NaN, T0)).toBe(false);
    expect(t.add(Infinity, T0)).toBe(false);
    t.add(1, T0 + 30 * H);
    expect(t.add(1, T0)).toBe(false);
    expect(t.rejected).toBe(3);
  });
});

describe('Trend > baseline', () => {
  it('is the count-weighted mean of the day, not the mean of bucket averages', () => {
    const t = new Trend();
    feed(t, T0, T0 + 100 * S, S, () => 10); // 100 samples of 10
    t.add(1000, T0 + 2 * H); // one sample of 1000
    expect(t.baseline(T0 + 2 * H)).toBeCloseTo(2000 / 101, 12);
  });
});

describe('Trend > direction', () => {
  const hourOf = (f: (hours: number) => number) => (ms: number) => f((ms - T0) / H);

  it('is rising when the fitted line climbs more than 10% of the mean over the hour', () => {
    const t = new Trend();
    feed(
      t,
      T0,
      T0 + H,
      10 * S,
      hourOf((h) => 100 + 30 * h),
    );
    const now = T0 + H - 10 * S;
    expect(t.direction(now)).toBe('rising');
    const fit = t.fit(now)!;
    expect(fit.slopePerSecond).toBeCloseTo(30 / 3600, 12);
    expect(fit.change).toBeCloseTo(30, 9);
    expect(fit.samples).toBe(360);
  });

  it('is falling for a decline, and flat for a change within ±10%', () => {
    const down = new Trend();
    feed(
      down,
      T0,
      T0 + H,
      10 * S,
      hourOf((h) => 100 - 20 * h),
    );
    expect(down.direction(T0 + H)).toBe('falling');
    const gentle = new Trend();
    feed(
      gentle,
      T0,
      T0 + H,
      10 * S,
      hourOf((h) => 100 + 8 * h),
    );
    expect(gentle.direction(T0 + H)).toBe('flat');
    const constant = new Trend();
    feed(constant, T0, T0 + H, 10 * S, () => 42);
    expect(constant.direction(T0 + H)).toBe('flat');
  });

  it('stays flat on noise without a slope', () => {
    const rnd = mulberry32(3);
    const t = new Trend();
    feed(t, T0, T0 + 2 * H, S, () => 100 * (0.8 + 0.4 * rnd()));
    expect(t.direction(T0 + 2 * H)).toBe('flat');
  });

  it('judges only the last hour', () => {
    const t = new Trend();
    feed(
      t,
      T0,
      T0 + 10 * H,
      M,
      hourOf((h) => 100 * 1.5 ** h),
    ); // +50% an hour for 10 h …
    feed(t, T0 + 10 * H, T0 + 11 * H + 20 * M, M, () => 100 * 1.5 ** 10); // … then level for 80 min
    expect(t.direction(T0 + 11 * H + 20 * M)).toBe('flat');
    expect(t.direction(T0 + 10 * H)).toBe('rising');
  });

  it('is flat until samples span 10 minutes', () => {
    const t = new Trend();
    feed(t, T0, T0 + 5 * M, S, (ms) => (ms - T0) / S); // steep, but only 5 minutes
    expect(t.direction(T0 + 5 * M)).toBe('flat');
    feed(t, T0 + 5 * M, T0 + 11 * M, S, (ms) => (ms - T0) / S);
    expect(t.direction(T0 + 11 * M)).toBe('rising');
    expect(new Trend().direction(T0)).toBe('flat');
  });

  it('uses the sign alone when the mean is exactly zero', () => {
    const t = new Trend();
    feed(
      t,
      T0,
      T0 + H,
      10 * S,
      hourOf((h) => 2 * h - 1 + 10 / 3600),
    ); // symmetric around 0
    const fit = t.fit(T0 + H)!;
    expect(fit.mean).toBeCloseTo(0, 9);
    expect(t.direction(T0 + H)).toBe('rising');
    const zero = new Trend();
    feed(zero, T0, T0 + H, 10 * S, () => 0);
    expect(zero.direction(T0 + H)).toBe('flat');
  });

  it('validates its options', () => {
    expect(() => new Trend({ directionWindowMs: 144 * B })).toThrow(/directionWindowMs/);
    expect(() => new Trend({ bucketCount: 1 })).toThrow(/bucketCount/);
    expect(() => new Trend({ flatThreshold: -1 })).toThrow(/flatThreshold/);
  });
});

describe('Trend > snapshots', () => {
  function busyTrend(): { trend: Trend; now: number } {
    const rnd = mulberry32(11);
    const trend = new Trend();
    const now = T0 + 30 * H - S; // the last value came 29 s ago
    feed(trend, T0, now, 30 * S, (ms) => 200 + ((ms - T0) / H) * 5 + 20 * rnd());
    return { trend, now };
  }

  it('round-trips through JSON: same buckets, baseline, direction and fit', () => {
    const { trend, now } = busyTrend();
    const json = JSON.parse(JSON.stringify(trend)) as TrendSnapshot;
    expect(json.version).toBe(1);
    expect(json.buckets).toHaveLength(144);
    const { trend: restored, dropped } = Trend.fromJSON(json, now);
    expect(dropped).toBe(0);
    expect(restored.buckets(now)).toEqual(trend.buckets(now));
    expect(restored.baseline(now)).toBe(trend.baseline(now));
    expect(restored.direction(now)).toBe(trend.direction(now));
    expect(restored.fit(now)).toEqual(trend.fit(now));
    expect(restored.toJSON()).toEqual(json);
    // It keeps going after the restart.
    expect(restored.add(1, now + S)).toBe(true);
  });

  it('drops malformed, misplaced and duplicate buckets, keeping the rest', () => {
    const { trend, now } = busyTrend();
    const snap = JSON.parse(JSON.stringify(trend)) as TrendSnapshot;
    const good = snap.buckets;
    const last = good.at(-1)!;
    const broken = [
      { ...good[0]!, sum: null }, // NaN became null in JSON
      { ...good[1]!, count: 0 },
      { ...good[2]!, count: 2.5 },
      { ...good[3]!, min: good[3]!.max + 1 },
      { ...good[4]!, sum: good[4]!.max * good[4]!.count * 2 }, // avg above max
      { ...good[5]!, startMs: good[5]!.startMs + 1 }, // not on a bucket boundary
      { ...good[6]!, lastT: 601 }, // beyond the bucket
      { ...last, startMs: last.startMs + B }, // in the future at `now`
      { ...good[0]!, startMs: good[0]!.startMs - B }, // older than 24 h at `now`
      { ...good[7]! }, // duplicate start
      'junk',
      null,
    ];
    const { trend: restored, dropped } = Trend.fromJSON(
      { ...snap, buckets: [...good.slice(7), ...broken] },
      now,
    );
    expect(dropped).toBe(broken.length);
    expect(restored.buckets(now)).toEqual(trend.buckets(now).slice(7));
  });

  it('drops everything of another version or bucket width, and ignores junk', () => {
    const { trend, now } = busyTrend();
    const snap = trend.toJSON();
    expect(Trend.fromJSON({ ...snap, version: 2 }, now).dropped).toBe(144);
    expect(Trend.fromJSON({ ...snap, bucketMs: 60_000 }, now).dropped).toBe(144);
    for (const junk of [null, 'x', 42, {}, { version: 1, bucketMs: B, buckets: 'no' }]) {
      const { trend: empty, dropped } = Trend.fromJSON(junk, now);
      expect(dropped).toBe(0);
      expect(empty.buckets(now)).toEqual([]);
    }
    expect(new Trend().toJSON()).toEqual({ version: 1, bucketMs: B, buckets: [] });
  });

  it('drops buckets that have aged out by the time of the restart', () => {
    const { trend, now } = busyTrend();
    const { trend: restored, dropped } = Trend.fromJSON(trend.toJSON(), now + 6 * H);
    expect(dropped).toBe(36);
    expect(restored.buckets(now + 6 * H)).toHaveLength(108);
  });
});
