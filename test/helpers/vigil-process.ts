import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** The real vigil process, started from the built CLI on free loopback ports. */

export const REPO = resolve(import.meta.dirname, '../..');
export const CLI = join(REPO, 'dist/cli.js');

export interface VigilProcess {
  proc: ChildProcess;
  ingest: string;
  api: string;
  metrics: string;
  /** Every JSON log line so far. */
  logs: Array<Record<string, unknown>>;
  stderr: string[];
  /** The config file the process was started with (tests rewrite it to test reloads). */
  configFile: string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function tempDir(prefix = 'vigil-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Config YAML with every listener on 127.0.0.1:0, plus `extra` appended. */
export function testConfig(extra = ''): string {
  return `listeners:\n  ingest: 127.0.0.1:0\n  api: 127.0.0.1:0\n  metrics: 127.0.0.1:0\nlog:\n  level: info\n${extra}`;
}

export async function startVigil(
  configYaml = testConfig(),
  env: NodeJS.ProcessEnv = {},
  args: string[] = [],
): Promise<VigilProcess> {
  const dir = tempDir();
  const file = join(dir, 'config.yaml');
  writeFileSync(file, configYaml);
  const proc = spawn(process.execPath, [CLI, 'serve', '--config', file, ...args], {
    env: { ...process.env, VIGIL_LOG_LEVEL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  const stderr: string[] = [];
  const ports: Record<string, string> = {};
  createInterface({ input: proc.stderr! }).on('line', (l) => stderr.push(l));
  const ready = new Promise<void>((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`vigil did not start: ${stderr.join('\n')}`)), 15_000);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`vigil exited with ${code}: ${stderr.join('\n')}`));
    });
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(rec);
      if (rec['msg'] === 'listening')
        ports[String(rec['listener'])] = `http://127.0.0.1:${String(rec['port'])}`;
      if (rec['msg'] === 'vigil started') {
        clearTimeout(timer);
        resolveReady();
      }
    });
  });
  await ready;
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return {
    proc,
    ingest: ports['ingest']!,
    api: ports['api']!,
    metrics: ports['metrics']!,
    logs,
    stderr,
    configFile: file,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill(signal);
      return exited;
    },
  };
}

/** Poll `fn` until it returns a truthy value or the deadline passes. */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 10_000,
  stepMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
}
