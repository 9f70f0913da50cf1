import { pino, type Logger } from 'pino';

/** Structured JSON lines on stdout (SPEC §1); `VIGIL_LOG_LEVEL` beats the config's `log.level`. */
export function createLogger(level: string, env: NodeJS.ProcessEnv = process.env): Logger {
  return pino({
    level: env['VIGIL_LOG_LEVEL'] || level,
    base: { service: 'vigil' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Bearer tokens and similar must never reach a log line.
    redact: { paths: ['req.headers.authorization', '*.authorization', '*.token'], censor: '[redacted]' },
  });
}

export type { Logger };
