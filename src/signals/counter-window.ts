/**
 * `increase` and `rate` of a monotonic counter over sliding windows, from cumulative samples
 * (OTLP cumulative sums, Prometheus counters) and/or pushed increments (delta sums, JSON push).
 *
 * Semantics — exact, NOT extrapolated. PromQL's `increase()` scales the increase between the
 * first and last samples in the range up to the full range; vigil does not, so that "100 hits
 * out of 1000 operations" is exactly 0.1 in tests and in rules:
 * - increase = Σ over consecutive samples inside the window of (cur − prev), where a sample that
 *   is a counter reset contributes its whole value instead (PromQL's reset rule), plus every delta
 *   pushed inside the window. The change between the last sample before the window and the first
 *   one inside it is not counted (as PromQL: only samples in the range).
 * - a reset is a value drop, or a new start time (`startMs`) that is later than both the previous
 *   start time and the previous sample's time — the process restarted after we last heard from
 *   it, even if it has already counted past the old value. Small start-time jitter (as some
 *   receivers produce) is therefore not a reset.
 * - rate = increase / window length in seconds (PromQL's `rate = increase / range`).
 * - the very first sample of a series is only a baseline: what it counted happened at unknown
 *   times. Exception: with `countInitialIfStartedAfterMs` set (e.g. to vigil's start time), a
 *   first sample whose start time is at or after it is counted in full — the counter began while
 *   vigil was watching (the OpenTelemetry Collector's cumulativetodelta `initial_value: auto`).
 *
 * Monotonic counters only: an UpDownCounter's drops are not resets; use a GaugeWindow for those.
 */
import { SlotRing } from './slot-ring.js';

/** Options of a {@link CounterWindow}. */
export interface CounterWindowOptions {
  /** Slot width in milliseconds. */
  readonly slotMs: number;
  /** Longest window that will be queried, in milliseconds. */
  readonly maxWindowMs: number;
  /**
   * Epoch milliseconds; a series' first sample whose `startMs` is ≥ this counts in full (see the
   * module comment). Default: never.
   */
  readonly countInitialIfStartedAfterMs?: number;
}

/** A window's counter figures. */
export interface CounterStats {
  /** Exact increase in the window (counter units). */
  readonly increase: number;
  /** increase / window seconds (counter units per second). */
  readonly rate: number;
  /** Cumulative samples in the window. */
  readonly samples: number;
  /** Pushed deltas in the window. */
  readonly deltas: number;
  /** Counter resets detected in the window. */
  readonly resets: number;
}

interface CounterSlot {
  samples: number;
  firstValue: number;
  firstStartMs: number;
  /** The slot's first sample is the series' first and counts in full. */
  firstCountsInFull: boolean;
  lastValue: number;
  lastStartMs: number;
  lastTMs: number;
  /** Reset-adjusted increase between consecutive samples inside this slot. */
  within: number;
  resets: number;
  deltaSum: number;
  deltas: number;
}

const emptySlot = (): CounterSlot => ({
  samples: 0,
  firstValue: 0,
  firstStartMs: 0,
  firstCountsInFull: false,
  lastValue: 0,
  lastStartMs: 0,
  lastTMs: 0,
  within: 0,
  resets: 0,
  deltaSum: 0,
  deltas: 0,
});

/** Counter samples in slots; see the module comment. */
export class CounterWindow {
  private readonly ring: SlotRing<CounterSlot>;
  private readonly initialAfterMs: number;
  private lastTMs = -Infinity;
  private rejectedCount = 0;

  constructor(options: CounterWindowOptions) {
    this.initialAfterMs = options.countInitialIfStartedAfterMs ?? Infinity;
    this.ring = new SlotRing<CounterSlot>({
      slotMs: options.slotMs,
      maxWindowMs: options.maxWindowMs,
      create: emptySlot,
      reset: (slot) => Object.assign(slot, emptySlot()),
    });
  }

  /** Samples and deltas refused so far: not finite, negative, out of order, or older than the ring. */
  get rejected(): number {
    return this.rejectedCount;
  }

  /**
   * Records a cumulative sample: the counter's `value` at `tMs` (vigil's clock, normally the
   * arrival time), counting since `startMs` (0 = unknown). Samples must come in time order.
   * Returns false when rejected.
   */
  record(value: number, tMs: number, startMs = 0): boolean {
    if (!(Number.isFinite(value) && value >= 0 && Number.isFinite(startMs) && tMs >= this.lastTMs)) {
      this.rejectedCount++;
      return false;
    }
    const slot = this.ring.slotFor(tMs);
    if (slot === undefined) {
      this.rejectedCount++;
      return false;
    }
    const firstEver = this.lastTMs === -Infinity;
    this.lastTMs = tMs;
    if (slot.samples === 0) {
      slot.firstValue = value;
      slot.firstStartMs = startMs;
      slot.firstCountsInFull = firstEver && startMs > 0 && startMs >= this.initialAfterMs;
    } else {
      const step = counterStep(slot.lastValue, slot.lastStartMs, slot.lastTMs, value, startMs);
      slot.within += step.increase;
      slot.resets += step.reset ? 1 : 0;
    }
    slot.samples++;
    slot.lastValue = value;
    slot.lastStartMs = startMs;
    slot.lastTMs = tMs;
    return true;
  }

  /** Records an increment `delta` (≥ 0) pushed at `nowMs`. Returns false when rejected. */
  addDelta(delta: number, nowMs: number): boolean {
    if (!(Number.isFinite(delta) && delta >= 0)) {
      this.rejectedCount++;
      return false;
    }
    const slot = this.ring.slotFor(nowMs);
    if (slot === undefined) {
      this.rejectedCount++;
      return false;
    }
    slot.deltaSum += delta;
    slot.deltas++;
    return true;
  }

  /** Increase in `(nowMs − windowMs, nowMs]` (slot granularity); undefined when no data. */
  increase(nowMs: number, windowMs: number): number | undefined {
    return this.stats(nowMs, windowMs)?.increase;
  }

  /** Per-second rate in the window; undefined when no data. */
  rate(nowMs: number, windowMs: number): number | undefined {
    return this.stats(nowMs, windowMs)?.rate;
  }

  /** All figures of the window; undefined when it holds neither samples nor deltas. */
  stats(nowMs: number, windowMs: number): CounterStats | undefined {
    let increase = 0;
    let samples = 0;
    let deltas = 0;
    let resets = 0;
    let prev: CounterSlot | undefined;
    this.ring.forEachInWindow(nowMs, windowMs, (slot) => {
      increase += slot.deltaSum;
      deltas += slot.deltas;
      if (slot.samples === 0) return;
      if (prev !== undefined) {
        const step = counterStep(
          prev.lastValue,
          prev.lastStartMs,
          prev.lastTMs,
          slot.firstValue,
          slot.firstStartMs,
        );
        increase += step.increase;
        resets += step.reset ? 1 : 0;
      } else if (slot.firstCountsInFull) {
        increase += slot.firstValue;
      }
      increase += slot.within;
      resets += slot.resets;
      samples += slot.samples;
      prev = slot;
    });
    if (samples === 0 && deltas === 0) return undefined;
    return { increase, rate: increase / (windowMs / 1000), samples, deltas, resets };
  }
}

/** The increase from one sample to the next, by the reset rule in the module comment. */
function counterStep(
  prevValue: number,
  prevStartMs: number,
  prevTMs: number,
  value: number,
  startMs: number,
): { increase: number; reset: boolean } {
  // A new start time must also differ from the previous one: an unchanged start time that merely
  // looks later than our previous sample is the source's clock running ahead of vigil's.
  const reset = value < prevValue || (startMs > prevStartMs && startMs > prevTMs);
  return { increase: reset ? value : value - prevValue, reset };
}
