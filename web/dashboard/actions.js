// @ts-check
import { formatLabels } from './format.js';

/**
 * Acknowledge, withdraw an acknowledgement, resolve by hand: one modal dialog in front of the
 * alerts API (`POST|DELETE api/v1/alerts/<fingerprint>/ack`, `POST .../resolve`). The API token
 * is asked for only when a write is answered 401 (a loopback vigil without a token needs none),
 * and kept in sessionStorage: it lasts as long as the tab, and never reaches localStorage.
 */

/** @typedef {'ack' | 'unack' | 'resolve'} ActionKind */
/** @typedef {{ fingerprint: string, code: string, labels: Record<string, string> }} ActionTarget */

const TOKEN_KEY = 'vigil.apiToken';
const NAME_KEY = 'vigil.actorName';

/** @type {Record<ActionKind, { title: string, button: string, method: string, path: string, done: string }>} */
const KINDS = {
  ack: { title: 'Acknowledge', button: 'Acknowledge', method: 'POST', path: 'ack', done: 'acknowledged' },
  unack: {
    title: 'Withdraw acknowledgement',
    button: 'Withdraw',
    method: 'DELETE',
    path: 'ack',
    done: 'no longer acknowledged',
  },
  resolve: {
    title: 'Resolve by hand',
    button: 'Resolve',
    method: 'POST',
    path: 'resolve',
    done: 'resolved by hand',
  },
};

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
function byId(id, type) {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`dashboard page lacks #${id}`);
  return el;
}

/** sessionStorage can be unavailable (privacy modes); the dashboard then asks again. */
const session = {
  /** @param {string} key */
  get(key) {
    try {
      return sessionStorage.getItem(key) ?? '';
    } catch {
      return '';
    }
  },
  /** @param {string} key @param {string} value */
  set(key, value) {
    try {
      if (value === '') sessionStorage.removeItem(key);
      else sessionStorage.setItem(key, value);
    } catch {
      // not kept: asked for again next time
    }
  },
};

/**
 * @param {{
 *   onDone: (alert: import('./types.js').AlertView, message: string) => void,
 *   focusFallback: () => HTMLElement | null,
 * }} opts
 */
export function createActions(opts) {
  const dialog = byId('action-dialog', HTMLDialogElement);
  const form = byId('action-form', HTMLFormElement);
  const title = byId('action-title', HTMLElement);
  const target = byId('action-target', HTMLElement);
  const by = byId('action-by', HTMLInputElement);
  const comment = byId('action-comment', HTMLTextAreaElement);
  const duration = byId('action-duration', HTMLSelectElement);
  const durationRow = byId('action-duration-row', HTMLElement);
  const tokenRow = byId('action-token-row', HTMLElement);
  const token = byId('action-token', HTMLInputElement);
  const error = byId('action-error', HTMLElement);
  const submit = byId('action-submit', HTMLButtonElement);
  const cancel = byId('action-cancel', HTMLButtonElement);

  /** @type {{ kind: ActionKind, target: ActionTarget, opener: HTMLElement | null } | undefined} */
  let current;

  const showError = (/** @type {string} */ message) => {
    error.textContent = message;
  };

  cancel.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    const opener = current?.opener;
    current = undefined;
    // The button may be gone (or hidden) once the action took effect.
    const back = opener?.isConnected && opener.checkVisibility() ? opener : opts.focusFallback();
    back?.focus();
  });
  form.addEventListener('submit', (event) => {
    // Never a real form submission (the page's CSP has form-action 'none'): the API takes JSON.
    event.preventDefault();
    void perform();
  });

  async function perform() {
    if (current === undefined) return;
    const { kind, target: alert } = current;
    const spec = KINDS[kind];
    const name = by.value.trim();
    if (kind === 'ack' && name === '') {
      by.setAttribute('aria-invalid', 'true');
      showError('Enter your name: it is recorded with the acknowledgement.');
      by.focus();
      return;
    }
    by.removeAttribute('aria-invalid');
    const typedToken = token.value.trim();
    const bearer = typedToken || session.get(TOKEN_KEY);
    /** @type {Record<string, string>} */
    const body = {};
    if (kind !== 'unack') {
      if (name !== '') body['by'] = name;
      if (comment.value.trim() !== '') body['comment'] = comment.value.trim();
      if (kind === 'ack') body['duration'] = duration.value;
    }
    submit.disabled = true;
    showError('');
    try {
      const url = new URL(
        `api/v1/alerts/${encodeURIComponent(alert.fingerprint)}/${spec.path}`,
        document.baseURI,
      );
      const res = await fetch(url, {
        method: spec.method,
        headers: {
          'content-type': 'application/json',
          ...(bearer !== '' ? { authorization: `Bearer ${bearer}` } : {}),
        },
        body: spec.method === 'DELETE' ? undefined : JSON.stringify(body),
        cache: 'no-store',
      });
      /** @type {any} */
      const answer = await res.json().catch(() => ({}));
      if (res.status === 401) {
        if (bearer !== '') session.set(TOKEN_KEY, '');
        tokenRow.hidden = false;
        token.value = '';
        showError(
          bearer !== '' ? 'That token was refused. Enter the API token.' : 'This vigil needs its API token.',
        );
        token.focus();
        return;
      }
      if (!res.ok) {
        showError(typeof answer.error === 'string' ? answer.error : `Failed: HTTP ${res.status}`);
        return;
      }
      if (typedToken !== '') session.set(TOKEN_KEY, typedToken);
      if (name !== '') session.set(NAME_KEY, name);
      const done = `${alert.code} ${spec.done}`;
      dialog.close();
      if (answer.alert !== undefined) opts.onDone(answer.alert, done);
    } catch (err) {
      showError(`Could not reach vigil: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      submit.disabled = false;
    }
  }

  return {
    /**
     * @param {ActionKind} kind
     * @param {ActionTarget} alert
     * @param {HTMLElement | null} opener focus returns here when the dialog closes
     */
    open(kind, alert, opener) {
      const spec = KINDS[kind];
      current = { kind, target: alert, opener };
      title.textContent = spec.title;
      submit.textContent = spec.button;
      const labels = formatLabels(alert.labels);
      target.textContent = labels === '' ? alert.code : `${alert.code} · ${labels}`;
      const fields = kind !== 'unack';
      for (const el of [by, comment]) {
        el.hidden = !fields;
        const label = form.querySelector(`label[for="${el.id}"]`);
        if (label instanceof HTMLElement) label.hidden = !fields;
      }
      durationRow.hidden = kind !== 'ack';
      by.required = kind === 'ack';
      by.value = session.get(NAME_KEY);
      by.removeAttribute('aria-invalid');
      comment.value = '';
      token.value = '';
      // Asked for after a 401, or shown once a token is in use in this tab (it may need replacing).
      const saved = session.get(TOKEN_KEY) !== '';
      tokenRow.hidden = !saved;
      token.placeholder = saved ? 'saved for this tab; type to replace' : '';
      showError('');
      submit.disabled = false;
      dialog.showModal();
      (fields && by.value === '' ? by : fields ? comment : submit).focus();
    },
  };
}
