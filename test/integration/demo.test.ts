import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CYCLE_S, INCIDENTS } from '../../src/demo/scenario.js';
import { startDemoProcess, type DemoProcess } from '../helpers/demo-process.js';
import { parseExposition } from '../helpers/prometheus-text.js';
import { startPrometheus, type RealPrometheus } from '../helpers/real-prometheus.js';
import { eventually, REPO } from '../helpers/vigil-process.js';

/**
 * `vigil demo` (SPEC §1) as a newcomer runs it, four times faster so the whole tour takes about
 * a minute: every incident is staged and logged, each shipped rule fires during the incident
 * meant for it (and at no other time) and resolves after it. The same run feeds the Grafana
 * dashboard check (SPEC §11): every PromQL query in deploy/grafana/vigil-dashboard.json parses
 * with Prometheus's own grammar (lezer-promql), reads only metric names and labels present on
 * this vigil's /metrics, and runs on a real Prometheus scraping it.
 */

const SPEED = 4;
const DASHBOARD = JSON.parse(
  readFileSync(join(REPO, 'deploy/grafana/vigil-dashboard.json'), 'utf8'),
) as Dashboard;

interface Target {
  expr: string;
  refId: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
  datasource?: { uid: string };
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: string | { query: string } }> };
}

/** Grafana's variables, as "All" selects them; `$__rate_interval` as Grafana computes it for a 1s scrape. */
function substitute(expr: string): string {
  return expr
    .replace(/\$__rate_interval/g, '15s')
    .replace(/\$\{?(vigil|source|signal)\}?/g, '.*')
    .replace(/\$\{?datasource\}?/g, 'prometheus');
}

/** Every PromQL expression of the dashboard: panel targets and `label_values` variables. */
function dashboardQueries(): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  for (const p of DASHBOARD.panels)
    for (const t of p.targets ?? [])
      out.push({ where: `panel "${p.title}" ${t.refId}`, expr: substitute(t.expr) });
  for (const v of DASHBOARD.templating.list) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : v.query.query;
    const m = /^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(q);
    if (m === null) throw new Error(`variable ${v.name}: unsupported query ${q}`);
    // label_values(selector, label) needs the label on the selected series.
    out.push({ where: `variable ${v.name}`, expr: `count by (${m[2]}) (${m[1]})` });
  }
  return out;
}

interface Selector {
  metric: string;
  labels: string[];
}

/** Parse with Prometheus's grammar; the vector selectors, or the syntax errors. */
function selectors(expr: string): { errors: string[]; selectors: Selector[] } {
  const tree = parser.parse(expr);
  const errors: string[] = [];
  const out: Selector[] = [];
  tree.iterate({
    enter(n) {
      if (n.type.isError) errors.push(`syntax error at ${n.from}: ${expr.slice(n.from, n.from + 20)}`);
      if (n.name !== 'VectorSelector') return;
      const metric = n.node.getChild('Identifier');
      const labels: string[] = [];
      n.node.cursor().iterate((c) => {
        if (c.name === 'LabelName') labels.push(expr.slice(c.from, c.to));
      });
      out.push({ metric: metric === null ? '' : expr.slice(metric.from, metric.to), labels });
    },
  });
  return { errors, selectors: out };
}

let demo: DemoProcess;
let prometheus: RealPrometheus;
/** Statuses each source and the OTLP circuit breaker went through, from /metrics every 250 ms. */
const statuses = new Map<string, number[]>();
let poller: NodeJS.Timeout;

beforeAll(async () => {
  demo = await startDemoProcess(['--speed', String(SPEED)]);
  prometheus = await startPrometheus(new URL(demo.metrics).host);
  poller = setInterval(() => {
    void fetch(`${demo.metrics}/metrics`)
      .then((r) => r.text())
      .then((text) => {
        for (const s of parseExposition(text)) {
          const key =
            s.name === 'vigil_source_status'
              ? s.labels['source']!
              : s.name === 'vigil_exporter_circuit_breaker_state'
                ? 'otlp circuit breaker'
                : undefined;
          if (key === undefined) continue;
          const seen = statuses.get(key) ?? [];
          if (seen[seen.length - 1] !== s.value) seen.push(s.value);
          statuses.set(key, seen);
        }
      })
      .catch(() => undefined);
  }, 250);
});

afterAll(async () => {
  clearInterval(poller);
  await prometheus?.stop();
  expect(await demo?.stop()).toBe(0);
});

describe('deploy/grafana/vigil-dashboard.json', () => {
  it('is a Grafana dashboard: unique panel ids, panels on the 24-column grid, Prometheus datasource variable', () => {
    expect(DASHBOARD.uid).toBe('vigil-overview');
    expect(DASHBOARD.schemaVersion).toBeGreaterThanOrEqual(36);
    const ids = DASHBOARD.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of DASHBOARD.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      if (p.type !== 'row') expect(p.datasource?.uid, p.title).toBe('${datasource}');
    }
    expect(DASHBOARD.templating.list.find((v) => v.name === 'datasource')?.type).toBe('datasource');
    // The panels the SPEC names.
    const titles = DASHBOARD.panels.map((p) => p.title).join('\n');
    for (const t of [
      'Overall status',
      'Rule states',
      'p50–p99',
      'Error rate',
      'Points accepted',
      'Points rejected',
      'OTLP points sent',
      'OTLP circuit breaker',
    ])
      expect(titles).toContain(t);
  });

  it('every query parses and reads only metrics and labels on a running vigil fed by the demo', async () => {
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(15);
    const wanted = new Map<string, Set<string>>();
    for (const q of queries) {
      const parsed = selectors(q.expr);
      expect(parsed.errors, `${q.where}: ${q.expr}`).toEqual([]);
      expect(parsed.selectors.length, q.where).toBeGreaterThan(0);
      for (const s of parsed.selectors) {
        expect(s.metric, `${q.where}: selector without a metric name`).not.toBe('');
        const labels = wanted.get(s.metric) ?? new Set<string>();
        for (const l of s.labels) labels.add(l);
        wanted.set(s.metric, labels);
      }
    }
    // Series appear as the demo goes (alerts, rejected points, the second scrape's duration).
    const missing = (text: string): string[] => {
      const have = new Map<string, Set<string>>();
      for (const s of parseExposition(text)) {
        const ls = have.get(s.name) ?? new Set<string>();
        for (const l of Object.keys(s.labels)) ls.add(l);
        have.set(s.name, ls);
      }
      const out: string[] = [];
      for (const [metric, labels] of wanted) {
        if (!have.has(metric)) out.push(metric);
        else for (const l of labels) if (!have.get(metric)!.has(l)) out.push(`${metric}{${l}}`);
      }
      return out;
    };
    let last: string[] = [];
    await eventually(
      async () => {
        last = missing(await (await fetch(`${demo.metrics}/metrics`)).text());
        return last.length === 0;
      },
      40_000,
      500,
    ).catch(() => undefined);
    expect(last, 'metrics or labels the dashboard reads that vigil does not serve').toEqual([]);
  });

  it('every query runs on a real Prometheus scraping that vigil (honor_labels), with data', async () => {
    await eventually(
      async () => (await prometheus.query('vigil_reliability_status')).length > 0,
      20_000,
      500,
    );
    // A few scrapes so that rate() over 15s has samples.
    await new Promise((r) => setTimeout(r, 4_000));
    const empty: string[] = [];
    for (const q of dashboardQueries()) {
      const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(q.expr)}`);
      const body = (await res.json()) as { status: string; error?: string; data?: { result: unknown[] } };
      expect(body.status, `${q.where}: ${body.error ?? ''}`).toBe('success');
      if ((body.data?.result.length ?? 0) === 0) empty.push(q.where);
    }
    expect(empty).toEqual([]);
  });
});

describe('vigil demo', () => {
  it('stages every incident; each shipped rule fires during its incident, never outside one, and resolves', async () => {
    const rules = INCIDENTS.flatMap((i) => i.expect).filter((e) => /^[A-Z0-9_]+$/.test(e));
    expect(new Set(rules).size).toBe(9); // the eight seed rules and LATENCY_DEGRADATION
    // The first cycle only: the second one stages the same incidents again.
    const startedMs = demo.logs.find((l) => String(l['msg']).startsWith('demo started'))!.receivedMs;
    const firstCycle = () => demo.logs.filter((l) => l.receivedMs < startedMs + (CYCLE_S / SPEED) * 1000);
    const resolvedAll = () => {
      const fired = new Set<string>();
      const open = new Set<string>();
      for (const l of firstCycle()) {
        if (l['msg'] === 'alert firing') {
          fired.add(String(l['rule']));
          open.add(String(l['rule']));
        }
        if (l['msg'] === 'alert resolved') open.delete(String(l['rule']));
      }
      return rules.every((r) => fired.has(r)) && open.size === 0;
    };
    const lastEnd = Math.max(...INCIDENTS.map((i) => i.endS));
    await eventually(async () => resolvedAll(), ((lastEnd + 60) / SPEED) * 1000 + 20_000, 500);

    // Incident windows in wall-clock time, from the demo's own log lines.
    const windows = new Map<string, { start: number; end: number }>();
    for (const l of firstCycle()) {
      const name = String(l['incident']);
      if (String(l['msg']).startsWith('incident started'))
        windows.set(name, { start: l.receivedMs, end: Infinity });
      if (String(l['msg']).startsWith('incident over')) windows.get(name)!.end = l.receivedMs;
    }
    expect([...windows.keys()].sort()).toEqual(INCIDENTS.map((i) => i.name).sort());
    // A rule may still fire shortly after its incident ends (its window still holds the bad data).
    const graceMs = (30_000 / SPEED) * 1.5;
    for (const l of firstCycle().filter((x) => x['msg'] === 'alert firing')) {
      const rule = String(l['rule']);
      const during = INCIDENTS.filter((i) => i.expect.includes(rule)).some((i) => {
        const w = windows.get(i.name)!;
        return l.receivedMs >= w.start && l.receivedMs <= w.end + graceMs;
      });
      expect(during, `${rule} fired outside its incident`).toBe(true);
    }
    // Sources: the latency spike degrades pricing, the outage fails cex-binance; both recover.
    await eventually(async () => statuses.get('cex-binance')?.at(-1) === 0, 20_000);
    expect(statuses.get('pricing')).toContain(1);
    expect(statuses.get('cex-binance')).toContain(2);
    // The demo collector's outage opens the exporter's circuit breaker; it closes again after.
    await eventually(async () => {
      const b = statuses.get('otlp circuit breaker') ?? [];
      return b.includes(2) && b.at(-1) === 0;
    }, 30_000);
    expect(demo.logs.some((l) => l['msg'] === 'OTLP circuit breaker state changed')).toBe(true);
    expect(CYCLE_S / SPEED).toBeLessThan(90);
  }, 180_000);
});
