import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfigText } from '../../src/config/load.js';
import type { ParsedConfig } from '../../src/config/schema.js';
import {
  buildRuleGroups,
  exportRuleFile,
  exportSignals,
  promDuration,
  promString,
  toPrometheusTemplate,
  type PromRuleGroup,
} from '../../src/rules/rule-file.js';

const PROMTOOL = '/usr/bin/promtool';
const dir = mkdtempSync(join(tmpdir(), 'vigil-rules-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A parsed config; `sources` off unless asked for, so only the signals decide series types. */
function config(yaml: string, sources = false): ParsedConfig {
  const r = parseConfigText(`${sources ? '' : 'sources: {enabled: false}\n'}${yaml}`, 'test.yaml');
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.config;
}

/** The PromQL of signal `s` of a config holding just `signals:` + `yaml`. */
function promql(yaml: string, s = 's'): string {
  const sig = exportSignals(config(`signals:\n${yaml}`)).get(s);
  if (sig === undefined || !sig.ok) throw new Error(`signal ${s} not exported: ${JSON.stringify(sig)}`);
  return sig.expr;
}

function reason(yaml: string, s = 's'): string {
  const sig = exportSignals(config(`signals:\n${yaml}`)).get(s);
  if (sig === undefined || sig.ok) throw new Error(`signal ${s} exported: ${JSON.stringify(sig)}`);
  return sig.reason;
}

function promtool(args: string[], files: Record<string, string>): string {
  const sub = mkdtempSync(join(dir, 'case-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(sub, name), text);
  const r = spawnSync(PROMTOOL, args, { cwd: sub, encoding: 'utf8' });
  const out = `${r.stdout}${r.stderr}`;
  if (r.status !== 0) throw new Error(`promtool ${args.join(' ')} failed (${r.status}):\n${out}`);
  return out;
}

function ruleFile(yaml: string, sources = false): string {
  const r = exportRuleFile(config(yaml, sources));
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.text;
}

describe('exportSignals > series and stats', () => {
  it('percentiles read the histogram buckets, converted from metric_unit to unit', () => {
    expect(promql('  s: {metric: http.server.request.duration, stat: p95, unit: ms, metric_unit: s}')).toBe(
      'histogram_quantile(0.95, sum by (le) (rate(http_server_request_duration_seconds_bucket[5m]))) * 1000',
    );
    expect(promql('  s: {metric: rpc.duration, stat: p50, window: 90s, unit: s, metric_unit: ms}')).toBe(
      'histogram_quantile(0.5, sum by (le) (rate(rpc_duration_milliseconds_bucket[1m30s]))) * 0.001',
    );
    // No unit at all: no suffix, no conversion.
    expect(promql('  s: {metric: queue.wait, stat: p99, window: 1m}')).toBe(
      'histogram_quantile(0.99, sum by (le) (rate(queue_wait_bucket[1m])))',
    );
  });

  it('avg, sum, count, rate and increase of a histogram read _sum and _count', () => {
    const h = (stat: string, extra = ''): string =>
      promql(`  s: {metric: ingestion.duration, stat: ${stat}, unit: ms, metric_unit: s${extra}}`);
    expect(h('avg')).toBe(
      'sum(rate(ingestion_duration_seconds_sum[5m])) / (sum(rate(ingestion_duration_seconds_count[5m])) > 0) * 1000',
    );
    expect(h('sum')).toBe('sum(increase(ingestion_duration_seconds_sum[5m])) * 1000');
    // Counts of observations carry no unit.
    expect(h('count')).toBe('sum(increase(ingestion_duration_seconds_count[5m]))');
    // rate/increase of a metric some percentile reads: observations, not a counter.
    const both = (stat: string, extra = ''): string =>
      promql(
        `  p: {metric: http.server.request.duration, stat: p95, metric_unit: s}\n` +
          `  s: {metric: http.server.request.duration, stat: ${stat}${extra}}`,
      );
    expect(both('rate')).toBe('sum(rate(http_server_request_duration_seconds_count[5m]))');
    expect(both('rate', ', per: 1m')).toBe('sum(rate(http_server_request_duration_seconds_count[5m])) * 60');
    expect(both('increase')).toBe('sum(increase(http_server_request_duration_seconds_count[5m]))');
  });

  it('rate and increase read a monotonic counter (_total); per and unit scale the rate', () => {
    expect(promql('  s: {metric: stream.events, stat: rate, per: 1m}')).toBe(
      'sum(rate(stream_events_total[5m])) * 60',
    );
    expect(promql('  s: {metric: cache.operations, stat: increase, window: 10m}')).toBe(
      'sum(increase(cache_operations_total[10m]))',
    );
    expect(promql('  s: {metric: net.io, stat: rate, per: 1m, unit: KiBy, metric_unit: By}')).toBe(
      'sum(rate(net_io_bytes_total[5m])) * 0.05859375',
    );
    // `last` of a counter: the sum of the latest values.
    expect(
      promql('  c: {metric: jobs.done, stat: increase}\n  s: {metric: jobs.done, stat: last, window: 1m}'),
    ).toBe('sum(last_over_time(jobs_done_total[1m]))');
  });

  it('last, min, max and dimensionless avg read a gauge', () => {
    expect(promql('  s: {metric: stream.recompute_backlog, stat: last}')).toBe(
      'sum(last_over_time(stream_recompute_backlog[5m]))',
    );
    expect(promql('  s: {metric: queue.depth, stat: min, window: 1m}')).toBe(
      'min(min_over_time(queue_depth[1m]))',
    );
    expect(
      promql('  s: {metric: memory.used, stat: max, unit: MiBy, metric_unit: By, by: [host.name]}'),
    ).toBe('max by (host_name) (max_over_time(memory_used_bytes[5m])) * 9.5367431640625e-7');
    // A utilisation (unit 1) is a gauge: `_ratio` suffix, ×100 into percent.
    expect(
      promql("  s: {metric: process.cpu.utilization, stat: avg, window: 1m, unit: '%', metric_unit: '1'}"),
    ).toBe('avg(avg_over_time(process_cpu_utilization_ratio[1m])) * 100');
    // Another signal reading the metric's last value makes avg a gauge average too.
    expect(promql('  l: {metric: queue.depth, stat: last}\n  s: {metric: queue.depth, stat: avg}')).toBe(
      'avg(avg_over_time(queue_depth[5m]))',
    );
    expect(promql('  l: {metric: queue.depth, stat: last}\n  s: {metric: queue.depth, stat: sum}')).toBe(
      'sum(last_over_time(queue_depth[5m]))',
    );
  });

  it('takes the metric unit another signal states for the same metric', () => {
    expect(
      promql(
        '  p: {metric: http.server.request.duration, stat: p95, unit: ms, metric_unit: s}\n' +
          '  s: {metric: http.server.request.duration, stat: avg, unit: ms}',
      ),
    ).toBe(
      'sum(rate(http_server_request_duration_seconds_sum[5m])) / (sum(rate(http_server_request_duration_seconds_count[5m])) > 0) * 1000',
    );
  });

  it('makes sources.metric and views globs histograms', () => {
    const sig = exportSignals(
      config(
        [
          'views: [{instrument_name: "*.latency", aggregation: explicit_bucket_histogram}]',
          'signals:',
          '  rate: {metric: http.server.request.duration, stat: rate}',
          '  avg: {metric: db.latency, stat: avg, metric_unit: s}',
          '  inc: {metric: db.latency, stat: increase}',
        ].join('\n'),
        true,
      ),
    );
    expect(sig.get('rate')).toMatchObject({ expr: 'sum(rate(http_server_request_duration_count[5m]))' });
    expect(sig.get('avg')).toMatchObject({
      expr: 'sum(rate(db_latency_seconds_sum[5m])) / (sum(rate(db_latency_seconds_count[5m])) > 0)',
    });
    expect(sig.get('inc')).toMatchObject({ expr: 'sum(increase(db_latency_seconds_count[5m]))' });
  });
});

describe('exportSignals > by and where', () => {
  it('maps service.name to job, service.instance.id to instance, other keys through labelName', () => {
    const s = promql(
      '  s: {metric: http.server.request.duration, stat: p95, metric_unit: s,' +
        ' by: [service.name, service.instance.id, http.route], where: {http.route: /odds}}',
    );
    expect(s).toBe(
      'histogram_quantile(0.95, sum by (le, job, instance, http_route) ' +
        '(rate(http_server_request_duration_seconds_bucket{http_route="/odds"}[5m])))',
    );
    const sig = exportSignals(
      config(`signals:\n  s: {metric: a.b, stat: rate, by: [service.name, net.peer]}`),
    );
    expect(sig.get('s')).toEqual({
      ok: true,
      expr: 'sum by (job, net_peer) (rate(a_b_total[5m]))',
      groupLabels: ['job', 'net_peer'],
    });
  });

  it('matches service.name against the job label with or without a namespace', () => {
    expect(promql("  s: {metric: a, stat: rate, where: {service.name: 'pricing.v2'}}")).toBe(
      'sum(rate(a_total{job=~"(.+/)?pricing\\\\.v2"}[5m]))',
    );
    expect(promql("  s: {metric: a, stat: rate, where: {service.name: '~cex-.*|dex'}}")).toBe(
      'sum(rate(a_total{job=~"(.+/)?(?:cex-.*|dex)"}[5m]))',
    );
    expect(promql('  s: {metric: a, stat: rate, where: {service.namespace: shop}}')).toBe(
      'sum(rate(a_total{job=~"shop/.+"}[5m]))',
    );
    expect(
      promql("  s: {metric: a, stat: rate, where: {service.instance.id: 'p-1', result: '~hit|stale'}}"),
    ).toBe('sum(rate(a_total{instance="p-1", result=~"hit|stale"}[5m]))');
  });

  it('escapes label values and regexes as PromQL strings', () => {
    expect(promString('a"b\\c\nd')).toBe('"a\\"b\\\\c\\nd"');
    expect(
      promql(`  s: {metric: a, stat: rate, where: {path: 'a"b\\c', code: '~5\\d\\d', ok: true, n: 2}}`),
    ).toBe('sum(rate(a_total{path="a\\"b\\\\c", code=~"5\\\\d\\\\d", ok="true", n="2"}[5m]))');
  });

  it('refuses what Prometheus labels cannot say', () => {
    expect(reason('  s: {metric: a, stat: rate, by: [service.namespace]}')).toMatch(
      /cannot group by service\.namespace/,
    );
    expect(reason("  s: {metric: a, stat: rate, where: {route: '~(?!/health).*'}}")).toMatch(
      /where route: .*no lookaround or backreferences/,
    );
  });
});

describe('exportSignals > ratio and baseline', () => {
  it('renders a ratio with vigil semantics: no hits is 0, no traffic is absent', () => {
    const cfg = config(
      [
        'signals:',
        '  hit_rate:',
        '    ratio:',
        '      numerator: {metric: cache.operations, stat: increase, where: {result: hit}, by: [service.name]}',
        '      denominator: {metric: cache.operations, stat: increase, by: [service.name]}',
      ].join('\n'),
    );
    const den = 'sum by (job) (increase(cache_operations_total[5m]))';
    expect(exportSignals(cfg).get('hit_rate')).toEqual({
      ok: true,
      expr: `(sum by (job) (increase(cache_operations_total{result="hit"}[5m])) or 0 * ${den}) / (${den} > 0)`,
      groupLabels: ['job'],
    });
  });

  it('renders baseline(s) as a 24h subquery of the signal', () => {
    const groups = buildRuleGroups(
      config(
        [
          'signals:',
          '  p95: {metric: http.server.request.duration, stat: p95, unit: ms, metric_unit: s, by: [service.name]}',
          'rules:',
          '  - {name: SLOWER, expr: p95 > 4 * baseline(p95)}',
        ].join('\n'),
      ),
    ).groups;
    const p95 =
      'histogram_quantile(0.95, sum by (le, job) (rate(http_server_request_duration_seconds_bucket[5m]))) * 1000';
    expect(groups[0]!.rules.at(-1)).toMatchObject({
      alert: 'SLOWER',
      expr: `(${p95}) > on(job) 4 * (avg_over_time((${p95})[24h:10m]))`,
    });
  });
});

describe('buildRuleGroups', () => {
  const cfg = config(
    [
      'evaluation_interval: 15s',
      'signals:',
      '  backlog: {metric: stream.recompute_backlog, stat: last, by: [service.name]}',
      '  cpu_max: {metric: http.server.request.duration, stat: max, metric_unit: s}',
      '  p95: {metric: http.server.request.duration, stat: p95, metric_unit: s}',
      '  by_route: {metric: http.server.request.duration, stat: p95, metric_unit: s, by: [http.route]}',
      'rules:',
      '  - name: BACKLOG',
      '    severity: critical',
      '    expr: backlog > 1000',
      '    for: 1m',
      '    keep_firing_for: 90s',
      "    summary: 'backlog {{value}} (was {{ $value }}) {{not a placeholder}}'",
      "    recommendation: 'Restart the workers.'",
      '    labels: {team: streaming}',
      '  - {name: SLOW, expr: p95 > 1}',
    ].join('\n'),
  );

  it('writes one alerting rule per rule and one recording rule per exportable signal', () => {
    const { groups, errors, warnings } = buildRuleGroups(cfg);
    expect(errors).toEqual([]);
    expect(warnings).toEqual([
      'signal cpu_max left out (no PromQL equivalent): stat max of http.server.request.duration: ' +
        'Prometheus histograms keep no minimum or maximum',
    ]);
    const group: PromRuleGroup = groups[0]!;
    expect(groups).toHaveLength(1);
    expect(group.name).toBe('vigil');
    expect(group.interval).toBe('15s');
    expect(group.rules.map((r) => ('record' in r ? r.record : r.alert))).toEqual([
      'vigil:backlog',
      'vigil:p95',
      'vigil:by_route',
      'BACKLOG',
      'SLOW',
    ]);
    expect(group.rules[3]).toEqual({
      alert: 'BACKLOG',
      expr: '(sum by (job) (last_over_time(stream_recompute_backlog[5m]))) > 1000',
      for: '1m',
      keep_firing_for: '1m30s',
      labels: { severity: 'critical', team: 'streaming' },
      annotations: {
        summary: 'backlog {{ $value }} (was {{ $value }}) {{ "{{" }}not a placeholder}}',
        recommendation: 'Restart the workers.',
      },
    });
    // No for/keep_firing_for when 0, no annotations when all are empty.
    expect(group.rules[4]).toEqual({
      alert: 'SLOW',
      expr: '(histogram_quantile(0.95, sum by (le) (rate(http_server_request_duration_seconds_bucket[5m])))) > 1',
      labels: { severity: 'warning' },
    });
  });

  it('refuses a rule that reads a signal with no PromQL equivalent, naming rule, signal and reason', () => {
    const bad = config(
      [
        'signals:',
        '  lat_max: {metric: http.server.request.duration, stat: max, metric_unit: s}',
        '  p95: {metric: http.server.request.duration, stat: p95, metric_unit: s}',
        '  by_route: {metric: http.server.request.duration, stat: p95, metric_unit: s, by: [http.route]}',
        '  by_svc: {metric: http.server.request.duration, stat: p95, metric_unit: s, by: [service.name]}',
        'rules:',
        '  - {name: MAX_LATENCY, expr: lat_max > 5}',
        '  - {name: MISMATCH, expr: by_route > by_svc}',
        '  - {name: FINE, expr: p95 > 1}',
      ].join('\n'),
    );
    const r = exportRuleFile(bad);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual([
      'rule MAX_LATENCY cannot be expressed in PromQL: signal lat_max: stat max of ' +
        'http.server.request.duration: Prometheus histograms keep no minimum or maximum',
      'rule MISMATCH cannot be expressed in PromQL: expr "by_route > by_svc": ' +
        "'>' between vectors grouped by (http_route) and (job) never matches at column 10",
    ]);
  });

  it('writes a PrometheusRule with the same groups', () => {
    const rules = exportRuleFile(cfg, { source: 'test.yaml' });
    const object = exportRuleFile(cfg, { format: 'prometheusrule', name: 'shop.vigil-rules' });
    if (!rules.ok || !object.ok) throw new Error('export failed');
    expect(rules.text).toMatch(/^# Generated by `vigil rules export` from test\.yaml/);
    const doc = parse(object.text) as Record<string, unknown>;
    expect(doc).toEqual({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name: 'shop.vigil-rules' },
      spec: { groups: (parse(rules.text) as { groups: unknown }).groups },
    });
    const byDefault = exportRuleFile(cfg, { format: 'prometheusrule' });
    expect(byDefault.ok && parse(byDefault.text)).toMatchObject({ metadata: { name: 'vigil-rules' } });
    const bad = exportRuleFile(cfg, { format: 'prometheusrule', name: 'Vigil_Rules' });
    expect(bad.ok).toBe(false);
    if (!bad.ok)
      expect(bad.errors).toEqual([expect.stringMatching(/--name "Vigil_Rules" is not a Kubernetes/)]);
  });
});

describe('helpers', () => {
  it('promDuration writes Prometheus durations', () => {
    expect(promDuration(300_000)).toBe('5m');
    expect(promDuration(90_000)).toBe('1m30s');
    expect(promDuration(1500)).toBe('1s500ms');
    expect(promDuration(86_400_000 + 3_600_000)).toBe('1d1h');
    expect(promDuration(0)).toBe('0s');
  });

  it('toPrometheusTemplate turns {{value}} into {{ $value }} and quotes other braces', () => {
    expect(toPrometheusTemplate('p95 {{value}} ms')).toBe('p95 {{ $value }} ms');
    expect(toPrometheusTemplate('{{ value }} / {{$value}}')).toBe('{{ $value }} / {{ $value }}');
    expect(toPrometheusTemplate('literal {{x}}')).toBe('literal {{ "{{" }}x}}');
  });
});

describe('rule files with promtool', () => {
  it('every stat kind, grouping and matcher passes `promtool check rules`', () => {
    const text = ruleFile(
      [
        "views: [{instrument_name: '*.duration', aggregation: explicit_bucket_histogram}]",
        'evaluation_interval: 1s500ms',
        'signals:',
        '  p50: {metric: http.server.request.duration, stat: p50, unit: ms, metric_unit: s, by: [service.name]}',
        '  p99: {metric: http.server.request.duration, stat: p99, window: 90s, where: {http.route: "~/odds/.*"}}',
        '  req_rate: {metric: http.server.request.duration, stat: rate, per: 1m, by: [service.name]}',
        '  req_count: {metric: http.server.request.duration, stat: count}',
        '  dur_sum: {metric: http.server.request.duration, stat: sum, unit: ms, metric_unit: s}',
        '  ingest_avg: {metric: ingestion.duration, stat: avg, unit: ms, metric_unit: s}',
        '  events: {metric: stream.events, stat: rate, where: {service.name: "odds", service.namespace: shop}}',
        '  records: {metric: ingestion.records, stat: increase, by: [service.instance.id]}',
        '  backlog: {metric: stream.recompute_backlog, stat: last, by: [service.name]}',
        '  depth_min: {metric: queue.depth, stat: min}',
        '  depth_max: {metric: queue.depth, stat: max, where: {queue: "a\\"b"}}',
        "  cpu: {metric: process.cpu.utilization, stat: avg, window: 1m, unit: '%', metric_unit: '1'}",
        '  hit_rate:',
        '    ratio:',
        '      numerator: {metric: cache.operations, stat: increase, where: {result: hit}, by: [service.name]}',
        '      denominator: {metric: cache.operations, stat: increase, by: [service.name]}',
        'rules:',
        '  - {name: A, expr: p50 > 4 * baseline(p50), for: 2m, keep_firing_for: 1m}',
        '  - {name: B, expr: hit_rate < 0.2 and req_rate > 10 or not events}',
        '  - {name: C, expr: "absent(backlog) or depth_max - depth_min > 5 and cpu > 90"}',
        '  - {name: D, expr: records / 60 > 2 * ingest_avg, summary: "{{value}} {{weird}}"}',
        '  - {name: E, expr: p99 + dur_sum > req_count}',
      ].join('\n'),
    );
    expect(promtool(['check', 'rules', 'rules.yml'], { 'rules.yml': text })).toContain(
      'SUCCESS: 18 rules found',
    );
  });

  it('a gauge `last > 1000` rule with for and keep_firing_for fires and resolves as intended', () => {
    const rules = ruleFile(
      [
        'evaluation_interval: 15s',
        'signals:',
        '  backlog: {metric: stream.recompute_backlog, stat: last, window: 5m, by: [service.name]}',
        'rules:',
        '  - name: BACKLOG_HIGH',
        '    severity: critical',
        '    expr: backlog > 1000',
        '    for: 1m',
        '    keep_firing_for: 30s',
        "    summary: 'recompute backlog {{value}}'",
      ].join('\n'),
    );
    // pricing's two instances sum to 600, then 1600 from 1m to 3m30s, then 300; odds stays at 200.
    const alert =
      '{exp_labels: {severity: critical, job: shop/pricing}, exp_annotations: {summary: recompute backlog 1600}}';
    const test = [
      'rule_files: [rules.yml]',
      'evaluation_interval: 15s',
      'tests:',
      '  - interval: 15s',
      '    input_series:',
      '      - {series: \'stream_recompute_backlog{job="shop/pricing", instance="p-1"}\', values: \'500x3 1500x10 200x10\'}',
      '      - {series: \'stream_recompute_backlog{job="shop/pricing", instance="p-2"}\', values: \'100x24\'}',
      '      - {series: \'stream_recompute_backlog{job="odds", instance="o-1"}\', values: \'200x24\'}',
      '    alert_rule_test:',
      '      - {eval_time: 45s, alertname: BACKLOG_HIGH, exp_alerts: []}',
      // True from 1m: pending, not yet firing.
      '      - {eval_time: 1m45s, alertname: BACKLOG_HIGH, exp_alerts: []}',
      `      - {eval_time: 2m, alertname: BACKLOG_HIGH, exp_alerts: [${alert}]}`,
      `      - {eval_time: 3m30s, alertname: BACKLOG_HIGH, exp_alerts: [${alert}]}`,
      // The condition clears at 3m45s; keep_firing_for holds the alert 30s more.
      `      - {eval_time: 4m, alertname: BACKLOG_HIGH, exp_alerts: [${alert}]}`,
      '      - {eval_time: 4m30s, alertname: BACKLOG_HIGH, exp_alerts: []}',
      '    promql_expr_test:',
      '      - expr: vigil:backlog',
      '        eval_time: 2m',
      '        exp_samples:',
      '          - {labels: \'vigil:backlog{job="shop/pricing"}\', value: 1600}',
      '          - {labels: \'vigil:backlog{job="odds"}\', value: 200}',
    ].join('\n');
    expect(promtool(['test', 'rules', 'test.yml'], { 'rules.yml': rules, 'test.yml': test })).toContain(
      'SUCCESS',
    );
  });

  it('a cache hit-rate rule fires when no hit series exists at all (ratio 0, not absent)', () => {
    const rules = ruleFile(
      [
        'evaluation_interval: 15s',
        'signals:',
        '  ops: {metric: cache.operations, stat: increase}',
        '  hit_rate:',
        '    ratio:',
        '      numerator: {metric: cache.operations, stat: increase, where: {result: hit}}',
        '      denominator: {metric: cache.operations, stat: increase}',
        'rules:',
        "  - {name: LOW_HIT_RATE, expr: hit_rate < 0.2 and ops > 100, summary: 'hit rate {{value}}'}",
      ].join('\n'),
    );
    const test = [
      'rule_files: [rules.yml]',
      'evaluation_interval: 15s',
      'tests:',
      // Only misses: the numerator has no series, the ratio is still 0.
      '  - interval: 15s',
      '    input_series:',
      '      - {series: \'cache_operations_total{job="api", result="miss"}\', values: \'0+100x40\'}',
      '    alert_rule_test:',
      '      - eval_time: 5m',
      '        alertname: LOW_HIT_RATE',
      '        exp_alerts: [{exp_labels: {severity: warning}, exp_annotations: {summary: hit rate 0}}]',
      // Half hits: healthy. No traffic at all: absent, not an alert.
      '  - interval: 15s',
      '    input_series:',
      '      - {series: \'cache_operations_total{job="api", result="miss"}\', values: \'0+100x40\'}',
      '      - {series: \'cache_operations_total{job="api", result="hit"}\', values: \'0+100x40\'}',
      '      - {series: \'cache_operations_total{job="idle", result="miss"}\', values: \'0x40\'}',
      '    alert_rule_test:',
      '      - {eval_time: 5m, alertname: LOW_HIT_RATE, exp_alerts: []}',
    ].join('\n');
    expect(promtool(['test', 'rules', 'test.yml'], { 'rules.yml': rules, 'test.yml': test })).toContain(
      'SUCCESS',
    );
  });

  it('a p95 rule and a 4x-baseline rule fire on a latency spike after a day of normal traffic', () => {
    const rules = ruleFile(
      [
        'evaluation_interval: 1m',
        'signals:',
        '  p95_ms: {metric: http.server.request.duration, stat: p95, unit: ms, metric_unit: s, by: [service.name]}',
        'rules:',
        '  - {name: HIGH_P95, expr: p95_ms > 1500}',
        '  - {name: DEGRADED, expr: p95_ms > 4 * baseline(p95_ms), for: 2m}',
      ].join('\n'),
      true,
    );
    // 80 requests a minute: 72 under 100ms, 8 under 500ms (p95 = 300ms) for 24h; then all of
    // them between 1s and 10s (p95 7.75s once the 5m window holds one spike minute).
    const bucket = (le: string, normal: number, spike: number): string =>
      `      - {series: 'http_server_request_duration_seconds_bucket{job="shop/pricing", le="${le}"}', ` +
      `values: '0+${normal}x1440 ${normal * 1440 + spike}+${spike}x20'}`;
    const fired = '[{exp_labels: {severity: warning, job: shop/pricing}}]';
    const test = [
      'rule_files: [rules.yml]',
      'evaluation_interval: 1m',
      'tests:',
      '  - interval: 1m',
      '    input_series:',
      bucket('0.1', 72, 0),
      bucket('0.5', 80, 0),
      bucket('1', 80, 0),
      bucket('10', 80, 80),
      bucket('+Inf', 80, 80),
      '    alert_rule_test:',
      '      - {eval_time: 12h, alertname: HIGH_P95, exp_alerts: []}',
      '      - {eval_time: 12h, alertname: DEGRADED, exp_alerts: []}',
      `      - {eval_time: 24h1m, alertname: HIGH_P95, exp_alerts: ${fired}}`,
      // Pending for `for: 2m` from 24h1m.
      '      - {eval_time: 24h2m, alertname: DEGRADED, exp_alerts: []}',
      `      - {eval_time: 24h3m, alertname: DEGRADED, exp_alerts: ${fired}}`,
      '    promql_expr_test:',
      '      - expr: round(vigil:p95_ms)',
      '        eval_time: 12h',
      '        exp_samples: [{labels: \'{job="shop/pricing"}\', value: 300}]',
    ].join('\n');
    expect(promtool(['test', 'rules', 'test.yml'], { 'rules.yml': rules, 'test.yml': test })).toContain(
      'SUCCESS',
    );
  });
});
