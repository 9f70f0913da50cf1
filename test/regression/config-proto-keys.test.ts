import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';

/**
 * Found by test/fuzz/config-load.test.ts ("keeps every signal, where key, rule label and report
 * field as written, or names the key it refuses"): zod builds records (signals, where, labels,
 * report sections) by assignment, and assigning `__proto__` sets the new object's prototype
 * instead of adding a key. A signal or section named `__proto__` vanished without a word; a
 * `where: {__proto__: x}` filter was silently dropped (the signal then matched everything); and
 * `report.sections.s: {__proto__: nope}` passed validation although `nope` is no signal.
 * `__proto__` is now refused as a key, at its position.
 */
describe('regression: __proto__ as a key in the config', () => {
  const load = (text: string) => parseConfigText(text, 'cfg.yaml');

  it('is refused where it would have been dropped, with its path', () => {
    expect(load('signals:\n  ok: {metric: m, stat: p95}\n  __proto__: {metric: m, stat: p95}\n')).toEqual({
      ok: false,
      errors: ["cfg.yaml:3:3 signals.__proto__: '__proto__' cannot be used as a key"],
    });
    expect(load('signals:\n  s: {metric: m, stat: p95, where: {__proto__: x}}\n')).toEqual({
      ok: false,
      errors: ["cfg.yaml:2:37 signals.s.where.__proto__: '__proto__' cannot be used as a key"],
    });
    expect(
      load(
        'signals:\n  s: {metric: m, stat: p95}\nrules:\n  - {name: r, expr: s > 1, labels: {__proto__: x}}\n',
      ),
    ).toEqual({
      ok: false,
      errors: ["cfg.yaml:4:37 rules[0].labels.__proto__: '__proto__' cannot be used as a key"],
    });
    expect(
      load('signals:\n  s: {metric: m, stat: p95}\nreport:\n  sections:\n    x: {__proto__: nope}\n'),
    ).toEqual({
      ok: false,
      errors: ["cfg.yaml:5:9 report.sections.x.__proto__: '__proto__' cannot be used as a key"],
    });
  });

  it('leaves constructor and prototype as ordinary names', () => {
    const r = load(
      'signals:\n  constructor: {metric: m, stat: p95, where: {prototype: x}}\nrules:\n  - {name: r, expr: constructor > 1}\n',
    );
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(Object.keys(r.config.signals)).toEqual(['constructor']);
      expect(r.config.signals['constructor']!.where).toEqual({ prototype: 'x' });
    }
  });
});
