/**
 * Rule expressions: a small, safe (no eval, no Function) PromQL-like language over signals.
 *
 * Syntax
 *   numbers      1500, 0.2, .5, 1e-3 (no durations: `5m` is an error; windows belong to signals)
 *   signals      [A-Za-z_][A-Za-z0-9_]* — a configured signal's current vector
 *   functions    absent(signal), baseline(signal) — nothing else; the argument is a signal name
 *   operators    + - * /, unary -, > >= < <= == !=, and, or, not, ( )
 *   precedence   (lowest first, all binary operators left-associative)
 *                  or < and < not < comparisons < + - < * / < unary -
 *                as PromQL (`or` < `and` < comparisons < `+ -` < `* /` < unary); `not` sits between
 *                `and` and the comparisons as in SQL/Python, so `not a > 5 and b < 1` is
 *                `(not (a > 5)) and (b < 1)`. `and`/`or`/`not` are case-insensitive (PromQL's are).
 *
 * Evaluation model (implemented in expr-eval.ts)
 *   - A signal evaluates to a vector of samples `{labels, value}` with sorted flat labels: one per
 *     group for a grouped signal, at most one with empty labels for an ungrouped signal, and the
 *     EMPTY vector when the signal has no data (absent). Numbers are scalars.
 *   - `absent(s)` is one sample `{labels: [], value: 1}` when `s` is empty, else empty.
 *     `baseline(s)` is the signal's 24h baseline vector.
 *   - Arithmetic and comparisons between a vector and a scalar apply per sample. Between two
 *     vectors, samples match one-to-one on identical label sets, except that an empty-label sample
 *     (an ungrouped signal) matches every sample of the other side — so
 *     `grouped_p95 > 4 * baseline(ungrouped)` compares every group with the one baseline. The
 *     result takes the grouped side's labels; unmatched samples drop out.
 *   - Comparisons FILTER (PromQL without `bool`): a sample survives when the comparison holds and
 *     keeps the LEFT side's value (the right side's when the left is a number). Any comparison with
 *     NaN is false — including `!=`, unlike IEEE — so a 0/0 ratio never alerts. Division by zero
 *     gives ±Inf/NaN.
 *   - `a and b`: samples of `a` that have a match in `b` (same empty-label rule).
 *     `a or b`: all of `a`, plus samples of `b` whose exact label set is not in `a`.
 *     `not x`: one empty-label sample of value 1 when `x` is empty, else empty.
 *   - The result is the surviving vector: one active alert instance per sample (labels = its
 *     group labels, value = its value). Comparisons with absent signals are therefore false.
 *
 * Type rules (checked by the parser, so every expression also renders as PromQL): comparing two
 * numbers, `and`/`or`/`not` on numbers, and an expression that reads no signal are errors.
 */
import {
  ExprError,
  FUNCTION_NAMES,
  isComparison,
  isSetOp,
  type BinaryOp,
  type Expr,
  type FunctionName,
} from './expr-ast.js';
import { tokenize, type Token } from './expr-lexer.js';

export { ExprError } from './expr-ast.js';
export type { BinaryOp, Expr } from './expr-ast.js';
export { isReservedWord } from './expr-lexer.js';
export { evaluate } from './expr-eval.js';
export { toPromQL, type PromQLOptions } from './expr-promql.js';

/** Longest accepted expression; rules are one-liners, so this only guards against pasted junk. */
export const MAX_EXPR_LENGTH = 4096;
/** Deepest nesting of parentheses / unary operators; keeps recursion far from the stack limit. */
export const MAX_EXPR_DEPTH = 100;

const BINARY_BP: Readonly<Record<string, number>> = {
  or: 1,
  and: 2,
  '>': 4,
  '>=': 4,
  '<': 4,
  '<=': 4,
  '==': 4,
  '!=': 4,
  '+': 5,
  '-': 5,
  '*': 6,
  '/': 6,
};
const NOT_BP = 3;
/** Unary minus binds tighter than every binary operator: its operand stops at any of them. */
const UNARY_BP = 6;

/** Parse an expression; throws `ExprError` (with `column`) on any syntax or type error. */
export function parseExpr(text: string): Expr {
  if (text.length > MAX_EXPR_LENGTH) {
    throw new ExprError(`expression longer than ${MAX_EXPR_LENGTH} characters`, MAX_EXPR_LENGTH + 1);
  }
  const parser = new Parser(tokenize(text));
  if (parser.peek().kind === 'eof') throw new ExprError('empty expression', 1);
  const expr = parser.expression(0);
  const rest = parser.peek();
  if (rest.kind !== 'eof') throw unexpected(rest);
  if (expr.type === 'scalar') throw new ExprError('expression reads no signal', 1);
  return expr;
}

/** Distinct signal names the expression reads (directly or through a function), in source order. */
export function signalRefs(expr: Expr): string[] {
  return [...new Set(signalUses(expr).map((u) => u.name))];
}

/** Every place a signal name occurs, with its column — for "unknown signal" config errors. */
export function signalUses(expr: Expr): Array<{ name: string; column: number }> {
  const out: Array<{ name: string; column: number }> = [];
  const walk = (e: Expr): void => {
    switch (e.kind) {
      case 'signal':
        out.push({ name: e.name, column: e.column });
        return;
      case 'call':
        out.push({ name: e.signal, column: e.signalColumn });
        return;
      case 'neg':
      case 'not':
        walk(e.operand);
        return;
      case 'paren':
        walk(e.inner);
        return;
      case 'binary':
        walk(e.left);
        walk(e.right);
        return;
      case 'number':
        return;
    }
  };
  walk(expr);
  return out;
}

class Parser {
  private pos = 0;
  private depth = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  peek(): Token {
    // tokenize() always ends with an eof token, and parsing never moves past it.
    return this.tokens[this.pos]!;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.pos++;
    return t;
  }

  /** Pratt loop: parse operators binding tighter than `minBp`. */
  expression(minBp: number): Expr {
    if (++this.depth > MAX_EXPR_DEPTH)
      throw new ExprError('expression nested too deeply', this.peek().column);
    let left = this.prefix();
    for (;;) {
      const t = this.peek();
      const bp = t.kind === 'op' || t.kind === 'keyword' ? BINARY_BP[t.text] : undefined;
      if (bp === undefined || bp <= minBp) break;
      this.pos++;
      const right = this.expression(bp);
      left = binary(t, left, right);
    }
    this.depth--;
    return left;
  }

  private prefix(): Expr {
    const t = this.next();
    switch (t.kind) {
      case 'number':
        return { kind: 'number', value: t.value, column: t.column, type: 'scalar' };
      case 'ident':
        return this.peek().kind === '('
          ? this.call(t)
          : { kind: 'signal', name: t.text, column: t.column, type: 'vector' };
      case '(': {
        const inner = this.expression(0);
        const close = this.next();
        if (close.kind !== ')') throw unexpected(close);
        return { kind: 'paren', inner, column: t.column, type: inner.type };
      }
      case 'op':
        if (t.text === '-') {
          const operand = this.expression(UNARY_BP);
          return { kind: 'neg', operand, column: t.column, type: operand.type };
        }
        throw unexpected(t);
      case 'keyword':
        if (t.text === 'not') {
          const operand = this.expression(NOT_BP);
          if (operand.type === 'scalar')
            throw new ExprError("'not' needs a signal expression, not a number", t.column);
          return { kind: 'not', operand, column: t.column, type: 'vector' };
        }
        throw unexpected(t);
      default:
        throw unexpected(t);
    }
  }

  private call(name: Token): Expr {
    const fn = FUNCTION_NAMES.find((f) => f === name.text);
    if (fn === undefined) {
      throw new ExprError(
        `unknown function '${name.text}' (available: ${FUNCTION_NAMES.join(', ')})`,
        name.column,
      );
    }
    this.next(); // '('
    const arg = this.next();
    if (arg.kind !== 'ident') {
      const got = arg.kind === 'eof' ? 'end of expression' : `'${arg.text}'`;
      throw new ExprError(`${fn}() takes a signal name, got ${got}`, arg.column);
    }
    const close = this.next();
    if (close.kind !== ')') {
      if (close.kind === 'eof') throw unexpected(close);
      throw new ExprError(`unexpected token '${close.text}' (${fn}() takes one signal name)`, close.column);
    }
    return callNode(fn, name.column, arg);
  }
}

function callNode(fn: FunctionName, column: number, arg: Token): Expr {
  return { kind: 'call', fn, signal: arg.text, signalColumn: arg.column, column, type: 'vector' };
}

function binary(t: Token, left: Expr, right: Expr): Expr {
  const op = t.text as BinaryOp;
  const scalars = left.type === 'scalar' && right.type === 'scalar';
  if (scalars && isComparison(op)) {
    throw new ExprError(`comparing two numbers with '${op}' is constant; compare a signal`, t.column);
  }
  if (isSetOp(op) && (left.type === 'scalar' || right.type === 'scalar')) {
    throw new ExprError(`'${op}' needs signal expressions on both sides, not a number`, t.column);
  }
  return { kind: 'binary', op, left, right, column: t.column, type: scalars ? 'scalar' : 'vector' };
}

function unexpected(t: Token): ExprError {
  if (t.kind === 'eof') return new ExprError('unexpected end of expression', t.column);
  return new ExprError(`unexpected token '${t.text}'`, t.column);
}
