// B8: percentile accuracy on 1M lognormal latencies: vigil's ObservationWindow (DDSketch, one
// window) against a uniform reservoir of 1028 samples (the seed's method, Vitter's algorithm R,
// implemented here), both checked against the exact order statistics of the sorted data.
import { performance } from 'node:perf_hooks';
import { ObservationWindow } from '../../dist/signals/observation-window.js';
import { median, QUICK, RUNS } from '../lib/measure.mjs';

const N = QUICK ? 200_000 : 1_000_000;
const RESERVOIR = 1028;
const QUANTILES = [0.5, 0.9, 0.95, 0.99, 0.999];
/** Lognormal: median e^MU ≈ 100 ms, sigma 1 (p99.9 ≈ 22x the median): a long-tailed latency. */
const MU = Math.log(100);
const SIGMA = 1;
const GOAL = 1; // per cent

export const METHOD =
  `B8: in one process, ${RUNS} runs, each with its own seed: ${N / 1e6}M lognormal values ` +
  `(μ = ln 100 ms, σ = ${SIGMA}; seeded mulberry32 + Box–Muller) recorded into one ObservationWindow ` +
  `(5 s slots, 5 m window, default α = 0.99%) and into a ${RESERVOIR}-sample uniform reservoir ` +
  '(algorithm R, the same seed); each quantile q compared with the exact value of rank ' +
  '⌊q·(n−1)⌋ of the sorted data: |estimate − exact| / exact. The row is the median over runs of ' +
  'the worst error across p50, p90, p95, p99, p99.9; each quantile in the notes.';

/** mulberry32: a seeded 32-bit generator, as doubles in [0, 1). */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function lognormals(seed) {
  const u = rng(seed);
  const out = new Float64Array(N);
  for (let i = 0; i < N; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    const t = 2 * Math.PI * u();
    out[i] = Math.exp(MU + SIGMA * r * Math.cos(t));
    if (i + 1 < N) out[i + 1] = Math.exp(MU + SIGMA * r * Math.sin(t));
  }
  return out;
}

/** Algorithm R: the first k values, then value i replaces a random slot with probability k/(i+1). */
class Reservoir {
  constructor(k, random) {
    this.k = k;
    this.random = random;
    this.values = [];
    this.seen = 0;
  }
  record(v) {
    this.seen++;
    if (this.values.length < this.k) this.values.push(v);
    else {
      const j = Math.floor(this.random() * this.seen);
      if (j < this.k) this.values[j] = v;
    }
  }
  quantile(q) {
    const s = Float64Array.from(this.values).sort();
    return s[Math.floor(q * (s.length - 1))];
  }
}

export async function run() {
  const worst = { vigil: [], reservoir: [] };
  const perQ = QUANTILES.map(() => ({ vigil: [], reservoir: [] }));
  const recordNs = [];
  for (let r = 0; r < RUNS; r++) {
    const data = lognormals(1000 + r);
    const now = 1_800_000_000_000;
    const window = new ObservationWindow({ slotMs: 5000, maxWindowMs: 300_000 });
    const reservoir = new Reservoir(RESERVOIR, rng(7000 + r));
    const t0 = performance.now();
    for (let i = 0; i < N; i++) window.record(data[i], now);
    recordNs.push(((performance.now() - t0) * 1e6) / N);
    for (let i = 0; i < N; i++) reservoir.record(data[i]);
    const stats = window.stats(now, 300_000);
    if (stats?.count !== N) throw new Error(`the window counted ${stats?.count} of ${N}`);
    const sorted = data.slice().sort();
    let wv = 0;
    let wr = 0;
    QUANTILES.forEach((q, k) => {
      const exact = sorted[Math.floor(q * (N - 1))];
      const ev = (Math.abs(stats.quantile(q) - exact) / exact) * 100;
      const er = (Math.abs(reservoir.quantile(q) - exact) / exact) * 100;
      perQ[k].vigil.push(ev);
      perQ[k].reservoir.push(er);
      wv = Math.max(wv, ev);
      wr = Math.max(wr, er);
    });
    worst.vigil.push(wv);
    worst.reservoir.push(wr);
  }
  const pct = (x) => `${x.toFixed(x < 1 ? 3 : 1)}%`;
  const w = median(worst.vigil);
  return [
    {
      bench: 'B8',
      workload: `percentile error, worst of p50–p99.9, ${N / 1e6}M lognormal latencies`,
      unit: '%',
      vigil: worst.vigil,
      peer: { name: `reservoir of ${RESERVOIR} (seed's method)`, runs: worst.reservoir },
      goal: { text: `≤ ${GOAL}% relative`, met: w <= GOAL },
      notes: [
        'median error by quantile, vigil / reservoir: ' +
          QUANTILES.map(
            (q, k) => `p${q * 100} ${pct(median(perQ[k].vigil))} / ${pct(median(perQ[k].reservoir))}`,
          ).join(', '),
        `worst reservoir error over runs ${pct(Math.max(...worst.reservoir))}`,
        `ObservationWindow.record: ${median(recordNs).toFixed(0)} ns per value`,
      ],
    },
  ];
}
