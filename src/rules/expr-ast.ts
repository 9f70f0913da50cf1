/**
 * The syntax tree of rule expressions (see `expr.ts` for the language and its evaluation model).
 *
 * Every node carries its 1-based `column` in the source text (for errors found after parsing, e.g.
 * unknown signal names) and its static `type`: `scalar` nodes are built from numbers only, `vector`
 * nodes depend on at least one signal. The parser rejects type errors PromQL would reject too
 * (comparing two numbers, `and`/`or`/`not` on numbers), so every tree also renders as PromQL.
 */

export type ArithmeticOp = '+' | '-' | '*' | '/';
export type ComparisonOp = '>' | '>=' | '<' | '<=' | '==' | '!=';
export type SetOp = 'and' | 'or';
export type BinaryOp = ArithmeticOp | ComparisonOp | SetOp;

/** The functions an expression may call; each takes one signal name. */
export type FunctionName = 'absent' | 'baseline';
export const FUNCTION_NAMES: readonly FunctionName[] = ['absent', 'baseline'];

export type ValueType = 'scalar' | 'vector';

interface NodeBase {
  readonly column: number;
  readonly type: ValueType;
}

export interface NumberNode extends NodeBase {
  readonly kind: 'number';
  readonly value: number;
}

export interface SignalNode extends NodeBase {
  readonly kind: 'signal';
  readonly name: string;
}

export interface CallNode extends NodeBase {
  readonly kind: 'call';
  readonly fn: FunctionName;
  /** The signal the function reads, and where its name starts. */
  readonly signal: string;
  readonly signalColumn: number;
}

/** Unary minus. */
export interface NegNode extends NodeBase {
  readonly kind: 'neg';
  readonly operand: Expr;
}

export interface NotNode extends NodeBase {
  readonly kind: 'not';
  readonly operand: Expr;
}

/** `column` is the operator's column. */
export interface BinaryNode extends NodeBase {
  readonly kind: 'binary';
  readonly op: BinaryOp;
  readonly left: Expr;
  readonly right: Expr;
}

/** Parentheses written by the user, kept so PromQL export reads like the source. */
export interface ParenNode extends NodeBase {
  readonly kind: 'paren';
  readonly inner: Expr;
}

export type Expr = NumberNode | SignalNode | CallNode | NegNode | NotNode | BinaryNode | ParenNode;

/** A syntax or type error in an expression; `column` is 1-based within the expression text. */
export class ExprError extends Error {
  override readonly name = 'ExprError';
  /** The message without its position, for callers that print the position themselves. */
  readonly reason: string;
  readonly column: number;

  constructor(reason: string, column: number) {
    super(`${reason} at column ${column}`);
    this.reason = reason;
    this.column = column;
  }
}

export const COMPARISON_OPS: ReadonlySet<string> = new Set<ComparisonOp>(['>', '>=', '<', '<=', '==', '!=']);

export function isComparison(op: BinaryOp): op is ComparisonOp {
  return COMPARISON_OPS.has(op);
}

export function isSetOp(op: BinaryOp): op is SetOp {
  return op === 'and' || op === 'or';
}
