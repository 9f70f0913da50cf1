import { describe, expect, it } from 'vitest';
import {
  AlertRuleState,
  DuplicateAlertLabelSetError,
  fingerprint,
  type AlertChangeKind,
} from '../../src/rules/alert-state.js';
import type { Sample } from '../../src/rules/types.js';

const T0 = 1_700_000_000_000;
const S = 1000;
const M = 60 * S;

const ungrouped = (value = 1): Sample[] => [{ labels: [], value }];
const svc = (name: string, value = 1): Sample => ({ labels: ['svc', name], value });
const kinds = (changes: Array<{ kind: AlertChangeKind }>): AlertChangeKind[] => changes.map((c) => c.kind);

describe('AlertRuleState > pending and firing', () => {
  it('goes inactive → pending → firing once `for` has elapsed', () => {
    const r = new AlertRuleState({ forMs: M, keepFiringForMs: 0 });
    expect(r.ruleState([])).toBe(0);
    expect(kinds(r.update(ungrouped(5), T0))).toEqual(['pending']);
    expect(r.alert([])).toMatchObject({ state: 'pending', activeAt: T0, value: 5, firedAt: undefined });
    expect(r.ruleState([])).toBe(1);
    expect(kinds(r.update(ungrouped(6), T0 + 45 * S))).toEqual([]);
    expect(r.alert([])).toMatchObject({ state: 'pending', activeAt: T0, value: 6, lastEvalMs: T0 + 45 * S });
    const changes = r.update(ungrouped(7), T0 + M);
    expect(kinds(changes)).toEqual(['firing']);
    expect(changes[0]!.alert).toMatchObject({ state: 'firing', activeAt: T0, firedAt: T0 + M, value: 7 });
    expect(r.ruleState([])).toBe(2);
    expect(r.maxState()).toBe(2);
  });

  it('fires on the first evaluation when for = 0', () => {
    const r = new AlertRuleState({ forMs: 0, keepFiringForMs: 0 });
    const changes = r.update(ungrouped(), T0);
    expect(kinds(changes)).toEqual(['pending', 'firing']);
    expect(r.alerts()).toEqual([
      {
        labels: [],
        state: 'firing',
        activeAt: T0,
        firedAt: T0,
        resolvedAt: undefined,
        keepFiringSince: undefined,
        value: 1,
        lastEvalMs: T0,
      },
    ]);
  });

  it('drops a pending alert whose condition flaps, and starts over with a new activeAt', () => {
    const r = new AlertRuleState({ forMs: M, keepFiringForMs: 0 });
    r.update(ungrouped(), T0);
    expect(kinds(r.update([], T0 + 15 * S))).toEqual(['dropped']);
    expect(r.alerts()).toEqual([]);
    expect(r.ruleState([])).toBe(0);
    r.update(ungrouped(), T0 + 30 * S);
    expect(r.alert([])?.activeAt).toBe(T0 + 30 * S);
    r.update(ungrouped(), T0 + 75 * S);
    expect(r.alert([])?.state).toBe('pending');
    expect(kinds(r.update(ungrouped(), T0 + 90 * S))).toEqual(['firing']);
  });

  it('keeps label sets independent', () => {
    const r = new AlertRuleState({ forMs: 30 * S, keepFiringForMs: 0 });
    r.update([svc('a')], T0);
    r.update([svc('a'), svc('b')], T0 + 15 * S);
    const changes = r.update([svc('a'), svc('b')], T0 + 30 * S);
    expect(changes.map((c) => [c.kind, c.alert.labels])).toEqual([['firing', ['svc', 'a']]]);
    expect(r.ruleState(['svc', 'a'])).toBe(2);
    expect(r.ruleState(['svc', 'b'])).toBe(1);
    expect(r.ruleState(['svc', 'c'])).toBe(0);
    expect(kinds(r.update([svc('b')], T0 + 45 * S))).toEqual(['resolved', 'firing']);
    expect(r.alert(['svc', 'a'])).toMatchObject({ state: 'inactive', resolvedAt: T0 + 45 * S });
    expect(r.alert(['svc', 'b'])).toMatchObject({
      state: 'firing',
      activeAt: T0 + 15 * S,
      firedAt: T0 + 45 * S,
    });
  });

  it('identifies label sets regardless of label order', () => {
    const r = new AlertRuleState({ forMs: 0, keepFiringForMs: 0 });
    r.update([{ labels: ['z', '1', 'a', '2'], value: 1 }], T0);
    expect(kinds(r.update([{ labels: ['a', '2', 'z', '1'], value: 2 }], T0 + S))).toEqual([]);
    expect(r.alerts()).toHaveLength(1);
    expect(r.alert(['z', '1', 'a', '2'])).toMatchObject({ labels: ['a', '2', 'z', '1'], value: 2 });
  });

  it('rejects a result with the same label set twice and keeps its state', () => {
    const r = new AlertRuleState({ forMs: 0, keepFiringForMs: 0 });
    r.update([svc('a')], T0);
    expect(() => r.update([svc('b'), svc('b')], T0 + S)).toThrow(DuplicateAlertLabelSetError);
    expect(r.alerts().map((a) => [a.labels, a.state, a.lastEvalMs])).toEqual([[['svc', 'a'], 'firing', T0]]);
  });

  it('validates its options', () => {
    expect(() => new AlertRuleState({ forMs: -1, keepFiringForMs: 0 })).toThrow('forMs must be');
    expect(() => new AlertRuleState({ forMs: 0, keepFiringForMs: NaN })).toThrow('keepFiringForMs must be');
  });
});

describe('AlertRuleState > resolving', () => {
  it('resolves a firing alert as soon as its condition is gone without keep_firing_for', () => {
    const r = new AlertRuleState({ forMs: 0, keepFiringForMs: 0 });
    r.update(ungrouped(9), T0);
    const changes = r.update([], T0 + S);
    expect(kinds(changes)).toEqual(['resolved']);
    expect(changes[0]!.alert).toMatchObject({
      state: 'inactive',
      activeAt: T0,
      firedAt: T0,
      resolvedAt: T0 + S,
      value: 9,
    });
    expect(r.ruleState([])).toBe(0);
  });

  it('holds a firing alert for keep_firing_for after its condition is gone', () => {
    const r = new AlertRuleState({ forMs: 0, keepFiringForMs: M });
    r.update(ungrouped(9), T0);
    expect(kinds(r.update([], T0 + 10 * S))).toEqual([]);
    expect(r.alert([])).toMatchObject({ state: 'firing', keepFiringSince: T0 + 10 * S, value: 9 });
    // Counted from the first evaluation without the condition (Prometheus's KeepFiringSince).
    expect(kinds(r.update([], T0 + 69 * S))).toEqual([]);
    expect(kinds(r.update([], T0 + 70 * S))).toEqual(['resolved']);
    expect(r.alert([])).toMatchObject({ state: 'inactive', resolvedAt: T0 + 70 * S });
  });

  it('keeps firing, with its activeAt, when the condition returns during keep_firing_for', () => {
    const r = new AlertRuleState({ forMs: 0, keepFiringForMs: M });
    r.update(ungrouped(1), T0);
    r.update([], T0 + 10 * S);
    expect(kinds(r.update(ungrouped(2), T0 + 20 * S))).toEqual([]);
    expect(r.alert([])).toMatchObject({
      state: 'firing',
      activeAt: T0,
      firedAt: T0,
      keepFiringSince: undefined,
      value: 2,
    });
    // keep_firing_for starts again from the next gap.
    r.update([], T0 + 30 * S);
    expect(r.alert([])?.keepFiringSince).toBe(T0 + 30 * S);
    expect(kinds(r.update([], T0 + 89 * S))).toEqual([]);
    expect(kinds(r.update([], T0 + 90 * S))).toEqual(['resolved']);
  });

  it('does not hold a pending alert with keep_firing_for', () => {
    const r = new AlertRuleState({ forMs: M, keepFiringForMs: M });
    r.update(ungrouped(), T0);
    expect(kinds(r.update([], T0 + S))).toEqual(['dropped']);
  });

  it('keeps a resolved alert for 15 minutes, then forgets it', () => {
    const r = new AlertRuleState({ forMs: 0, keepFiringForMs: 0 });
    r.update(ungrouped(), T0);
    r.update([], T0 + S);
    const resolvedAt = T0 + S;
    expect(kinds(r.update([], resolvedAt + 15 * M))).toEqual([]);
    expect(r.alerts()).toHaveLength(1);
    expect(r.alert([])).toMatchObject({ state: 'inactive', resolvedAt, lastEvalMs: resolvedAt + 15 * M });
    const changes = r.update([], resolvedAt + 15 * M + S);
    expect(kinds(changes)).toEqual(['forgotten']);
    expect(changes[0]!.alert.state).toBe('inactive');
    expect(r.alerts()).toEqual([]);
  });

  it('honours a custom resolved retention', () => {
    const r = new AlertRuleState({ forMs: 0, keepFiringForMs: 0, resolvedRetentionMs: 0 });
    r.update(ungrouped(), T0);
    r.update([], T0 + S);
    expect(kinds(r.update([], T0 + 2 * S))).toEqual(['forgotten']);
  });

  it('starts a new pending alert when a resolved one comes back', () => {
    const r = new AlertRuleState({ forMs: 30 * S, keepFiringForMs: 0 });
    r.update(ungrouped(), T0);
    r.update(ungrouped(), T0 + 30 * S);
    r.update([], T0 + 45 * S);
    expect(r.alert([])?.state).toBe('inactive');
    const back = r.update(ungrouped(3), T0 + 60 * S);
    expect(kinds(back)).toEqual(['pending']);
    expect(r.alert([])).toMatchObject({
      state: 'pending',
      activeAt: T0 + 60 * S,
      firedAt: undefined,
      resolvedAt: undefined,
      value: 3,
    });
    expect(kinds(r.update(ungrouped(), T0 + 90 * S))).toEqual(['firing']);
    expect(r.alert([])).toMatchObject({ activeAt: T0 + 60 * S, firedAt: T0 + 90 * S });
  });

  it('reports the highest state of the rule', () => {
    const r = new AlertRuleState({ forMs: 30 * S, keepFiringForMs: 0 });
    expect(r.maxState()).toBe(0);
    r.update([svc('a')], T0);
    expect(r.maxState()).toBe(1);
    r.update([svc('a')], T0 + 30 * S);
    r.update([svc('b')], T0 + 31 * S);
    expect(r.alerts().map((a) => a.state)).toEqual(['inactive', 'pending']);
    expect(r.maxState()).toBe(1);
  });
});

describe('AlertRuleState > snapshot and restore', () => {
  /** At T0 + 7m30s: a firing, a kept-firing (keep_firing_for), a resolved and a pending alert. */
  const SAVED_AT = T0 + 7 * M + 30 * S;
  function busyRule(): AlertRuleState {
    const r = new AlertRuleState({ forMs: M, keepFiringForMs: 5 * M });
    r.update([svc('firing', 10), svc('held', 20), svc('resolved', 30)], T0);
    r.update([svc('firing', 11), svc('held', 21), svc('resolved', 31)], T0 + M);
    r.update([svc('firing', 12), svc('held', 22)], T0 + 2 * M);
    r.update([svc('firing', 13), svc('held', 23)], T0 + 7 * M);
    r.update([svc('firing', 14), svc('pending', 40)], SAVED_AT);
    return r;
  }
  const roundTrip = (r: AlertRuleState): unknown => JSON.parse(JSON.stringify(r));

  it('restores every alert as saved, so activeAt and firedAt survive a restart', () => {
    const before = busyRule();
    expect(before.alerts().map((a) => [a.labels[1], a.state])).toEqual([
      ['firing', 'firing'],
      ['held', 'firing'],
      ['resolved', 'inactive'],
      ['pending', 'pending'],
    ]);
    const fresh = new AlertRuleState({ forMs: M, keepFiringForMs: 5 * M });
    expect(fresh.restore(roundTrip(before), SAVED_AT + 30 * S)).toBe(4);
    expect(fresh.alerts()).toEqual(before.alerts());
    expect(fresh.alert(['svc', 'held'])).toMatchObject({ state: 'firing', keepFiringSince: SAVED_AT });
    expect(fresh.alert(['svc', 'resolved'])).toMatchObject({ state: 'inactive', resolvedAt: T0 + 7 * M });
    expect(fresh.alert(['svc', 'pending'])).toMatchObject({ state: 'pending', activeAt: SAVED_AT });
  });

  it('counts the outage towards `for` and applies the normal rules at the first evaluation', () => {
    const fresh = new AlertRuleState({ forMs: M, keepFiringForMs: 5 * M });
    fresh.restore(roundTrip(busyRule()), T0 + 9 * M);
    const changes = fresh.update([svc('firing', 15), svc('pending', 41)], T0 + 9 * M);
    expect(changes.map((c) => [c.kind, c.alert.labels[1]])).toEqual([['firing', 'pending']]);
    expect(fresh.alert(['svc', 'pending'])).toMatchObject({ activeAt: SAVED_AT, firedAt: T0 + 9 * M });
    expect(fresh.alert(['svc', 'firing'])).toMatchObject({
      state: 'firing',
      activeAt: T0,
      firedAt: T0 + M,
      value: 15,
    });
    // keep_firing_for kept running through the outage: 90s of its 5m used.
    expect(fresh.alert(['svc', 'held'])?.state).toBe('firing');
    const later = fresh.update([svc('firing'), svc('pending')], SAVED_AT + 5 * M);
    expect(later.map((c) => [c.kind, c.alert.labels[1]])).toEqual([['resolved', 'held']]);
  });

  it('resolves a restored firing alert whose condition is gone after the restart', () => {
    const fresh = new AlertRuleState({ forMs: M, keepFiringForMs: 0 });
    const saved = new AlertRuleState({ forMs: M, keepFiringForMs: 0 });
    saved.update([svc('a')], T0);
    saved.update([svc('a')], T0 + M);
    fresh.restore(roundTrip(saved), T0 + 2 * M);
    const changes = fresh.update([], T0 + 2 * M);
    expect(changes.map((c) => [c.kind, c.alert.resolvedAt])).toEqual([['resolved', T0 + 2 * M]]);
  });

  it('ignores a snapshot older than the outage tolerance', () => {
    const fresh = new AlertRuleState({ forMs: M, keepFiringForMs: 0, outageToleranceMs: 10 * M });
    const snap = roundTrip(busyRule());
    expect(fresh.restore(snap, SAVED_AT + 10 * M + 1)).toBe(0);
    expect(fresh.alerts()).toEqual([]);
    expect(fresh.restore(snap, SAVED_AT + 10 * M)).toBe(4);
  });

  it('round-trips NaN values and never-evaluated rules', () => {
    const r = new AlertRuleState({ forMs: 0, keepFiringForMs: 0 });
    expect(r.toJSON()).toEqual({ version: 1, savedAtMs: null, alerts: [] });
    expect(new AlertRuleState({ forMs: 0, keepFiringForMs: 0 }).restore(roundTrip(r), T0)).toBe(0);
    r.update(ungrouped(NaN), T0);
    const fresh = new AlertRuleState({ forMs: 0, keepFiringForMs: 0 });
    fresh.restore(roundTrip(r), T0 + S);
    expect(fresh.alert([])?.value).toBeNaN();
  });

  it('rejects a malformed snapshot and keeps its state', () => {
    const r = new AlertRuleState({ forMs: 0, keepFiringForMs: 0 });
    r.update([svc('a')], T0);
    const good = roundTrip(busyRule()) as { alerts: Array<Record<string, unknown>> };
    const bad: Array<[unknown, string]> = [
      [null, 'not an object'],
      [{ version: 2, savedAtMs: T0, alerts: [] }, 'unsupported version 2'],
      [{ version: 1, savedAtMs: 'x', alerts: [] }, 'savedAtMs is not a time'],
      [{ version: 1, savedAtMs: T0, alerts: {} }, 'alerts is not an array'],
      [{ ...good, alerts: [{ ...good.alerts[0], labels: ['odd'] }] }, 'alerts[0].labels'],
      [{ ...good, alerts: [{ ...good.alerts[0], state: 'exploded' }] }, 'alerts[0].state'],
      [
        { ...good, alerts: [good.alerts[0], { ...good.alerts[1], activeAt: null }] },
        'alerts[1].activeAt is not a time',
      ],
      [{ ...good, alerts: [{ ...good.alerts[0], value: '1' }] }, 'alerts[0].value is not a number'],
    ];
    for (const [json, message] of bad) {
      expect(() => r.restore(json, T0), message).toThrow(message);
    }
    expect(r.alerts().map((a) => a.labels)).toEqual([['svc', 'a']]);
  });
});

describe('fingerprint', () => {
  it('is a stable 16-digit hex hash of alertname and labels', () => {
    const fp = fingerprint('HIGH_P95_LATENCY', ['service.name', 'pricing']);
    expect(fp).toMatch(/^[0-9a-f]{16}$/);
    expect(fp).toBe(fingerprint('HIGH_P95_LATENCY', ['service.name', 'pricing']));
    // Pinned: snapshots, acks and webhook throttles key on it across versions.
    expect(fingerprint('HIGH_CPU', [])).toBe(FP_HIGH_CPU);
  });

  it('ignores label order and an alertname label, and distinguishes everything else', () => {
    const a = fingerprint('R', ['a', '1', 'b', '2']);
    expect(fingerprint('R', ['b', '2', 'a', '1'])).toBe(a);
    expect(fingerprint('R', ['alertname', 'other', 'a', '1', 'b', '2'])).toBe(a);
    const others = [
      fingerprint('R2', ['a', '1', 'b', '2']),
      fingerprint('R', ['a', '1', 'b', '3']),
      fingerprint('R', ['a', '12']),
      fingerprint('R', ['a1', '2']),
      fingerprint('R', []),
    ];
    expect(new Set([a, ...others]).size).toBe(6);
  });
});

// FNV-1a 64 of 'alertname' 0xff 'HIGH_CPU' 0xff, computed independently (Python).
const FP_HIGH_CPU = '890af57a875347db';
