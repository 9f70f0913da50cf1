/**
 * A fixed ring of time slots: the bounded-memory backbone of every windowed signal.
 *
 * Time is cut into slots of `slotMs` (slot `e` covers `[e·slotMs, (e+1)·slotMs)`); position
 * `e mod slotCount` of the ring holds slot `e` until a later slot needs the position. Each position
 * remembers which slot it holds, so positions left behind by a long idle gap are never mistaken
 * for current data: they are skipped by queries and emptied lazily when written again. No timers,
 * no `Date.now()` — every call says what time it is.
 */

/** Options of a {@link SlotRing}. */
export interface SlotRingOptions<S> {
  /** Width of one slot in milliseconds (> 0). */
  readonly slotMs: number;
  /**
   * Longest window, in milliseconds, that {@link SlotRing.forEachInWindow} must answer (≥ slotMs).
   * The ring holds `ceil(maxWindowMs / slotMs) + 1` slots: the window's full slots plus the
   * partially elapsed current one.
   */
  readonly maxWindowMs: number;
  /**
   * Builds one empty slot. Called once per ring position, so positions never share an object
   * (the `Array(n).fill(new X())` bug that gave prom-client's ring one shared digest).
   */
  readonly create: () => S;
  /**
   * Empties a slot in place when its position is reused for a newer time. When absent, the
   * position gets a fresh `create()` instead.
   */
  readonly reset?: (slot: S) => void;
}

/** A ring of `slotCount` time slots of `slotMs` each; see the module comment. */
export class SlotRing<S> {
  readonly slotMs: number;
  readonly slotCount: number;
  readonly maxWindowMs: number;
  private readonly slots: S[];
  /**
   * Slot number (`floor(tMs / slotMs)`) each position holds: -Infinity = pristine from `create()`,
   * NaN = cleared (may still hold data, so it is reset before reuse).
   */
  private readonly held: Float64Array;
  private readonly create: () => S;
  private readonly reset: ((slot: S) => void) | undefined;
  /** Newest slot number handed out; anything a full turn older is history the ring cannot hold. */
  private newest = -Infinity;

  constructor(options: SlotRingOptions<S>) {
    const { slotMs, maxWindowMs } = options;
    if (!(Number.isFinite(slotMs) && slotMs > 0)) {
      throw new RangeError(`slotMs must be a positive number of milliseconds, got ${slotMs}`);
    }
    if (!(Number.isFinite(maxWindowMs) && maxWindowMs >= slotMs)) {
      throw new RangeError(`maxWindowMs must be at least slotMs (${slotMs}), got ${maxWindowMs}`);
    }
    this.slotMs = slotMs;
    this.maxWindowMs = maxWindowMs;
    this.slotCount = Math.ceil(maxWindowMs / slotMs) + 1;
    this.create = options.create;
    this.reset = options.reset;
    this.slots = Array.from({ length: this.slotCount }, () => options.create());
    this.held = new Float64Array(this.slotCount).fill(-Infinity);
  }

  /**
   * The slot holding time `tMs`, recycling its position if the position still holds an older slot.
   * Undefined when `tMs` is a full turn (slotCount slots) or more older than the newest slot handed
   * out, or when its position already holds a newer slot: such a write would land outside every
   * window or overwrite current data, so the caller should count it as rejected.
   */
  slotFor(tMs: number): S | undefined {
    const slot = Math.floor(tMs / this.slotMs);
    if (!Number.isFinite(slot) || slot <= this.newest - this.slotCount) return undefined;
    if (slot > this.newest) this.newest = slot;
    const pos = this.position(slot);
    const held = this.held[pos]!;
    if (held === slot) return this.slots[pos];
    if (held > slot) return undefined;
    this.held[pos] = slot;
    if (held === -Infinity) return this.slots[pos];
    if (this.reset === undefined) {
      const fresh = this.create();
      this.slots[pos] = fresh;
      return fresh;
    }
    const existing = this.slots[pos]!;
    this.reset(existing);
    return existing;
  }

  /**
   * Visits, oldest first, every slot whose interval overlaps the window `(nowMs − windowMs, nowMs]`.
   * The window is therefore answered at slot granularity: it covers between `windowMs` and
   * `windowMs + slotMs` of history (the oldest slot is included while any part of it is inside).
   * Read-only: positions holding other (stale) slots are skipped, never reset.
   * @throws RangeError when `windowMs` is not in `(0, maxWindowMs]`.
   */
  forEachInWindow(nowMs: number, windowMs: number, fn: (slot: S, slotStartMs: number) => void): void {
    if (!(windowMs > 0 && windowMs <= this.maxWindowMs)) {
      throw new RangeError(`windowMs must be in (0, ${this.maxWindowMs}], got ${windowMs}`);
    }
    const last = Math.floor(nowMs / this.slotMs);
    if (!Number.isFinite(last)) return;
    // Slot e overlaps (now − W, now] iff (e + 1)·slotMs > now − W, i.e. e ≥ floor((now − W) / slotMs).
    const first = Math.max(Math.floor((nowMs - windowMs) / this.slotMs), last - this.slotCount + 1);
    for (let slot = first; slot <= last; slot++) {
      const pos = this.position(slot);
      if (this.held[pos] === slot) fn(this.slots[pos]!, slot * this.slotMs);
    }
  }

  /** Forgets every slot (positions are reset lazily on their next write). */
  clear(): void {
    this.held.fill(NaN);
    this.newest = -Infinity;
  }

  private position(slot: number): number {
    const pos = slot % this.slotCount;
    return pos < 0 ? pos + this.slotCount : pos;
  }
}
