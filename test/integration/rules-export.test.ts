import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { CLI, REPO, tempDir } from '../helpers/vigil-process.js';

/** `vigil rules export` from the built CLI, checked with the real promtool (SPEC §1). */

const PROMTOOL = '/usr/bin/promtool';
const SHIPPED = join(REPO, 'config.yaml');

function vigil(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000 });
}

function checkRules(text: string): { status: number | null; output: string } {
  const file = join(tempDir('vigil-rules-'), 'rules.yml');
  writeFileSync(file, text);
  const r = spawnSync(PROMTOOL, ['check', 'rules', file], { encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

interface Group {
  name: string;
  interval: string;
  rules: Array<{ record?: string; alert?: string }>;
}

describe('vigil rules export', () => {
  it('exports the shipped config as a rule file that promtool accepts', () => {
    const r = vigil(['rules', 'export', '--config', SHIPPED]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const check = checkRules(r.stdout);
    expect(check.output).toContain('SUCCESS');
    expect(check.status).toBe(0);
    const groups = (parse(r.stdout) as { groups: Group[] }).groups;
    expect(groups.map((g) => [g.name, g.interval])).toEqual([['vigil', '1s']]);
    expect(groups[0]!.rules.flatMap((x) => (x.alert === undefined ? [] : [x.alert]))).toEqual([
      'HIGH_CPU',
      'HIGH_P95_LATENCY',
      'SLOW_INGEST',
      'LOW_CACHE_HIT_RATE',
      'NO_ACTIVE_EDGES',
      'STALLED_VALUATION_PIPE',
      'EXCESSIVE_RATIONALE_FAILURE',
      'CORRELATION_PSD_DEGRADATION',
      'LATENCY_DEGRADATION',
    ]);
    expect(groups[0]!.rules.filter((x) => x.record !== undefined)).toHaveLength(16);
  });

  it('exports a PrometheusRule whose spec.groups promtool accepts', () => {
    const plain = vigil(['rules', 'export', '--config', SHIPPED, '--format', 'rules']);
    const r = vigil(['rules', 'export', '--config', SHIPPED, '--format', 'prometheusrule']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const doc = parse(r.stdout) as {
      apiVersion: string;
      kind: string;
      metadata: { name: string };
      spec: { groups: Group[] };
    };
    expect(doc.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(doc.kind).toBe('PrometheusRule');
    expect(doc.metadata).toEqual({ name: 'vigil-rules' });
    expect(doc.spec.groups).toEqual((parse(plain.stdout) as { groups: Group[] }).groups);
    const check = checkRules(stringify({ groups: doc.spec.groups }));
    expect(check.output).toContain('SUCCESS');
    expect(check.status).toBe(0);

    const named = vigil([
      'rules',
      'export',
      '--config',
      SHIPPED,
      '--format',
      'prometheusrule',
      '--name',
      'shop-slo',
    ]);
    expect((parse(named.stdout) as typeof doc).metadata.name).toBe('shop-slo');
  });

  it('exits 1 with file:line:col errors on an invalid config', () => {
    const file = join(tempDir(), 'bad.yaml');
    writeFileSync(
      file,
      [
        'signals:',
        '  p95: {metric: http.server.request.duration, stat: p96}',
        'rules:',
        '  - {name: X, expr: p95 > 1, for: soon}',
        '',
      ].join('\n'),
    );
    const r = vigil(['rules', 'export', '--config', file]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^.*bad\.yaml:2:53 signals\.p95\.stat: Invalid option: expected one of /),
      `${file}:4:35 rules[0].for: invalid duration "soon" (use e.g. 500ms, 15s, 5m, 1h)`,
    ]);
    expect(r.stderr.startsWith(`${file}:2:53 `)).toBe(true);
  });

  it('exits 1 naming the rule that has no PromQL equivalent, and why', () => {
    const file = join(tempDir(), 'max.yaml');
    writeFileSync(
      file,
      [
        'signals:',
        '  worst_ms: {metric: http.server.request.duration, stat: max, unit: ms, metric_unit: s}',
        'rules:',
        '  - {name: WORST_LATENCY, expr: worst_ms > 10000}',
        '',
      ].join('\n'),
    );
    const r = vigil(['rules', 'export', '--config', file]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'vigil rules export: rule WORST_LATENCY cannot be expressed in PromQL: signal worst_ms: stat max of ' +
        'http.server.request.duration: Prometheus histograms keep no minimum or maximum\n',
    );
  });

  it('rejects an unknown format as a usage error', () => {
    const r = vigil(['rules', 'export', '--config', SHIPPED, '--format', 'json']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown --format "json"/);
  });
});
