import { z } from 'zod';
import { durationMs, sizeBytes } from './value-schemas.js';

/**
 * `exporters.otlp` (SPEC §7). Key names follow the OpenTelemetry Collector's otlphttp exporter
 * (`retry_on_failure`, `sending_queue`) so a collector user finds them where they expect.
 *
 * `endpoint`, `protocol`, `timeout`, `compression` and `temporality` stay undefined when the file
 * does not set them: the OTEL_EXPORTER_OTLP_* environment variables fill them in first, then the
 * defaults (src/config/otlp-env.ts), so the file always wins over the environment.
 */

const duration = durationMs();
const bytes = sizeBytes;

const atLeast = (minMs: number, what: string) =>
  duration.refine((ms) => ms >= minMs, `${what} must be at least ${minMs} ms`);

export function isHttpUrl(u: string): boolean {
  if (!URL.canParse(u)) return false;
  const protocol = new URL(u).protocol;
  return protocol === 'http:' || protocol === 'https:';
}

/** What the exporter sends: data pushed to vigil, rule/signal/source gauges, vigil's own telemetry. */
export const EXPORT_SELECTIONS = ['ingested', 'rules', 'self'] as const;
export type ExportSelection = (typeof EXPORT_SELECTIONS)[number];

export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

const otlpSchema = z
  .object({
    /** false turns the exporter off even when OTEL_EXPORTER_OTLP_*ENDPOINT is set. */
    enabled: z.boolean().default(true),
    /** Full URL of the metrics path, e.g. http://otel-collector:4318/v1/metrics. */
    endpoint: z
      .string()
      // `${VAR}` of an unset variable substitutes to '': same as not set (the environment decides).
      .transform((u) => (u.trim() === '' ? undefined : u.trim()))
      .refine((u) => u === undefined || isHttpUrl(u), 'endpoint must be an http:// or https:// URL')
      .optional(),
    protocol: z.enum(OTLP_PROTOCOLS).optional(),
    interval: atLeast(100, 'interval').default(15_000),
    timeout: atLeast(10, 'timeout').optional(),
    compression: z.enum(['gzip', 'none']).optional(),
    temporality: z.enum(['cumulative', 'delta']).optional(),
    /** Extra request headers (e.g. authorization); merged over OTEL_EXPORTER_OTLP_HEADERS. */
    headers: z.record(z.string(), z.string()).default({}),
    export: z.array(z.enum(EXPORT_SELECTIONS)).default([...EXPORT_SELECTIONS]),
    /** Points per request at most (the collector's batch processor sends 8192). */
    max_batch_points: z.number().int().min(1).default(8192),
    sending_queue: z
      .object({
        /** Requests (batches) held while the backend is unreachable; the oldest is dropped beyond. */
        queue_size: z.number().int().min(1).default(1000),
        /** Bytes held at most (compressed size); the oldest batches are dropped beyond. */
        max_bytes: bytes.default(64 * 1024 * 1024),
        /** Keep the queue in `state.dir` across restarts (when state.dir is set). */
        persist: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    retry_on_failure: z
      .object({
        enabled: z.boolean().default(true),
        initial_interval: duration.default(5_000),
        randomization_factor: z.number().min(0).max(1).default(0.5),
        multiplier: z.number().min(1).default(1.5),
        max_interval: duration.default(30_000),
        /** A batch is given up (dropped, counted) after retrying this long; 0 = never. */
        max_elapsed_time: duration.default(300_000),
      })
      .strict()
      .prefault({}),
    circuit_breaker: z
      .object({
        enabled: z.boolean().default(true),
        /** Consecutive failed sends that open the circuit. */
        failure_threshold: z.number().int().min(1).default(5),
        /** How long the circuit stays open before one trial request (half-open). */
        open_timeout: duration.default(30_000),
        /** Successful trial requests that close it again. */
        success_threshold: z.number().int().min(1).default(2),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export const exportersSchema = z
  .object({
    otlp: otlpSchema.prefault({}),
  })
  .strict();

export type OtlpExporterConfig = z.output<typeof otlpSchema>;
