#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { loadConfigFile } from './config/load.js';
import { parseDurationMs } from './config/units.js';
import { exportRuleFile, isRuleFileFormat } from './rules/rule-file.js';
import { createLogger } from './log.js';
import { startVigil, VERSION } from './main.js';

/** `vigil [serve] | check-config | rules export | demo` — SPEC §1. */

const USAGE = `vigil ${VERSION} — OpenTelemetry-native reliability sidecar

Usage:
  vigil [serve] [--config FILE]     run the sidecar (default config ./config.yaml, env VIGIL_CONFIG)
  vigil check-config [--config FILE]  validate the config; problems as file:line:col path: message
  vigil rules export [--config FILE] [--format rules|prometheusrule] [--name NAME] [--interval D]
                                    print the signals and rules as a Prometheus rule file, or as a
                                    Kubernetes PrometheusRule named NAME (default vigil-rules); the
                                    group interval is D (default the config's evaluation_interval)
  vigil demo [--config FILE] [--speed N] [--duration D]
                                    vigil plus simulated services and staged incidents (README "Demo")
  vigil --version | --help
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      format: { type: 'string' },
      name: { type: 'string' },
      interval: { type: 'string' },
      speed: { type: 'string' },
      duration: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const command = positionals.join(' ') || 'serve';
  const configPath = values.config ?? process.env['VIGIL_CONFIG'] ?? './config.yaml';

  if (command === 'check-config') {
    const loaded = loadConfigFile(configPath);
    if (!loaded.ok) {
      for (const e of loaded.errors) process.stderr.write(`${e}\n`);
      return 1;
    }
    process.stdout.write(`${configPath}: valid\n`);
    return 0;
  }
  if (command === 'rules export') {
    const format = values.format ?? 'rules';
    if (!isRuleFileFormat(format)) {
      process.stderr.write(`unknown --format "${format}" (rules | prometheusrule)\n`);
      return 2;
    }
    const loaded = loadConfigFile(configPath);
    if (!loaded.ok) {
      for (const e of loaded.errors) process.stderr.write(`${e}\n`);
      return 1;
    }
    const intervalMs = values.interval === undefined ? undefined : parseDurationMs(values.interval);
    if (values.interval !== undefined && !(intervalMs !== undefined && intervalMs >= 1000)) {
      process.stderr.write(`invalid --interval "${values.interval}" (a duration of at least 1s, e.g. 30s)\n`);
      return 2;
    }
    const exported = {
      ...loaded.config,
      evaluation_interval: intervalMs ?? loaded.config.evaluation_interval,
    };
    const out = exportRuleFile(exported, { format, name: values.name, source: configPath });
    for (const w of out.warnings) process.stderr.write(`vigil rules export: warning: ${w}\n`);
    if (!out.ok) {
      for (const e of out.errors) process.stderr.write(`vigil rules export: ${e}\n`);
      return 1;
    }
    process.stdout.write(out.text);
    return 0;
  }
  if (command === 'demo') {
    const { runDemoCommand } = await import('./demo/command.js');
    return runDemoCommand({
      config: values.config ?? process.env['VIGIL_CONFIG'],
      speed: values.speed,
      duration: values.duration,
    });
  }
  if (command !== 'serve') {
    process.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }

  const loaded = loadConfigFile(configPath);
  if (!loaded.ok) {
    for (const e of loaded.errors) process.stderr.write(`${e}\n`);
    process.stderr.write('vigil: refusing to start on an invalid config\n');
    return 1;
  }
  const log = createLogger(loaded.config.log.level);
  const vigil = await startVigil(loaded.config, log, { reloadConfig: () => loadConfigFile(configPath) });
  const timeoutMs = loaded.config.shutdown_timeout;
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      // A stuck flush must not keep the pod terminating forever: exit at the deadline anyway.
      setTimeout(() => {
        log.error({ timeoutMs }, 'shutdown timed out');
        process.exit(1);
      }, timeoutMs).unref();
      void vigil.shutdown(signal).then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`vigil: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
