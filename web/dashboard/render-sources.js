// @ts-check
import { h, renderKeyed, setAttr, setText } from './dom.js';
import { formatAgo, formatCount, formatMs, formatPercent } from './format.js';

/** The sources table: each source's SLA status, traffic and latency percentiles over the window. */

/** @typedef {import('./types.js').Source} Source */

const STATUS_RANK = { FAILED: 0, DEGRADED: 1, HEALTHY: 2 };
const STATUS_TONE = { FAILED: 'critical', DEGRADED: 'warning', HEALTHY: 'ok' };

/**
 * @param {HTMLElement} tbody
 * @param {readonly Source[]} sources
 * @param {number} nowMs
 */
export function renderSources(tbody, sources, nowMs) {
  // Worst first, so a failing source is at the top of a long table.
  const sorted = [...sources].sort(
    (a, b) => (STATUS_RANK[a.status] ?? 3) - (STATUS_RANK[b.status] ?? 3) || a.name.localeCompare(b.name),
  );
  renderKeyed(
    tbody,
    sorted,
    (s) => s.name,
    () =>
      h(
        'tr',
        {},
        h('th', { scope: 'row' }),
        h('td', {}, h('span', { class: 'badge' })),
        ...Array.from({ length: 6 }, () => h('td', { class: 'num' })),
        h('td', { class: 'muted' }),
      ),
    (tr, s) => {
      const [name, status, requests, success, p50, p95, p99, failures, lastSeen] = Array.from(tr.children);
      setText(/** @type {Element} */ (name), s.name);
      const badge = /** @type {Element} */ (status?.firstElementChild);
      setAttr(badge, 'data-tone', STATUS_TONE[s.status] ?? 'neutral');
      setText(badge, s.status);
      setAttr(tr, 'data-status', s.status);
      setText(/** @type {Element} */ (requests), formatCount(s.requests));
      setText(/** @type {Element} */ (success), formatPercent(s.success_rate));
      setText(/** @type {Element} */ (p50), formatMs(s.latency_ms.p50));
      setText(/** @type {Element} */ (p95), formatMs(s.latency_ms.p95));
      setText(/** @type {Element} */ (p99), formatMs(s.latency_ms.p99));
      setText(/** @type {Element} */ (failures), formatCount(s.consecutive_failures));
      setText(
        /** @type {Element} */ (lastSeen),
        s.last_seen === null ? 'never' : formatAgo(s.last_seen, nowMs),
      );
    },
  );
}
