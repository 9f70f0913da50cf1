// @ts-check
import { createActions } from './actions.js';
import { setAttr, setText } from './dom.js';
import { formatAgo, formatDuration, formatTime } from './format.js';
import { renderAnomalies, renderResolved } from './render-anomalies.js';
import { OVERALL, renderHealth, renderNotes, renderOverall, renderSummary } from './render-overview.js';
import { renderSignals } from './render-signals.js';
import { renderSources } from './render-sources.js';
import { connectReportStream } from './stream.js';

/**
 * vigil's dashboard: the reliability report, live. State comes only from the report stream
 * (`report`, `alerts` and `tick` events) and from the answers of the actions taken here; the
 * page renders it with DOM APIs, announces what changed to screen readers, and says so when
 * the stream is down, since a silently frozen incident view is worse than none.
 */

/** @typedef {import('./types.js').Report} Report */
/** @typedef {import('./types.js').AlertView} AlertView */

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} [type]
 * @returns {T}
 */
function byId(id, type) {
  const el = document.getElementById(id);
  if (el === null || (type !== undefined && !(el instanceof type)))
    throw new Error(`dashboard page lacks #${id}`);
  return /** @type {T} */ (el);
}

const ui = {
  overallBox: byId('overall'),
  overall: byId('overall-badge'),
  connection: byId('connection'),
  lastUpdate: byId('last-update'),
  uptime: byId('uptime'),
  banner: byId('banner'),
  bannerDetail: byId('banner-detail'),
  announcer: byId('announcer'),
  summary: byId('summary'),
  anomalies: byId('anomalies'),
  anomaliesEmpty: byId('anomalies-empty'),
  anomaliesCount: byId('anomalies-count'),
  anomaliesTitle: byId('anomalies-title'),
  resolvedBox: byId('resolved-box'),
  resolved: byId('resolved'),
  resolvedCount: byId('resolved-count'),
  sources: byId('sources'),
  sourcesTable: byId('sources-table'),
  sourcesEmpty: byId('sources-empty'),
  sourcesWindow: byId('sources-window'),
  health: byId('health'),
  signals: byId('signals'),
  notesPanel: byId('notes-panel'),
  notes: byId('notes'),
};

const state = {
  /** @type {Report | undefined} */
  report: undefined,
  /** @type {Map<string, AlertView>} by fingerprint */
  alerts: new Map(),
  /** Server time minus this browser's clock, so "since" durations are right on a skewed laptop. */
  skewMs: 0,
  /** Browser time of the last event (report or tick). */
  /** @type {number | undefined} */
  lastUpdateMs: undefined,
  /** @type {string | undefined} */
  lastServerTime: undefined,
  /** @type {import('./stream.js').StreamState} */
  connection: 'connecting',
  /** @type {{ atMs: number, accepted: number } | undefined} */
  previousIngest: undefined,
  /** @type {number | null} */
  pointsPerSecond: null,
  /** What was last announced, to announce only changes. */
  /** @type {{ overall: string, firing: Set<string> } | undefined} */
  announced: undefined,
};

const serverNow = () => Date.now() + state.skewMs;

const actions = createActions({
  onDone(alert, message) {
    state.alerts.set(alert.fingerprint, alert);
    announce(message);
    render();
  },
  focusFallback: () => ui.anomaliesTitle,
});

/** @param {string} message */
function announce(message) {
  // Clearing first makes a repeated message be read again.
  ui.announcer.textContent = '';
  setTimeout(() => {
    ui.announcer.textContent = message;
  }, 50);
}

/** @param {import('./types.js').Anomaly} a */
const anomalyName = (a) => {
  const labels = Object.values(a.labels).join(', ');
  return labels === '' ? a.code : `${a.code} (${labels})`;
};

/** Overall status changes and newly firing or resolved anomalies, for screen readers. */
function announceChanges() {
  const r = state.report;
  if (r === undefined) return;
  const firing = r.anomalies.filter((a) => a.state === 'firing');
  const now = { overall: r.overall_status, firing: new Set(firing.map((a) => a.fingerprint)) };
  const before = state.announced;
  state.announced = now;
  if (before === undefined) {
    announce(
      `Overall status ${OVERALL[r.overall_status]?.text ?? r.overall_status}; ${firing.length} firing.`,
    );
    return;
  }
  /** @type {string[]} */
  const parts = [];
  if (before.overall !== now.overall)
    parts.push(`Overall status now ${OVERALL[r.overall_status]?.text ?? r.overall_status}.`);
  const started = firing.filter((a) => !before.firing.has(a.fingerprint));
  if (started.length > 0) parts.push(`Firing: ${started.map(anomalyName).join('; ')}.`);
  const ended = [...before.firing].filter((fp) => !now.firing.has(fp)).length;
  if (ended > 0) parts.push(`${ended} no longer firing.`);
  if (parts.length > 0) announce(parts.join(' '));
}

function renderClock() {
  const nowMs = serverNow();
  if (state.lastServerTime !== undefined) {
    setText(ui.lastUpdate, formatTime(state.lastServerTime, nowMs));
    setAttr(ui.lastUpdate, 'datetime', state.lastServerTime);
  }
  for (const el of document.querySelectorAll('[data-since]')) {
    const since = el.getAttribute('data-since');
    if (since !== null) setText(el, `(${formatDuration((nowMs - Date.parse(since)) / 1000)})`);
  }
  const down = state.connection === 'reconnecting';
  ui.banner.hidden = !down;
  if (down)
    setText(
      ui.bannerDetail,
      state.lastServerTime === undefined
        ? 'No data received yet.'
        : `What you see is from ${formatTime(state.lastServerTime, nowMs)} (${formatAgo(state.lastServerTime, nowMs)}).`,
    );
}

function render() {
  const r = state.report;
  if (r === undefined) return;
  const nowMs = serverNow();
  renderOverall(ui.overall, r.overall_status);
  setAttr(ui.overallBox, 'data-status', r.overall_status);
  document.title = `${OVERALL[r.overall_status]?.text ?? r.overall_status} · vigil`;
  setText(ui.uptime, formatDuration(r.uptime_seconds));
  renderSummary(ui.summary, r, state.pointsPerSecond);

  renderAnomalies(ui.anomalies, r.anomalies, state.alerts, nowMs, (kind, target, opener) =>
    actions.open(kind, target, opener),
  );
  ui.anomaliesEmpty.hidden = r.anomalies.length > 0;
  setText(ui.anomaliesCount, r.anomalies.length > 0 ? String(r.anomalies.length) : '');
  // Closed by hand while the rule still fires: shown with the anomaly, not here.
  const open = new Set(r.anomalies.map((a) => a.fingerprint));
  const resolved = [...state.alerts.values()].filter(
    (a) => a.state === 'resolved' && !open.has(a.fingerprint),
  );
  renderResolved(ui.resolved, resolved, nowMs);
  ui.resolvedBox.hidden = resolved.length === 0;
  setText(ui.resolvedCount, String(resolved.length));

  renderSources(ui.sources, r.sources, nowMs);
  ui.sourcesTable.hidden = r.sources.length === 0;
  ui.sourcesEmpty.hidden = r.sources.length > 0;
  setText(ui.sourcesWindow, `over the last ${formatDuration(r.window_seconds)}`);
  renderHealth(ui.health, r, nowMs);
  renderSignals(ui.signals, r.signals, nowMs);
  renderNotes(ui.notesPanel, ui.notes, r.notes);
  renderClock();
}

/** @param {string | null} timestamp */
function updated(timestamp) {
  state.lastUpdateMs = Date.now();
  if (timestamp !== null) {
    state.lastServerTime = timestamp;
    const serverMs = Date.parse(timestamp);
    if (Number.isFinite(serverMs)) state.skewMs = serverMs - Date.now();
  }
}

connectReportStream(new URL('api/v2/diagnostics/reliability/stream', document.baseURI).href, {
  onReport(report) {
    const atMs = Date.parse(report.timestamp);
    const prev = state.previousIngest;
    if (prev !== undefined && atMs > prev.atMs)
      state.pointsPerSecond = Math.max(
        0,
        ((report.ingest.accepted_points - prev.accepted) * 1000) / (atMs - prev.atMs),
      );
    // Rates over at least a few seconds: per-tick rates jump with every push.
    if (prev === undefined || atMs - prev.atMs >= 5000)
      state.previousIngest = { atMs, accepted: report.ingest.accepted_points };
    state.report = report;
    updated(report.timestamp);
    render();
    announceChanges();
  },
  onAlerts(alerts) {
    state.alerts = new Map(alerts.map((a) => [a.fingerprint, a]));
    render();
  },
  onTick(tick) {
    updated(tick.timestamp);
    if (state.report !== undefined && tick.uptime_seconds !== null)
      state.report.uptime_seconds = tick.uptime_seconds;
    renderClock();
  },
  onState(next) {
    const before = state.connection;
    state.connection = next;
    setAttr(ui.connection, 'data-state', next);
    setText(
      ui.connection,
      next === 'live' ? 'Live' : next === 'connecting' ? 'Connecting…' : 'Reconnecting…',
    );
    if (before === 'live' && next === 'reconnecting') announce('Connection to vigil lost; reconnecting.');
    if (before === 'reconnecting' && next === 'live') announce('Reconnected to vigil.');
    renderClock();
  },
});

setInterval(renderClock, 1000);
