import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parse, stringify } from 'yaml';
import { CLI, REPO, tempDir } from './vigil-process.js';

/** `vigil demo` as a user starts it (the built CLI), on the shipped config with free ports. */

export interface DemoProcess {
  proc: ChildProcess;
  api: string;
  metrics: string;
  ingest: string;
  /** Every JSON log line so far, with its arrival time. */
  logs: Array<Record<string, unknown> & { receivedMs: number }>;
  stop(): Promise<number | null>;
}

export async function startDemoProcess(args: string[] = []): Promise<DemoProcess> {
  const doc = parse(readFileSync(join(REPO, 'config.yaml'), 'utf8')) as Record<string, unknown>;
  doc['listeners'] = { ingest: '127.0.0.1:0', api: '127.0.0.1:0', metrics: '127.0.0.1:0' };
  const file = join(tempDir('vigil-demo-'), 'config.yaml');
  writeFileSync(file, stringify(doc));
  const proc = spawn(process.execPath, [CLI, 'demo', '--config', file, ...args], {
    env: { ...process.env, VIGIL_LOG_LEVEL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: DemoProcess['logs'] = [];
  const stderr: string[] = [];
  const ports: Record<string, string> = {};
  createInterface({ input: proc.stderr! }).on('line', (l) => stderr.push(l));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start: ${stderr.join('\n')}`)), 20_000);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`demo exited with ${code}: ${stderr.join('\n')}`));
    });
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push({ ...rec, receivedMs: Date.now() });
      if (rec['msg'] === 'listening')
        ports[String(rec['listener'])] = `http://127.0.0.1:${String(rec['port'])}`;
      if (String(rec['msg']).startsWith('demo started')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return {
    proc,
    api: ports['api']!,
    metrics: ports['metrics']!,
    ingest: ports['ingest']!,
    logs,
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      return exited;
    },
  };
}
