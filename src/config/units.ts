/** Parsing of the human units used in the config file: durations and byte sizes. */

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Prometheus-style durations (`250ms`, `15s`, `5m`, `1h30m`, `1d`) or a plain number of seconds,
 * in milliseconds; undefined when the text is not a duration.
 */
export function parseDurationMs(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text === '0') return 0;
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(DURATION_PART)) {
    if (m.index !== consumed) return undefined;
    total += Number(m[1]) * DURATION_MS[m[2]!]!;
    consumed += m[0].length;
  }
  return consumed === text.length && consumed > 0 ? total : undefined;
}

const SIZE = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)?$/;
const SIZE_BYTES: Record<string, number> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
};

/** `8MiB`, `512KiB`, `1GB` or a plain number of bytes; undefined when not a size. */
export function parseBytes(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = SIZE.exec(value.trim());
  if (m === null) return undefined;
  return Math.floor(Number(m[1]) * SIZE_BYTES[m[2] ?? 'B']!);
}

/** `host:port` (IPv6 as `[::1]:port`); port 0 = any free port. */
export function parseHostPort(value: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]*)):(\d{1,5})$/.exec(value.trim());
  if (m === null) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}
