import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  evaluate,
  ExprError,
  isReservedWord,
  MAX_EXPR_DEPTH,
  MAX_EXPR_LENGTH,
  parseExpr,
  signalRefs,
  signalUses,
  toPromQL,
  type Expr,
} from '../../src/rules/expr.js';
import type { Sample, SignalLookup, SignalRead } from '../../src/rules/types.js';

/** Fully parenthesised rendering of the tree, to check precedence and associativity. */
function show(e: Expr): string {
  switch (e.kind) {
    case 'number':
      return String(e.value);
    case 'signal':
      return e.name;
    case 'call':
      return `${e.fn}(${e.signal})`;
    case 'neg':
      return `(-${show(e.operand)})`;
    case 'not':
      return `(not ${show(e.operand)})`;
    case 'paren':
      return show(e.inner);
    case 'binary':
      return `(${show(e.left)} ${e.op} ${show(e.right)})`;
  }
}

/** Input of a test lookup: a number = ungrouped sample, a record = one sample per `svc` value. */
type Input = number | Record<string, number> | Sample[];

function lookup(signals: Record<string, Input>, baselines: Record<string, Input> = {}): SignalLookup {
  const vec = (v: Input | undefined): Sample[] => {
    if (v === undefined) return [];
    if (typeof v === 'number') return [{ labels: [], value: v }];
    if (Array.isArray(v)) return v;
    return Object.entries(v).map(([svc, value]) => ({ labels: ['svc', svc], value }));
  };
  return { signal: (n) => vec(signals[n]), baseline: (n) => vec(baselines[n]) };
}

function run(text: string, signals: Record<string, Input>, baselines?: Record<string, Input>): Sample[] {
  return evaluate(parseExpr(text), lookup(signals, baselines));
}

function errorOf(text: string): ExprError {
  try {
    parseExpr(text);
  } catch (e) {
    if (e instanceof ExprError) return e;
    throw e;
  }
  throw new Error(`expected ${JSON.stringify(text)} to fail`);
}

const one = (value: number): Sample[] => [{ labels: [], value }];
const svc = (name: string, value: number): Sample => ({ labels: ['svc', name], value });

describe('parseExpr > syntax', () => {
  it('parses numbers: integers, decimals, exponents', () => {
    expect(show(parseExpr('x > 1500'))).toBe('(x > 1500)');
    expect(show(parseExpr('x > 0.2'))).toBe('(x > 0.2)');
    expect(show(parseExpr('x > .5'))).toBe('(x > 0.5)');
    expect(show(parseExpr('x > 1e3'))).toBe('(x > 1000)');
    expect(show(parseExpr('x > 2.5E-2'))).toBe('(x > 0.025)');
    expect(show(parseExpr('x > 1e+2'))).toBe('(x > 100)');
  });

  it('follows PromQL precedence: or < and < comparisons < + - < * / < unary', () => {
    expect(show(parseExpr('a or b and c'))).toBe('(a or (b and c))');
    expect(show(parseExpr('a and b or c'))).toBe('((a and b) or c)');
    expect(show(parseExpr('a > 1 and b < 2'))).toBe('((a > 1) and (b < 2))');
    expect(show(parseExpr('a + b > c * d'))).toBe('((a + b) > (c * d))');
    expect(show(parseExpr('a + b * c - d / e'))).toBe('((a + (b * c)) - (d / e))');
    expect(show(parseExpr('-a * b'))).toBe('((-a) * b)');
    expect(show(parseExpr('a * -b'))).toBe('(a * (-b))');
    expect(show(parseExpr('--a > 1'))).toBe('((-(-a)) > 1)');
  });

  it('is left-associative', () => {
    expect(show(parseExpr('a - b - c'))).toBe('((a - b) - c)');
    expect(show(parseExpr('a / b / c'))).toBe('((a / b) / c)');
    expect(show(parseExpr('a > b > c'))).toBe('((a > b) > c)');
    expect(show(parseExpr('a or b or c'))).toBe('((a or b) or c)');
  });

  it('places not between and and the comparisons', () => {
    expect(show(parseExpr('not a > 5 and b < 1'))).toBe('((not (a > 5)) and (b < 1))');
    expect(show(parseExpr('a and not b'))).toBe('(a and (not b))');
    expect(show(parseExpr('not not a'))).toBe('(not (not a))');
  });

  it('lets parentheses override precedence', () => {
    expect(show(parseExpr('(a + b) * c > 1'))).toBe('(((a + b) * c) > 1)');
    expect(show(parseExpr('(a or b) and c'))).toBe('((a or b) and c)');
  });

  it('parses every comparison operator', () => {
    for (const op of ['>', '>=', '<', '<=', '==', '!='])
      expect(show(parseExpr(`a ${op} 1`))).toBe(`(a ${op} 1)`);
  });

  it('reads keywords case-insensitively, as PromQL does', () => {
    expect(show(parseExpr('a AND b Or NOT c'))).toBe('((a and b) or (not c))');
    expect(isReservedWord('And')).toBe(true);
    expect(isReservedWord('android')).toBe(false);
  });

  it('parses absent() and baseline() calls and tolerates whitespace and newlines', () => {
    expect(show(parseExpr('absent( x )'))).toBe('absent(x)');
    expect(show(parseExpr('p95 >\n  4 * baseline(p95)'))).toBe('(p95 > (4 * baseline(p95)))');
  });

  it('reports the signals an expression reads, with columns', () => {
    const e = parseExpr('a > 1 and absent(b) or a < baseline(c)');
    expect(signalRefs(e)).toEqual(['a', 'b', 'c']);
    expect(signalUses(e)).toEqual([
      { name: 'a', column: 1 },
      { name: 'b', column: 18 },
      { name: 'a', column: 24 },
      { name: 'c', column: 37 },
    ]);
  });
});

describe('parseExpr > errors', () => {
  const cases: Array<[string, string, number]> = [
    ['(cpu > 85) and )', "unexpected token ')'", 16],
    ['cpu > 85)', "unexpected token ')'", 9],
    ['(cpu > 85', 'unexpected end of expression', 10],
    ['cpu >', 'unexpected end of expression', 6],
    ['', 'empty expression', 1],
    ['   ', 'empty expression', 1],
    ['cpu 85', "unexpected token '85'", 5],
    ['foo(cpu) > 1', "unknown function 'foo' (available: absent, baseline)", 1],
    ['rate(x) > 1', "unknown function 'rate' (available: absent, baseline)", 1],
    ['absent(1)', "absent() takes a signal name, got '1'", 8],
    ['absent()', "absent() takes a signal name, got ')'", 8],
    ['absent(', 'absent() takes a signal name, got end of expression', 8],
    ['absent(a, b)', "unexpected token ',' (absent() takes one signal name)", 9],
    ['baseline(a > 1)', "unexpected token '>' (baseline() takes one signal name)", 12],
    ['x > 5m', "invalid number '5m' (durations are not supported in expressions)", 5],
    ['x > 1e', "invalid number '1e'", 5],
    ['x > 1.2.3', "invalid number '1.2.3'", 5],
    ['x = 1', "unexpected character '=' (use '==' to compare)", 3],
    ['x && y', "unexpected character '&' (use 'and' / 'or')", 3],
    ['!x', "unexpected character '!' (use 'not' or '!=')", 1],
    ['x > $y', "unexpected character '$'", 5],
    ['x >\u0000 1', 'unexpected character U+0000', 4],
    ['+x > 1', "unexpected token '+'", 1],
    ['x > and', "unexpected token 'and'", 5],
    ['1 > 2', "comparing two numbers with '>' is constant; compare a signal", 3],
    ['x and 1', "'and' needs signal expressions on both sides, not a number", 3],
    ['1 or x', "'or' needs signal expressions on both sides, not a number", 3],
    ['not 1', "'not' needs a signal expression, not a number", 1],
    ['1 + 2 * 3', 'expression reads no signal', 1],
  ];
  it.each(cases)('%j → %s at column %i', (text, reason, column) => {
    const err = errorOf(text);
    expect(err.reason).toBe(reason);
    expect(err.column).toBe(column);
    expect(err.message).toBe(`${reason} at column ${column}`);
  });

  it('limits nesting depth and length', () => {
    expect(errorOf('('.repeat(MAX_EXPR_DEPTH + 1) + 'x' + ')'.repeat(MAX_EXPR_DEPTH + 1)).reason).toBe(
      'expression nested too deeply',
    );
    expect(errorOf('-'.repeat(1000) + 'x').reason).toBe('expression nested too deeply');
    expect(errorOf('x > ' + '1'.repeat(MAX_EXPR_LENGTH)).column).toBe(MAX_EXPR_LENGTH + 1);
    expect(() => parseExpr('('.repeat(50) + 'x' + ')'.repeat(50) + ' > 1')).not.toThrow();
  });

  it('handles the longest flat expression (deep left-nested tree) without exhausting the stack', () => {
    const n = Math.floor((MAX_EXPR_LENGTH - 5) / 4);
    const text = 'x' + ' + x'.repeat(n) + ' > 1';
    expect(text.length).toBeLessThanOrEqual(MAX_EXPR_LENGTH);
    const e = parseExpr(text);
    expect(evaluate(e, lookup({ x: 1 }))).toEqual(one(n + 1));
    expect(
      toPromQL(
        e,
        (n) => n,
        (n) => n,
      ).length,
    ).toBeGreaterThan(MAX_EXPR_LENGTH);
  });
});

describe('evaluate > operators', () => {
  it('filters on each comparison, keeping the left value', () => {
    const s = { x: 10 };
    expect(run('x > 5', s)).toEqual(one(10));
    expect(run('x > 10', s)).toEqual([]);
    expect(run('x >= 10', s)).toEqual(one(10));
    expect(run('x < 11', s)).toEqual(one(10));
    expect(run('x <= 9', s)).toEqual([]);
    expect(run('x == 10', s)).toEqual(one(10));
    expect(run('x != 10', s)).toEqual([]);
    expect(run('x != 3', s)).toEqual(one(10));
  });

  it('keeps the vector value when the number is on the left', () => {
    expect(run('5 < x', { x: 10 })).toEqual(one(10));
    expect(run('2 * 3 < x', { x: 10 })).toEqual(one(10));
    expect(run('20 < x', { x: 10 })).toEqual([]);
  });

  it('does arithmetic per sample and between numbers', () => {
    expect(run('x + 1', { x: 10 })).toEqual(one(11));
    expect(run('x - 1', { x: 10 })).toEqual(one(9));
    expect(run('x * 2', { x: 10 })).toEqual(one(20));
    expect(run('x / 4', { x: 10 })).toEqual(one(2.5));
    expect(run('100 / x', { x: 10 })).toEqual(one(10));
    expect(run('-x', { x: 10 })).toEqual(one(-10));
    expect(run('x * (2 + 3) - 10 / 5', { x: 10 })).toEqual(one(48));
    expect(run('x > -5 * 2', { x: -9 })).toEqual(one(-9));
    expect(run('x + y', { x: 10, y: 5 })).toEqual(one(15));
  });

  it('follows IEEE division and never lets NaN compare true', () => {
    expect(run('x / y', { x: 1, y: 0 })).toEqual(one(Infinity));
    expect(run('x / y', { x: -1, y: 0 })).toEqual(one(-Infinity));
    expect(run('x / y', { x: 0, y: 0 })[0]!.value).toBeNaN();
    for (const op of ['>', '>=', '<', '<=', '==', '!=']) {
      expect(run(`x / y ${op} 1`, { x: 0, y: 0 })).toEqual([]);
      expect(run(`1 ${op} x / y`, { x: 0, y: 0 })).toEqual([]);
    }
    expect(run('x / y > 1', { x: 1, y: 0 })).toEqual(one(Infinity));
  });

  it('treats a signal without data as absent: comparisons are false', () => {
    expect(run('x > 5', {})).toEqual([]);
    expect(run('x < 5', {})).toEqual([]);
    expect(run('x + 1 > 0', {})).toEqual([]);
    expect(run('x > y', { x: 10 })).toEqual([]);
  });

  it('absent() is one empty-label sample of 1 when the signal has no data', () => {
    expect(run('absent(x)', {})).toEqual(one(1));
    expect(run('absent(x)', { x: 0 })).toEqual([]);
    expect(run('absent(x)', { x: { a: 1 } })).toEqual([]);
  });

  it('not x is one empty-label sample when x is empty', () => {
    expect(run('not x', {})).toEqual(one(1));
    expect(run('not x', { x: 1 })).toEqual([]);
    expect(run('not (x > 5)', { x: 1 })).toEqual(one(1));
    expect(run('not (x > 5)', { x: 9 })).toEqual([]);
    expect(run('not not x', { x: 9 })).toEqual(one(1));
  });

  it('and keeps left samples that have a match; or adds unmatched right samples', () => {
    expect(run('x > 1 and y > 1', { x: 5, y: 7 })).toEqual(one(5));
    expect(run('x > 1 and y > 1', { x: 5, y: 0 })).toEqual([]);
    expect(run('x > 1 and y > 1', { x: 5 })).toEqual([]);
    expect(run('x > 1 or y > 1', { x: 5, y: 7 })).toEqual(one(5));
    expect(run('x > 1 or y > 1', { x: 0, y: 7 })).toEqual(one(7));
    expect(run('x > 1 or y > 1', { x: 0, y: 0 })).toEqual([]);
    expect(run('x > 1 or y > 1', { y: 7 })).toEqual(one(7));
  });

  it('reads baseline() through the lookup', () => {
    expect(run('x > 4 * baseline(x)', { x: 100 }, { x: 20 })).toEqual(one(100));
    expect(run('x > 4 * baseline(x)', { x: 60 }, { x: 20 })).toEqual([]);
    expect(run('x > 4 * baseline(x)', { x: 100 }, {})).toEqual([]);
  });
});

describe('evaluate > grouped vs ungrouped', () => {
  const p95 = { a: 100, b: 900, c: 2000 };

  it('makes one sample per group that passes', () => {
    expect(run('p95 > 500', { p95 })).toEqual([svc('b', 900), svc('c', 2000)]);
  });

  it('matches grouped vectors one-to-one on identical label sets', () => {
    const s = { p95, limit: { a: 50, b: 1000, d: 1 } };
    expect(run('p95 > limit', s)).toEqual([svc('a', 100)]);
    expect(run('p95 - limit', s)).toEqual([svc('a', 50), svc('b', -100)]);
    expect(run('p95 > 0 and limit > 0', s)).toEqual([svc('a', 100), svc('b', 900)]);
    expect(run('p95 > 0 or limit > 0', s)).toEqual([
      svc('a', 100),
      svc('b', 900),
      svc('c', 2000),
      svc('d', 1),
    ]);
  });

  it('matches an ungrouped sample with every group, keeping the grouped labels', () => {
    expect(run('p95 > 4 * baseline(p95)', { p95 }, { p95: 200 })).toEqual([svc('b', 900), svc('c', 2000)]);
    // Ungrouped on the left: grouped labels, left value.
    expect(run('4 * baseline(p95) < p95', { p95 }, { p95: 200 })).toEqual([svc('b', 800), svc('c', 800)]);
    expect(run('p95 / total', { p95: { a: 10, b: 20 }, total: 10 })).toEqual([svc('a', 1), svc('b', 2)]);
    expect(run('total / p95', { p95: { a: 10, b: 20 }, total: 10 })).toEqual([svc('a', 1), svc('b', 0.5)]);
  });

  it('and with an ungrouped side is a gate on that side being non-empty', () => {
    expect(run('p95 > 500 and ingest > 0', { p95, ingest: 3 })).toEqual([svc('b', 900), svc('c', 2000)]);
    expect(run('p95 > 500 and ingest > 0', { p95, ingest: 0 })).toEqual([]);
    expect(run('ingest > 0 and p95 > 500', { p95, ingest: 3 })).toEqual(one(3));
    expect(run('p95 > 0 and not x', { p95: { a: 1 } })).toEqual([svc('a', 1)]);
  });

  it('or between grouped and ungrouped is a union', () => {
    expect(run('cpu > 85 or p95 > 1500', { cpu: 90, p95 })).toEqual([...one(90), svc('c', 2000)]);
  });

  it('drops unmatched samples and never duplicates a label set', () => {
    const mixed: Sample[] = [{ labels: [], value: 1 }, svc('a', 2)];
    const out = run('x + y', { x: mixed, y: { a: 10, b: 20 } });
    expect(out).toEqual([svc('a', 11), svc('b', 21)]);
    expect(run('x + y', { x: { a: 1 }, y: { b: 1 } })).toEqual([]);
  });

  it('canonicalises input labels (sorted, first duplicate wins)', () => {
    const x: Sample[] = [
      { labels: ['z', '1', 'a', '2'], value: 1 },
      { labels: ['a', '2', 'z', '1'], value: 99 },
    ];
    expect(run('x > 0', { x })).toEqual([{ labels: ['a', '2', 'z', '1'], value: 1 }]);
  });
});

describe('evaluate > trace', () => {
  it('reports each distinct input once, with the values it read', () => {
    const reads: SignalRead[] = [];
    const e = parseExpr('p95 > 4 * baseline(p95) and p95 > 100 and absent(missing)');
    let calls = 0;
    const l = lookup({ p95: { a: 900 } }, { p95: 100 });
    const counting: SignalLookup = {
      signal: (n) => {
        calls++;
        return l.signal(n);
      },
      baseline: (n) => l.baseline(n),
    };
    expect(evaluate(e, counting, (r) => reads.push(r))).toEqual([svc('a', 900)]);
    expect(calls).toBe(2);
    expect(reads).toEqual([
      { name: 'p95', source: 'signal', samples: [svc('a', 900)] },
      { name: 'p95', source: 'baseline', samples: one(100) },
      { name: 'missing', source: 'signal', samples: [] },
    ]);
  });
});

/** The seed platform's anomaly rules (seeds 000 and 001) in vigil's language. */
const SEED_RULES: ReadonlyArray<{
  name: string;
  expr: string;
  firing: Record<string, Input>;
  quiet: Array<Record<string, Input>>;
  value: number;
}> = [
  {
    name: 'HIGH_CPU',
    expr: 'cpu_percent > 85',
    firing: { cpu_percent: 91 },
    quiet: [{ cpu_percent: 85 }, {}],
    value: 91,
  },
  {
    name: 'HIGH_P95_LATENCY',
    expr: 'http_p95_ms > 1500',
    firing: { http_p95_ms: 1800 },
    quiet: [{ http_p95_ms: 1500 }, {}],
    value: 1800,
  },
  {
    name: 'SLOW_INGEST',
    expr: 'ingest_latency_ms > 5000',
    firing: { ingest_latency_ms: 7200 },
    quiet: [{ ingest_latency_ms: 4000 }, {}],
    value: 7200,
  },
  {
    name: 'LOW_CACHE_HIT_RATE',
    expr: 'cache_hit_rate < 0.2 and cache_operations > 100',
    firing: { cache_hit_rate: 0.1, cache_operations: 500 },
    quiet: [
      { cache_hit_rate: 0.1, cache_operations: 100 },
      { cache_hit_rate: 0.5, cache_operations: 500 },
      { cache_hit_rate: 0.1 },
    ],
    value: 0.1,
  },
  {
    name: 'NO_ACTIVE_EDGES',
    expr: '(active_edges == 0 or absent(active_edges)) and ingest_points_rate > 0',
    firing: { active_edges: 0, ingest_points_rate: 12 },
    quiet: [
      { active_edges: 3, ingest_points_rate: 12 },
      { active_edges: 0, ingest_points_rate: 0 },
      { active_edges: 0 },
    ],
    value: 0,
  },
  {
    name: 'STALLED_VALUATION_PIPE',
    expr: 'events_per_min > 100 and recompute_backlog > 1000',
    firing: { events_per_min: 250, recompute_backlog: 4000 },
    quiet: [
      { events_per_min: 250, recompute_backlog: 1000 },
      { events_per_min: 100, recompute_backlog: 4000 },
    ],
    value: 250,
  },
  {
    name: 'EXCESSIVE_RATIONALE_FAILURE',
    expr: 'rationale_cache_hit_rate < 0.3 or rationale_avg_tokens < 50',
    firing: { rationale_cache_hit_rate: 0.9, rationale_avg_tokens: 20 },
    quiet: [{ rationale_cache_hit_rate: 0.3, rationale_avg_tokens: 50 }, {}],
    value: 20,
  },
  {
    name: 'CORRELATION_PSD_DEGRADATION',
    expr: 'partial_refresh_count > 50 or avg_refresh_latency_ms > 5000',
    firing: { partial_refresh_count: 80, avg_refresh_latency_ms: 900 },
    quiet: [{ partial_refresh_count: 50, avg_refresh_latency_ms: 5000 }, {}],
    value: 80,
  },
];

describe('evaluate > seed rules', () => {
  it.each(SEED_RULES)('$name fires on its anomaly and stays quiet otherwise', (rule) => {
    expect(run(rule.expr, rule.firing)).toEqual(one(rule.value));
    for (const q of rule.quiet) expect(run(rule.expr, q)).toEqual([]);
  });

  it('NO_ACTIVE_EDGES also fires when the edge signal has no data', () => {
    expect(run(SEED_RULES[4]!.expr, { ingest_points_rate: 12 })).toEqual(one(1));
  });

  it('EXCESSIVE_RATIONALE_FAILURE fires on either condition', () => {
    const expr = SEED_RULES[6]!.expr;
    expect(run(expr, { rationale_cache_hit_rate: 0.1, rationale_avg_tokens: 200 })).toEqual(one(0.1));
    expect(run(expr, { rationale_cache_hit_rate: 0.1, rationale_avg_tokens: 10 })).toEqual(one(0.1));
  });

  it('a grouped HIGH_P95_LATENCY alerts per service', () => {
    const out = run('http_p95_ms > 1500', { http_p95_ms: { a: 2000, b: 300 } });
    expect(out).toEqual([svc('a', 2000)]);
  });
});

describe('parseExpr > robustness (property)', () => {
  // prettier-ignore
  const pieces = [
    'a', 'b', 'x1', '_', '1', '2.5', '.5', '1e3', '5m', '1e', '(', ')', ',', '+', '-', '*', '/', '>', '>=', '<',
    '<=', '==', '!=', '=', '!', 'and', 'or', 'not', 'AND', 'absent(', 'baseline(', 'foo(', ' ', '\n', '$', '\u0000',
  ];
  const tokenSoup = fc.array(fc.constantFrom(...pieces), { maxLength: 40 }).map((p) => p.join(''));
  const ungrouped = lookup({ a: 3, b: 0, x1: 7 }, { a: 1, b: 2 });
  const grouped = lookup({ a: { p: 1, q: 5 }, b: 2, x1: { q: 9 } }, { a: 1, b: { p: 0 } });

  const check = (text: string): void => {
    let expr: Expr;
    try {
      expr = parseExpr(text);
    } catch (e) {
      expect(e).toBeInstanceOf(ExprError);
      const err = e as ExprError;
      expect(err.column).toBeGreaterThanOrEqual(1);
      expect(err.column).toBeLessThanOrEqual(text.length + 1);
      return;
    }
    // Whatever parses also evaluates and exports (all inputs ungrouped: nothing to mismatch).
    for (const l of [ungrouped, grouped]) {
      const out = evaluate(expr, l);
      const keys = out.map((s) => s.labels.join('\u0001'));
      expect(new Set(keys).size).toBe(keys.length);
    }
    expect(
      typeof toPromQL(
        expr,
        (n) => `sig_${n}`,
        (n) => `base_${n}`,
      ),
    ).toBe('string');
  };

  it('never throws anything but ExprError on arbitrary text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 60, unit: 'binary' }), check), { seed: 42, numRuns: 2000 });
  });

  it('never throws anything but ExprError on token soup, and parses some of it', () => {
    let parsed = 0;
    fc.assert(
      fc.property(tokenSoup, (text) => {
        check(text);
        try {
          parseExpr(text);
          parsed++;
        } catch {
          // counted above
        }
      }),
      { seed: 7, numRuns: 5000 },
    );
    expect(parsed).toBeGreaterThan(20);
  });
});

describe('toPromQL', () => {
  const groupedSignals = new Set(['http_p95_ms_by_service', 'error_ratio_by_service']);
  const opts = {
    groupLabels: (name: string) => (groupedSignals.has(name) ? ['service_name'] : []),
  };
  const sig = (n: string): string => `vigil_signal_${n}`;
  const base = (n: string): string => `vigil_baseline_${n}`;
  const promql = (text: string): string => toPromQL(parseExpr(text), sig, base, opts);

  const expected: Record<string, string> = {
    HIGH_CPU: 'vigil_signal_cpu_percent > 85',
    HIGH_P95_LATENCY: 'vigil_signal_http_p95_ms > 1500',
    SLOW_INGEST: 'vigil_signal_ingest_latency_ms > 5000',
    LOW_CACHE_HIT_RATE: 'vigil_signal_cache_hit_rate < 0.2 and on() vigil_signal_cache_operations > 100',
    NO_ACTIVE_EDGES:
      '(vigil_signal_active_edges == 0 or on() absent(sum(vigil_signal_active_edges))) and on() vigil_signal_ingest_points_rate > 0',
    STALLED_VALUATION_PIPE:
      'vigil_signal_events_per_min > 100 and on() vigil_signal_recompute_backlog > 1000',
    EXCESSIVE_RATIONALE_FAILURE:
      'vigil_signal_rationale_cache_hit_rate < 0.3 or on() vigil_signal_rationale_avg_tokens < 50',
    CORRELATION_PSD_DEGRADATION:
      'vigil_signal_partial_refresh_count > 50 or on() vigil_signal_avg_refresh_latency_ms > 5000',
  };

  it.each(SEED_RULES)('renders $name', (rule) => {
    expect(promql(rule.expr)).toBe(expected[rule.name]);
  });

  it('uses on()/group_left/group_right where an ungrouped vector meets a grouped one', () => {
    expect(promql('http_p95_ms_by_service > 4 * baseline(http_p95_ms)')).toBe(
      'vigil_signal_http_p95_ms_by_service > on() group_left 4 * vigil_baseline_http_p95_ms',
    );
    expect(promql('baseline(x) < http_p95_ms_by_service')).toBe(
      'vigil_baseline_x < on() group_right vigil_signal_http_p95_ms_by_service',
    );
    expect(promql('http_p95_ms_by_service > 1 and error_ratio_by_service > 0.1')).toBe(
      'vigil_signal_http_p95_ms_by_service > 1 and on(service_name) vigil_signal_error_ratio_by_service > 0.1',
    );
    expect(promql('http_p95_ms_by_service / error_ratio_by_service')).toBe(
      'vigil_signal_http_p95_ms_by_service / on(service_name) vigil_signal_error_ratio_by_service',
    );
    expect(promql('http_p95_ms_by_service > 1 and cpu > 1')).toBe(
      'vigil_signal_http_p95_ms_by_service > 1 and on() vigil_signal_cpu > 1',
    );
    expect(promql('cpu > 1 or http_p95_ms_by_service > 1')).toBe(
      'vigil_signal_cpu > 1 or vigil_signal_http_p95_ms_by_service > 1',
    );
  });

  it('maps not to absent() and `and not` to unless', () => {
    expect(promql('not x')).toBe('absent(sum(vigil_signal_x))');
    expect(promql('not (x > 1)')).toBe('absent((vigil_signal_x > 1))');
    expect(promql('a > 1 and not b')).toBe('vigil_signal_a > 1 unless on() vigil_signal_b');
    expect(promql('a > 1 and (not (b > 2))')).toBe('vigil_signal_a > 1 unless on() (vigil_signal_b > 2)');
  });

  it('keeps parentheses, negation and numbers valid', () => {
    expect(promql('(a + b) * -c > 1e-7')).toBe(
      '(vigil_signal_a + on() vigil_signal_b) * on() -vigil_signal_c > 1e-7',
    );
    expect(promql('--a > - -1')).toBe('-(-vigil_signal_a) > -(-1)');
    expect(promql('a - -1 > 1e999')).toBe('vigil_signal_a - -1 > Inf');
  });

  it('parenthesises inputs that are not bare metric names', () => {
    const e = parseExpr('ratio < 0.2 and absent(ops)');
    expect(toPromQL(e, (n) => `sum(rate(${n}_hits[5m])) / sum(rate(${n}_total[5m]))`, base)).toBe(
      '(sum(rate(ratio_hits[5m])) / sum(rate(ratio_total[5m]))) < 0.2 and on() absent(sum(sum(rate(ops_hits[5m])) / sum(rate(ops_total[5m]))))',
    );
  });

  it('reports what PromQL cannot express, at the operator column', () => {
    const err = (text: string): ExprError => {
      try {
        promql(text);
      } catch (e) {
        if (e instanceof ExprError) return e;
        throw e;
      }
      throw new Error('expected an error');
    };
    const withOther = {
      groupLabels: (n: string) =>
        n === 'by_route' ? ['http_route'] : n === 'by_svc' ? ['service_name'] : [],
    };
    expect(() => toPromQL(parseExpr('by_route > by_svc'), sig, base, withOther)).toThrow(
      "'>' between vectors grouped by (http_route) and (service_name) never matches at column 10",
    );
    expect(err('(cpu > 1 or http_p95_ms_by_service > 1) > on_x').column).toBe(41);
  });
});

/** Renders the seed rules into a Prometheus rule file and checks it, and its semantics, with promtool. */
describe('toPromQL with promtool', () => {
  const sig = (n: string): string => `sig_${n}`;
  const base = (n: string): string => `base_${n}`;
  const grouped = new Set(['p95_by_service']);
  // Baselines are ungrouped here: one 24h average for all services.
  const opts = {
    groupLabels: (n: string, source: 'signal' | 'baseline') =>
      source === 'signal' && grouped.has(n) ? ['service_name'] : [],
  };
  const extra = [
    { name: 'GROUPED_BASELINE', expr: 'p95_by_service > 4 * baseline(p95_by_service)' },
    { name: 'GROUPED_REVERSED', expr: '4 * baseline(p95_by_service) < p95_by_service and not maintenance' },
    { name: 'GROUPED_OR', expr: 'cpu_percent > 85 or p95_by_service > 1500' },
    { name: 'NEG_MIX', expr: '(a + b) * -c > -1e3' },
    { name: 'DOUBLE_NEG', expr: '--a > - -0.5' },
    { name: 'MINUS_NEG', expr: 'a - -1 > 1e999' },
    { name: 'NOT_CMP', expr: 'not (x > 1)' },
    { name: 'AND_NOT', expr: 'a > 0 and not missing_signal' },
    { name: 'AND_NOT_GROUPED', expr: 'p95_by_service > 0 and not (x > 1)' },
    { name: 'NOT_SIGNAL', expr: 'not x' },
  ];
  const rules = [...SEED_RULES.map((r) => ({ name: r.name, expr: r.expr })), ...extra];

  it('passes `promtool check rules` and `promtool test rules` with vigil-computed expectations', () => {
    const scenarios: Array<{ signals: Record<string, Input>; baselines: Record<string, Input> }> = [
      ...SEED_RULES.flatMap((r) => [r.firing, ...r.quiet]).map((signals) => ({ signals, baselines: {} })),
      { signals: { active_edges: 0, ingest_points_rate: 3 }, baselines: {} },
      { signals: { ingest_points_rate: 3 }, baselines: {} },
      {
        signals: { p95_by_service: { a: 100, b: 900, c: 2000 }, cpu_percent: 90 },
        baselines: { p95_by_service: 200 },
      },
      {
        signals: { p95_by_service: { a: 100, b: 900 }, cpu_percent: 10, maintenance: 1 },
        baselines: { p95_by_service: 20 },
      },
      { signals: { a: 1, b: 2, c: 3, x: 0.5, p95_by_service: { a: 5 } }, baselines: {} },
      { signals: { a: -1, b: 2, c: 1e6, x: 7, p95_by_service: { a: 5 } }, baselines: {} },
    ];
    const dir = mkdtempSync(join(tmpdir(), 'vigil-promql-'));
    try {
      const ruleYaml = [
        'groups:',
        '  - name: vigil',
        '    rules:',
        ...rules.flatMap((r) => [
          `      - alert: ${r.name}`,
          `        expr: ${JSON.stringify(toPromQL(parseExpr(r.expr), sig, base, opts))}`,
          `        annotations: {value: '{{ printf "%.4f" $value }}'}`,
        ]),
      ];
      writeFileSync(join(dir, 'rules.yml'), ruleYaml.join('\n') + '\n');
      const series = (prefix: string, inputs: Record<string, Input>): string[] =>
        Object.entries(inputs).flatMap(([name, v]) => {
          const labels = typeof v === 'number' ? () => '' : (s: string) => `{service_name="${s}"}`;
          const entries =
            typeof v === 'number' ? [['', v] as const] : Object.entries(v as Record<string, number>);
          return entries.map(
            ([s, value]) => `      - {series: '${prefix}${name}${labels(s)}', values: '${value}x3'}`,
          );
        });
      const tests = scenarios.map(({ signals, baselines }) => {
        const l = lookup(signals, baselines);
        const l2: SignalLookup = {
          signal: (n) =>
            grouped.has(n)
              ? l.signal(n).map((s) => ({ ...s, labels: ['service_name', s.labels[1]!] }))
              : l.signal(n),
          baseline: (n) => l.baseline(n),
        };
        const checks = rules.map((r) => {
          const alerts = evaluate(parseExpr(r.expr), l2).map((s) => {
            const labels = s.labels.length === 0 ? '{}' : `{service_name: ${s.labels[1]}}`;
            return `{exp_labels: ${labels}, exp_annotations: {value: '${s.value.toFixed(4)}'}}`;
          });
          return [
            `      - eval_time: 1m`,
            `        alertname: ${r.name}`,
            `        exp_alerts: [${alerts.join(', ')}]`,
          ].join('\n');
        });
        return [
          '  - interval: 1m',
          '    input_series:',
          ...series('sig_', signals),
          ...series('base_', baselines),
          ...(Object.keys(signals).length + Object.keys(baselines).length === 0
            ? ["      - {series: 'unrelated', values: '1x3'}"]
            : []),
          '    alert_rule_test:',
          ...checks,
        ].join('\n');
      });
      writeFileSync(
        join(dir, 'test.yml'),
        ['rule_files: [rules.yml]', 'evaluation_interval: 1m', 'tests:', ...tests].join('\n') + '\n',
      );
      const run = { cwd: dir, encoding: 'utf8' as const, stdio: 'pipe' as const };
      expect(execFileSync('/usr/bin/promtool', ['check', 'rules', 'rules.yml'], run)).toContain(
        `SUCCESS: ${rules.length} rules found`,
      );
      let out: string;
      try {
        out = execFileSync('/usr/bin/promtool', ['test', 'rules', 'test.yml'], run);
      } catch (e) {
        const err = e as { stdout?: string; stderr?: string };
        throw new Error(`promtool test rules failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
      }
      expect(out).toContain('SUCCESS');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
