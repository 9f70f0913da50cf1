// @ts-check
/**
 * The report stream (`GET /api/v2/diagnostics/reliability/stream`, Server-Sent Events) with
 * reconnection that never gives up. EventSource retries by itself after a dropped connection
 * (the server's `retry:` hint), but closes for good when an attempt is answered with an error
 * status (503 while the stream cap is reached, or a proxy's 502), and it cannot see a
 * connection that silently stopped delivering: both are handled here.
 */

/** @typedef {'connecting' | 'live' | 'reconnecting'} StreamState */

/**
 * @typedef {object} StreamHandlers
 * @property {(report: import('./types.js').Report) => void} onReport
 * @property {(alerts: import('./types.js').AlertView[]) => void} onAlerts
 * @property {(tick: { timestamp: string | null, uptime_seconds: number | null }) => void} onTick
 * @property {(state: StreamState) => void} onState
 */

/** The server sends an event every evaluation (1 s by default); this much silence is a dead stream. */
const SILENCE_MS = 60_000;
const FIRST_RETRY_MS = 2_000;
const MAX_RETRY_MS = 30_000;

/**
 * @param {string} url
 * @param {StreamHandlers} handlers
 * @returns {{ close(): void }}
 */
export function connectReportStream(url, handlers) {
  /** @type {EventSource | undefined} */
  let source;
  let retryMs = FIRST_RETRY_MS;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let reopenTimer;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let silenceTimer;

  const reopenLater = () => {
    source?.close();
    source = undefined;
    clearTimeout(silenceTimer);
    handlers.onState('reconnecting');
    clearTimeout(reopenTimer);
    reopenTimer = setTimeout(open, retryMs);
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
  };
  const alive = () => {
    clearTimeout(silenceTimer);
    silenceTimer = setTimeout(reopenLater, SILENCE_MS);
  };
  /**
   * @param {string} event
   * @param {(data: any) => void} handle
   */
  const on = (event, handle) => {
    source?.addEventListener(event, (e) => {
      alive();
      try {
        handle(JSON.parse(/** @type {MessageEvent<string>} */ (e).data));
      } catch (err) {
        console.error(`vigil dashboard: bad ${event} event`, err);
      }
    });
  };

  function open() {
    source = new EventSource(url);
    source.addEventListener('open', () => {
      retryMs = FIRST_RETRY_MS;
      alive();
      handlers.onState('live');
    });
    on('report', handlers.onReport);
    on('alerts', (body) => handlers.onAlerts(body?.data?.alerts ?? []));
    on('tick', handlers.onTick);
    source.addEventListener('error', () => {
      if (source?.readyState === EventSource.CLOSED) reopenLater();
      else handlers.onState('reconnecting'); // EventSource is already retrying
    });
  }

  open();
  return {
    close() {
      clearTimeout(reopenTimer);
      clearTimeout(silenceTimer);
      source?.close();
    },
  };
}
