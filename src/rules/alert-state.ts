import { parseAlertSnapshot, type AlertRuleSnapshot, type AlertSnapshotEntry } from './alert-snapshot.js';
import { canonicalLabels } from './labels.js';
import type {
  AlertChange,
  AlertChangeKind,
  AlertInstance,
  AlertRuleStateOptions,
  AlertStateName,
  FlatLabels,
  Sample,
} from './types.js';

/**
 * One alerting rule's per-label-set state, exactly as Prometheus's AlertingRule.Eval
 * (prometheus/prometheus rules/alerting.go, read at commit 0ad3cc38; keep_firing_for since v2.42):
 *
 *   - a label set in the result that has no alert (or only a resolved one) becomes PENDING with
 *     activeAt = this evaluation; an existing pending/firing alert just takes the new value;
 *   - pending → FIRING at the first evaluation where `evalMs - activeAt >= forMs` (same
 *     evaluation when for = 0), firedAt = that evaluation;
 *   - a label set missing from the result: a pending alert is deleted; a firing alert starts
 *     keep_firing_for (keepFiringSince = this evaluation) and stays firing while
 *     `evalMs - keepFiringSince < keepFiringForMs`, then becomes INACTIVE with resolvedAt; the
 *     resolved alert is kept (to be re-sent as resolved) until `evalMs - resolvedAt >
 *     resolvedRetentionMs` (15 min), then forgotten;
 *   - a label set coming back while its alert is resolved starts a new pending alert (new activeAt);
 *     coming back during keep_firing_for keeps the firing alert and clears keepFiringSince.
 * Note keep_firing_for counts from the first evaluation without the label set (Prometheus's
 * KeepFiringSince), not from the last one with it.
 *
 * Restart (`toJSON` / `restore`), the stand-in for Prometheus's ALERTS_FOR_STATE restore
 * (Group.RestoreForState in rules/group.go): alerts come back exactly as saved — state, activeAt,
 * firedAt, resolvedAt — so `active_since` and the `for` clock survive a restart. Outage rule: the time between the snapshot and the restart counts
 * as if the saved state had continued (a pending alert whose `for` elapsed meanwhile fires at the
 * first evaluation if its condition still holds; keep_firing_for and resolved retention keep
 * running), and the first evaluation after the restart applies the rules above (a restored alert
 * whose condition is gone is dropped if pending, resolved if firing — so Alertmanager gets the
 * resolve). A snapshot older than `outageToleranceMs` (1h, Prometheus's
 * --rules.alert.for-outage-tolerance) is ignored. Prometheus differs in two ways: it does not
 * count the outage towards `for` (it moves a pending activeAt forward by the outage, subject to
 * --rules.alert.for-grace-period), and it restores only alerts active again at the first
 * evaluation. vigil snapshots every 30s and restarts in seconds, so keeping activeAt is the
 * truthful choice there.
 */

/** Numeric state as exported by `vigil_rule_state` (and Prometheus's AlertState order). */
export const ALERT_STATE_VALUE: Readonly<Record<AlertStateName, 0 | 1 | 2>> = {
  inactive: 0,
  pending: 1,
  firing: 2,
};

interface Alert {
  labels: FlatLabels;
  state: AlertStateName;
  activeAt: number;
  firedAt: number | undefined;
  resolvedAt: number | undefined;
  keepFiringSince: number | undefined;
  value: number;
  lastEvalMs: number;
}

/** Thrown by `update` when the result holds one label set twice (Prometheus's ErrDuplicateAlertLabelSet). */
export class DuplicateAlertLabelSetError extends Error {
  override readonly name = 'DuplicateAlertLabelSetError';
}

export class AlertRuleState {
  readonly forMs: number;
  readonly keepFiringForMs: number;
  readonly resolvedRetentionMs: number;
  readonly outageToleranceMs: number;
  /** Keyed by canonical label key; Map order = order alerts appeared. */
  private readonly byKey = new Map<string, Alert>();
  private lastEvalMs: number | undefined;

  constructor(options: AlertRuleStateOptions) {
    this.forMs = nonNegative('forMs', options.forMs);
    this.keepFiringForMs = nonNegative('keepFiringForMs', options.keepFiringForMs);
    this.resolvedRetentionMs = nonNegative('resolvedRetentionMs', options.resolvedRetentionMs ?? 15 * 60_000);
    this.outageToleranceMs = nonNegative('outageToleranceMs', options.outageToleranceMs ?? 60 * 60_000);
  }

  /**
   * Apply one evaluation: `active` is the rule expression's result (one sample per alert
   * instance). Returns the transitions in order (a new alert with for = 0 yields `pending` then
   * `firing`). Throws DuplicateAlertLabelSetError, leaving the state untouched, if a label set
   * occurs twice.
   */
  update(active: readonly Sample[], evalMs: number): AlertChange[] {
    const result = new Map<string, { labels: FlatLabels; value: number }>();
    for (const s of active) {
      const c = canonicalLabels(s.labels);
      if (result.has(c.key))
        throw new DuplicateAlertLabelSetError('rule result contains the same label set twice');
      result.set(c.key, { labels: c.labels, value: s.value });
    }
    this.lastEvalMs = evalMs;
    const changes: AlertChange[] = [];
    const note = (kind: AlertChangeKind, a: Alert): void => {
      changes.push({ kind, alert: copy(a) });
    };

    for (const [key, s] of result) {
      const existing = this.byKey.get(key);
      if (existing !== undefined && existing.state !== 'inactive') {
        existing.value = s.value;
        continue;
      }
      const a: Alert = {
        labels: s.labels,
        state: 'pending',
        activeAt: evalMs,
        firedAt: undefined,
        resolvedAt: undefined,
        keepFiringSince: undefined,
        value: s.value,
        lastEvalMs: evalMs,
      };
      this.byKey.set(key, a);
      note('pending', a);
    }

    for (const [key, a] of this.byKey) {
      a.lastEvalMs = evalMs;
      if (!result.has(key)) {
        let keepFiring = false;
        if (a.state === 'firing' && this.keepFiringForMs > 0) {
          a.keepFiringSince ??= evalMs;
          keepFiring = evalMs - a.keepFiringSince < this.keepFiringForMs;
        }
        if (a.state === 'pending') {
          this.byKey.delete(key);
          note('dropped', a);
          continue;
        }
        if (a.resolvedAt !== undefined && evalMs - a.resolvedAt > this.resolvedRetentionMs) {
          this.byKey.delete(key);
          note('forgotten', a);
          continue;
        }
        if (a.state === 'firing' && !keepFiring) {
          a.state = 'inactive';
          a.resolvedAt = evalMs;
          note('resolved', a);
        }
        if (!keepFiring) continue;
      } else {
        a.keepFiringSince = undefined;
      }
      if (a.state === 'pending' && evalMs - a.activeAt >= this.forMs) {
        a.state = 'firing';
        a.firedAt = evalMs;
        note('firing', a);
      }
    }
    return changes;
  }

  /** Every alert instance held: pending, firing, and resolved ones within their retention. */
  alerts(): AlertInstance[] {
    return [...this.byKey.values()].map(copy);
  }

  /**
   * The same instances without copying them, for callers that copy anyway (RuleEngine.alerts):
   * read-only views of live state, valid until the next update.
   */
  instances(): IterableIterator<AlertInstance> {
    return this.byKey.values();
  }

  /** The alert for a label set, if one is held. */
  alert(labels: FlatLabels): AlertInstance | undefined {
    const a = this.byKey.get(canonicalLabels(labels).key);
    return a === undefined ? undefined : copy(a);
  }

  /** 0 inactive (including unknown label sets), 1 pending, 2 firing. */
  ruleState(labels: FlatLabels): 0 | 1 | 2 {
    const a = this.byKey.get(canonicalLabels(labels).key);
    return a === undefined ? 0 : ALERT_STATE_VALUE[a.state];
  }

  /** The highest state of any instance (Prometheus's AlertingRule.State). */
  maxState(): 0 | 1 | 2 {
    let max: 0 | 1 | 2 = 0;
    for (const a of this.byKey.values())
      if (ALERT_STATE_VALUE[a.state] > max) max = ALERT_STATE_VALUE[a.state];
    return max;
  }

  /** A JSON-safe snapshot for `state.dir` (see the class comment for how it is restored). */
  toJSON(): AlertRuleSnapshot {
    const alerts: AlertSnapshotEntry[] = [];
    for (const a of this.byKey.values()) {
      alerts.push({
        labels: [...a.labels],
        state: a.state,
        activeAt: a.activeAt,
        firedAt: a.firedAt ?? null,
        resolvedAt: a.resolvedAt ?? null,
        keepFiringSince: a.keepFiringSince ?? null,
        // JSON has no NaN/Infinity; null restores as NaN.
        value: Number.isFinite(a.value) ? a.value : null,
        lastEvalMs: a.lastEvalMs,
      });
    }
    return { version: 1, savedAtMs: this.lastEvalMs ?? null, alerts };
  }

  /**
   * Replace the state with a snapshot taken by `toJSON` (e.g. parsed from disk). Returns how many
   * alerts were restored: 0 when the snapshot is empty or older than `outageToleranceMs`, in
   * which case the current state is kept. Throws TypeError on a malformed snapshot, leaving the
   * state untouched (the caller logs it and sets the file aside).
   */
  restore(json: unknown, nowMs: number): number {
    const snap = parseAlertSnapshot(json);
    if (snap.savedAtMs === null || nowMs - snap.savedAtMs > this.outageToleranceMs) return 0;
    this.byKey.clear();
    for (const e of snap.alerts) {
      const c = canonicalLabels(e.labels);
      if (this.byKey.has(c.key)) continue;
      this.byKey.set(c.key, {
        labels: c.labels,
        state: e.state,
        activeAt: e.activeAt,
        firedAt: e.firedAt ?? undefined,
        resolvedAt: e.resolvedAt ?? undefined,
        keepFiringSince: e.keepFiringSince ?? undefined,
        value: e.value ?? NaN,
        lastEvalMs: e.lastEvalMs,
      });
    }
    this.lastEvalMs = snap.savedAtMs;
    return this.byKey.size;
  }
}

function copy(a: Alert): AlertInstance {
  return { ...a };
}

function nonNegative(name: string, v: number): number {
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a finite number >= 0, got ${v}`);
  return v;
}

export { fingerprint } from './fingerprint.js';
export type { AlertRuleSnapshot, AlertSnapshotEntry } from './alert-snapshot.js';
export type {
  AlertChange,
  AlertChangeKind,
  AlertInstance,
  AlertRuleStateOptions,
  AlertStateName,
} from './types.js';
