import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/** Fields that may hold credentials, at the depths vigil's log calls put them. */
export const REDACTED_PATHS = [
  'authorization',
  'Authorization',
  'token',
  'password',
  'headers.authorization',
  'headers.Authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  '*.authorization',
  '*.Authorization',
  '*.token',
  '*.password',
  '*.headers.authorization',
  '*.headers.Authorization',
];

/** Structured JSON lines on stdout (SPEC §1); `VIGIL_LOG_LEVEL` beats the config's `log.level`. */
export function createLogger(
  level: string,
  env: NodeJS.ProcessEnv = process.env,
  destination?: DestinationStream,
): Logger {
  const options: LoggerOptions = {
    level: env['VIGIL_LOG_LEVEL'] || level,
    base: { service: 'vigil' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Bearer tokens and similar must never reach a log line, whoever logs a request, its headers
    // or a settings object (pino's paths are exact and case-sensitive: both spellings are listed).
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}

export type { Logger };

/**
 * A URL as it may be logged: without `user:password@` and without the query, where backends put
 * API keys (`?api-key=...`). Text that is not a URL is not logged at all.
 */
export function loggableUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}${u.search === '' ? '' : '?[redacted]'}`;
  } catch {
    return '[not a URL]';
  }
}
