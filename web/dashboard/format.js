// @ts-check
/** Number, duration and time formatting for the dashboard (the viewer's locale and time zone). */

const compact = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 3 });
const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const clock = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23', // hour12: false can print midnight as 24:00 in some locales
});
const dateClock = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

/**
 * A value with three significant digits (values above 1000 as whole numbers), and its unit.
 * @param {number | null | undefined} value
 * @param {string} [unit]
 */
export function formatValue(value, unit = '') {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const text = Math.abs(value) >= 1000 ? integer.format(value) : compact.format(value);
  if (unit === '' || unit === '1') return text;
  return unit === '%' ? `${text}%` : `${text} ${unit}`;
}

/**
 * Milliseconds as the most readable unit: 850 ms, 1.25 s.
 * @param {number | null | undefined} ms
 */
export function formatMs(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  return ms >= 1000 ? `${compact.format(ms / 1000)} s` : `${compact.format(ms)} ms`;
}

/**
 * A ratio in 0..1 as a percentage with up to two decimals (99.95%).
 * @param {number | null | undefined} ratio
 */
export function formatPercent(ratio) {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return '—';
  const pct = ratio * 100;
  return `${pct === 100 || pct === 0 ? String(pct) : pct.toFixed(pct >= 99 ? 2 : 1)}%`;
}

/** @param {number} n */
export function formatCount(n) {
  return integer.format(n);
}

/**
 * A span of seconds as "4m 05s", "2h 10m", "3d 4h".
 * @param {number} seconds
 */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const hrs = Math.floor(m / 60);
  if (hrs < 48) return `${hrs}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(hrs / 24)}d ${hrs % 24}h`;
}

/**
 * A time of day (with the date when it is not today).
 * @param {string | number | Date} time
 * @param {number} [nowMs]
 */
export function formatTime(time, nowMs = Date.now()) {
  const d = new Date(time);
  if (Number.isNaN(d.getTime())) return '—';
  return new Date(nowMs).toDateString() === d.toDateString() ? clock.format(d) : dateClock.format(d);
}

/**
 * "3m 05s ago" from an ISO time.
 * @param {string | number} time
 * @param {number} [nowMs]
 */
export function formatAgo(time, nowMs = Date.now()) {
  const ms = new Date(time).getTime();
  if (Number.isNaN(ms)) return '—';
  return `${formatDuration((nowMs - ms) / 1000)} ago`;
}

/**
 * Label pairs as `key=value` text, in key order.
 * @param {Record<string, string>} labels
 */
export function formatLabels(labels) {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(', ');
}
