import { z } from 'zod';
import { parseBytes, parseDurationMs, parseHostPort } from './units.js';

/**
 * Schemas of config values with units, shared by every part of the one config schema (the core
 * keys, `exporters`, `alerting`): text in, numbers out (durations in ms, sizes in bytes), with
 * the same error wording everywhere.
 */

/** A duration (`500ms`, `15s`, `5m`, `1h`, or ms as a number), in ms; `minMs` bounds it below. */
export function durationMs(minMs = 0, what = 'duration') {
  return z.union([z.string(), z.number()]).transform((v, ctx) => {
    const ms = parseDurationMs(v);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `invalid duration ${JSON.stringify(v)} (use e.g. 500ms, 15s, 5m, 1h)`,
      });
      return z.NEVER;
    }
    if (ms < minMs) {
      ctx.addIssue({ code: 'custom', message: `${what} must be at least ${minMs} ms` });
      return z.NEVER;
    }
    return ms;
  });
}

/** A size (`8MiB`, `512KiB`, or bytes as a number), in bytes. */
export const sizeBytes = z.union([z.string(), z.number()]).transform((v, ctx) => {
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

/** A listen address `host:port`. */
export const listenAddress = z.string().transform((v, ctx) => {
  const hp = parseHostPort(v);
  if (hp === undefined) {
    ctx.addIssue({ code: 'custom', message: `invalid listen address ${JSON.stringify(v)} (use host:port)` });
    return z.NEVER;
  }
  return hp;
});
