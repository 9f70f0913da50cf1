// Measuring on a noisy 2-core machine: several runs, medians, and contenders interleaved within
// each run so that a change in the machine's speed hits vigil and its peer alike.
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { clearInterval, setInterval } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * `npm run bench -- --quick` (a smoke run for CI, under a minute): the parent passes it to each
 * section's child as VIGIL_BENCH_QUICK=1; sections shorten their runs and shrink their data.
 */
export const QUICK = process.env.VIGIL_BENCH_QUICK === '1' || process.argv.includes('--quick');

/** Runs per measurement; every figure reported is the median of these. */
export const RUNS = QUICK ? 2 : 5;

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * A full collection before each run, so that one run's garbage is not collected on the next one's
 * clock. A no-op without `node --expose-gc` (npm run bench passes it).
 */
export function collectGarbage() {
  globalThis.gc?.();
}

/**
 * Calls `fn(first)`, `fn(first + 1)`... for about `ms` milliseconds; how many calls, and the exact
 * time they took.
 */
export function callFor(fn, ms, first = 0) {
  let calls = 0;
  const t0 = performance.now();
  let t = t0;
  // A call here decodes ~1000 points (a millisecond or so): reading the clock after each one
  // costs nothing measurable and keeps the slice exact.
  while (t - t0 < ms) {
    fn(first + calls++);
    t = performance.now();
  }
  return { calls, ms: t - t0 };
}

/** Slices of this length alternate between contenders within a run. */
export const SLICE_MS = 20;

/**
 * Calls per second of each contender (`{ fn }`), one array of RUNS figures per contender, after
 * `warmupMs` each to let the JIT settle. Within a run the contenders take turns in SLICE_MS
 * slices (in alternating order) until each has had about `runMs`: this machine's speed drifts by
 * tens of per cent within a second, and fine interleaving makes every contender see the same drift,
 * so the figures of one run can be compared pairwise.
 */
export function compareRates(contenders, { runMs, warmupMs }) {
  for (const c of contenders) callFor(c.fn, warmupMs);
  const rates = contenders.map(() => []);
  for (let r = 0; r < RUNS; r++) {
    collectGarbage();
    const calls = contenders.map(() => 0);
    const ms = contenders.map(() => 0);
    for (let slice = 0; slice < runMs / SLICE_MS; slice++) {
      const order = contenders.map((_, k) => k);
      if (slice % 2 === 1) order.reverse();
      for (const k of order) {
        const done = callFor(contenders[k].fn, SLICE_MS, calls[k]);
        calls[k] += done.calls;
        ms[k] += done.ms;
      }
    }
    contenders.forEach((_, k) => rates[k].push(calls[k] / (ms[k] / 1000)));
  }
  return rates;
}

/**
 * Watches the event loop: a 1 ms interval records the longest gap between its ticks, which is the
 * longest stretch the loop was blocked (a synchronous call blocks it for its whole duration; a
 * writer that yields blocks it for one slice). `stop()` lets one more tick through first, so a
 * block that ends just before it is still seen.
 */
export function watchEventLoop() {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  return {
    async stop() {
      await sleep(3);
      clearInterval(timer);
      return longest;
    },
  };
}

/** CPU time (user + system) this process has used, in seconds. */
export function ownCpuSeconds() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}
