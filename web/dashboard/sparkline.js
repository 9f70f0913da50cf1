// @ts-check
import { s } from './dom.js';
import { formatDuration, formatValue } from './format.js';

/**
 * A small SVG chart of a signal's trend buckets (10-minute avg / min / max, up to 24 h): the
 * average as a line, the min–max range as a band, the latest bucket as a dot. Time runs left to
 * right over at least the last hour (a young pod's history is not stretched to look long), and a
 * missing bucket breaks the line rather than bridging it.
 */

const WIDTH = 168;
const HEIGHT = 40;
const PAD = 3;
const BUCKET_MS = 600_000;
const MIN_SPAN_MS = 3_600_000;

/** @typedef {import('./types.js').TrendBucket} TrendBucket */

/**
 * @param {readonly TrendBucket[]} buckets
 * @param {number} nowMs
 * @param {string} unit
 * @param {string} name what the chart is of, for its accessible label
 * @returns {SVGElement}
 */
export function sparkline(buckets, nowMs, unit, name) {
  const points = buckets
    .map((b) => ({ t: Math.min(Date.parse(b.start) + BUCKET_MS / 2, nowMs), ...b }))
    .filter((p) => Number.isFinite(p.t) && Number.isFinite(p.avg))
    .sort((a, b) => a.t - b.t);
  const svg = s('svg', {
    class: 'spark',
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    width: WIDTH,
    height: HEIGHT,
    role: 'img',
    'aria-label': describe(points, nowMs, unit, name),
  });
  svg.append(s('line', { class: 'spark-axis', x1: 0, x2: WIDTH, y1: HEIGHT - 0.5, y2: HEIGHT - 0.5 }));
  if (points.length === 0) return svg;

  const first = points[0];
  const startMs = Math.min(first ? first.t - BUCKET_MS / 2 : nowMs, nowMs - MIN_SPAN_MS);
  let lo = Math.min(...points.map((p) => p.min));
  let hi = Math.max(...points.map((p) => p.max));
  if (!(hi > lo)) {
    const pad = Math.abs(hi) * 0.1 || 1;
    lo -= pad;
    hi += pad;
  }
  const x = (/** @type {number} */ t) => PAD + ((t - startMs) / (nowMs - startMs || 1)) * (WIDTH - 2 * PAD);
  const y = (/** @type {number} */ v) => HEIGHT - PAD - ((v - lo) / (hi - lo)) * (HEIGHT - 2 * PAD);
  const fixed = (/** @type {number} */ n) => n.toFixed(1);

  // Runs of adjacent buckets: a gap longer than one bucket breaks the band and the line.
  /** @type {Array<typeof points>} */
  const runs = [];
  for (const p of points) {
    const run = runs[runs.length - 1];
    const last = run?.[run.length - 1];
    if (run !== undefined && last !== undefined && p.t - last.t <= BUCKET_MS * 1.5) run.push(p);
    else runs.push([p]);
  }
  for (const run of runs) {
    if (run.length > 1) {
      const top = run.map((p) => `${fixed(x(p.t))},${fixed(y(p.max))}`);
      const bottom = run.map((p) => `${fixed(x(p.t))},${fixed(y(p.min))}`).reverse();
      svg.append(s('polygon', { class: 'spark-band', points: [...top, ...bottom].join(' ') }));
      svg.append(
        s('polyline', {
          class: 'spark-line',
          points: run.map((p) => `${fixed(x(p.t))},${fixed(y(p.avg))}`).join(' '),
        }),
      );
    } else {
      const p = /** @type {(typeof points)[number]} */ (run[0]);
      svg.append(
        s('line', {
          class: 'spark-band-line',
          x1: fixed(x(p.t)),
          x2: fixed(x(p.t)),
          y1: fixed(y(p.max)),
          y2: fixed(y(p.min)),
        }),
      );
    }
  }
  const last = /** @type {(typeof points)[number]} */ (points[points.length - 1]);
  svg.append(s('circle', { class: 'spark-dot', cx: fixed(x(last.t)), cy: fixed(y(last.avg)), r: 2.5 }));
  return svg;
}

/**
 * @param {ReadonlyArray<TrendBucket & { t: number }>} points
 * @param {number} nowMs
 * @param {string} unit
 * @param {string} name
 */
function describe(points, nowMs, unit, name) {
  const first = points[0];
  if (first === undefined) return `${name}: no trend yet`;
  const lo = Math.min(...points.map((p) => p.min));
  const hi = Math.max(...points.map((p) => p.max));
  const span = formatDuration((nowMs - Date.parse(first.start)) / 1000);
  return `${name}, last ${span}: ${points.length} ten-minute averages, between ${formatValue(lo, unit)} and ${formatValue(hi, unit)}`;
}
