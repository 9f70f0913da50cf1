import { z } from 'zod';
import { alertingSchema } from '../alerting/alerting-config.js';
import { ExprError, parseExpr, signalUses, isReservedWord } from '../rules/expr.js';
import { unitFactor } from '../signals/units.js';
import { exportersSchema } from './exporters-schema.js';
import { limitsSchema } from './limits-schema.js';
import { durationMs, listenAddress } from './value-schemas.js';

/**
 * The one config schema (SPEC §1–§4): YAML keys are snake_case as in the contract; values with
 * units are converted here (durations to ms, sizes to bytes) so nothing downstream parses text.
 * Unknown keys are errors (`strict`), so a typo never silently keeps a default.
 */

const duration = (what = 'duration') => durationMs(0, what);
const listen = listenAddress;

const positiveInt = z.number().int().positive();

/** OTel instrument-name globs (`*` any run of characters, `?` one character), as SDK views take them. */
const viewSchema = z
  .object({
    instrument_name: z.string().min(1),
    aggregation: z.enum(['explicit_bucket_histogram', 'exponential_histogram']),
    boundaries: z.array(z.number()).optional(),
    max_size: z.number().int().min(2).max(16384).optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.boundaries !== undefined) {
      for (let i = 1; i < v.boundaries.length; i++) {
        if (!(v.boundaries[i]! > v.boundaries[i - 1]!)) {
          ctx.addIssue({
            code: 'custom',
            path: ['boundaries'],
            message: 'boundaries must be strictly increasing',
          });
          break;
        }
      }
      if (v.aggregation !== 'explicit_bucket_histogram')
        ctx.addIssue({
          code: 'custom',
          path: ['boundaries'],
          message: 'boundaries only apply to explicit_bucket_histogram',
        });
    }
  });

export const DEFAULT_LATENCY_BOUNDARIES_MS = [25, 50, 100, 200, 350, 500, 750, 1000, 1500, 2500, 5000];

export const SIGNAL_STATS = [
  'count',
  'sum',
  'rate',
  'increase',
  'avg',
  'min',
  'max',
  'last',
  'p50',
  'p90',
  'p95',
  'p99',
] as const;
export type SignalStat = (typeof SIGNAL_STATS)[number];

/** `where` values: exact match, or a regular expression after `~` (anchored, as PromQL's `=~`). */
const whereSchema = z
  .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
  .superRefine((w, ctx) => {
    for (const [k, v] of Object.entries(w)) {
      if (typeof v === 'string' && v.startsWith('~')) {
        try {
          new RegExp(`^(?:${v.slice(1)})$`);
        } catch (err) {
          ctx.addIssue({
            code: 'custom',
            path: [k],
            message: `invalid regular expression: ${(err as Error).message}`,
          });
        }
      }
    }
  });

const unitSchema = z.string().refine((u) => unitFactor(u, u) !== undefined, 'invalid unit');

const measureShape = {
  metric: z.string().min(1),
  stat: z.enum(SIGNAL_STATS),
  window: duration().default(5 * 60_000),
  unit: unitSchema.optional(),
  /**
   * The unit the metric is pushed in. vigil reads it from the data; `rules export` needs it to
   * name the Prometheus series (`_seconds`...) and convert. Default: `unit`.
   */
  metric_unit: unitSchema.optional(),
  /** For `rate`: the time unit of the rate (default per second). */
  per: duration().optional(),
  by: z.array(z.string().min(1)).default([]),
  where: whereSchema.default({}),
};

function checkMeasure(
  m: { stat?: SignalStat | undefined; per?: number | undefined; window: number },
  ctx: z.RefinementCtx,
): void {
  if (m.per !== undefined && m.stat !== 'rate')
    ctx.addIssue({ code: 'custom', path: ['per'], message: '`per` only applies to stat: rate' });
  if (m.window < 1000)
    ctx.addIssue({ code: 'custom', path: ['window'], message: 'window must be at least 1s' });
  if (m.window > 24 * 3_600_000)
    ctx.addIssue({ code: 'custom', path: ['window'], message: 'window must be at most 24h' });
}

/** One windowed statistic of one metric: a side of a ratio. */
const measureSchema = z.object(measureShape).strict().superRefine(checkMeasure);

/**
 * A signal: one measure (`metric` + `stat` ...) or a `ratio` of two. One object schema with a
 * check rather than a union, so an error points at the key that is wrong, not at "invalid input".
 */
const signalSchema = z
  .object({
    ...measureShape,
    metric: measureShape.metric.optional(),
    stat: measureShape.stat.optional(),
    ratio: z.object({ numerator: measureSchema, denominator: measureSchema }).strict().optional(),
    description: z.string().optional(),
  })
  .strict()
  .superRefine((sig, ctx) => {
    if (sig.ratio !== undefined) {
      for (const k of ['metric', 'stat', 'per'] as const)
        if (sig[k] !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: [k],
            message: `a ratio signal takes ${k} in numerator/denominator`,
          });
      const a = [...sig.ratio.numerator.by].sort().join(',');
      const b = [...sig.ratio.denominator.by].sort().join(',');
      if (a !== b)
        ctx.addIssue({
          code: 'custom',
          path: ['ratio', 'denominator', 'by'],
          message: 'numerator and denominator must group by the same attributes',
        });
      return;
    }
    if (sig.metric === undefined)
      ctx.addIssue({ code: 'custom', path: ['metric'], message: 'a signal needs metric and stat, or ratio' });
    if (sig.stat === undefined)
      ctx.addIssue({ code: 'custom', path: ['stat'], message: 'a signal needs metric and stat, or ratio' });
    checkMeasure(sig, ctx);
  });

const SIGNAL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const ruleSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'rule names are identifiers (letters, digits, _)'),
    severity: z.enum(['info', 'warning', 'critical']).default('warning'),
    expr: z.string().min(1),
    for: duration().default(0),
    keep_firing_for: duration().default(0),
    summary: z.string().default(''),
    description: z.string().default(''),
    recommendation: z.string().default(''),
    labels: z.record(z.string(), z.string()).default({}),
  })
  .strict();

const slaSchema = z
  .object({
    /** Latency thresholds; 0 disables. */
    p95: duration().optional(),
    p99: duration().optional(),
    min_success_rate: z.number().min(0).max(1).optional(),
    max_consecutive_failures: positiveInt.optional(),
    min_requests: z.number().int().min(0).optional(),
  })
  .strict();

const sourcesSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** The attribute that names a source (resource or point attribute). */
    attribute: z.string().min(1).default('service.name'),
    /** Histogram of request durations the SLA is judged on. */
    metric: z.string().min(1).default('http.server.request.duration'),
    window: duration().default(5 * 60_000),
    /** A request failed when this attribute is set (non-empty)... */
    failure_attribute: z.string().default('error.type'),
    /** ...or when this numeric attribute is >= failure_status_min. */
    status_attribute: z.string().default('http.response.status_code'),
    failure_status_min: z.number().default(500),
    sla: slaSchema.prefault({}),
    /** Per-source thresholds by name glob (`*`, `?`); the first match wins, unset keys fall back to `sla`. */
    presets: z
      .array(
        z
          .object({ match: z.string().min(1) })
          .strict()
          .extend(slaSchema.shape)
          .strict(),
      )
      .default([]),
  })
  .strict();

export const configSchema = z
  .object({
    listeners: z
      .object({
        ingest: listen.prefault('127.0.0.1:4318'),
        api: listen.prefault('0.0.0.0:8080'),
        metrics: listen.prefault('0.0.0.0:9464'),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
      })
      .strict()
      .prefault({}),
    /** Request, point and connection limits, load shedding (src/config/limits-schema.ts). */
    limits: limitsSchema.prefault({}),
    /** At least 100 ms: 0 made a timer that evaluated every rule as often as the event loop turned. */
    evaluation_interval: durationMs(100, 'evaluation_interval').default(1000),
    shutdown_timeout: duration().default(10_000),
    views: z.array(viewSchema).default([]),
    signals: z.record(z.string(), signalSchema).default({}),
    rules: z.array(ruleSchema).default([]),
    sources: sourcesSchema.prefault({}),
    report: z
      .object({
        /** Section name → {field name → signal name}, as the seed report's sections. */
        sections: z.record(z.string(), z.record(z.string(), z.string())).default({}),
      })
      .strict()
      .prefault({}),
    state: z
      .object({
        dir: z.string().min(1).optional(),
        snapshot_interval: duration().default(30_000),
        /** After a restart, restored alerts are held this long for their sources to push again. */
        restore_grace: duration().default(60_000),
      })
      .strict()
      .prefault({}),
    api: z
      .object({
        /** File holding the bearer token for write endpoints (else VIGIL_API_TOKEN). */
        token_file: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    ingest: z
      .object({
        /** File holding the bearer token every ingest request must send (else VIGIL_INGEST_TOKEN; none: open). */
        token_file: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    /** Alertmanager, webhooks, acknowledgements, escalation (SPEC §8; src/alerting/alerting-config.ts). */
    alerting: alertingSchema.prefault({}),
    /** The OTLP exporter (SPEC §7; src/config/exporters-schema.ts). */
    exporters: exportersSchema.prefault({}),
  })
  .strict()
  .superRefine((c, ctx) => checkReferences(c, ctx));

type Refs = {
  signals: Record<string, unknown>;
  rules: Array<{ name: string; expr: string }>;
  report: { sections: Record<string, Record<string, string>> };
};

/** Cross-references the per-key schemas cannot see: signal names in rules and report sections. */
function checkReferences(c: Refs, ctx: z.RefinementCtx): void {
  const signals = new Set(Object.keys(c.signals));
  for (const name of signals) {
    if (!SIGNAL_NAME.test(name) || isReservedWord(name))
      ctx.addIssue({
        code: 'custom',
        path: ['signals', name],
        message: `signal names are identifiers (letters, digits, _) and not and/or/not/absent/baseline`,
      });
  }
  const ruleNames = new Set<string>();
  c.rules.forEach((r, i) => {
    if (ruleNames.has(r.name))
      ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `duplicate rule name ${r.name}` });
    ruleNames.add(r.name);
    try {
      const expr = parseExpr(r.expr);
      for (const use of signalUses(expr)) {
        if (!signals.has(use.name))
          ctx.addIssue({
            code: 'custom',
            path: ['rules', i, 'expr'],
            message: `unknown signal ${JSON.stringify(use.name)} at column ${use.column}`,
          });
      }
    } catch (err) {
      if (!(err instanceof ExprError)) throw err;
      ctx.addIssue({ code: 'custom', path: ['rules', i, 'expr'], message: err.message });
    }
  });
  for (const [section, fields] of Object.entries(c.report.sections)) {
    for (const [field, signal] of Object.entries(fields)) {
      if (!signals.has(signal))
        ctx.addIssue({
          code: 'custom',
          path: ['report', 'sections', section, field],
          message: `unknown signal ${JSON.stringify(signal)}`,
        });
    }
  }
}

export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
export type SignalConfig = ParsedConfig['signals'][string];
export type MeasureConfig = z.output<typeof measureSchema>;
export type RuleConfig = ParsedConfig['rules'][number];
export type SourcesConfig = ParsedConfig['sources'];
export type SlaConfig = z.output<typeof slaSchema>;
