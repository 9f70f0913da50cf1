import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { find, parseExposition } from '../helpers/prometheus-text.js';
import { eventually, startVigil, tempDir, testConfig, type VigilProcess } from '../helpers/vigil-process.js';

/** State across restarts (SPEC §9) and config reloads (SPEC §1) on the real process. */

const RULES = `
evaluation_interval: 250ms
signals:
  cpu_percent: { metric: process.cpu.utilization, stat: last, window: 10s, unit: '%' }
rules:
  - name: HIGH_CPU
    severity: warning
    expr: cpu_percent > 85
`;

async function pushCpu(vigil: VigilProcess, value: number): Promise<void> {
  const res = await fetch(`${vigil.ingest}/api/v1/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      resource: { 'service.name': 'host' },
      metrics: [{ name: 'process.cpu.utilization', type: 'gauge', unit: '1', value }],
    }),
  });
  expect(res.status).toBe(200);
}

interface Report {
  anomalies: Array<{ code: string; state: string; active_since: string }>;
  signals: Record<string, { value: number | null; trend: { buckets: Array<{ count: number }> } }>;
}

async function report(vigil: VigilProcess): Promise<Report> {
  return (await (await fetch(`${vigil.api}/api/v2/diagnostics/reliability`)).json()) as Report;
}

async function ruleState(vigil: VigilProcess, rule: string): Promise<number | undefined> {
  const text = await (await fetch(`${vigil.metrics}/metrics`)).text();
  return find(parseExposition(text), 'vigil_rule_state', { rule })[0]?.value;
}

describe('state.dir', () => {
  it('keeps a firing alert’s active_since and the trend buckets across a restart', async () => {
    const dir = tempDir('vigil-state-');
    const config = testConfig(
      `state:\n  dir: ${dir}\n  snapshot_interval: 1s\n  restore_grace: 30s\n${RULES}`,
    );
    const first = await startVigil(config);
    const firing = await eventually(async () => {
      await pushCpu(first, 0.97);
      const r = await report(first);
      return r.anomalies.find((a) => a.code === 'HIGH_CPU' && a.state === 'firing');
    });
    const before = await report(first);
    const bucketCount = before.signals['cpu_percent']!.trend.buckets.reduce((n, b) => n + b.count, 0);
    expect(bucketCount).toBeGreaterThan(0);
    expect(await first.stop()).toBe(0);
    const saved = JSON.parse(readFileSync(join(dir, 'vigil-state.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(saved)).toEqual(expect.arrayContaining(['trends', 'rules']));

    const second = await startVigil(config);
    try {
      // Before the source pushes again the restored alert is held, not resolved.
      const held = await report(second);
      expect(held.anomalies.find((a) => a.code === 'HIGH_CPU')?.active_since).toBe(firing.active_since);
      expect(await ruleState(second, 'HIGH_CPU')).toBe(2);
      await pushCpu(second, 0.97);
      await new Promise((r) => setTimeout(r, 1000));
      const after = await report(second);
      const alert = after.anomalies.find((a) => a.code === 'HIGH_CPU');
      expect(alert?.state).toBe('firing');
      expect(alert?.active_since).toBe(firing.active_since);
      const restoredCount = after.signals['cpu_percent']!.trend.buckets.reduce((n, b) => n + b.count, 0);
      expect(restoredCount).toBeGreaterThan(bucketCount);
      // Offending data gone: it resolves as usual.
      await pushCpu(second, 0.2);
      await eventually(async () => (await ruleState(second, 'HIGH_CPU')) === 0);
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });

  it('sets a corrupt snapshot aside and starts', async () => {
    const dir = tempDir('vigil-state-');
    writeFileSync(join(dir, 'vigil-state.json'), '{"trends": [unterminated');
    const vigil = await startVigil(testConfig(`state:\n  dir: ${dir}\n${RULES}`));
    try {
      expect(vigil.logs.some((l) => l['msg'] === 'corrupt state snapshot set aside')).toBe(true);
      expect((await fetch(`${vigil.api}/livez`)).status).toBe(200);
    } finally {
      expect(await vigil.stop()).toBe(0);
    }
  });
});

describe('reload', () => {
  it('SIGHUP and POST /-/reload load new rules without losing data; a bad file keeps the old config', async () => {
    const vigil = await startVigil(testConfig(RULES));
    try {
      await pushCpu(vigil, 0.7);
      await eventually(async () => (await report(vigil)).signals['cpu_percent']?.value === 70);
      const file = vigil.configFile;
      // Lower the threshold: the same data now fires.
      writeFileSync(file, testConfig(RULES.replace('cpu_percent > 85', 'cpu_percent > 50')));
      vigil.proc.kill('SIGHUP');
      await eventually(async () => (await ruleState(vigil, 'HIGH_CPU')) === 2);
      expect((await report(vigil)).signals['cpu_percent']?.value).toBe(70); // window data kept

      writeFileSync(file, testConfig(RULES.replace('cpu_percent > 85', 'cpu_percent >')));
      const bad = await fetch(`${vigil.api}/-/reload`, { method: 'POST' });
      expect(bad.status).toBe(400);
      expect(JSON.stringify(await bad.json())).toMatch(
        /config\.yaml:\d+:\d+ rules\[0\]\.expr: unexpected end of expression/,
      );
      const metrics = parseExposition(await (await fetch(`${vigil.metrics}/metrics`)).text());
      expect(find(metrics, 'vigil_config_last_reload_successful')[0]?.value).toBe(0);
      expect(await ruleState(vigil, 'HIGH_CPU')).toBe(2); // old rules still run

      writeFileSync(file, testConfig(RULES));
      const good = await fetch(`${vigil.api}/-/reload`, { method: 'POST' });
      expect(good.status).toBe(200);
      await eventually(async () => (await ruleState(vigil, 'HIGH_CPU')) === 0);
    } finally {
      expect(await vigil.stop()).toBe(0);
    }
  });

  it('refuses an unauthorised reload when a token is set, and accepts the bearer token', async () => {
    const vigil = await startVigil(testConfig(RULES), { VIGIL_API_TOKEN: 's3cret' });
    try {
      const denied = await fetch(`${vigil.api}/-/reload`, { method: 'POST' });
      expect(denied.status).toBe(401);
      const wrong = await fetch(`${vigil.api}/-/reload`, {
        method: 'POST',
        headers: { authorization: 'Bearer nope' },
      });
      expect(wrong.status).toBe(401);
      const ok = await fetch(`${vigil.api}/-/reload`, {
        method: 'POST',
        headers: { authorization: 'Bearer s3cret' },
      });
      expect(ok.status).toBe(200);
    } finally {
      expect(await vigil.stop()).toBe(0);
    }
  });
});
