import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, tempDir } from '../helpers/vigil-process.js';

/**
 * `npm run soak` (bench/soak.mjs), run for a short while so that the script itself is tested: it
 * must pass on vigil as it is, report figures that add up, and fail when a point goes missing.
 */

const TRANSPORTS = ['otlp_proto', 'otlp_json', 'json_push', 'prometheus_push'];

interface PathSummary {
  requests: number;
  pointsPushed: number;
  pointsSeen: number;
  trackedSeries: number;
  trackedSumPushed: number;
  trackedSumSeen: number;
  trackedMismatches: number;
  invalidBodies: number;
  invalidPoints: number;
  rejectedSeen: number;
  errors: number;
  latencyMs: { p99: number; max: number };
}

interface SoakSummary {
  ok: boolean;
  durationS: number;
  pointsPerS: number;
  paths: Record<string, PathSummary>;
  churn: { generations: number; expiredExpected: number; promGroups: { present: number; expected: number } };
  rssMiB: { start: number; end: number; max: number };
  eventLoopLagMs: { p99Median: number; p99Worst: number; max: number };
  scrapes: { done: number; failed: number };
  reports: { done: number; failed: number };
  vigil: { crashed: boolean; exitCode: number | null; errorLogs: number };
  checks: Array<{ name: string; ok: boolean; detail?: string }>;
}

async function soak(args: string[]): Promise<{ code: number | null; output: string; summary: SoakSummary }> {
  const out = join(tempDir('vigil-soak-'), 'soak.json');
  const proc = spawn(process.execPath, [join(REPO, 'bench/soak.mjs'), ...args, '--out', out], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((r) => proc.once('exit', r));
  return { code, output, summary: JSON.parse(readFileSync(out, 'utf8')) as SoakSummary };
}

describe('npm run soak', () => {
  it('accounts for every point of 15 s of mixed load, with ~1% invalid requests and churn', async () => {
    const { code, output, summary: s } = await soak(['--seconds', '15', '--rate', '1000']);
    expect(code, output).toBe(0);
    expect(s.ok).toBe(true);
    expect(s.checks.filter((c) => !c.ok)).toEqual([]);
    expect(s.checks.length).toBeGreaterThanOrEqual(4 * TRANSPORTS.length + 4 + 6);
    expect(s.durationS).toBeGreaterThanOrEqual(15);
    expect(Object.keys(s.paths).sort()).toEqual([...TRANSPORTS].sort());
    for (const t of TRANSPORTS) {
      const p = s.paths[t]!;
      expect(p.requests, t).toBeGreaterThan(100);
      expect(p.pointsPushed, t).toBeGreaterThan(1000);
      expect(p.pointsSeen, t).toBe(p.pointsPushed);
      expect(p.trackedSeries, t).toBeGreaterThan(0);
      expect(p.trackedSumPushed, t).toBeGreaterThan(p.trackedSeries * 10);
      expect(p.trackedSumSeen, t).toBe(p.trackedSumPushed);
      expect(p.trackedMismatches, t).toBe(0);
      // One invalid body and one invalid point at least, refused and nothing else.
      expect(p.invalidBodies, t).toBeGreaterThanOrEqual(1);
      expect(p.invalidPoints, t).toBeGreaterThanOrEqual(1);
      expect(p.rejectedSeen, t).toBe(p.invalidPoints);
      expect(p.errors, t).toBe(0);
      expect(p.latencyMs.max, t).toBeGreaterThan(0);
    }
    // Churned series came and went while the tracked ones stayed.
    expect(s.churn.generations).toBeGreaterThanOrEqual(4);
    expect(s.churn.expiredExpected).toBeGreaterThanOrEqual(1);
    expect(s.churn.promGroups).toEqual({ present: 2, expected: 2 });
    expect(s.scrapes.done).toBeGreaterThanOrEqual(12);
    expect(s.scrapes.failed).toBe(0);
    expect(s.reports.done).toBeGreaterThanOrEqual(4);
    expect(s.rssMiB.max).toBeGreaterThanOrEqual(s.rssMiB.end);
    expect(s.rssMiB.start).toBeGreaterThan(20);
    expect(s.eventLoopLagMs.max).toBeGreaterThanOrEqual(0);
    expect(s.vigil).toMatchObject({ crashed: false, exitCode: 0, errorLogs: 0 });
    expect(output).toContain('soak PASSED');
  });

  it('fails, naming the series, when one increment was counted but never sent (--simulate-loss)', async () => {
    const { code, output, summary: s } = await soak(['--seconds', '6', '--simulate-loss']);
    expect(code, output).toBe(1);
    expect(s.ok).toBe(false);
    expect(s.checks.filter((c) => !c.ok)).toEqual([
      {
        name: expect.stringMatching(/^otlp_proto: every tracked counter equals the sum pushed/),
        ok: false,
        detail: expect.stringMatching(/^1 series differ: lane 0 series 0: pushed (\d+), seen (\d+)$/),
      },
    ]);
    const detail = s.checks.find((c) => !c.ok)!.detail!;
    const [, pushed, seen] = /pushed (\d+), seen (\d+)/.exec(detail)!;
    expect(Number(pushed) - Number(seen)).toBe(1);
    expect(s.paths['otlp_proto']!.trackedMismatches).toBe(1);
    expect(output).toContain('soak FAILED');
  });
});
