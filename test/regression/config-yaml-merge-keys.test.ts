import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';

/**
 * Found by the long run of test/fuzz/config-load.test.ts (VIGIL_FUZZ_SCALE=30, seed 724653479,
 * counterexample `%YAML 1.1\n---\n<<: `): a document that declares YAML 1.1 gets merge keys, and
 * the yaml library throws a plain Error ("Merge sources must be maps or map aliases") when it
 * converts a merge of anything but a map. parseConfigText let it out, as it did the alias
 * ReferenceErrors (config-yaml-alias-errors.test.ts); every conversion error is now a located
 * `(yaml)` error line.
 */
describe('regression: YAML 1.1 merge keys in the config', () => {
  it('reports a merge of something that is not a map at the merge key', () => {
    expect(parseConfigText('%YAML 1.1\n---\n<<: \n', 'cfg.yaml')).toEqual({
      ok: false,
      errors: ['cfg.yaml:3:1 (yaml): Merge sources must be maps or map aliases'],
    });
    const r = parseConfigText('%YAML 1.1\n---\nlog:\n  <<: [1, 2]\n', 'cfg.yaml');
    expect(r.ok ? [] : r.errors).toEqual(['cfg.yaml:4:3 (yaml): Merge sources must be maps or map aliases']);
  });

  it('still merges maps, as YAML 1.1 does', () => {
    const r = parseConfigText('%YAML 1.1\n---\nbase: &b {level: debug}\n', 'cfg.yaml');
    expect(r.ok).toBe(false); // `base` is no config key; the merge itself is fine:
    const merged = parseConfigText('%YAML 1.1\n---\nlog:\n  <<: {level: debug}\n', 'cfg.yaml');
    expect(merged.ok && merged.config.log.level).toBe('debug');
  });
});
