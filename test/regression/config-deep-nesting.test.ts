import { describe, expect, it } from 'vitest';
import { MAX_YAML_DEPTH, parseConfigText } from '../../src/config/load.js';

/**
 * Found by test/fuzz/config-load.test.ts while writing it: a config nested a few thousand
 * levels deep (6 KB of `[`) overflowed the stack of the yaml library's (recursive) composer. The
 * library turns that into an ordinary error, but V8 does not always survive it: loading such a
 * file repeatedly (as reloads or a fuzzer do) killed the process with "FATAL ERROR:
 * RegExpCompiler Allocation failed - process out of memory" — a regular expression compiled with
 * the stack nearly exhausted. The nesting is now measured on the CST (built without recursion)
 * and refused before composing.
 */
describe('regression: deeply nested config YAML', () => {
  const flow = (n: number) => 'signals: ' + '['.repeat(n) + ']'.repeat(n) + '\n';
  const block = (n: number) =>
    'signals:\n' + Array.from({ length: n }, (_, i) => ' '.repeat(2 * i + 2) + '-').join('\n') + ' x\n';

  it('is refused with a located error, as often as it is loaded', () => {
    for (let round = 0; round < 20; round++) {
      expect(parseConfigText(flow(3000), 'cfg.yaml')).toEqual({
        ok: false,
        errors: [`cfg.yaml:1:${10 + MAX_YAML_DEPTH - 1} (yaml): collections nested more than 64 deep`],
      });
      const r = parseConfigText(block(300), 'cfg.yaml');
      expect(r.ok ? [] : r.errors).toEqual([
        expect.stringMatching(/^cfg\.yaml:\d+:\d+ \(yaml\): collections nested more than 64 deep$/),
      ]);
    }
  });

  it('still loads what is nested less deeply (and reports it as the schema sees it)', () => {
    const r = parseConfigText(flow(MAX_YAML_DEPTH - 1), 'cfg.yaml');
    expect(r.ok ? [] : r.errors).toEqual([
      'cfg.yaml:1:10 signals: Invalid input: expected record, received array',
    ]);
  });
});
