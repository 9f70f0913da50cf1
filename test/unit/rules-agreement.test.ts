import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { prometheusFamily } from '../../src/export/prometheus-naming.js';
import { exportRuleFile } from '../../src/rules/rule-file.js';
import { labelsObject } from '../../src/rules/labels.js';
import { RuleEngine } from '../../src/rules/rule-engine.js';
import { SignalEngine } from '../../src/signals/signal-engine.js';
import { applyNumber } from '../../src/store/apply.js';
import { Store } from '../../src/store/store.js';

/**
 * vigil and Prometheus agree: the same input series and the same rule, run through vigil's
 * signal and rule engines (injected clock, one evaluation every 15 s) and through
 * `promtool test rules` on the rule file `vigil rules export` writes. The promtool test expects,
 * at every evaluation time, exactly the alerts vigil had firing then, so it passes only if both
 * fire and resolve at the same evaluations.
 */

const STEP_MS = 15_000;
const CONFIG = `
evaluation_interval: 15s
signals:
  backlog: {metric: stream.recompute_backlog, stat: last, window: 5m, by: [service.name]}
rules:
  - name: BACKLOG_HIGH
    severity: critical
    expr: backlog > 1000
    for: 1m
    keep_firing_for: 30s
`;

/** Gauge values per 15 s step: pricing's two instances sum above 1000 from 1m to 3m45s. */
const SERIES: Array<{ service: string; instance: string; values: number[] }> = [
  { service: 'pricing', instance: 'p-1', values: [...rep(500, 4), ...rep(1500, 11), ...rep(200, 15)] },
  { service: 'pricing', instance: 'p-2', values: rep(100, 30) },
  { service: 'odds', instance: 'o-1', values: [...rep(200, 20), ...rep(1200, 10)] },
];

function rep(v: number, n: number): number[] {
  return Array.from({ length: n }, () => v);
}

/** vigil's firing alerts (as job labels) at each evaluation. */
function runVigil(): string[][] {
  const loaded = parseConfigText(CONFIG, 'agreement.yaml');
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  let now = 1_800_000_000_000;
  const clock = (): number => now;
  const store = new Store({
    limits: { maxSeries: 1000, maxSeriesPerMetric: 1000, seriesTtlMs: 3_600_000 },
    clock,
    familyOf: prometheusFamily,
  });
  const signals = new SignalEngine({ store, clock, observedScope: 'vigil.push' });
  signals.configure(loaded.config.signals);
  const rules = new RuleEngine();
  rules.configure(loaded.config.rules);
  const desc = {
    name: 'stream.recompute_backlog',
    unit: '',
    description: '',
    kind: 'gauge' as const,
    monotonic: false,
    temporality: 'cumulative' as const,
  };
  const firing: string[][] = [];
  for (let step = 0; step < SERIES[0]!.values.length; step++) {
    for (const s of SERIES) {
      const resource = store.resource(['service.name', s.service, 'service.instance.id', s.instance]);
      const stream = store.stream(resource, { name: 'app', version: '' }, desc);
      if (typeof stream === 'string') throw new Error(stream);
      const series = store.series(stream, null, []);
      if (typeof series === 'string') throw new Error(series);
      applyNumber(stream, series, 0, now, s.values[step]!, now);
    }
    signals.tick(now);
    rules.evaluate(signals, now);
    firing.push(
      rules
        .alerts()
        .filter((a) => a.state === 'firing')
        .map((a) => labelsObject(a.labels)['service.name']!)
        .sort(),
    );
    now += STEP_MS;
  }
  return firing;
}

function promtool(files: Record<string, string>): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-agreement-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const r = spawnSync('/usr/bin/promtool', ['test', 'rules', 'test.yml'], { cwd: dir, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('vigil and promtool test rules', () => {
  it('fire and resolve the same alerts at the same evaluations', () => {
    const firing = runVigil();
    // The scenario exercises pending, firing, keep_firing_for and a second group firing later.
    expect(firing.some((f) => f.includes('pricing'))).toBe(true);
    expect(firing.some((f) => f.includes('odds'))).toBe(true);
    expect(firing[4]).toEqual([]); // pricing is pending at 1m, not firing
    expect(firing[8]).toEqual(['pricing']);

    const loaded = parseConfigText(CONFIG, 'agreement.yaml');
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const exported = exportRuleFile(loaded.config);
    if (!exported.ok) throw new Error(exported.errors.join('\n'));
    const series = SERIES.map(
      (s) =>
        `      - {series: 'stream_recompute_backlog{job="${s.service}", instance="${s.instance}"}', values: '${s.values.join(' ')}'}`,
    );
    const checks = firing.map((jobs, step) => {
      const alerts = jobs.map((job) => `{exp_labels: {severity: critical, job: ${job}}}`).join(', ');
      return `      - {eval_time: ${(step * STEP_MS) / 1000}s, alertname: BACKLOG_HIGH, exp_alerts: [${alerts}]}`;
    });
    const test = [
      'rule_files: [rules.yml]',
      'evaluation_interval: 15s',
      'tests:',
      '  - interval: 15s',
      '    input_series:',
      ...series,
      '    alert_rule_test:',
      ...checks,
    ].join('\n');
    const r = promtool({ 'rules.yml': exported.text, 'test.yml': test });
    expect(r.output).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });
});
