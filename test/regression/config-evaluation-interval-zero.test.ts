import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';

/**
 * `evaluation_interval: 0s` was accepted: rules were then evaluated on a 0 ms timer (as often as
 * the event loop turned, a core spent on it) and `/readyz` compared the last evaluation's age with
 * 2 × 0. The interval must now be at least 100 ms, with a located error below that.
 */
describe('regression: evaluation_interval of zero', () => {
  it('is refused with a located error, as is anything below 100 ms', () => {
    for (const v of ['0s', '0', '50ms'])
      expect(parseConfigText(`evaluation_interval: ${v}\n`, 'cfg.yaml')).toEqual({
        ok: false,
        errors: ['cfg.yaml:1:22 evaluation_interval: evaluation_interval must be at least 100 ms'],
      });
  });

  it('accepts 100 ms and the default', () => {
    const r = parseConfigText('evaluation_interval: 100ms\n', 'cfg.yaml');
    expect(r.ok && r.config.evaluation_interval).toBe(100);
    const d = parseConfigText('{}\n', 'cfg.yaml');
    expect(d.ok && d.config.evaluation_interval).toBe(1000);
  });
});
