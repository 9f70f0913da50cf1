// @ts-check
import { h, renderKeyed, setAttr, setText } from './dom.js';
import { formatLabels, formatTime, formatValue } from './format.js';

/**
 * The anomalies panel: the report's pending and firing anomalies (what the rules see), joined
 * by fingerprint with the alerts API's view (who acknowledged or resolved them by hand), with
 * the buttons that act on them; and the alerts resolved in the last 15 minutes.
 */

/** @typedef {import('./types.js').Anomaly} Anomaly */
/** @typedef {import('./types.js').AlertView} AlertView */
/** @typedef {import('./actions.js').ActionKind} ActionKind */
/** @typedef {(kind: ActionKind, anomaly: { fingerprint: string, code: string, labels: Record<string, string> }, opener: HTMLElement) => void} OnAction */

const SEVERITY_RANK = { critical: 0, warning: 1, info: 2 };
const SEVERITY_TEXT = { critical: 'Critical', warning: 'Warning', info: 'Info' };

/**
 * Firing before pending, then by severity, then the oldest first.
 * @param {Anomaly} a
 * @param {Anomaly} b
 */
function order(a, b) {
  return (
    (a.state === 'firing' ? 0 : 1) - (b.state === 'firing' ? 0 : 1) ||
    (SEVERITY_RANK[a.severity] ?? 3) - (SEVERITY_RANK[b.severity] ?? 3) ||
    Date.parse(a.active_since) - Date.parse(b.active_since) ||
    a.fingerprint.localeCompare(b.fingerprint)
  );
}

/**
 * @param {HTMLElement} list
 * @param {readonly Anomaly[]} anomalies
 * @param {ReadonlyMap<string, AlertView>} alerts
 * @param {number} nowMs
 * @param {OnAction} onAction
 */
export function renderAnomalies(list, anomalies, alerts, nowMs, onAction) {
  renderKeyed(
    list,
    [...anomalies].sort(order),
    (a) => a.fingerprint,
    (a) => createAnomaly(a, onAction),
    (el, a) => updateAnomaly(el, a, alerts.get(a.fingerprint), nowMs),
  );
}

/**
 * Elements of one anomaly that updates touch, kept at creation.
 * @typedef {{
 *   severity: HTMLElement, state: HTMLElement, escalated: HTMLElement, labels: HTMLElement,
 *   description: HTMLElement,
 *   recommendation: HTMLElement, recommendationRow: HTMLElement, handling: HTMLElement,
 *   since: HTMLElement, age: HTMLElement, value: HTMLElement, ack: HTMLButtonElement,
 *   resolve: HTMLButtonElement,
 *   target: { fingerprint: string, code: string, labels: Record<string, string>, acked: boolean }
 * }} AnomalyParts
 */
/** @type {WeakMap<Element, AnomalyParts>} */
const parts = new WeakMap();

/**
 * @param {Anomaly} a
 * @param {OnAction} onAction
 */
function createAnomaly(a, onAction) {
  const severity = h('span', { class: 'badge' });
  const state = h('span', { class: 'badge badge-outline' });
  const escalated = h('span', { class: 'badge', 'data-tone': 'critical' });
  const labels = h('span', { class: 'anomaly-labels' });
  const description = h('p', { class: 'anomaly-desc' });
  const recommendation = h('span');
  const recommendationRow = h(
    'p',
    { class: 'anomaly-rec' },
    h('span', { class: 'rec-label' }, 'Do: '),
    recommendation,
  );
  const handling = h('p', { class: 'anomaly-handling' });
  const since = h('time');
  const age = h('span', { class: 'ago' });
  const value = h('dd', { class: 'num' });
  const ack = h('button', { type: 'button', class: 'btn' });
  const resolve = h('button', { type: 'button', class: 'btn' }, 'Resolve');
  /** @type {{ fingerprint: string, code: string, labels: Record<string, string>, acked: boolean }} */
  const target = { fingerprint: a.fingerprint, code: a.code, labels: a.labels, acked: false };
  ack.addEventListener('click', () => onAction(target.acked ? 'unack' : 'ack', target, ack));
  resolve.addEventListener('click', () => onAction('resolve', target, resolve));
  const li = h(
    'li',
    { class: 'anomaly' },
    h(
      'div',
      { class: 'anomaly-main' },
      h(
        'div',
        { class: 'anomaly-head' },
        severity,
        state,
        escalated,
        h('h3', { class: 'anomaly-code' }, a.code),
        labels,
      ),
      description,
      recommendationRow,
      handling,
    ),
    h(
      'div',
      { class: 'anomaly-side' },
      h(
        'dl',
        { class: 'anomaly-facts' },
        h('dt', {}, 'Since'),
        h('dd', {}, since, ' ', age),
        h('dt', {}, 'Value'),
        value,
      ),
      h('div', { class: 'anomaly-actions' }, ack, resolve),
    ),
  );
  parts.set(li, {
    severity,
    state,
    escalated,
    labels,
    description,
    recommendation,
    recommendationRow,
    handling,
    since,
    age,
    value,
    ack,
    resolve,
    target,
  });
  return li;
}

/**
 * @param {Element} li
 * @param {Anomaly} a
 * @param {AlertView | undefined} alert
 * @param {number} nowMs
 */
function updateAnomaly(li, a, alert, nowMs) {
  const p = parts.get(li);
  if (p === undefined) return;
  setAttr(li, 'data-severity', a.severity);
  setAttr(li, 'data-state', a.state);
  setAttr(p.severity, 'data-tone', a.severity);
  setText(p.severity, SEVERITY_TEXT[a.severity] ?? a.severity);
  setAttr(p.state, 'data-tone', a.state);
  setText(p.state, a.state === 'firing' ? 'Firing' : 'Pending');
  const labels = formatLabels(a.labels);
  setText(p.labels, labels);
  setText(p.description, a.description);
  setText(p.recommendation, a.recommendation ?? '');
  p.recommendationRow.hidden = !a.recommendation;
  setText(p.since, formatTime(a.active_since, nowMs));
  setAttr(p.since, 'datetime', a.active_since);
  setAttr(p.age, 'data-since', a.active_since);
  setText(p.value, formatValue(a.value));

  // Notifications escalate an unacknowledged warning; the rule's own severity stays as it is.
  p.escalated.hidden = alert?.escalated !== true;
  setText(p.escalated, `Escalated to ${alert?.severity ?? 'critical'}`);
  const ack = alert?.acknowledgement ?? null;
  const manual = alert?.resolvedByHand ?? null;
  p.target.labels = a.labels;
  p.target.acked = ack !== null;
  /** @type {string} */
  let handling = '';
  if (manual !== null)
    handling = `Resolved by hand by ${manual.by} at ${formatTime(manual.at, nowMs)}${manual.comment ? ` — “${manual.comment}”` : ''}. Notifications are closed; the rule still sees the condition.`;
  else if (ack !== null)
    handling = `Acknowledged by ${ack.by} at ${formatTime(ack.at, nowMs)}, until ${formatTime(ack.expiresAt, nowMs)}${ack.comment ? ` — “${ack.comment}”` : ''}`;
  setText(p.handling, handling);
  p.handling.hidden = handling === '';
  setAttr(li, 'data-handled', manual !== null ? 'resolved' : ack !== null ? 'acknowledged' : undefined);

  const who = labels === '' ? a.code : `${a.code} (${labels})`;
  setText(p.ack, ack !== null ? 'Withdraw ack' : 'Acknowledge');
  setAttr(p.ack, 'aria-label', `${ack !== null ? 'Withdraw acknowledgement of' : 'Acknowledge'} ${who}`);
  setAttr(p.resolve, 'aria-label', `Resolve ${who} by hand`);
  // The alerts API knows the alert once it has been evaluated; a closed one takes no action.
  const actionable = alert !== undefined && manual === null && alert.state !== 'resolved';
  p.ack.hidden = !actionable;
  p.resolve.hidden = !actionable;
}

/**
 * Alerts that resolved (by their rule or by hand) within the alerts API's 15 minutes.
 * @param {HTMLElement} list
 * @param {readonly AlertView[]} resolved
 * @param {number} nowMs
 */
export function renderResolved(list, resolved, nowMs) {
  const sorted = [...resolved].sort(
    (a, b) => Date.parse(b.resolvedAt ?? '') - Date.parse(a.resolvedAt ?? ''),
  );
  renderKeyed(
    list,
    sorted,
    (a) => `${a.fingerprint}@${a.activeAt}`,
    () =>
      h(
        'li',
        {},
        h('span', { class: 'badge', 'data-tone': 'ok' }, 'Resolved'),
        ' ',
        h('strong'),
        ' ',
        h('span', { class: 'muted' }),
      ),
    (li, a) => {
      const [, , strong, , detail] = Array.from(li.childNodes);
      setText(/** @type {Element} */ (strong), a.rule);
      const by = a.resolvedByHand !== null ? ` by hand by ${a.resolvedByHand.by}` : '';
      const at = a.resolvedAt !== null ? ` at ${formatTime(a.resolvedAt, nowMs)}` : '';
      const shown = Object.entries(a.labels)
        .filter(([k]) => k !== 'alertname' && k !== 'severity')
        .map(([k, v]) => `${k}=${v}`)
        .join(', ');
      setText(/** @type {Element} */ (detail), `${shown}${shown ? ' · ' : ''}resolved${by}${at}`);
    },
  );
}
