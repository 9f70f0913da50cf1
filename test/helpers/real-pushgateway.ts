import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './real-prometheus.js';
import { eventually } from './vigil-process.js';

/** A real Prometheus Pushgateway (Debian package `prometheus-pushgateway`) started by a test on loopback. */

export const PUSHGATEWAY = '/usr/bin/prometheus-pushgateway';

export interface RealPushgateway {
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

export async function startPushgateway(): Promise<RealPushgateway> {
  const port = await freePort();
  const proc = spawn(
    PUSHGATEWAY,
    // Debian's default keeps groups in /var/lib/prometheus; the test wants a fresh one in memory.
    [`--web.listen-address=127.0.0.1:${port}`, '--persistence.file=', '--log.level=warn'],
    { stdio: 'ignore' },
  );
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => (await fetch(`${url}/-/ready`)).ok, 20_000);
  return {
    url,
    proc,
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}
