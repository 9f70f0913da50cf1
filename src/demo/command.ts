import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfigFile } from '../config/load.js';
import { parseDurationMs } from '../config/units.js';
import { createLogger } from '../log.js';
import { MAX_DEMO_SPEED } from './demo-config.js';
import { startDemo } from './demo.js';

/** The `vigil demo` command line: `[--config FILE] [--speed N] [--duration D]`. */

export interface DemoCommandOptions {
  /** `--config` or VIGIL_CONFIG; without either, ./config.yaml, else the config shipped in the package. */
  config?: string | undefined;
  speed?: string | undefined;
  duration?: string | undefined;
}

/** The package's own config.yaml, next to dist/. */
const PACKAGED_CONFIG = fileURLToPath(new URL('../../config.yaml', import.meta.url));

export async function runDemoCommand(opts: DemoCommandOptions): Promise<number> {
  const configPath = opts.config ?? (existsSync('./config.yaml') ? './config.yaml' : PACKAGED_CONFIG);
  const speed = opts.speed === undefined ? 1 : Number(opts.speed);
  if (!(speed >= 1 && speed <= MAX_DEMO_SPEED)) {
    process.stderr.write(`vigil demo: --speed must be a number from 1 to ${MAX_DEMO_SPEED}\n`);
    return 2;
  }
  const durationMs = opts.duration === undefined ? undefined : parseDurationMs(opts.duration);
  if (opts.duration !== undefined && durationMs === undefined) {
    process.stderr.write(`vigil demo: invalid --duration ${JSON.stringify(opts.duration)} (e.g. 90s, 5m)\n`);
    return 2;
  }
  const loaded = loadConfigFile(configPath);
  if (!loaded.ok) {
    for (const e of loaded.errors) process.stderr.write(`${e}\n`);
    return 1;
  }
  const log = createLogger(loaded.config.log.level);
  log.info({ component: 'demo', config: configPath }, 'starting vigil demo');
  const demo = await startDemo({ config: loaded.config, log, speed });
  const timeoutMs = loaded.config.shutdown_timeout;
  await new Promise<void>((resolve) => {
    const stop = (reason: string): void => {
      setTimeout(() => {
        log.error({ timeoutMs }, 'shutdown timed out');
        process.exit(1);
      }, timeoutMs).unref();
      void demo.stop(reason).then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    if (durationMs !== undefined) setTimeout(() => stop('duration elapsed'), durationMs).unref();
  });
  return 0;
}
