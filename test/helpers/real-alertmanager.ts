import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './real-prometheus.js';
import { eventually, tempDir } from './vigil-process.js';

/**
 * A real Alertmanager (Debian package `prometheus-alertmanager`) started by a test on a free
 * loopback port, with a temporary config and storage path. Clustering is off
 * (`--cluster.listen-address=`), so tests running side by side never gossip or fight over 9094.
 * `stop()` then `start()` restarts it on the same port and storage (the "Alertmanager was down"
 * tests).
 */

export const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';

export interface GettableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
  fingerprint: string;
  status: { state: 'active' | 'suppressed' | 'unprocessed'; silencedBy: string[]; inhibitedBy: string[] };
}

export interface GettableSilence {
  id: string;
  status: { state: 'active' | 'expired' | 'pending' };
  matchers: Array<{ name: string; value: string; isRegex: boolean; isEqual?: boolean }>;
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}

export interface RealAlertmanager {
  readonly url: string;
  readonly port: number;
  /** `GET /api/v2/alerts` (active, silenced and inhibited; resolved alerts are not listed). */
  alerts(): Promise<GettableAlert[]>;
  silences(): Promise<GettableSilence[]>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

const CONFIG = `route:
  receiver: blackhole
  group_wait: 1s
  group_interval: 1s
receivers:
  - name: blackhole
`;

export async function startAlertmanager(port?: number): Promise<RealAlertmanager> {
  const dir = tempDir('vigil-am-');
  writeFileSync(join(dir, 'alertmanager.yml'), CONFIG);
  const p = port ?? (await freePort());
  const url = `http://127.0.0.1:${p}`;
  let proc: ChildProcess | undefined;
  const am: RealAlertmanager = {
    url,
    port: p,
    async alerts() {
      return (await (await fetch(`${url}/api/v2/alerts`)).json()) as GettableAlert[];
    },
    async silences() {
      return (await (await fetch(`${url}/api/v2/silences`)).json()) as GettableSilence[];
    },
    async start() {
      proc = spawn(
        ALERTMANAGER,
        [
          `--config.file=${join(dir, 'alertmanager.yml')}`,
          `--storage.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${p}`,
          '--cluster.listen-address=',
          '--log.level=warn',
        ],
        { stdio: 'ignore' },
      );
      await eventually(async () => (await fetch(`${url}/-/ready`)).ok, 20_000);
    },
    async stop() {
      const running = proc;
      proc = undefined;
      if (running === undefined || running.exitCode !== null) return;
      const exited = new Promise((r) => running.once('exit', r));
      running.kill('SIGTERM');
      await exited;
    },
  };
  await am.start();
  return am;
}
