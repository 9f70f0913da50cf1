import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { find, parseExposition } from '../helpers/prometheus-text.js';
import { eventually, startVigil, tempDir, testConfig, type VigilProcess } from '../helpers/vigil-process.js';

/**
 * Crash and restart (SPEC §9, issue 8): vigil killed with SIGKILL in the middle of ingest comes
 * back on the same `state.dir` with the last snapshot (trends, alert states with active_since,
 * acks), healthy and ingesting; and whatever a crash can leave in `state.dir` is set aside and
 * logged, never fatal. (state-reload.test.ts covers a clean restart and a truncated snapshot.)
 */

const SNAPSHOT = 'vigil-state.json';
const RULES = `
evaluation_interval: 250ms
signals:
  cpu_percent: { metric: process.cpu.utilization, stat: last, window: 10s, unit: '%' }
rules:
  - name: HIGH_CPU
    severity: warning
    expr: cpu_percent > 85
`;
const config = (dir: string): string =>
  testConfig(`state:\n  dir: ${dir}\n  snapshot_interval: 1s\n  restore_grace: 30s\n${RULES}`);

const running: VigilProcess[] = [];
afterEach(async () => {
  for (const v of running.splice(0)) await v.stop('SIGKILL');
});

async function start(dir: string): Promise<VigilProcess> {
  const v = await startVigil(config(dir));
  running.push(v);
  return v;
}

async function push(v: VigilProcess, cpu: number, pushes = 1): Promise<Response> {
  return fetch(`${v.ingest}/api/v1/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      resource: { 'service.name': 'host' },
      metrics: [
        { name: 'process.cpu.utilization', type: 'gauge', unit: '1', value: cpu },
        { name: 'crash.pushes', type: 'counter', value: pushes },
      ],
    }),
  });
}

interface Report {
  anomalies: Array<{ code: string; state: string; active_since: string; fingerprint: string }>;
  signals: Record<string, { trend: { buckets: Array<{ count: number }> } }>;
}
const report = async (v: VigilProcess): Promise<Report> =>
  (await (await fetch(`${v.api}/api/v2/diagnostics/reliability`)).json()) as Report;
const trendCount = (r: Report): number =>
  r.signals['cpu_percent']!.trend.buckets.reduce((n, b) => n + b.count, 0);

interface ApiAlert {
  fingerprint: string;
  rule: string;
  state: string;
  acknowledgement: { by: string; comment: string } | null;
}
const apiAlerts = async (v: VigilProcess): Promise<ApiAlert[]> =>
  ((await (await fetch(`${v.api}/api/v1/alerts`)).json()) as { data: { alerts: ApiAlert[] } }).data.alerts;

interface Snapshot {
  version: number;
  savedAt: string;
  trends: Record<string, Array<{ trend: { buckets: Array<{ count: number }> } }>>;
  rules: Record<string, { alerts: Array<{ state: string; activeAt: number }> }>;
  alerting: { acks: Array<{ fingerprint: string; by: string }> };
}
const readSnapshot = (dir: string): Snapshot =>
  JSON.parse(readFileSync(join(dir, SNAPSHOT), 'utf8')) as Snapshot;

/** Fire HIGH_CPU and acknowledge it: the state a restart must bring back. */
async function fireAndAck(v: VigilProcess): Promise<{ activeSince: string; fingerprint: string }> {
  const alert = await eventually(async () => {
    expect((await push(v, 0.97)).status).toBe(200);
    return (await report(v)).anomalies.find((a) => a.code === 'HIGH_CPU' && a.state === 'firing');
  });
  const ack = await fetch(`${v.api}/api/v1/alerts/${alert.fingerprint}/ack`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ by: 'alice', comment: 'crash test', duration: '2h' }),
  });
  expect(ack.status).toBe(200);
  return { activeSince: alert.active_since, fingerprint: alert.fingerprint };
}

/** Pushes on 4 connections at once until stopped; failures after the kill are expected. */
function ingestLoad(v: VigilProcess): { stop(): Promise<number> } {
  let stopped = false;
  let ok = 0;
  const lanes = Array.from({ length: 4 }, async () => {
    while (!stopped) {
      try {
        if ((await push(v, 0.97)).status === 200) ok++;
      } catch {
        await new Promise((r) => setTimeout(r, 10)); // connection refused once killed
      }
    }
  });
  return {
    async stop() {
      stopped = true;
      await Promise.all(lanes);
      return ok;
    },
  };
}

async function kill9(v: VigilProcess): Promise<void> {
  const exited = new Promise<NodeJS.Signals | null>((r) => v.proc.once('exit', (_code, signal) => r(signal)));
  v.proc.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
}

async function readyz(v: VigilProcess): Promise<boolean> {
  return (await fetch(`${v.api}/readyz`)).status === 200;
}

const log = (v: VigilProcess, msg: string): Record<string, unknown> | undefined =>
  v.logs.find((l) => l['msg'] === msg);

describe('kill -9 during ingest', () => {
  it('restarts on the same state.dir with the last snapshot, healthy and ingesting, crash after crash', async () => {
    const dir = tempDir('vigil-crash-');
    let v = await start(dir);
    const { activeSince, fingerprint } = await fireAndAck(v);

    for (let crash = 1; crash <= 3; crash++) {
      const load = ingestLoad(v);
      // Let periodic snapshots happen under load (two after this point), then kill mid-ingest.
      const before = existsSync(join(dir, SNAPSHOT)) ? readSnapshot(dir).savedAt : '';
      await eventually(async () => readSnapshot(dir).savedAt > before, 10_000, 50);
      const second = readSnapshot(dir).savedAt;
      await eventually(async () => readSnapshot(dir).savedAt > second, 10_000, 50);
      await new Promise((r) => setTimeout(r, 100 + 250 * crash)); // not always right after a write
      await kill9(v);
      expect(await load.stop()).toBeGreaterThan(0);

      // What a crash leaves on disk is the last complete snapshot: the write is atomic.
      const onDisk = readSnapshot(dir);
      expect(onDisk.version).toBe(1);
      expect(onDisk.rules['HIGH_CPU']!.alerts).toEqual([
        expect.objectContaining({ state: 'firing', activeAt: Date.parse(activeSince) }),
      ]);
      expect(onDisk.alerting.acks).toEqual([expect.objectContaining({ fingerprint, by: 'alice' })]);
      const savedTrend = onDisk.trends['cpu_percent']![0]!.trend.buckets.reduce((n, b) => n + b.count, 0);
      expect(savedTrend).toBeGreaterThan(0);

      v = await start(dir);
      expect(log(v, 'state restored')).toMatchObject({ trends: 1, alerts: 1 });
      expect(log(v, 'corrupt state snapshot set aside')).toBeUndefined();
      // Restored before the source pushes again: same alert, same active_since, still acked.
      const restored = await report(v);
      expect(restored.anomalies).toEqual([
        expect.objectContaining({
          code: 'HIGH_CPU',
          state: 'firing',
          active_since: activeSince,
          fingerprint,
        }),
      ]);
      expect(trendCount(restored)).toBeGreaterThanOrEqual(savedTrend);
      expect(await apiAlerts(v)).toEqual([
        expect.objectContaining({
          fingerprint,
          state: 'firing',
          acknowledgement: expect.objectContaining({ by: 'alice' }),
        }),
      ]);
      // Healthy, and takes ingest again.
      await eventually(() => readyz(v));
      expect((await push(v, 0.97, 5)).status).toBe(200);
      await eventually(async () => {
        const m = parseExposition(await (await fetch(`${v.metrics}/metrics`)).text());
        return find(m, 'crash_pushes_total', { job: 'host' })[0]?.value === 5;
      });
      // A crash-time temp file, if the kill hit a write, was set aside rather than left behind.
      expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    }
    // The alert kept its identity through three crashes; a clean stop still works.
    expect((await report(v)).anomalies[0]).toMatchObject({ active_since: activeSince, fingerprint });
    expect(await v.stop()).toBe(0);
    expect(readSnapshot(dir).rules['HIGH_CPU']!.alerts[0]).toMatchObject({
      activeAt: Date.parse(activeSince),
    });
  });
});

describe('a snapshot damaged by a crash', () => {
  /** A real snapshot with a firing HIGH_CPU, an ack and a trend: the base every case damages. */
  let good = '';
  beforeAll(async () => {
    const dir = tempDir('vigil-crash-');
    const v = await start(dir);
    await fireAndAck(v);
    expect(await v.stop()).toBe(0);
    good = readFileSync(join(dir, SNAPSHOT), 'utf8');
  });

  /** Starts vigil on `files` (name → content) and checks that it is healthy and ingesting. */
  async function startOn(files: Record<string, string>): Promise<{ v: VigilProcess; dir: string }> {
    const dir = tempDir('vigil-crash-');
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const v = await start(dir);
    expect((await fetch(`${v.api}/livez`)).status).toBe(200);
    await eventually(() => readyz(v));
    expect((await push(v, 0.2, 3)).status).toBe(200);
    return { v, dir };
  }

  /** The file was renamed `vigil-state.json.corrupt-<ms>` with its content intact, and logged. */
  function expectSetAside(v: VigilProcess, dir: string, text: string, reason: RegExp): void {
    const aside = readdirSync(dir).filter((f) => /^vigil-state\.json\.corrupt-\d+$/.test(f));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(dir, aside[0]!), 'utf8')).toBe(text);
    expect(log(v, 'corrupt state snapshot set aside')).toMatchObject({
      level: 50,
      path: join(dir, SNAPSHOT),
      movedTo: join(dir, aside[0]!),
      reason: expect.stringMatching(reason),
    });
  }

  it.each([
    ['a zero-length file', '', /JSON/],
    ['garbage bytes', '\u0000\u0001\u00ff\ufffdPK\u0003\u0004 not a snapshot', /JSON/],
    ['valid JSON that is not an object', '[{"version": 1}]', /not a JSON object/],
    [
      'an object without the version',
      '{"trends": {}, "rules": {}}',
      /unsupported snapshot version undefined/,
    ],
    ['a newer version', '{"version": 2, "trends": {}}', /unsupported snapshot version 2/],
    ['parts of the wrong type', '{"version": 1, "trends": [], "rules": "x"}', /"trends" is not an object/],
  ])('sets aside %s, starts afresh and writes a good snapshot again', async (_what, text, reason) => {
    const { v, dir } = await startOn({ [SNAPSHOT]: text });
    expectSetAside(v, dir, text, reason);
    expect(log(v, 'state restored')).toBeUndefined();
    expect((await report(v)).anomalies).toEqual([]);
    // The next periodic snapshot is a good one, beside the one set aside.
    await eventually(async () => existsSync(join(dir, SNAPSHOT)) && readSnapshot(dir).version === 1);
  });

  it('sets aside a leftover temp file (warned) and restores the intact snapshot', async () => {
    const partial = good.slice(0, Math.floor(good.length / 2));
    const { v, dir } = await startOn({ [SNAPSHOT]: good, [`${SNAPSHOT}.tmp`]: partial });
    const warned = log(v, 'unfinished state snapshot set aside');
    expect(warned).toMatchObject({ level: 40, path: join(dir, `${SNAPSHOT}.tmp`) });
    expect(readFileSync(String(warned!['movedTo']), 'utf8')).toBe(partial);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(log(v, 'corrupt state snapshot set aside')).toBeUndefined();
    expect(log(v, 'state restored')).toMatchObject({ trends: 1, alerts: 1 });
    expect((await report(v)).anomalies).toEqual([
      expect.objectContaining({ code: 'HIGH_CPU', state: 'firing' }),
    ]);
  });

  it('sets aside a snapshot whose alert states are damaged, keeping its trends and acks', async () => {
    const damaged = JSON.parse(good) as Snapshot;
    (damaged.rules['HIGH_CPU']!.alerts as unknown[]) = [{ labels: 5 }];
    const text = JSON.stringify(damaged);
    const { v, dir } = await startOn({ [SNAPSHOT]: text });
    expect(log(v, 'rules in the state snapshot cannot be restored')).toMatchObject({
      level: 50,
      part: 'rules',
    });
    expectSetAside(v, dir, text, /cannot restore rules/);
    expect(log(v, 'state restored')).toMatchObject({ trends: 1, alerts: 0 });
    expect(log(v, 'alerting state restored')).toMatchObject({ acks: 1 });
    const r = await report(v);
    expect(r.anomalies).toEqual([]);
    expect(trendCount(r)).toBeGreaterThan(0);
  });

  // Regression: `.labels` of a null trend group threw in startVigil: exit 1 on every restart.
  it('starts on a snapshot with null entries in a trend list, restoring the rest', async () => {
    const damaged = JSON.parse(good) as { trends: Record<string, unknown[]> };
    damaged.trends['cpu_percent'] = [null, ...damaged.trends['cpu_percent']!, 42];
    const { v, dir } = await startOn({ [SNAPSHOT]: JSON.stringify(damaged) });
    expect(log(v, 'state restored')).toMatchObject({ trends: 1, alerts: 1 });
    expect(readdirSync(dir).filter((f) => f.includes('.corrupt-'))).toEqual([]);
    expect((await report(v)).anomalies).toEqual([
      expect.objectContaining({ code: 'HIGH_CPU', state: 'firing' }),
    ]);
  });
});
