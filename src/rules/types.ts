/**
 * Contracts of the rule engine: what signals hand to rule expressions and what rules hand to the
 * alert state machine.
 */

/**
 * Group labels as a flat list `[key0, value0, key1, value1, ...]` sorted by key — the same shape as
 * the store's `FlatAttrs`, so no label ever becomes an object key. `[]` is an ungrouped sample.
 */
export type FlatLabels = readonly string[];

/** One element of an instant vector: a group's labels and its current value. */
export interface Sample {
  readonly labels: FlatLabels;
  readonly value: number;
}

/**
 * Where an expression reads its inputs. Both return the signal's current vector: one sample per
 * group (empty labels for an ungrouped signal), or `[]` when the signal has no data in its window.
 */
export interface SignalLookup {
  signal(name: string): readonly Sample[];
  /** The signal's 24h baseline (average of its trend buckets), same shape as `signal`. */
  baseline(name: string): readonly Sample[];
}

/** One input read during an evaluation, for `include_traces`. */
export interface SignalRead {
  readonly name: string;
  readonly source: 'signal' | 'baseline';
  readonly samples: readonly Sample[];
}

/** Called once per distinct input an evaluation reads, in reading order. */
export type EvalTraceHook = (read: SignalRead) => void;

/* ---- Alert state (alert-state.ts) ---- */

export type AlertStateName = 'inactive' | 'pending' | 'firing';

export interface AlertRuleStateOptions {
  /** `for`, ms: how long a label set must stay in the result before firing; 0 fires at once. */
  forMs: number;
  /** `keep_firing_for`, ms: how long a firing alert outlives its condition; 0 = not at all. */
  keepFiringForMs: number;
  /** How long a resolved alert is kept (and re-sent as resolved), ms. Default 15 min. */
  resolvedRetentionMs?: number;
  /** `restore()` ignores snapshots older than this, ms. Default 1 h. */
  outageToleranceMs?: number;
}

/** A copy of one alert instance; times are epoch ms. */
export interface AlertInstance {
  readonly labels: FlatLabels;
  readonly state: AlertStateName;
  /** When the label set entered the result (start of pending). */
  readonly activeAt: number;
  readonly firedAt: number | undefined;
  /** Set once the alert is resolved (state inactive). */
  readonly resolvedAt: number | undefined;
  /** First evaluation without the label set while keep_firing_for holds the alert firing. */
  readonly keepFiringSince: number | undefined;
  /** The value at the last evaluation that had the label set in its result. */
  readonly value: number;
  readonly lastEvalMs: number;
}

/**
 * What an update did to an alert: `pending` (new), `firing`, `resolved`, `dropped` (a pending
 * alert whose condition went away) or `forgotten` (a resolved alert past its retention).
 */
export type AlertChangeKind = 'pending' | 'firing' | 'resolved' | 'dropped' | 'forgotten';

export interface AlertChange {
  readonly kind: AlertChangeKind;
  /** The alert as it was right after this change. */
  readonly alert: AlertInstance;
}
