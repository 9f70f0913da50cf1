import { stringify } from 'yaml';
import type { MeasureConfig, ParsedConfig, RuleConfig } from '../config/schema.js';
import { labelName, metricName } from '../export/prometheus-naming.js';
import { globToRegExp } from '../ingest/views.js';
import { unitFactor } from '../signals/units.js';
import { ExprError, parseExpr, signalRefs, toPromQL } from './expr.js';

/**
 * `vigil rules export` (SPEC §1): the configured signals and rules as a Prometheus rule file, or
 * as a Kubernetes `PrometheusRule` — the same rules evaluated fleet-wide by Prometheus over the
 * series vigil serves on /metrics (or the collector forwards), named as otlptranslator names them.
 *
 * One group `vigil` (interval = `evaluation_interval`): a recording rule `vigil:<signal>` per
 * signal, for dashboards, then one alerting rule per vigil rule. Alert expressions inline their
 * signals' PromQL instead of reading the recording rules, so they never depend on the order or
 * the success of other rules in the same evaluation.
 *
 * Signal → PromQL. The Prometheus series type follows from the stat, and where a stat fits
 * several types, from how the rest of the config uses the metric (a percentile, `sources.metric`
 * or a `views` glob make it a histogram; rate/increase a counter; last/min/max a gauge):
 *   p50…p99                  histogram_quantile(0.95, sum by (le, <by>) (rate(<m>_bucket{<where>}[w])))
 *   rate                     sum by (<by>) (rate(<m>_total[w]))       histogram: <m>_count
 *   increase                 sum by (<by>) (increase(<m>_total[w]))   histogram: <m>_count
 *   count                    as increase (a histogram's observations, or a counter's increase)
 *   sum                      histogram: increase of <m>_sum; counter: increase; gauge: as last
 *   avg                      histogram: sum(rate(<m>_sum[w])) / (sum(rate(<m>_count[w])) > 0);
 *                            gauge: avg by (<by>) (avg_over_time(<m>[w])). Without other evidence
 *                            a dimensionless metric (metric_unit `1` or `%`, a utilisation) is a
 *                            gauge, anything else a histogram.
 *   last                     sum by (<by>) (last_over_time(<m>[w])) — vigil sums each group's
 *                            latest values
 *   min, max                 min/max by (<by>) (min/max_over_time(<m>[w])) on gauges only:
 *                            Prometheus histograms keep no min/max
 *   ratio                    (<num> or 0 * <den>) / (<den> > 0): as vigil, a group with traffic
 *                            but no numerator series is 0, a zero denominator is absent
 *   baseline(s)              avg_over_time((<s>)[24h:10m]): a subquery samples the signal every
 *                            10 minutes over 24h, as vigil's 10-minute trend buckets do; it needs
 *                            no recording rule, so it holds from the first evaluation on
 * The series name is `metricName` of the metric in `metric_unit` (default: the `metric_unit`
 * another signal states for the same metric, then the signal's `unit`); values are multiplied by
 * `unitFactor(metric_unit, unit)`, and rates by `per` in seconds.
 *
 * Attributes (`by`, `where`): `service.name` is the `job` label, which vigil writes as
 * `service.namespace/service.name`, so it matches `job=~"(.+/)?<name>"` and groups `by (job)`
 * (services of the same name in two namespaces stay apart); `service.namespace` matches the
 * front of `job` and cannot be grouped by; `service.instance.id` is `instance`; other keys go
 * through `labelName` and must be point attributes (resource attributes are only on
 * target_info). Prometheus must scrape vigil with `honor_labels: true`, or these become
 * `exported_job`/`exported_instance`. `where` values: exact `="v"`, `~re` → `=~"re"` (RE2: no
 * lookaround or backreferences).
 *
 * Known differences: `increase`/`rate` extrapolate to the window edges and read Prometheus's
 * scrapes rather than vigil's exact windows; gauge avg averages per-series averages.
 */

export const RULE_FILE_FORMATS = ['rules', 'prometheusrule'] as const;
export type RuleFileFormat = (typeof RULE_FILE_FORMATS)[number];

export function isRuleFileFormat(s: string): s is RuleFileFormat {
  return (RULE_FILE_FORMATS as readonly string[]).includes(s);
}

/** The parts of the config an export reads. */
export type ExportConfig = Pick<
  ParsedConfig,
  'signals' | 'rules' | 'evaluation_interval' | 'views' | 'sources'
>;

export interface RuleFileOptions {
  /** Default `rules`. */
  format?: RuleFileFormat | undefined;
  /** `metadata.name` of the PrometheusRule (default `vigil-rules`). */
  name?: string | undefined;
  /** The config file, named in the header comment. */
  source?: string | undefined;
}

export type RuleFileResult =
  { ok: true; text: string; warnings: string[] } | { ok: false; errors: string[]; warnings: string[] };

/** A signal as PromQL, with the label names its samples carry. */
export type SignalExport =
  { ok: true; expr: string; groupLabels: readonly string[] } | { ok: false; reason: string };

export type PromRule =
  | { record: string; expr: string }
  | {
      alert: string;
      expr: string;
      for?: string;
      keep_firing_for?: string;
      labels: Record<string, string>;
      annotations?: Record<string, string>;
    };

export interface PromRuleGroup {
  name: string;
  interval: string;
  rules: PromRule[];
}

export const DEFAULT_RESOURCE_NAME = 'vigil-rules';
const RESOURCE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The rule file (or PrometheusRule object) as YAML text, or why it cannot be written. */
export function exportRuleFile(config: ExportConfig, options: RuleFileOptions = {}): RuleFileResult {
  const name = options.name ?? DEFAULT_RESOURCE_NAME;
  const built = buildRuleGroups(config);
  const errors = [...built.errors];
  if (options.format === 'prometheusrule' && (!RESOURCE_NAME.test(name) || name.length > 253))
    errors.push(
      `--name ${JSON.stringify(name)} is not a Kubernetes object name (lowercase a-z, 0-9, '-', '.')`,
    );
  if (errors.length > 0) return { ok: false, errors, warnings: built.warnings };
  const body =
    options.format === 'prometheusrule'
      ? {
          apiVersion: 'monitoring.coreos.com/v1',
          kind: 'PrometheusRule',
          metadata: { name },
          spec: { groups: built.groups },
        }
      : { groups: built.groups };
  const from = options.source === undefined ? '' : ` from ${options.source}`;
  const header = `# Generated by \`vigil rules export\`${from}: edit the vigil config, not this file.\n`;
  return { ok: true, text: header + stringify(body, { lineWidth: 0 }), warnings: built.warnings };
}

/**
 * The `vigil` rule group. `errors`: rules that cannot be expressed in PromQL; `warnings`:
 * signals no rule reads that cannot be expressed (left out of the recording rules).
 */
export function buildRuleGroups(config: ExportConfig): {
  groups: PromRuleGroup[];
  errors: string[];
  warnings: string[];
} {
  const signals = exportSignals(config);
  const errors: string[] = [];
  const used = new Set<string>();
  const alerts: PromRule[] = [];
  for (const rule of config.rules) {
    const refs = signalRefs(parseExpr(rule.expr));
    refs.forEach((s) => used.add(s));
    const failed = refs.flatMap((s) => {
      const sig = signals.get(s);
      return sig === undefined || sig.ok ? [] : [`signal ${s}: ${sig.reason}`];
    });
    if (failed.length > 0) {
      errors.push(`rule ${rule.name} cannot be expressed in PromQL: ${failed.join('; ')}`);
      continue;
    }
    try {
      alerts.push(alertingRule(rule, signals));
    } catch (err) {
      if (!(err instanceof ExprError)) throw err;
      errors.push(
        `rule ${rule.name} cannot be expressed in PromQL: expr ${JSON.stringify(rule.expr)}: ${err.message}`,
      );
    }
  }
  const warnings: string[] = [];
  const records: PromRule[] = [];
  for (const [name, sig] of signals) {
    if (sig.ok) records.push({ record: `vigil:${name}`, expr: sig.expr });
    else if (!used.has(name)) warnings.push(`signal ${name} left out (no PromQL equivalent): ${sig.reason}`);
  }
  const group = {
    name: 'vigil',
    interval: promDuration(config.evaluation_interval),
    rules: [...records, ...alerts],
  };
  return { groups: [group], errors, warnings };
}

function alertingRule(rule: RuleConfig, signals: ReadonlyMap<string, SignalExport>): PromRule {
  const get = (name: string): { expr: string; groupLabels: readonly string[] } => {
    const sig = signals.get(name);
    if (sig === undefined || !sig.ok) throw new Error(`signal ${name} not exported`); // checked by the caller
    return sig;
  };
  const expr = toPromQL(
    parseExpr(rule.expr),
    (s) => get(s).expr,
    (s) => `avg_over_time((${get(s).expr})[24h:10m])`,
    { groupLabels: (s) => get(s).groupLabels },
  );
  const annotations: Record<string, string> = {};
  for (const key of ['summary', 'description', 'recommendation'] as const)
    if (rule[key] !== '') annotations[key] = toPrometheusTemplate(rule[key]);
  return {
    alert: rule.name,
    expr,
    ...(rule.for > 0 ? { for: promDuration(rule.for) } : {}),
    ...(rule.keep_firing_for > 0 ? { keep_firing_for: promDuration(rule.keep_firing_for) } : {}),
    labels: { severity: rule.severity, ...rule.labels },
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
  };
}

const VALUE_TEMPLATE = /\{\{\s*\$?value\s*\}\}/g;

/** vigil's `{{value}}` → `{{ $value }}`; any other `{{` is literal text in vigil, so it is quoted. */
export function toPrometheusTemplate(text: string): string {
  return text
    .split(VALUE_TEMPLATE)
    .map((part) => part.replaceAll('{{', '{{ "{{" }}'))
    .join('{{ $value }}');
}

/** Every signal as PromQL, or why it has none. */
export function exportSignals(config: ExportConfig): Map<string, SignalExport> {
  const evidence = metricEvidence(config);
  const out = new Map<string, SignalExport>();
  for (const [name, cfg] of Object.entries(config.signals)) {
    try {
      if (cfg.ratio !== undefined) {
        const num = measurePromQL(cfg.ratio.numerator, evidence);
        const den = measurePromQL(cfg.ratio.denominator, evidence);
        const expr = `(${num.expr} or 0 * ${den.expr}) / (${den.expr} > 0)`;
        out.set(name, { ok: true, expr, groupLabels: num.groupLabels });
      } else {
        out.set(name, {
          ok: true,
          ...measurePromQL({ ...cfg, metric: cfg.metric!, stat: cfg.stat! }, evidence),
        });
      }
    } catch (err) {
      if (!(err instanceof NotExpressible)) throw err;
      out.set(name, { ok: false, reason: err.message });
    }
  }
  return out;
}

class NotExpressible extends Error {}

type SeriesType = 'histogram' | 'counter' | 'gauge';

/** What the whole config says about a metric, beyond one signal's stat. */
interface Evidence {
  histogram: boolean;
  /** A percentile or `sources.metric`: certainly a histogram (a views glob only suggests it). */
  certainHistogram: boolean;
  counter: boolean;
  gauge: boolean;
  metricUnit: string | undefined;
}

const PERCENTILES: Readonly<Record<string, number>> = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 };

function metricEvidence(config: ExportConfig): Map<string, Evidence> {
  const out = new Map<string, Evidence>();
  const of = (metric: string): Evidence => {
    let e = out.get(metric);
    if (e === undefined) {
      e = { histogram: false, certainHistogram: false, counter: false, gauge: false, metricUnit: undefined };
      out.set(metric, e);
    }
    return e;
  };
  for (const cfg of Object.values(config.signals)) {
    const measures = cfg.ratio !== undefined ? [cfg.ratio.numerator, cfg.ratio.denominator] : [cfg];
    for (const m of measures) {
      if (m.metric === undefined || m.stat === undefined) continue;
      const e = of(m.metric);
      e.metricUnit ??= m.metric_unit;
      if (m.stat in PERCENTILES) e.histogram = e.certainHistogram = true;
      else if (m.stat === 'rate' || m.stat === 'increase') e.counter = true;
      else if (m.stat === 'last' || m.stat === 'min' || m.stat === 'max') e.gauge = true;
    }
  }
  if (config.sources.enabled) {
    const e = of(config.sources.metric);
    e.histogram = e.certainHistogram = true;
  }
  const views = config.views.map((v) => globToRegExp(v.instrument_name));
  for (const [metric, e] of out) if (views.some((re) => re.test(metric))) e.histogram = true;
  return out;
}

function seriesType(m: MeasureConfig, e: Evidence, metricUnit: string): SeriesType {
  const what = `stat ${m.stat} of ${m.metric}`;
  switch (m.stat) {
    case 'p50':
    case 'p90':
    case 'p95':
    case 'p99':
      return 'histogram';
    case 'rate':
    case 'increase':
      return e.histogram ? 'histogram' : 'counter';
    case 'min':
    case 'max':
      if (e.certainHistogram)
        throw new NotExpressible(`${what}: Prometheus histograms keep no minimum or maximum`);
      return 'gauge';
    case 'last':
      if (e.certainHistogram) throw new NotExpressible(`${what}: a histogram has no last value`);
      return e.counter && !e.histogram ? 'counter' : 'gauge';
    case 'avg':
      if (e.histogram) return 'histogram';
      return e.gauge || metricUnit === '1' || metricUnit === '%' ? 'gauge' : 'histogram';
    case 'sum':
      return e.histogram ? 'histogram' : e.counter ? 'counter' : e.gauge ? 'gauge' : 'histogram';
    case 'count':
      if (e.histogram) return 'histogram';
      if (e.counter) return 'counter';
      if (!e.gauge) return 'histogram';
      throw new NotExpressible(
        `${what}: counts vigil's own samples of a gauge, which Prometheus's scrapes do not`,
      );
  }
}

function measurePromQL(
  m: MeasureConfig,
  evidence: ReadonlyMap<string, Evidence>,
): {
  expr: string;
  groupLabels: string[];
} {
  const e = evidence.get(m.metric)!;
  const metricUnit = m.metric_unit ?? e.metricUnit ?? m.unit ?? '';
  const factor = m.unit === undefined ? 1 : unitFactor(metricUnit, m.unit);
  if (factor === undefined) throw new NotExpressible(`cannot convert ${metricUnit} to ${m.unit}`);
  const type = seriesType(m, e, metricUnit);
  const groups = m.by.map(groupLabel);
  const by = groups.length > 0 ? ` by (${groups.join(', ')}) ` : '';
  const range = `[${promDuration(m.window)}]`;
  const base = metricName({
    name: m.metric,
    unit: metricUnit,
    kind: type === 'counter' ? 'sum' : type,
    monotonic: type === 'counter',
  });
  const sel = (suffix: string): string => `${base}${suffix}${matchers(m.where)}${range}`;
  const perSecond = (m.per ?? 1000) / 1000;
  const q = PERCENTILES[m.stat];
  const expr = (): string => {
    if (q !== undefined) {
      const le = ['le', ...groups].join(', ');
      return scaled(`histogram_quantile(${q}, sum by (${le}) (rate(${sel('_bucket')})))`, factor);
    }
    if (type === 'histogram') {
      switch (m.stat) {
        case 'rate':
          return scaled(`sum${by}(rate(${sel('_count')}))`, perSecond);
        case 'sum':
          return scaled(`sum${by}(increase(${sel('_sum')}))`, factor);
        case 'avg':
          return scaled(`sum${by}(rate(${sel('_sum')})) / (sum${by}(rate(${sel('_count')})) > 0)`, factor);
        default: // increase, count
          return `sum${by}(increase(${sel('_count')}))`;
      }
    }
    if (type === 'counter') {
      switch (m.stat) {
        case 'rate':
          return scaled(`sum${by}(rate(${sel('')}))`, factor * perSecond);
        case 'last':
          return scaled(`sum${by}(last_over_time(${sel('')}))`, factor);
        default: // increase, sum, count
          return scaled(`sum${by}(increase(${sel('')}))`, m.stat === 'count' ? 1 : factor);
      }
    }
    switch (m.stat) {
      case 'avg':
        return scaled(`avg${by}(avg_over_time(${sel('')}))`, factor);
      case 'min':
      case 'max':
        return scaled(`${m.stat}${by}(${m.stat}_over_time(${sel('')}))`, factor);
      default: // last, sum
        return scaled(`sum${by}(last_over_time(${sel('')}))`, factor);
    }
  };
  return { expr: expr(), groupLabels: groups };
}

function scaled(expr: string, factor: number): string {
  return factor === 1 ? expr : `${expr} * ${Number(factor.toPrecision(15))}`;
}

/** The label a grouping attribute becomes. */
function groupLabel(key: string): string {
  if (key === 'service.name') return 'job';
  if (key === 'service.instance.id') return 'instance';
  if (key === 'service.namespace')
    throw new NotExpressible('cannot group by service.namespace: Prometheus has it only as the front of job');
  return labelName(key);
}

/** `where` as a label-matcher list (`{}` omitted). */
function matchers(where: MeasureConfig['where']): string {
  const out: string[] = [];
  for (const [key, raw] of Object.entries(where)) {
    const v = String(raw);
    const regex = v.startsWith('~') ? v.slice(1) : undefined;
    if (regex !== undefined && /\(\?<?[=!]|\\[1-9]/.test(regex))
      throw new NotExpressible(
        `where ${key}: ${v}: Prometheus regexes (RE2) have no lookaround or backreferences`,
      );
    if (key === 'service.name')
      out.push(`job=~${promString(`(.+/)?${regex === undefined ? escapeRegex(v) : `(?:${regex})`}`)}`);
    else if (key === 'service.namespace')
      out.push(`job=~${promString(`${regex === undefined ? escapeRegex(v) : `(?:${regex})`}/.+`)}`);
    else {
      const label = key === 'service.instance.id' ? 'instance' : labelName(key);
      out.push(regex === undefined ? `${label}=${promString(v)}` : `${label}=~${promString(regex)}`);
    }
  }
  return out.length === 0 ? '' : `{${out.join(', ')}}`;
}

function escapeRegex(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/** A PromQL double-quoted string literal (Go escapes). */
export function promString(s: string): string {
  return `"${s.replace(/[\\"\n\r\t]/g, (c) => ({ '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c]!)}"`;
}

/** Milliseconds as a Prometheus duration: `5m`, `1h30m`, `1s500ms`, `0s`. */
export function promDuration(ms: number): string {
  if (ms <= 0) return '0s';
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ];
  let rest = Math.round(ms);
  let out = '';
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}
