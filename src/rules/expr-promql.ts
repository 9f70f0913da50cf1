import { ExprError, isComparison, type BinaryNode, type Expr } from './expr-ast.js';

/**
 * Renders a rule expression as PromQL, for `vigil rules export`: the same rule evaluated
 * fleet-wide by Prometheus over the series vigil (or the collector) exports.
 *
 * Mapping (vigil → PromQL), chosen so Prometheus computes the same alert instances:
 *   signal, baseline(s)  the caller's PromQL for them, parenthesised unless a bare metric name
 *   absent(s)            absent(sum(<signal>)) — Prometheus's absent() copies the equality
 *                        matchers of a selector argument into its labels (even parenthesised);
 *                        through sum() it has empty labels, as vigil's absent() sample does
 *   not x                absent(<x>), absent(sum(<x>)) when x is a signal or baseline;
 *                        `a and not x` → `a unless on() <x>`
 *   v op scalar          as written (comparisons filter and keep the vector's value in both)
 *   v op v               `on(<labels>)` when both sides have the same group labels, `on()` when
 *                        both are ungrouped, `on() group_left` / `on() group_right` when one side
 *                        is ungrouped — vigil's "an ungrouped sample matches every group"
 *   a and b              `and on(<labels>)`, or `and on()` when either side is ungrouped
 *   a or b               `or on(<labels>)` for equal group labels, plain `or` otherwise (union)
 *   ( )                  kept as written; precedence is PromQL's, so nothing else is added
 * Not expressible, and reported as ExprError at the operator's column: arithmetic, comparisons
 * and `and` between two vectors grouped by different labels (vigil matches them on nothing), and
 * any of those applied to the result of an `or` that mixed grouped and ungrouped samples.
 * Known difference: PromQL's `!=` is true for NaN, vigil's is not.
 */

export interface PromQLOptions {
  /**
   * Group label names of a signal (or of its baseline) as they appear in its PromQL rendering,
   * e.g. `['service_name']`; `[]` for an ungrouped signal. Default: every input is ungrouped.
   */
  groupLabels?: (name: string, source: 'signal' | 'baseline') => readonly string[];
}

/** Static grouping of a vector: its group label names, or a mix (after `or`). */
type Groups = readonly string[] | 'mixed';

interface Rendered {
  readonly text: string;
  readonly prec: number;
  readonly scalar: boolean;
  readonly groups: Groups;
}

const PREC_OR = 1;
const PREC_AND = 2;
const PREC_CMP = 3;
const PREC_ADD = 4;
const PREC_MUL = 5;
const PREC_UNARY = 6;
const PREC_ATOM = 7;

const BARE_METRIC = /^[A-Za-z_:][A-Za-z0-9_:]*$/;

export function toPromQL(
  expr: Expr,
  signalToPromQL: (name: string) => string,
  baselineToPromQL: (name: string) => string,
  options: PromQLOptions = {},
): string {
  const groupsOf = (name: string, source: 'signal' | 'baseline'): Groups =>
    [...new Set(options.groupLabels?.(name, source) ?? [])].sort();
  const input = (text: string): string => (BARE_METRIC.test(text) ? text : `(${text})`);

  const render = (e: Expr): Rendered => {
    switch (e.kind) {
      case 'number':
        return { text: formatNumber(e.value), prec: PREC_ATOM, scalar: true, groups: [] };
      case 'signal':
        return vector(input(signalToPromQL(e.name)), groupsOf(e.name, 'signal'));
      case 'call':
        if (e.fn === 'baseline')
          return vector(input(baselineToPromQL(e.signal)), groupsOf(e.signal, 'baseline'));
        return vector(`absent(sum(${signalToPromQL(e.signal)}))`, []);
      case 'paren': {
        const inner = render(e.inner);
        return { ...inner, text: `(${inner.text})`, prec: PREC_ATOM };
      }
      case 'neg': {
        const operand = render(e.operand);
        // `-(-x)` rather than `--x`, and parentheses around anything looser than an atom.
        const text =
          operand.prec < PREC_ATOM || operand.text.startsWith('-') ? `(${operand.text})` : operand.text;
        return { ...operand, text: '-' + text, prec: PREC_UNARY };
      }
      case 'not': {
        const inner = unparen(e.operand);
        const isInput = inner.kind === 'signal' || (inner.kind === 'call' && inner.fn === 'baseline');
        return vector(
          isInput ? `absent(sum(${render(inner).text}))` : `absent(${render(e.operand).text})`,
          [],
        );
      }
      case 'binary':
        return renderBinary(e, render);
    }
  };

  return render(expr).text;
}

function renderBinary(e: BinaryNode, render: (e: Expr) => Rendered): Rendered {
  const prec = e.op === 'or' ? PREC_OR : e.op === 'and' ? PREC_AND : isComparison(e.op) ? PREC_CMP : PREC_ADD;
  const p = e.op === '*' || e.op === '/' ? PREC_MUL : prec;
  const l = render(e.left);
  const lt = l.prec < p ? `(${l.text})` : l.text;
  const side = (r: Rendered): string => (r.prec <= p ? `(${r.text})` : r.text);

  const negated = e.op === 'and' ? unparen(e.right) : undefined;
  if (negated?.kind === 'not') {
    // `a and not x`: keep `a` when `x` is empty, whatever either side's groups.
    const x = render(negated.operand);
    return { text: `${lt} unless on() ${side(x)}`, prec: p, scalar: false, groups: l.groups };
  }

  const r = render(e.right);
  const text = (modifier: string): string => `${lt} ${e.op} ${modifier}${side(r)}`;
  if (l.scalar || r.scalar) {
    // Scalar arithmetic, or a vector with a scalar: no matching involved.
    return { text: text(''), prec: p, scalar: l.scalar && r.scalar, groups: l.scalar ? r.groups : l.groups };
  }
  const a = l.groups;
  const b = r.groups;
  if (e.op === 'or') {
    if (a !== 'mixed' && b !== 'mixed' && sameLabels(a, b)) return vec(text(`on(${a.join(', ')}) `), p, a);
    return vec(text(''), p, 'mixed');
  }
  if (a === 'mixed' || b === 'mixed') {
    throw new ExprError(
      `'${e.op}' cannot be exported to PromQL: one side mixes grouped and ungrouped samples`,
      e.column,
    );
  }
  if (e.op === 'and') {
    if (a.length === 0 || b.length === 0) return vec(text('on() '), p, a);
    if (sameLabels(a, b)) return vec(text(`on(${a.join(', ')}) `), p, a);
    throw mismatch(e, a, b);
  }
  if (sameLabels(a, b)) return vec(text(`on(${a.join(', ')}) `), p, a);
  if (b.length === 0) return vec(text('on() group_left '), p, a);
  if (a.length === 0) return vec(text('on() group_right '), p, b);
  throw mismatch(e, a, b);
}

function vector(text: string, groups: Groups): Rendered {
  return { text, prec: PREC_ATOM, scalar: false, groups };
}

function vec(text: string, prec: number, groups: Groups): Rendered {
  return { text, prec, scalar: false, groups };
}

function unparen(e: Expr): Expr {
  return e.kind === 'paren' ? unparen(e.inner) : e;
}

function sameLabels(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function mismatch(e: BinaryNode, a: readonly string[], b: readonly string[]): ExprError {
  return new ExprError(
    `'${e.op}' between vectors grouped by (${a.join(', ')}) and (${b.join(', ')}) never matches`,
    e.column,
  );
}

/** PromQL number literal: integers and decimals as JS prints them (`1e-7` is valid PromQL). */
function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}
