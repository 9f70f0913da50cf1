import type { AlertStateName } from './types.js';

/** The persisted form of one rule's alert state, and its validation on the way back in. */

export interface AlertSnapshotEntry {
  labels: string[];
  state: AlertStateName;
  activeAt: number;
  firedAt: number | null;
  resolvedAt: number | null;
  keepFiringSince: number | null;
  /** null stands for NaN/±Inf, which JSON cannot hold. */
  value: number | null;
  lastEvalMs: number;
}

export interface AlertRuleSnapshot {
  version: 1;
  /** The last evaluation before the snapshot; null if the rule was never evaluated. */
  savedAtMs: number | null;
  alerts: AlertSnapshotEntry[];
}

const STATES: ReadonlySet<string> = new Set<AlertStateName>(['inactive', 'pending', 'firing']);

/** Check a parsed snapshot's shape; throws TypeError naming the first problem. */
export function parseAlertSnapshot(json: unknown): AlertRuleSnapshot {
  const fail = (what: string): never => {
    throw new TypeError(`invalid alert state snapshot: ${what}`);
  };
  if (!isRecord(json)) return fail('not an object');
  if (json['version'] !== 1) return fail(`unsupported version ${JSON.stringify(json['version'])}`);
  const savedAtMs = json['savedAtMs'];
  if (savedAtMs !== null && !isTime(savedAtMs)) return fail('savedAtMs is not a time');
  const list = json['alerts'];
  if (!Array.isArray(list)) return fail('alerts is not an array');
  const alerts: AlertSnapshotEntry[] = [];
  list.forEach((raw: unknown, i) => {
    const at = `alerts[${i}]`;
    if (!isRecord(raw)) return fail(`${at} is not an object`);
    const labels = raw['labels'];
    if (!Array.isArray(labels) || labels.length % 2 !== 0 || !labels.every((l) => typeof l === 'string')) {
      return fail(`${at}.labels is not a flat [name, value, ...] string list`);
    }
    const state = raw['state'];
    if (typeof state !== 'string' || !STATES.has(state))
      return fail(`${at}.state is not inactive|pending|firing`);
    const value = raw['value'];
    if (value !== null && typeof value !== 'number') return fail(`${at}.value is not a number`);
    const time = (name: string, optional: boolean): number | null => {
      const v = raw[name];
      if (optional && (v === null || v === undefined)) return null;
      if (!isTime(v)) return fail(`${at}.${name} is not a time`);
      return v;
    };
    alerts.push({
      labels: labels as string[],
      state: state as AlertStateName,
      activeAt: time('activeAt', false)!,
      firedAt: time('firedAt', true),
      resolvedAt: time('resolvedAt', true),
      keepFiringSince: time('keepFiringSince', true),
      value,
      lastEvalMs: time('lastEvalMs', false)!,
    });
  });
  return { version: 1, savedAtMs: savedAtMs as number | null, alerts };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}
