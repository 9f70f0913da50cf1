import { describe, expect, it } from 'vitest';
import { HeapCompactor } from '../../src/http/heap-compactor.js';
import type { GcFunction } from '../../src/http/force-gc.js';

function setup(opts: { minGrowthSeries?: number; quietMs?: number; minIntervalMs?: number } = {}) {
  let now = 0;
  let series = 100;
  let requests = 0;
  const calls: Array<Parameters<GcFunction>[0]> = [];
  const compactor = new HeapCompactor({
    seriesCount: () => series,
    activity: () => requests,
    gc: (o) => calls.push(o),
    clock: () => now,
    minGrowthSeries: 1000,
    quietMs: 500,
    minIntervalMs: 1000,
    ...opts,
  });
  /** Advance the clock by `ms` and tick. */
  const tick = (ms = 250): boolean => {
    now += ms;
    return compactor.tick();
  };
  return { compactor, calls, tick, setSeries: (n: number) => (series = n), request: () => requests++ };
}

describe('HeapCompactor', () => {
  it('asks for one incremental major GC once a burst of new series is over', () => {
    const { calls, tick, setSeries, compactor } = setup();
    setSeries(600);
    expect(tick()).toBe(false);
    setSeries(1200); // the burst goes on: no compaction while the count moves
    expect(tick()).toBe(false);
    expect(tick()).toBe(false); // quiet for 250 ms only
    expect(tick()).toBe(true); // quiet for 500 ms, grown by 1100
    expect(calls).toEqual([{ type: 'major', execution: 'async' }]);
    expect(tick()).toBe(true); // the follow-up, which evacuates the pages the first left sparse
    expect(calls).toEqual([
      { type: 'major', execution: 'async' },
      { type: 'major', execution: 'async' },
    ]);
    expect(compactor.compactions).toBe(1);
    for (let i = 0; i < 20; i++) expect(tick()).toBe(false); // nothing new: never again
    expect(calls).toHaveLength(2);
  });

  it('leaves small growth and steady ingest alone', () => {
    const { calls, tick, setSeries } = setup();
    for (let i = 0; i < 20; i++) {
      setSeries(100 + i * 40); // 760 new series in all, under the threshold
      tick();
    }
    for (let i = 0; i < 20; i++) tick();
    expect(calls).toHaveLength(0);
  });

  it('counts growth from the lowest count since the last compaction (churn is not growth)', () => {
    const { calls, tick, setSeries } = setup();
    setSeries(5000); // 4900 new
    for (let i = 0; i < 4; i++) tick();
    expect(calls).toHaveLength(2);
    setSeries(4500); // 500 expire ...
    tick();
    setSeries(5000); // ... and 500 new arrive: 500 from the low, no compaction
    for (let i = 0; i < 10; i++) tick();
    expect(calls).toHaveLength(2);
    setSeries(6000); // 1500 from the low of 4500
    for (let i = 0; i < 4; i++) tick();
    expect(calls).toHaveLength(4);
  });

  it('compacts at most once per minIntervalMs', () => {
    const { calls, tick, setSeries } = setup({ minIntervalMs: 10_000 });
    setSeries(2000);
    for (let i = 0; i < 4; i++) tick();
    expect(calls).toHaveLength(2);
    setSeries(4000);
    for (let i = 0; i < 8; i++) tick(); // 2 s later: quiet and grown, but too soon
    expect(calls).toHaveLength(2);
    for (let i = 0; i < 40; i++) tick();
    expect(calls).toHaveLength(4);
  });

  it('waits for ingest to go idle: no compaction under load, even with the series count still', () => {
    const { calls, tick, setSeries, request } = setup();
    setSeries(5000);
    for (let i = 0; i < 20; i++) {
      request(); // requests into known series go on
      tick();
    }
    expect(calls).toHaveLength(0);
    tick();
    tick(); // 500 ms without a request
    expect(calls).toHaveLength(1);
  });

  it('is off with minGrowthSeries 0', () => {
    const { calls, tick, setSeries } = setup({ minGrowthSeries: 0 });
    setSeries(1e6);
    for (let i = 0; i < 10; i++) tick();
    expect(calls).toHaveLength(0);
  });

  it('does nothing where the runtime gives no gc', () => {
    let series = 0;
    const compactor = new HeapCompactor({
      seriesCount: () => series,
      activity: () => 0,
      gc: undefined,
      clock: () => 0,
    });
    series = 1e6;
    expect(compactor.tick()).toBe(false);
    compactor.start(); // no timer either
    compactor.stop();
  });
});

describe('HeapCompactor idle settle', () => {
  const MIB = 1024 * 1024;

  function settleSetup(opts: { minGrowthBytes?: number } = {}) {
    let now = 0;
    let heap = 100 * MIB;
    let activity = 0;
    const calls: Array<Parameters<GcFunction>[0]> = [];
    const compactor = new HeapCompactor({
      seriesCount: () => 100,
      activity: () => activity,
      gc: (o) => calls.push(o),
      clock: () => now,
      heapBytes: () => heap,
      minGrowthBytes: 8 * MIB,
      idleMs: 2000,
      ...opts,
    });
    /** Advance the clock by `ms` in 250 ms ticks. */
    const wait = (ms: number): void => {
      for (let t = 0; t < ms; t += 250) {
        now += 250;
        compactor.tick();
      }
    };
    return {
      compactor,
      calls,
      wait,
      setHeap: (mib: number) => (heap = mib * MIB),
      /** A request or a scrape. */
      act: () => activity++,
    };
  }

  const SCAVENGE = { type: 'minor' };
  const MAJOR = { type: 'major', execution: 'async' };

  it('scavenges once idle 2 s after the heap grew, then runs a major GC 6 s later', () => {
    const { compactor, calls, wait, setHeap, act } = settleSetup();
    wait(1000); // the floor: 100 MiB
    setHeap(130); // a scrape grew the young generation and left buffers
    act(); // seen at the next tick
    wait(2000);
    expect(calls).toEqual([]); // idle 1.75 s only
    wait(250);
    expect(calls).toEqual([SCAVENGE]);
    wait(5750);
    expect(calls).toEqual([SCAVENGE]); // 5.75 s after the scavenge
    wait(250);
    expect(calls).toEqual([SCAVENGE, MAJOR]);
    expect(compactor.settles).toBe(1);
    wait(30_000); // nothing new: the heap stands at the floor that restarted at the settle
    expect(calls).toEqual([SCAVENGE, MAJOR]);
  });

  it('counts growth from the heap at start: a push before the first tick is growth too', () => {
    const { calls, wait, setHeap, act } = settleSetup();
    setHeap(130);
    act();
    wait(2250);
    expect(calls).toEqual([SCAVENGE]);
  });

  it('does not settle while ingest or scrapes go on', () => {
    const { calls, wait, setHeap, act } = settleSetup();
    wait(500);
    setHeap(200);
    for (let i = 0; i < 40; i++) {
      act();
      wait(1500); // activity every 1.5 s: never idle 2 s
    }
    expect(calls).toEqual([]);
  });

  it('drops the major GC when activity comes back after the scavenge', () => {
    const { compactor, calls, wait, setHeap, act } = settleSetup();
    wait(500);
    setHeap(130);
    act();
    wait(2250);
    expect(calls).toEqual([SCAVENGE]);
    wait(1000);
    act(); // a scrape: the allocation rate V8 would measure is no longer idleness alone
    wait(10_000);
    expect(calls).toEqual([SCAVENGE]);
    expect(compactor.settles).toBe(0);
  });

  it('leaves growth under minGrowthBytes alone, and counts growth from the lowest reading since the last settle', () => {
    const { calls, wait, setHeap, act } = settleSetup();
    setHeap(90);
    wait(500); // the floor: 90 MiB
    setHeap(97); // 7 MiB
    act();
    wait(20_000);
    expect(calls).toEqual([]);
    setHeap(99); // 9 MiB above the floor of 90
    act();
    wait(2250);
    expect(calls).toEqual([SCAVENGE]);
    wait(6000);
    expect(calls).toEqual([SCAVENGE, MAJOR]);
    setHeap(95); // what the settle gave back: the new floor
    wait(500);
    setHeap(102); // 7 MiB above it
    act();
    wait(20_000);
    expect(calls).toHaveLength(2);
  });

  it('is off with minGrowthBytes 0, and without a heap reading', () => {
    const off = settleSetup({ minGrowthBytes: 0 });
    off.setHeap(1000);
    off.wait(30_000);
    expect(off.calls).toEqual([]);
    let now = 0;
    const calls: unknown[] = [];
    const compactor = new HeapCompactor({
      seriesCount: () => 100,
      activity: () => 0,
      gc: (o) => calls.push(o),
      clock: () => now,
      minGrowthSeries: 0,
      minGrowthBytes: 1,
    });
    for (let i = 0; i < 100; i++) {
      now += 250;
      compactor.tick();
    }
    expect(calls).toEqual([]);
  });
});
