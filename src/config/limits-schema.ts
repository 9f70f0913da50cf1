import { z } from 'zod';
import { durationMs, sizeBytes } from './value-schemas.js';

/**
 * `limits.*`: what one request, one point and one connection may cost, and when vigil sheds load
 * (README "Overload and security"). Sizes are converted to bytes and durations to ms here.
 */

const positiveInt = z.number().int().positive();
const MIB = 1024 * 1024;

export const limitsSchema = z
  .object({
    max_request_bytes: sizeBytes.default(8 * MIB),
    max_series: positiveInt.default(100_000),
    max_series_per_metric: positiveInt.default(10_000),
    series_ttl: durationMs(0).default(5 * 60_000),

    /**
     * The collector's memory_limiter: hard limit in MiB of RSS; the soft limit is
     * `memory_limit_mib - memory_spike_limit_mib` (spike default 20% of the limit), or
     * `memory_soft_mib` when that is given. Unset: no memory guard (as the collector without
     * the processor).
     */
    memory_limit_mib: positiveInt.optional(),
    memory_spike_limit_mib: positiveInt.optional(),
    /** The soft limit on its own (SPEC §3); with `memory_limit_mib`, it must be below it. */
    memory_soft_mib: positiveInt.optional(),

    /** Ingest requests being served at once; beyond it 429 + Retry-After. */
    max_concurrent_requests: positiveInt.default(64),
    /**
     * Decompressed body bytes held by all ingest requests at once; a request that would pass it
     * gets 429 + Retry-After, unless it is the only one holding bytes (so any request within
     * `max_request_bytes` can get through on its own).
     */
    max_inflight_bytes: sizeBytes.default(32 * MIB),

    /** Every listener: the whole request (headers and body) must arrive within this (else 408). */
    request_timeout: durationMs(1000, 'request_timeout').default(30_000),
    /** Every listener: the headers must arrive within this (slowloris; else 408 and the connection closed). */
    headers_timeout: durationMs(100, 'headers_timeout').default(10_000),
    /** Every listener: an idle keep-alive connection is closed after this. */
    keep_alive_timeout: durationMs(0).default(65_000),
    /** Every listener: request line and headers together (else 431). */
    max_header_bytes: sizeBytes.default(16 * 1024),
    /** Every listener: headers beyond this count are ignored. */
    max_headers_count: positiveInt.default(100),
    /** Every listener: open connections at once; more are closed on accept. */
    max_connections: positiveInt.default(512),

    /**
     * Series created in a burst that make vigil compact its heap once ingest is idle (README
     * "Memory per series"); 0 turns the compaction off.
     */
    compact_after_new_series: z.number().int().nonnegative().default(10_000),
    /**
     * Heap growth (V8's committed heap plus external memory) after which vigil settles its heap
     * once ingest and scrapes have been idle 2 s: a scavenge, and a major GC 6 s later (README
     * "Memory per series"); 0 turns it off.
     */
    compact_after_heap_growth: sizeBytes.default(8 * MIB),

    /** Attributes of one point (its series identity); a point with more is rejected. */
    max_attributes_per_point: positiveInt.default(128),
    /** Characters of one attribute value; a point with a longer one is rejected (not truncated). */
    max_attribute_value_length: positiveInt.default(4096),
  })
  .strict()
  .superRefine((l, ctx) => {
    if (l.memory_spike_limit_mib !== undefined) {
      if (l.memory_limit_mib === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['memory_spike_limit_mib'],
          message: 'memory_spike_limit_mib needs memory_limit_mib',
        });
      else if (l.memory_spike_limit_mib >= l.memory_limit_mib)
        ctx.addIssue({
          code: 'custom',
          path: ['memory_spike_limit_mib'],
          message: 'memory_spike_limit_mib must be below memory_limit_mib',
        });
      if (l.memory_soft_mib !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['memory_soft_mib'],
          message: 'give memory_soft_mib or memory_spike_limit_mib, not both',
        });
    }
    if (
      l.memory_soft_mib !== undefined &&
      l.memory_limit_mib !== undefined &&
      l.memory_soft_mib >= l.memory_limit_mib
    )
      ctx.addIssue({
        code: 'custom',
        path: ['memory_soft_mib'],
        message: 'memory_soft_mib must be below memory_limit_mib',
      });
    if (l.headers_timeout > l.request_timeout)
      // Node refuses a headers timeout above the request timeout.
      ctx.addIssue({
        code: 'custom',
        path: ['headers_timeout'],
        message: 'headers_timeout must not exceed request_timeout',
      });
  });

export type LimitsConfig = z.output<typeof limitsSchema>;

/** Soft and hard limits in bytes, as the collector's memory_limiter derives them; undefined = off. */
export function memoryLimitsBytes(l: LimitsConfig): { softBytes: number; hardBytes?: number } | undefined {
  if (l.memory_limit_mib === undefined) {
    return l.memory_soft_mib === undefined ? undefined : { softBytes: l.memory_soft_mib * MIB };
  }
  const spikeMib = l.memory_spike_limit_mib ?? Math.max(1, Math.round(l.memory_limit_mib * 0.2));
  const softMib = l.memory_soft_mib ?? l.memory_limit_mib - spikeMib;
  return { softBytes: softMib * MIB, hardBytes: l.memory_limit_mib * MIB };
}
