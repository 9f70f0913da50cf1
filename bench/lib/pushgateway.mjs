// The peer of the Prometheus push sections: a real Prometheus Pushgateway (Debian package
// prometheus-pushgateway), started as test/helpers/real-pushgateway.ts does: loopback, a free
// port, no persistence file (groups in memory only).
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export const PUSHGATEWAY = '/usr/bin/prometheus-pushgateway';

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The Pushgateway's version line, e.g. "1.5.1". */
export function pushgatewayVersion() {
  // It prints its version on stderr.
  const { stdout, stderr } = spawnSync(PUSHGATEWAY, ['--version'], { encoding: 'utf8' });
  return /version (\S+)/.exec(`${stdout}${stderr}`)?.[1] ?? 'unknown';
}

/** Starts a Pushgateway; resolves once /-/ready answers, with its URL, pid and `stop()`. */
export async function startPushgateway() {
  const port = await freePort();
  const proc = spawn(
    PUSHGATEWAY,
    [`--web.listen-address=127.0.0.1:${port}`, '--persistence.file=', '--log.level=warn'],
    { stdio: 'ignore' },
  );
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    await exited;
  };
  for (let waited = 0; ; waited += 50) {
    try {
      if ((await globalThis.fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (waited > 20_000 || proc.exitCode !== null) {
      await stop();
      throw new Error('the Pushgateway did not become ready');
    }
    await sleep(50);
  }
  return { url, pid: proc.pid, stop };
}
