/**
 * Gauge samples (CPU %, queue depth, backlog) over sliding windows: last, min, max, avg, count,
 * sum. The average is the plain mean of the samples, not weighted by the time each value held —
 * the same as PromQL's `avg_over_time` — so a source that pushes more often weighs more.
 */
import { SlotRing } from './slot-ring.js';

/** Options of a {@link GaugeWindow}. */
export interface GaugeWindowOptions {
  /** Slot width in milliseconds. */
  readonly slotMs: number;
  /** Longest window that will be queried, in milliseconds. */
  readonly maxWindowMs: number;
}

/** A window's gauge figures (units: those of the gauge). */
export interface GaugeStats {
  /** The sample with the latest time (ties: the one recorded last). */
  readonly last: number;
  /** Time of `last`, epoch milliseconds (vigil's clock). */
  readonly lastTMs: number;
  readonly min: number;
  readonly max: number;
  /** Unweighted mean of the samples: sum / count. */
  readonly avg: number;
  readonly count: number;
  readonly sum: number;
}

interface GaugeSlot {
  count: number;
  sum: number;
  min: number;
  max: number;
  last: number;
  lastTMs: number;
}

const emptySlot = (): GaugeSlot => ({
  count: 0,
  sum: 0,
  min: Infinity,
  max: -Infinity,
  last: NaN,
  lastTMs: -Infinity,
});

/** Gauge samples in slots; see the module comment. */
export class GaugeWindow {
  private readonly ring: SlotRing<GaugeSlot>;
  private rejectedCount = 0;

  constructor(options: GaugeWindowOptions) {
    this.ring = new SlotRing<GaugeSlot>({
      slotMs: options.slotMs,
      maxWindowMs: options.maxWindowMs,
      create: emptySlot,
      reset: (slot) => Object.assign(slot, emptySlot()),
    });
  }

  /** Samples refused so far: NaN, ±Infinity, or times older than the ring. */
  get rejected(): number {
    return this.rejectedCount;
  }

  /** Records the gauge's `value` at `tMs` (vigil's clock). Returns false when rejected. */
  record(value: number, tMs: number): boolean {
    if (!Number.isFinite(value)) {
      this.rejectedCount++;
      return false;
    }
    const slot = this.ring.slotFor(tMs);
    if (slot === undefined) {
      this.rejectedCount++;
      return false;
    }
    slot.count++;
    slot.sum += value;
    if (value < slot.min) slot.min = value;
    if (value > slot.max) slot.max = value;
    if (tMs >= slot.lastTMs) {
      slot.last = value;
      slot.lastTMs = tMs;
    }
    return true;
  }

  /** Figures of `(nowMs − windowMs, nowMs]` (slot granularity); undefined when no samples. */
  stats(nowMs: number, windowMs: number): GaugeStats | undefined {
    let count = 0;
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    let last = NaN;
    let lastTMs = -Infinity;
    this.ring.forEachInWindow(nowMs, windowMs, (slot) => {
      if (slot.count === 0) return;
      count += slot.count;
      sum += slot.sum;
      if (slot.min < min) min = slot.min;
      if (slot.max > max) max = slot.max;
      // Slots come oldest first, so a later slot's last sample wins.
      last = slot.last;
      lastTMs = slot.lastTMs;
    });
    if (count === 0) return undefined;
    return { last, lastTMs, min, max, avg: sum / count, count, sum };
  }
}
