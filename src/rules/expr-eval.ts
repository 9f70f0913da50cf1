import {
  isComparison,
  type ArithmeticOp,
  type BinaryNode,
  type ComparisonOp,
  type Expr,
} from './expr-ast.js';
import { canonicalLabels } from './labels.js';
import type { EvalTraceHook, FlatLabels, Sample, SignalLookup } from './types.js';

/**
 * Evaluator of parsed rule expressions; the semantics are documented in `expr.ts`.
 *
 * Vectors are handled as entries carrying their canonical label key so matching is a Map lookup
 * per sample. Inputs are canonicalised on read (labels sorted, a repeated label set keeps its
 * first sample), which keeps every intermediate vector free of duplicate label sets and hence the
 * result usable as alert identities.
 */

interface Entry {
  readonly key: string;
  readonly labels: FlatLabels;
  readonly value: number;
}

type Value = number | readonly Entry[];

const ONE: readonly Entry[] = [{ key: '', labels: [], value: 1 }];
const NONE: readonly Entry[] = [];

/**
 * Evaluate `expr` against the current signals. Each distinct input (signal or baseline) is read
 * once per evaluation — the same vector wherever it occurs — and reported to `trace`.
 */
export function evaluate(expr: Expr, lookup: SignalLookup, trace?: EvalTraceHook): Sample[] {
  const cache = new Map<string, readonly Entry[]>();
  const read = (source: 'signal' | 'baseline', name: string): readonly Entry[] => {
    const id = source + ':' + name;
    let v = cache.get(id);
    if (v === undefined) {
      const samples = source === 'signal' ? lookup.signal(name) : lookup.baseline(name);
      v = canonicalise(samples);
      cache.set(id, v);
      trace?.({ name, source, samples: v.map(toSample) });
    }
    return v;
  };

  const ev = (e: Expr): Value => {
    switch (e.kind) {
      case 'number':
        return e.value;
      case 'signal':
        return read('signal', e.name);
      case 'call':
        if (e.fn === 'baseline') return read('baseline', e.signal);
        return read('signal', e.signal).length === 0 ? ONE : NONE;
      case 'paren':
        return ev(e.inner);
      case 'neg': {
        const v = ev(e.operand);
        return typeof v === 'number' ? -v : v.map((s) => ({ key: s.key, labels: s.labels, value: -s.value }));
      }
      case 'not': {
        const v = ev(e.operand);
        return typeof v !== 'number' && v.length === 0 ? ONE : NONE;
      }
      case 'binary':
        return binary(e, ev(e.left), ev(e.right));
    }
  };

  const result = ev(expr);
  // parseExpr() rejects expressions that read no signal, but a hand-built tree might not.
  if (typeof result === 'number') throw new TypeError('rule expression evaluated to a number, not a vector');
  return result.map(toSample);
}

function binary(e: BinaryNode, l: Value, r: Value): Value {
  const op = e.op;
  if (op === 'and' || op === 'or') {
    if (typeof l === 'number' || typeof r === 'number') throw new TypeError(`'${op}' applied to a number`);
    return op === 'and' ? and(l, r) : or(l, r);
  }
  if (isComparison(op)) {
    if (typeof l === 'number') {
      if (typeof r === 'number') throw new TypeError('comparison between two numbers');
      return r.filter((s) => compare(op, l, s.value));
    }
    if (typeof r === 'number') return l.filter((s) => compare(op, s.value, r));
    return match(l, r, (lv, rv) => (compare(op, lv, rv) ? lv : undefined));
  }
  if (typeof l === 'number') {
    if (typeof r === 'number') return arithmetic(op, l, r);
    return r.map((s) => ({ key: s.key, labels: s.labels, value: arithmetic(op, l, s.value) }));
  }
  if (typeof r === 'number')
    return l.map((s) => ({ key: s.key, labels: s.labels, value: arithmetic(op, s.value, r) }));
  return match(l, r, (lv, rv) => arithmetic(op, lv, rv));
}

function arithmetic(op: ArithmeticOp, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
  }
}

/** IEEE comparison, except that NaN never compares true (not even with `!=`). */
function compare(op: ComparisonOp, a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return false;
  switch (op) {
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '==':
      return a === b;
    case '!=':
      return a !== b;
  }
}

/**
 * Vector-vector matching: one-to-one on identical label sets, and an empty-label (ungrouped)
 * sample on either side matches every sample of the other. The result takes the labels of the
 * grouped side; `combine` returns undefined to drop the pair. A label set already produced keeps
 * its first value (only reachable when a vector mixes grouped and ungrouped samples).
 */
function match(
  l: readonly Entry[],
  r: readonly Entry[],
  combine: (lv: number, rv: number) => number | undefined,
) {
  const right = byKey(r);
  const wildcard = right.get('');
  const out: Entry[] = [];
  const seen = new Set<string>();
  const emit = (key: string, labels: FlatLabels, value: number | undefined): void => {
    if (value === undefined || seen.has(key)) return;
    seen.add(key);
    out.push({ key, labels, value });
  };
  for (const ls of l) {
    if (ls.key === '') {
      for (const rs of r) emit(rs.key, rs.labels, combine(ls.value, rs.value));
      continue;
    }
    const rs = right.get(ls.key) ?? wildcard;
    if (rs !== undefined) emit(ls.key, ls.labels, combine(ls.value, rs.value));
  }
  return out;
}

function and(l: readonly Entry[], r: readonly Entry[]): readonly Entry[] {
  if (r.length === 0) return NONE;
  const right = byKey(r);
  if (right.has('')) return l;
  return l.filter((s) => s.key === '' || right.has(s.key));
}

function or(l: readonly Entry[], r: readonly Entry[]): readonly Entry[] {
  if (l.length === 0) return r;
  const left = byKey(l);
  const extra = r.filter((s) => !left.has(s.key));
  return extra.length === 0 ? l : [...l, ...extra];
}

function byKey(v: readonly Entry[]): Map<string, Entry> {
  const m = new Map<string, Entry>();
  for (const s of v) if (!m.has(s.key)) m.set(s.key, s);
  return m;
}

function canonicalise(samples: readonly Sample[]): readonly Entry[] {
  if (samples.length === 0) return NONE;
  const out: Entry[] = [];
  const seen = new Set<string>();
  for (const s of samples) {
    const c = canonicalLabels(s.labels);
    if (seen.has(c.key)) continue;
    seen.add(c.key);
    out.push({ key: c.key, labels: c.labels, value: s.value });
  }
  return out;
}

function toSample(e: Entry): Sample {
  return { labels: e.labels, value: e.value };
}
