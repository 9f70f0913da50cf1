import { describe, expect, it } from 'vitest';
import { SlotRing } from '../../src/signals/slot-ring.js';

const T0 = 1_700_000_000_000; // a multiple of 5 s
const S = 1000;
const H = 3_600_000;

interface Box {
  id: number;
  items: number[];
}

function makeRing(options: { slotMs?: number; maxWindowMs?: number; withReset?: boolean } = {}) {
  let created = 0;
  let resets = 0;
  const ring = new SlotRing<Box>({
    slotMs: options.slotMs ?? 5 * S,
    maxWindowMs: options.maxWindowMs ?? 60 * S,
    create: () => ({ id: created++, items: [] }),
    reset:
      options.withReset === false
        ? undefined
        : (box) => {
            resets++;
            box.items.length = 0;
          },
  });
  const put = (tMs: number, v: number) => ring.slotFor(tMs)?.items.push(v);
  const window = (nowMs: number, windowMs: number) => {
    const seen: Array<{ startMs: number; items: number[] }> = [];
    ring.forEachInWindow(nowMs, windowMs, (box, startMs) => seen.push({ startMs, items: [...box.items] }));
    return seen;
  };
  return { ring, put, window, created: () => created, resets: () => resets };
}

describe('SlotRing > construction', () => {
  it('holds ceil(maxWindowMs / slotMs) + 1 slots, each built by the factory (no shared object)', () => {
    const { ring, created, put, window } = makeRing({ slotMs: 5 * S, maxWindowMs: 62 * S });
    expect(ring.slotCount).toBe(14);
    expect(created()).toBe(14);
    put(T0, 1);
    // Every other position is still empty: the factory, not Array(n).fill(obj), built them.
    for (let i = 1; i < ring.slotCount; i++) expect(ring.slotFor(T0 + i * 5 * S)!.items).toEqual([]);
    expect(window(T0 + 5 * S * 13, 62 * S)[0]).toEqual({ startMs: T0, items: [1] });
  });

  it('rejects bad options, naming them', () => {
    const create = () => ({});
    expect(() => new SlotRing({ slotMs: 0, maxWindowMs: 1000, create })).toThrow(/slotMs/);
    expect(() => new SlotRing({ slotMs: NaN, maxWindowMs: 1000, create })).toThrow(/slotMs/);
    expect(() => new SlotRing({ slotMs: 1000, maxWindowMs: 999, create })).toThrow(/maxWindowMs/);
  });
});

describe('SlotRing > slotFor', () => {
  it('returns the same slot throughout its interval and the next one after it', () => {
    const { ring } = makeRing();
    const a = ring.slotFor(T0);
    expect(ring.slotFor(T0 + 4999)).toBe(a);
    expect(ring.slotFor(T0 + 5000)).not.toBe(a);
  });

  it('recycles a position one full turn later, resetting it in place', () => {
    const { ring, put, resets } = makeRing();
    put(T0, 1);
    const before = ring.slotFor(T0);
    const later = ring.slotFor(T0 + ring.slotCount * 5 * S);
    expect(later).toBe(before); // same position, same object
    expect(later!.items).toEqual([]);
    expect(resets()).toBe(1);
  });

  it('rebuilds a recycled position with the factory when no reset is given', () => {
    const { ring, put, created } = makeRing({ withReset: false });
    put(T0, 1);
    const before = ring.slotFor(T0);
    const later = ring.slotFor(T0 + ring.slotCount * 5 * S);
    expect(later).not.toBe(before);
    expect(later!.items).toEqual([]);
    expect(created()).toBe(ring.slotCount + 1); // only the recycled position was rebuilt
  });

  it('refuses a time whose position already holds a newer slot, keeping the newer data', () => {
    const { ring, put } = makeRing();
    put(T0 + ring.slotCount * 5 * S, 2);
    expect(ring.slotFor(T0)).toBeUndefined();
    expect(ring.slotFor(T0 + ring.slotCount * 5 * S)!.items).toEqual([2]);
  });

  it('refuses a time a full turn older than the newest slot, even where its position is free', () => {
    const { ring, put } = makeRing();
    put(T0 + ring.slotCount * 5 * S, 1);
    expect(ring.slotFor(T0 + 5 * S)).toBeDefined(); // the oldest slot a window can still show
    expect(ring.slotFor(T0 - 5 * S)).toBeUndefined(); // its position is free, but no window shows it
  });

  it('still accepts a late time whose slot is held', () => {
    const { ring, put, window } = makeRing();
    put(T0, 1);
    put(T0 + 20 * S, 2);
    put(T0 + 1 * S, 3); // late, but slot T0 is still in the ring
    expect(window(T0 + 20 * S, 60 * S).map((s) => s.items)).toEqual([[1, 3], [2]]);
    expect(ring.slotFor(Number.NaN)).toBeUndefined();
  });
});

describe('SlotRing > forEachInWindow', () => {
  it('visits the slots overlapping (now − window, now], oldest first, with their start times', () => {
    const { put, window } = makeRing();
    for (let i = 0; i < 13; i++) put(T0 + i * 5 * S, i);
    // now = T0 + 62 s: the window (T0 + 2 s, T0 + 62 s] overlaps slots starting T0 … T0 + 60 s.
    const seen = window(T0 + 62 * S, 60 * S);
    expect(seen.map((s) => s.startMs)).toEqual(Array.from({ length: 13 }, (_, i) => T0 + i * 5 * S));
    expect(seen.map((s) => s.items[0])).toEqual(Array.from({ length: 13 }, (_, i) => i));
  });

  it('drops a slot exactly when its end leaves the window', () => {
    const { put, window } = makeRing();
    put(T0, 1); // slot [T0, T0 + 5 s)
    const end = T0 + 5 * S;
    expect(window(end + 10 * S - 1, 10 * S).map((s) => s.items)).toEqual([[1]]);
    expect(window(end + 10 * S, 10 * S)).toEqual([]);
    // The same boundary at the longest window.
    expect(window(end + 60 * S - 1, 60 * S).map((s) => s.items)).toEqual([[1]]);
    expect(window(end + 60 * S, 60 * S)).toEqual([]);
  });

  it('never shows data left behind by a long idle gap, even where positions alias', () => {
    const { ring, put, window } = makeRing();
    for (let i = 0; i < ring.slotCount; i++) put(T0 + i * 5 * S, i);
    // Exactly 1000 turns later every position maps to the slot it held, but for a different time.
    const later = T0 + 1000 * ring.slotCount * 5 * S;
    expect(window(later + 60 * S, 60 * S)).toEqual([]);
    put(later, 99);
    expect(window(later, 60 * S)).toEqual([{ startMs: later, items: [99] }]);
    // And after 10 idle hours (not a multiple of the turn).
    const afterGap = later + 10 * H + 1234;
    put(afterGap, 7);
    expect(window(afterGap, 60 * S).map((s) => s.items)).toEqual([[7]]);
  });

  it('is read-only: visiting does not reset stale positions', () => {
    const { ring, put, window, resets } = makeRing();
    put(T0, 1);
    window(T0 + 10 * H, 60 * S);
    expect(resets()).toBe(0);
    expect(window(T0 + 5 * S, 60 * S).map((s) => s.items)).toEqual([[1]]);
    ring.clear();
    expect(window(T0 + 5 * S, 60 * S)).toEqual([]);
    put(T0, 2); // the cleared position is reset before reuse
    expect(window(T0 + 5 * S, 60 * S).map((s) => s.items)).toEqual([[2]]);
    expect(resets()).toBe(1);
  });

  it('rejects windows longer than the ring or not positive', () => {
    const { ring } = makeRing();
    expect(() => ring.forEachInWindow(T0, 61 * S, () => {})).toThrow(RangeError);
    expect(() => ring.forEachInWindow(T0, 0, () => {})).toThrow(RangeError);
  });
});
