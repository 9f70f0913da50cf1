// @ts-check
import { h, setAttr, setText } from './dom.js';
import { formatAgo, formatCount, formatValue } from './format.js';

/**
 * The overall status, the summary strip, the ingest and export panel and the notes. None of
 * them holds a control, so they are simply rebuilt from each report.
 */

/** @typedef {import('./types.js').Report} Report */
/** @typedef {import('./types.js').Delivery} Delivery */

export const OVERALL = {
  ok: { text: 'OK', tone: 'ok' },
  degraded: { text: 'DEGRADED', tone: 'warning' },
  down: { text: 'DOWN', tone: 'critical' },
};

const EXPORT_TONE = {
  ok: 'ok',
  retrying: 'warning',
  circuit_open: 'critical',
  failed: 'critical',
  disabled: 'neutral',
};

/**
 * @param {HTMLElement} badge
 * @param {Report['overall_status']} status
 */
export function renderOverall(badge, status) {
  const o = OVERALL[status] ?? { text: String(status), tone: 'neutral' };
  setText(badge, o.text);
  setAttr(badge, 'data-tone', o.tone);
}

/** Delivery states (OTLP exporter, Alertmanager, webhooks) as words. */
const STATE_TEXT = {
  ok: 'OK',
  retrying: 'Retrying',
  circuit_open: 'Circuit open',
  failed: 'Failed',
  disabled: 'Disabled',
};
/** @param {string} state */
const stateText = (state) => STATE_TEXT[/** @type {keyof typeof STATE_TEXT} */ (state)] ?? state;

/**
 * @param {string} term
 * @param {string} value
 * @param {string} [detail]
 * @param {string} [tone]
 */
function stat(term, value, detail, tone) {
  return h(
    'div',
    { class: 'stat', 'data-tone': tone },
    h('dt', {}, term),
    h(
      'dd',
      {},
      h('span', { class: 'stat-value' }, value),
      detail ? h('span', { class: 'stat-detail' }, detail) : null,
    ),
  );
}

/**
 * @param {HTMLElement} dl
 * @param {Report} report
 * @param {number | null} pointsPerSecond accepted points per second since the previous report
 */
export function renderSummary(dl, report, pointsPerSecond) {
  const firing = report.anomalies.filter((a) => a.state === 'firing');
  const pending = report.anomalies.length - firing.length;
  const bySeverity = ['critical', 'warning', 'info']
    .map((sev) => [sev, firing.filter((a) => a.severity === sev).length])
    .filter(([, n]) => Number(n) > 0)
    .map(([sev, n]) => `${n} ${sev}`)
    .join(', ');
  const healthy = report.sources.filter((s) => s.status === 'HEALTHY').length;
  const unhealthy = ['FAILED', 'DEGRADED']
    .map((st) => [st, report.sources.filter((s) => s.status === st).length])
    .filter(([, n]) => Number(n) > 0)
    .map(([st, n]) => `${n} ${String(st).toLowerCase()}`)
    .join(', ');
  const critical = firing.some((a) => a.severity === 'critical');
  dl.replaceChildren(
    stat(
      'Firing',
      String(firing.length),
      bySeverity || 'none',
      firing.length === 0 ? 'ok' : critical ? 'critical' : 'warning',
    ),
    stat(
      'Pending',
      String(pending),
      pending > 0 ? 'not firing yet' : 'none',
      pending > 0 ? 'pending' : undefined,
    ),
    stat(
      'Sources healthy',
      report.sources.length === 0 ? '—' : `${healthy} / ${report.sources.length}`,
      unhealthy || (report.sources.length === 0 ? 'no traffic yet' : 'all within SLA'),
      report.sources.some((s) => s.status === 'FAILED') ? 'critical' : unhealthy ? 'warning' : undefined,
    ),
    stat(
      'Ingest',
      pointsPerSecond === null ? '—' : `${formatValue(pointsPerSecond)}/s`,
      `${formatCount(report.ingest.series)} series held`,
    ),
    stat(
      'OTLP export',
      stateText(report.exporters.otlp.state),
      report.exporters.otlp.last_success
        ? `sent ${formatAgo(report.exporters.otlp.last_success)}`
        : 'nothing sent yet',
      EXPORT_TONE[/** @type {keyof typeof EXPORT_TONE} */ (report.exporters.otlp.state)],
    ),
  );
}

/**
 * @param {string} term
 * @param {...(string | Node | null)} desc
 */
function row(term, ...desc) {
  return h('div', { class: 'health-row' }, h('dt', {}, term), h('dd', {}, ...desc));
}

/**
 * @param {string} state
 * @param {Record<string, string>} tones
 */
function stateBadge(state, tones) {
  return h('span', { class: 'badge', 'data-tone': tones[state] ?? 'neutral' }, stateText(state));
}

/**
 * @param {Delivery} d
 * @param {number} nowMs
 */
function deliveryDetail(d, nowMs) {
  /** @type {string[]} */
  const parts = [];
  const last = /** @type {{ last_success?: string | null }} */ (d).last_success;
  if (last) parts.push(`delivered ${formatAgo(last, nowMs)}`);
  if (d.last_error) parts.push(`last error: ${d.last_error}`);
  return parts.join('; ');
}

/**
 * @param {HTMLElement} dl
 * @param {Report} report
 * @param {number} nowMs
 */
export function renderHealth(dl, report, nowMs) {
  const otlp = report.exporters.otlp;
  const otlpDetail = [];
  if (otlp.state !== 'disabled') {
    otlpDetail.push(
      otlp.last_success ? `last delivery ${formatAgo(otlp.last_success, nowMs)}` : 'nothing delivered yet',
    );
    if (otlp.queued_batches !== undefined)
      otlpDetail.push(`${formatCount(otlp.queued_batches)} batches queued`);
    if (otlp.last_error) otlpDetail.push(`last error: ${otlp.last_error}`);
  } else otlpDetail.push('no exporters.otlp endpoint configured');
  const rows = [
    row(
      'Points accepted',
      h('span', { class: 'num' }, formatCount(report.ingest.accepted_points)),
      h('span', { class: 'muted' }, ' since start'),
    ),
    row(
      'Points rejected',
      h(
        'span',
        { class: 'num', 'data-tone': report.ingest.rejected_points > 0 ? 'warning' : undefined },
        formatCount(report.ingest.rejected_points),
      ),
      h('span', { class: 'muted' }, ' invalid, over limits or refused'),
    ),
    row('Series held', h('span', { class: 'num' }, formatCount(report.ingest.series))),
    row(
      'OTLP export',
      stateBadge(otlp.state, EXPORT_TONE),
      h('span', { class: 'muted' }, ` ${otlpDetail.join('; ')}`),
    ),
  ];
  const alerting = report.alerting;
  if (alerting?.alertmanager !== undefined) {
    const am = alerting.alertmanager;
    rows.push(
      row(
        'Alertmanager',
        stateBadge(am.state, EXPORT_TONE),
        h(
          'span',
          { class: 'muted' },
          am.state === 'disabled' ? ' not configured' : ` ${deliveryDetail(am, nowMs)}`,
        ),
      ),
    );
  }
  for (const w of alerting?.webhooks ?? [])
    rows.push(
      row(
        `Webhook ${w.name ?? ''}`.trim(),
        stateBadge(w.state, EXPORT_TONE),
        h('span', { class: 'muted' }, ` ${deliveryDetail(w, nowMs)}`),
      ),
    );
  const counts = alerting?.alerts;
  if (counts !== undefined)
    rows.push(
      row(
        'Alert handling',
        `${formatCount(counts.acknowledged)} acknowledged · ${formatCount(counts.escalated)} escalated · ${formatCount(counts.resolved_by_hand)} resolved by hand`,
      ),
    );
  dl.replaceChildren(...rows);
}

/**
 * @param {HTMLElement} panel
 * @param {HTMLElement} list
 * @param {readonly string[]} notes
 */
export function renderNotes(panel, list, notes) {
  panel.hidden = notes.length === 0;
  list.replaceChildren(...notes.map((n) => h('li', {}, n)));
}
