import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { prometheusFamily } from '../../src/export/prometheus-naming.js';
import { RuleEngine } from '../../src/rules/rule-engine.js';
import type { Sample, SignalLookup } from '../../src/rules/types.js';
import { SignalEngine } from '../../src/signals/signal-engine.js';
import { Store } from '../../src/store/store.js';

/**
 * Regression: a damaged state snapshot made vigil unable to start or restored it half.
 * - `{"trends": {"cpu": [null]}}`: restoreTrends read `.labels` of null and threw; startVigil
 *   rejected, the process exited 1 and, the file being still there, crash-looped on every restart.
 * - A rules part damaged in its second rule left the first rule restored and the second not.
 */

const T0 = 1_700_000_400_000;
const SIGNALS = { cpu: { metric: 'cpu', stat: 'last' }, lat: { metric: 'lat', stat: 'last' } } as const;
const RULES = [
  { name: 'CPU', expr: 'cpu > 50' },
  { name: 'LAT', expr: 'lat > 10' },
];
const config = configSchema.parse({ signals: SIGNALS, rules: RULES });

function signalEngine(): SignalEngine {
  const clock = () => T0;
  const store = new Store({
    limits: { maxSeries: 100, maxSeriesPerMetric: 100, seriesTtlMs: 3_600_000 },
    clock,
    familyOf: prometheusFamily,
  });
  const engine = new SignalEngine({ store, clock, observedScope: 'vigil.push' });
  engine.configure(config.signals);
  return engine;
}

class Both implements SignalLookup {
  signal(): readonly Sample[] {
    return [{ labels: [], value: 100 }];
  }
  baseline(): readonly Sample[] {
    return [];
  }
}

describe('restoring a damaged snapshot', () => {
  it('skips null, number and string entries among a signal’s trend groups instead of throwing', () => {
    const good = { labels: ['service.name', 'a'], trend: { version: 1, bucketMs: 600_000, buckets: [] } };
    const engine = signalEngine();
    const restored = engine.restoreTrends({ cpu: [null, 7, 'x', good], lat: [null] }, T0);
    expect(restored).toBe(1);
    expect(Object.keys(engine.snapshotTrends()).sort()).toEqual(['cpu', 'lat']);
    expect(engine.snapshotTrends()['cpu']!.map((g) => g.labels)).toEqual([['service.name', 'a']]);
  });

  it('restores the rules part all or nothing', () => {
    const running = new RuleEngine();
    running.configure(config.rules);
    running.evaluate(new Both(), T0);
    const snap = JSON.parse(JSON.stringify(running.snapshot())) as Record<string, { alerts: unknown[] }>;
    expect(new RuleEngine().restore(snap, T0)).toBe(0); // no rules configured: nothing to restore

    snap['LAT']!.alerts = [{ labels: 5 }]; // the second rule damaged
    const engine = new RuleEngine();
    engine.configure(config.rules);
    expect(() => engine.restore(snap, T0 + 1000, 60_000)).toThrow(/alerts\[0\]\.labels/);
    expect(engine.alerts()).toEqual([]); // CPU, though fine, was not restored alone

    // The undamaged snapshot still restores both.
    const intact = new RuleEngine();
    intact.configure(config.rules);
    expect(intact.restore(running.snapshot(), T0 + 1000, 60_000)).toBe(2);
    expect(intact.alerts().map((a) => [a.rule.name, a.state])).toEqual([
      ['CPU', 'firing'],
      ['LAT', 'firing'],
    ]);
  });
});
