import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import {
  evaluate,
  ExprError,
  MAX_EXPR_LENGTH,
  parseExpr,
  signalRefs,
  toPromQL,
  type BinaryOp,
  type Expr,
} from '../../src/rules/expr.js';
import type { Sample, SignalLookup } from '../../src/rules/types.js';
import { expectNoPrototypePollution, fuzzAssert, fuzzTimeout, MAGIC_KEYS } from '../helpers/fuzz.js';
import { prng } from '../helpers/proto-wire.js';

/**
 * Property and fuzz tests of the rule expression parser (src/rules/expr*.ts), beyond the
 * robustness properties of test/unit/rules-expr.test.ts: every well-typed tree, printed with any
 * spacing, keyword case and redundant parentheses, parses back to itself; the shipped rules,
 * damaged character by character, and runaway nesting only ever give ExprError with a column in
 * the text; whatever parses also evaluates and exports, whatever the signals are called.
 */

afterEach(() => expectNoPrototypePollution());

// ---- generating well-typed trees ----------------------------------------------------------------

/** Signal names, including the ones that are special on plain objects. */
const signalName = fc.oneof(
  fc.constantFrom(
    ...MAGIC_KEYS.filter((k) => /^[A-Za-z_]\w*$/.test(k)),
    'absent',
    'baseline',
    'NaN',
    'Infinity',
  ),
  fc
    .stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,6}$/)
    .filter((n) => !['and', 'or', 'not'].includes(n.toLowerCase())),
);
const number = fc.double({ min: 0, noNaN: true, noDefaultInfinity: true });

const ARITH: readonly BinaryOp[] = ['+', '-', '*', '/'];
const COMPARE: readonly BinaryOp[] = ['>', '>=', '<', '<=', '==', '!='];

type Typed = 'scalar' | 'vector';
/** Trees without columns or parentheses, as {@link strip} leaves a parsed one. */
type Tree =
  | { kind: 'number'; value: number; type: 'scalar' }
  | { kind: 'signal'; name: string; type: 'vector' }
  | { kind: 'call'; fn: 'absent' | 'baseline'; signal: string; type: 'vector' }
  | { kind: 'neg'; operand: Tree; type: Typed }
  | { kind: 'not'; operand: Tree; type: 'vector' }
  | { kind: 'binary'; op: BinaryOp; left: Tree; right: Tree; type: Typed };

function tree(type: Typed, depth: number): fc.Arbitrary<Tree> {
  const leaves: Array<fc.Arbitrary<Tree>> =
    type === 'scalar'
      ? [number.map((value): Tree => ({ kind: 'number', value, type }))]
      : [
          signalName.map((name): Tree => ({ kind: 'signal', name, type: 'vector' })),
          fc
            .tuple(fc.constantFrom('absent' as const, 'baseline' as const), signalName)
            .map(([fn, signal]): Tree => ({ kind: 'call', fn, signal, type: 'vector' })),
        ];
  if (depth <= 0) return fc.oneof(...leaves);
  const sub = (t: Typed) => tree(t, depth - 1);
  const anyType = fc.constantFrom<Typed>('scalar', 'vector');
  const inner: Array<fc.Arbitrary<Tree>> = [
    sub(type).map((operand): Tree => ({ kind: 'neg', operand, type })),
    // Arithmetic: a vector when either side is one.
    (type === 'scalar'
      ? fc.constant<[Typed, Typed]>(['scalar', 'scalar'])
      : fc.constantFrom<[Typed, Typed]>(['vector', 'vector'], ['vector', 'scalar'], ['scalar', 'vector'])
    ).chain(([l, r]) =>
      fc
        .tuple(fc.constantFrom(...ARITH), sub(l), sub(r))
        .map(([op, left, right]): Tree => ({ kind: 'binary', op, left, right, type })),
    ),
  ];
  if (type === 'vector') {
    inner.push(
      // Comparisons need a vector on at least one side; and / or / not need vectors.
      fc.tuple(fc.constantFrom(...COMPARE), anyType).chain(([op, other]) =>
        fc.tuple(sub('vector'), sub(other), fc.boolean()).map(([v, o, swap]): Tree => ({
          kind: 'binary',
          op,
          left: swap ? o : v,
          right: swap ? v : o,
          type,
        })),
      ),
      fc
        .tuple(fc.constantFrom<BinaryOp>('and', 'or'), sub('vector'), sub('vector'))
        .map(([op, left, right]): Tree => ({ kind: 'binary', op, left, right, type })),
      sub('vector').map((operand): Tree => ({ kind: 'not', operand, type: 'vector' })),
    );
  }
  return fc.oneof(
    { weight: 2, arbitrary: fc.oneof(...leaves) },
    { weight: 3, arbitrary: fc.oneof(...inner) },
  );
}

const BP: Readonly<Record<string, number>> = {
  or: 1, and: 2, '>': 4, '>=': 4, '<': 4, '<=': 4, '==': 4, '!=': 4, '+': 5, '-': 5, '*': 6, '/': 6,
}; // prettier-ignore

/** Print `t` so that it parses back to `t`, with `style` choosing spacing, case and extra parentheses. */
function print(t: Tree, style: () => number): string {
  const space = (): string => [' ', '', '  ', '\t', '\n', ' \r\n '][Math.floor(style() * 6)]!;
  const keyword = (k: string): string => (style() < 0.3 ? k.toUpperCase() : k);
  const maybeParens = (s: string): string => (style() < 0.1 ? `(${space()}${s}${space()})` : s);
  const atom = (c: Tree): string => {
    // A binary operand is printed bare only where precedence and left-associativity keep it in place.
    const s = print(c, style);
    return c.kind === 'binary' || c.kind === 'not' ? `(${s})` : s;
  };
  switch (t.kind) {
    case 'number':
      return maybeParens(String(t.value));
    case 'signal':
      return maybeParens(t.name);
    case 'call':
      return maybeParens(`${t.fn}${space()}(${space()}${t.signal}${space()})`);
    case 'neg':
      return maybeParens(`-${space()}${atom(t.operand)}`);
    case 'not':
      // `not` takes everything up to the next and / or: its operand needs parentheses only then.
      return maybeParens(
        `${keyword('not')} ${t.operand.kind === 'binary' && BP[t.operand.op]! <= 2 ? `(${print(t.operand, style)})` : print(t.operand, style)}`,
      );
    case 'binary': {
      const bp = BP[t.op]!;
      const side = (c: Tree, right: boolean): string => {
        if (c.kind === 'not') return `(${print(c, style)})`;
        if (c.kind !== 'binary') return print(c, style);
        const cbp = BP[c.op]!;
        return cbp < bp || (right && cbp === bp) ? `(${print(c, style)})` : print(c, style);
      };
      const op = t.op === 'and' || t.op === 'or' ? ` ${keyword(t.op)} ` : `${space()}${t.op}${space()}`;
      return maybeParens(`${side(t.left, false)}${op}${side(t.right, true)}`);
    }
  }
}

/** A parsed tree without columns and parentheses, comparable with a generated one. */
function strip(e: Expr): Tree {
  switch (e.kind) {
    case 'number':
      return { kind: 'number', value: e.value, type: 'scalar' };
    case 'signal':
      return { kind: 'signal', name: e.name, type: 'vector' };
    case 'call':
      return { kind: 'call', fn: e.fn, signal: e.signal, type: 'vector' };
    case 'paren':
      return strip(e.inner);
    case 'neg':
      return { kind: 'neg', operand: strip(e.operand), type: e.type };
    case 'not':
      return { kind: 'not', operand: strip(e.operand), type: 'vector' };
    case 'binary':
      return { kind: 'binary', op: e.op, left: strip(e.left), right: strip(e.right), type: e.type };
  }
}

/** Signals and baselines for any name, grouped or not, keyed by a Map (never by an object). */
function lookupFor(names: readonly string[], seed: number): SignalLookup {
  const values = new Map<string, Sample[]>();
  names.forEach((n, i) => {
    const k = (seed + i) % 4;
    values.set(
      n,
      k === 0
        ? []
        : k === 1
          ? [{ labels: [], value: (seed % 7) - 2 }]
          : [
              { labels: ['svc', '__proto__'], value: i },
              { labels: ['svc', 'constructor'], value: NaN },
            ],
    );
  });
  return { signal: (n) => values.get(n) ?? [], baseline: (n) => values.get(n) ?? [] };
}

/** Whatever parses evaluates to distinct label sets and renders as PromQL. */
function checkParsed(expr: Expr, seed: number): void {
  const out = evaluate(expr, lookupFor(signalRefs(expr), seed));
  const keys = out.map((s) => s.labels.join('\u0001'));
  expect(new Set(keys).size).toBe(keys.length);
  expect(
    typeof toPromQL(
      expr,
      (n) => `sig_${n}`,
      (n) => `base_${n}`,
    ),
  ).toBe('string');
}

/** ExprError with a column inside the text (or just after it), nothing else. */
function checkText(text: string): Expr | undefined {
  try {
    return parseExpr(text);
  } catch (e) {
    expect(e).toBeInstanceOf(ExprError);
    expect((e as ExprError).column).toBeGreaterThanOrEqual(1);
    expect((e as ExprError).column).toBeLessThanOrEqual(Math.min(text.length, MAX_EXPR_LENGTH) + 1);
    return undefined;
  }
}

describe('parseExpr > round trip (property)', () => {
  it(
    'parses every printed well-typed tree back to the same tree, and evaluates and exports it',
    () => {
      fuzzAssert(
        'rules-expr round trip',
        fc.property(tree('vector', 4), fc.nat(), fc.nat(), (t, styleSeed, seed) => {
          // Uniform choices (fast-check's own numbers lean to the extremes: parentheses everywhere).
          const text = print(t, prng(styleSeed));
          const parsed = parseExpr(text);
          expect(strip(parsed)).toEqual(t);
          checkParsed(parsed, seed);
        }),
        { runs: 800, seed: 501 },
      );
    },
    fuzzTimeout(60_000),
  );
});

describe('parseExpr > hostile text (fuzz)', () => {
  const shipped = (file: string): string[] =>
    (
      (
        parseYaml(readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8')) as {
          rules: Array<{ expr: string }>;
        }
      ).rules ?? []
    ).map((r) => r.expr);
  const RULES = [...new Set([...shipped('config.yaml'), ...shipped('deploy/kubernetes/vigil-config.yaml')])];

  const edit = fc.record({
    kind: fc.constantFrom('insert', 'delete', 'replace', 'duplicate'),
    at: fc.nat(),
    n: fc.integer({ min: 1, max: 8 }),
    text: fc.oneof(
      fc.string({ maxLength: 4 }),
      fc.constantFrom(
        '(',
        ')',
        '-',
        'not ',
        ' and ',
        ' or ',
        '>',
        '==',
        '=',
        '!',
        '1e',
        '.5',
        '5m',
        '__proto__',
        'absent(',
        ',',
      ),
    ),
  });
  const applyEdit = (s: string, e: { kind: string; at: number; n: number; text: string }): string => {
    const i = s.length === 0 ? 0 : e.at % (s.length + 1);
    switch (e.kind) {
      case 'insert':
        return s.slice(0, i) + e.text + s.slice(i);
      case 'delete':
        return s.slice(0, i) + s.slice(i + e.n);
      case 'replace':
        return s.slice(0, i) + e.text + s.slice(i + e.text.length);
      default:
        return s.slice(0, i + e.n) + s.slice(i, i + e.n) + s.slice(i + e.n);
    }
  };

  it(
    'gives ExprError with a column inside the text, or a working tree, for damaged shipped rules',
    () => {
      expect(RULES.length).toBeGreaterThanOrEqual(9);
      fuzzAssert(
        'rules-expr mutated shipped rules',
        fc.property(
          fc.nat(),
          fc.array(edit, { minLength: 1, maxLength: 4 }),
          fc.nat(),
          (which, edits, seed) => {
            let text = RULES[which % RULES.length]!;
            for (const e of edits) text = applyEdit(text, e);
            const expr = checkText(text);
            if (expr !== undefined) checkParsed(expr, seed);
          },
        ),
        { runs: 1500, seed: 502 },
      );
    },
    fuzzTimeout(60_000),
  );

  it('refuses runaway nesting and over-long text with ExprError, at every size up to the limit', () => {
    for (const n of [50, 99, 100, 101, 1000, MAX_EXPR_LENGTH]) {
      const cases = [
        '('.repeat(n) + 'a' + ')'.repeat(n) + ' > 1',
        '-'.repeat(n) + 'a > 1',
        'not '.repeat(n) + 'a',
        'a' + ' + a'.repeat(n),
        'a' + ' and a'.repeat(n),
        '('.repeat(n),
        'absent('.repeat(n),
      ];
      for (const text of cases) {
        const expr = checkText(text);
        if (expr !== undefined) checkParsed(expr, n);
      }
    }
    // The longest left-deep chain the length limit allows evaluates and exports without overflow.
    const longest = 'a' + ' + a'.repeat(Math.floor((MAX_EXPR_LENGTH - 5) / 4)) + ' > 1';
    expect(longest.length).toBeLessThanOrEqual(MAX_EXPR_LENGTH);
    checkParsed(parseExpr(longest), 1);
  });
});
