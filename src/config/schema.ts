import { z } from 'zod';
import { parseBytes, parseDurationMs, parseHostPort } from './units.js';

/**
 * The one config schema (SPEC §1–§4): YAML keys are snake_case as in the contract; values with
 * units are converted here (durations to ms, sizes to bytes) so nothing downstream parses text.
 * Unknown keys are errors (`strict`), so a typo never silently keeps a default.
 */

const duration = (what = 'duration') =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    const ms = parseDurationMs(v);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `invalid ${what} ${JSON.stringify(v)} (use e.g. 500ms, 15s, 5m, 1h)`,
      });
      return z.NEVER;
    }
    return ms;
  });

const bytes = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const n = parseBytes(v);
  if (n === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `invalid size ${JSON.stringify(v)} (use e.g. 8MiB, 512KiB, 1000000)`,
    });
    return z.NEVER;
  }
  return n;
});

const listen = z.string().transform((v, ctx) => {
  const hp = parseHostPort(v);
  if (hp === undefined) {
    ctx.addIssue({ code: 'custom', message: `invalid listen address ${JSON.stringify(v)} (use host:port)` });
    return z.NEVER;
  }
  return hp;
});

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
    limits: z
      .object({
        max_request_bytes: bytes.default(8 * 1024 * 1024),
        max_series: positiveInt.default(100_000),
        max_series_per_metric: positiveInt.default(10_000),
        series_ttl: duration().default(5 * 60_000),
        memory_soft_mib: positiveInt.optional(),
      })
      .strict()
      .prefault({}),
    evaluation_interval: duration().default(1000),
    shutdown_timeout: duration().default(10_000),
    views: z.array(viewSchema).default([]),
  })
  .strict();

export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
