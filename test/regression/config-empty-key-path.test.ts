import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';

/**
 * Found by test/fuzz/config-load.test.ts ("returns a config or located error lines for random
 * text"): the YAML text `: ` (a key that is empty) gave `cfg.yaml:1:1 : unknown key ''` — a line
 * with no path where SPEC §1 promises `<file>:<line>:<col> <yaml.path>: <message>`. An empty key
 * is now shown as `""` in the path.
 */
describe('regression: config errors about an empty key', () => {
  it('still name a path', () => {
    expect(parseConfigText(': \n', 'cfg.yaml')).toEqual({
      ok: false,
      errors: [`cfg.yaml:1:1 "": unknown key ''`],
    });
    const nested = parseConfigText('limits:\n  "": 1\n', 'cfg.yaml');
    expect(nested).toEqual({ ok: false, errors: [`cfg.yaml:2:3 limits."": unknown key ''`] });
  });
});
