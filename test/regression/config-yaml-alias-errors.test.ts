import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';

/**
 * Found by test/fuzz/config-load.test.ts ("returns a config or located error lines for random
 * text and YAML token soup", counterexample `*!`): the yaml library resolves aliases only when
 * the document is converted to JavaScript, and throws ReferenceError there for an alias whose
 * anchor is defined nowhere (or later) and for an alias expansion beyond its limit (a "billion
 * laughs" document). parseConfigText let that exception out: `vigil check-config` crashed with a
 * stack trace, and a SIGHUP reload failed outside its error handling, instead of the
 * `file:line:col path: message` lines SPEC §1 promises.
 */
describe('regression: YAML alias errors in the config', () => {
  it('reports an alias to an undefined anchor at the alias', () => {
    expect(parseConfigText('log:\n  level: info\nsignals: *nowhere\n', 'cfg.yaml')).toEqual({
      ok: false,
      errors: ['cfg.yaml:3:10 (yaml): Unresolved alias (the anchor must be set before the alias): nowhere'],
    });
    expect(parseConfigText('*!', 'cfg.yaml').ok).toBe(false);
  });

  it('reports a "billion laughs" expansion instead of throwing', () => {
    const text =
      'a: &a [x, x, x, x, x, x, x, x, x, x]\n' +
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n' +
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n' +
      'signals: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n';
    const r = parseConfigText(text, 'cfg.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.errors).toEqual([expect.stringMatching(/^cfg\.yaml:2:8 \(yaml\): Excessive alias count/)]);
  });
});
