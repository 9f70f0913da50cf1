import type { RuleConfig } from '../config/schema.js';
import { AlertRuleState } from './alert-state.js';
import { parseAlertSnapshot } from './alert-snapshot.js';
import { evaluate, parseExpr, type Expr } from './expr.js';
import { fingerprint } from './fingerprint.js';
import type { AlertChange, AlertInstance, FlatLabels, Sample, SignalLookup, SignalRead } from './types.js';
import { pairsKey } from '../store/canonical-key.js';

/**
 * The configured rules and their alert states: one evaluation per tick over the signals' current
 * vectors, Prometheus's state machine per label set (alert-state.ts). Keeps, per rule, what the
 * last evaluation read and returned, for the report's `traces`.
 */

/** Group label sets remembered per rule for `vigil_rule_state`. */
const MAX_GROUPS_PER_RULE = 1000;

export type Severity = 'info' | 'warning' | 'critical';

export interface RuleTrace {
  rule: string;
  expr: string;
  reads: SignalRead[];
  result: Sample[];
  evaluated_at: string;
  duration_ms: number;
  error?: string;
}

export interface ActiveAlert extends AlertInstance {
  rule: CompiledRule;
  fingerprint: string;
}

export interface CompiledRule {
  readonly config: RuleConfig;
  readonly name: string;
  readonly severity: Severity;
  readonly expr: Expr;
  readonly state: AlertRuleState;
  trace: RuleTrace | undefined;
  /** Label sets the rule has produced (groups), kept so each keeps a `vigil_rule_state` 0 series. */
  readonly groups: Map<string, FlatLabels>;
}

export class RuleEngine {
  private rules: CompiledRule[] = [];
  lastEvalDurationMs = 0;
  /** Restored alerts held until their data is back or the grace ends (see `restore`). */
  private held = new Map<CompiledRule, Map<string, Sample>>();
  private holdUntilMs = 0;

  /** (Re)load rules; a rule whose expression, for and keep_firing_for are unchanged keeps its alerts. */
  configure(configs: readonly RuleConfig[]): void {
    const old = new Map(this.rules.map((r) => [r.name, r]));
    const held = new Map<CompiledRule, Map<string, Sample>>();
    this.rules = configs.map((cfg) => {
      const prev = old.get(cfg.name);
      if (
        prev !== undefined &&
        prev.config.expr === cfg.expr &&
        prev.config.for === cfg.for &&
        prev.config.keep_firing_for === cfg.keep_firing_for
      ) {
        const kept = { ...prev, config: cfg, severity: cfg.severity };
        // Restored alerts still held (see `restore`) belong to the rule, not to its old object.
        const h = this.held.get(prev);
        if (h !== undefined) held.set(kept, h);
        return kept;
      }
      return {
        config: cfg,
        name: cfg.name,
        severity: cfg.severity,
        expr: parseExpr(cfg.expr),
        state: new AlertRuleState({ forMs: cfg.for, keepFiringForMs: cfg.keep_firing_for }),
        trace: undefined,
        groups: new Map(),
      };
    });
    this.held = held;
  }

  list(): readonly CompiledRule[] {
    return this.rules;
  }

  /** Evaluate every rule; returns the alert transitions of this evaluation. */
  evaluate(lookup: SignalLookup, nowMs: number): Array<{ rule: CompiledRule; change: AlertChange }> {
    const started = performance.now();
    const changes: Array<{ rule: CompiledRule; change: AlertChange }> = [];
    for (const rule of this.rules) {
      const t0 = performance.now();
      const reads: SignalRead[] = [];
      let result: Sample[] = [];
      let error: string | undefined;
      try {
        result = evaluate(rule.expr, lookup, (r) => reads.push(r));
        for (const c of rule.state.update(this.withHeld(rule, result, nowMs), nowMs))
          changes.push({ rule, change: c });
      } catch (err) {
        // One broken rule (e.g. a duplicate label set) must not stop the others.
        error = (err as Error).message;
      }
      // Groups: what the rule returned and what its first signal holds, so a group whose
      // condition is false still has its `vigil_rule_state 0` series. Bounded against churn.
      if (rule.groups.size > MAX_GROUPS_PER_RULE) rule.groups.clear();
      for (const s of result) rule.groups.set(pairsKey(s.labels), s.labels);
      for (const x of reads[0]?.samples ?? []) rule.groups.set(pairsKey(x.labels), x.labels);
      rule.trace = {
        rule: rule.name,
        expr: rule.config.expr,
        reads,
        result,
        evaluated_at: new Date(nowMs).toISOString(),
        duration_ms: performance.now() - t0,
        ...(error !== undefined ? { error } : {}),
      };
    }
    this.lastEvalDurationMs = performance.now() - started;
    return changes;
  }

  /** Pending, firing and recently resolved alerts of every rule. */
  alerts(): ActiveAlert[] {
    const out: ActiveAlert[] = [];
    for (const rule of this.rules) {
      // Field by field rather than `{...a}`: one object shape for every alert, built without
      // the generic spread (this was a third of the report's cost).
      for (const a of rule.state.instances())
        out.push({
          labels: a.labels,
          state: a.state,
          activeAt: a.activeAt,
          firedAt: a.firedAt,
          resolvedAt: a.resolvedAt,
          keepFiringSince: a.keepFiringSince,
          value: a.value,
          lastEvalMs: a.lastEvalMs,
          rule,
          fingerprint: this.fingerprintOf(rule, a.labels),
        });
    }
    return out;
  }

  /** The result plus restored alerts still within the grace whose label sets have not come back. */
  private withHeld(rule: CompiledRule, result: Sample[], nowMs: number): Sample[] {
    const held = this.held.get(rule);
    if (held === undefined) return result;
    if (nowMs >= this.holdUntilMs) {
      this.held.delete(rule);
      return result;
    }
    for (const s of result) held.delete(pairsKey(s.labels));
    return held.size === 0 ? result : [...result, ...held.values()];
  }

  /**
   * Fingerprints are hashes of the labels: computed once per alert, not per report. An alert keeps
   * its labels array for its lifetime, so the array is the key (no string to build per lookup);
   * a WeakMap forgets alerts that are gone.
   */
  private readonly fingerprints = new WeakMap<FlatLabels, string>();
  private fingerprintOf(rule: CompiledRule, labels: FlatLabels): string {
    let f = this.fingerprints.get(labels);
    if (f === undefined) this.fingerprints.set(labels, (f = fingerprint(rule.name, labels)));
    return f;
  }

  snapshot(): Record<string, unknown> {
    return Object.fromEntries(this.rules.map((r) => [r.name, r.state.toJSON()]));
  }

  /**
   * Restore alert states saved by `snapshot`. After a restart the sources have not pushed yet, so
   * every signal is absent at the first evaluations; restored pending/firing alerts are therefore
   * held as they were for `graceMs` (until their label set shows up in a result again), so a
   * firing alert keeps its `active_since` instead of resolving and re-firing. Prometheus needs no
   * such grace because its data survives in the TSDB; vigil's windows live in memory.
   */
  restore(snapshot: unknown, nowMs: number, graceMs = 0): number {
    if (typeof snapshot !== 'object' || snapshot === null) return 0;
    // All or nothing: every rule's part is checked before any is applied, so a snapshot that is
    // damaged in its third rule does not leave the first two restored and the rest not (the
    // caller then sets the file aside and starts these rules afresh).
    for (const rule of this.rules) {
      const s = (snapshot as Record<string, unknown>)[rule.name];
      if (s !== undefined) parseAlertSnapshot(s);
    }
    let n = 0;
    this.held.clear();
    this.holdUntilMs = nowMs + graceMs;
    for (const rule of this.rules) {
      const s = (snapshot as Record<string, unknown>)[rule.name];
      if (s === undefined) continue;
      n += rule.state.restore(s, nowMs);
      const held = new Map<string, Sample>();
      for (const a of rule.state.alerts()) {
        if (a.state !== 'inactive') held.set(pairsKey(a.labels), { labels: a.labels, value: a.value });
      }
      if (graceMs > 0 && held.size > 0) this.held.set(rule, held);
    }
    return n;
  }
}
