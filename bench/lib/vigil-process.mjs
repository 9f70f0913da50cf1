// The real vigil, started from the built CLI on free loopback ports (as test/helpers/vigil-process.ts
// does for the integration tests), plus the CPU time it uses and waits for, to tell whether vigil,
// the load generator or the machine was the bottleneck when they share two cores.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { createInterface } from 'node:readline';
import { clearTimeout, setTimeout } from 'node:timers';
import { fileURLToPath, URL } from 'node:url';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/**
 * Config for a benchmark run: every listener on 127.0.0.1:0 and limits with room for the 10k
 * series of a dataset (plus vigil's own), a TTL longer than any run, no signals and no rules.
 */
export const BENCH_CONFIG = `listeners:
  ingest: 127.0.0.1:0
  api: 127.0.0.1:0
  metrics: 127.0.0.1:0
log:
  level: info
limits:
  max_request_bytes: 64MiB
  max_series: 200000
  max_series_per_metric: 20000
  series_ttl: 1h
`;

/**
 * Starts vigil and resolves once it logs "vigil started", with the base URL of each listener
 * (from its `listening` log lines), `exited` (resolves with the exit code, null when killed by a
 * signal) and `stop()` (SIGTERM, resolves with the exit code). `nodeArgs` go to node before the
 * CLI (e.g. `--cpu-prof`); `onLog` gets every JSON log line (the soak counts errors).
 */
export async function startVigil(configYaml = BENCH_CONFIG, { nodeArgs = [], onLog } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-'));
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, configYaml);
  // VIGIL_BENCH_NODE_ARGS tries node/V8 flags on every vigil a bench starts (e.g. GC sizing).
  const extra = process.env.VIGIL_BENCH_NODE_ARGS ? process.env.VIGIL_BENCH_NODE_ARGS.split(' ') : [];
  const proc = spawn(process.execPath, [...extra, ...nodeArgs, CLI, 'serve', '--config', configFile], {
    // The config decides the log level: an inherited VIGIL_LOG_LEVEL could hide the port lines.
    env: { ...process.env, VIGIL_LOG_LEVEL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr = [];
  createInterface({ input: proc.stderr }).on('line', (line) => stderr.push(line));
  const urls = {};
  const exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    const code = await exited;
    rmSync(dir, { recursive: true, force: true });
    return code;
  };
  const started = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`vigil did not start:\n${stderr.join('\n')}`)), 15_000);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`vigil exited with ${code}:\n${stderr.join('\n')}`));
    });
    // Keep reading stdout for the whole run: a full pipe would block vigil's logger.
    createInterface({ input: proc.stdout }).on('line', (line) => {
      let rec;
      try {
        rec = JSON.parse(line);
      } catch {
        return;
      }
      onLog?.(rec);
      if (rec.msg === 'listening') urls[rec.listener] = `http://127.0.0.1:${rec.port}`;
      if (rec.msg === 'vigil started') {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  try {
    await started;
  } catch (err) {
    await stop(); // a vigil that never started must not outlive the benchmark
    throw err;
  }
  return { pid: proc.pid, ingest: urls.ingest, metrics: urls.metrics, api: urls.api, exited, stop };
}

let ticksPerSecond;

/**
 * CPU accounting of process `pid` so far, in seconds, from /proc: `cpu` is user + system time of
 * all its threads (the event loop, GC helpers, libuv); `waited` is how long its main thread (the
 * event loop) was runnable but waiting for a CPU. Undefined where there is no /proc.
 */
export function cpuAccount(pid) {
  let stat;
  let schedstat;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    schedstat = readFileSync(`/proc/${pid}/schedstat`, 'utf8');
  } catch {
    return undefined;
  }
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  // Fields after "pid (comm) ": state is the first; utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // schedstat: time on a CPU, time waiting on a run queue (ns), timeslices.
  const [, waitedNs] = schedstat.trim().split(' ').map(Number);
  return { cpu: (Number(fields[11]) + Number(fields[12])) / ticksPerSecond, waited: waitedNs / 1e9 };
}

/** Resident set size of process `pid` (VmRSS), in bytes; undefined where there is no /proc. */
export function rssBytes(pid) {
  try {
    const kib = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib === undefined ? undefined : Number(kib) * 1024;
  } catch {
    return undefined;
  }
}
