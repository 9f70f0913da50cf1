import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import type { ParsedConfig } from '../../src/config/schema.js';
import {
  DEMO_FOR_MS,
  DEMO_WINDOW_MS,
  demoConfig,
  wantsDemoCollector,
  withDemoCollector,
} from '../../src/demo/demo-config.js';
import { localUrl } from '../../src/demo/demo.js';
import { activeIncidents, CYCLE_S, cycleSeconds, INCIDENTS } from '../../src/demo/scenario.js';
import { LegacyBatch, pricing, Valuation, type DemoMetric } from '../../src/demo/traffic.js';
import { REPO } from '../helpers/vigil-process.js';

function shipped(): ParsedConfig {
  const loaded = parseConfigText(readFileSync(join(REPO, 'config.yaml'), 'utf8'), 'config.yaml', {});
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  return loaded.config;
}

/** A small deterministic PRNG (mulberry32) so traffic checks do not depend on luck. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('demoConfig', () => {
  it('caps windows, for and keep_firing_for; thresholds and expressions are untouched', () => {
    const base = shipped();
    const demo = demoConfig(base);
    for (const [name, sig] of Object.entries(demo.signals)) {
      const orig = base.signals[name]!;
      expect(sig.window).toBe(Math.min(orig.window, DEMO_WINDOW_MS));
      if (sig.ratio !== undefined) {
        expect(sig.ratio.numerator.window).toBeLessThanOrEqual(DEMO_WINDOW_MS);
        expect(sig.ratio.denominator.window).toBeLessThanOrEqual(DEMO_WINDOW_MS);
        expect(sig.ratio.numerator.where).toEqual(orig.ratio!.numerator.where);
      }
    }
    expect(demo.sources.window).toBe(DEMO_WINDOW_MS);
    const degradation = demo.rules.find((r) => r.name === 'LATENCY_DEGRADATION')!;
    expect(degradation.for).toBe(DEMO_FOR_MS);
    expect(demo.rules.map((r) => [r.name, r.expr, r.severity])).toEqual(
      base.rules.map((r) => [r.name, r.expr, r.severity]),
    );
    expect(base.signals['http_p95_ms']!.window).toBe(300_000); // the input is not modified
  });

  it('divides every clock by the speed and refuses speeds that would make windows shorter than 1s', () => {
    const demo = demoConfig(shipped(), 4);
    expect(demo.signals['http_p95_ms']!.window).toBe(DEMO_WINDOW_MS / 4);
    expect(demo.evaluation_interval).toBe(250);
    expect(demo.rules.find((r) => r.name === 'LATENCY_DEGRADATION')!.for).toBe(DEMO_FOR_MS / 4);
    expect(() => demoConfig(shipped(), 0.5)).toThrow(RangeError);
    expect(() => demoConfig(shipped(), 31)).toThrow(RangeError);
  });

  it('brings a demo collector only when no OTLP endpoint is configured', () => {
    const base = shipped();
    expect(wantsDemoCollector(base, {})).toBe(true);
    expect(wantsDemoCollector(base, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(false);
    const cfg = withDemoCollector(base, 'http://127.0.0.1:1/v1/metrics', 2);
    expect(cfg.exporters.otlp.endpoint).toBe('http://127.0.0.1:1/v1/metrics');
    expect(cfg.exporters.otlp.interval).toBe(2_500);
    expect(wantsDemoCollector(cfg, {})).toBe(false);
  });
});

describe('the demo scenario', () => {
  it('stages an incident for every shipped rule, inside one cycle', () => {
    const expected = new Set(INCIDENTS.flatMap((i) => i.expect));
    for (const rule of shipped().rules) expect(expected, rule.name).toContain(rule.name);
    for (const i of INCIDENTS) {
      expect(i.startS).toBeGreaterThan(0);
      expect(i.endS).toBeLessThan(CYCLE_S - 30); // room for the last rules to resolve
    }
  });

  it('answers which incidents are active, cycle after cycle', () => {
    expect(activeIncidents(0).size).toBe(0);
    expect([...activeIncidents(20)]).toEqual(['stalled-pipeline']);
    expect(activeIncidents(cycleSeconds(CYCLE_S + 20))).toEqual(activeIncidents(20));
    expect(cycleSeconds(-1)).toBe(CYCLE_S - 1);
  });
});

describe('the demo traffic', () => {
  const values = (ms: DemoMetric[], name: string): number[] =>
    ms
      .filter((m) => m.name === name)
      .flatMap((m) => [...(m.values ?? []), ...(m.value !== undefined ? [m.value] : [])]);

  it('pricing: fast and nearly error-free when healthy, 5-8 s during the latency spike', () => {
    const random = seeded(1);
    const healthy = pricing.tick(new Set(), random);
    const durations = values(healthy, 'http.server.request.duration');
    expect(durations.length).toBe(20);
    expect(Math.max(...durations)).toBeLessThan(0.2);
    const spike = values(pricing.tick(new Set(['latency-spike']), random), 'http.server.request.duration');
    expect(Math.min(...spike)).toBeGreaterThanOrEqual(5);
    expect(
      values(pricing.tick(new Set(['cpu-saturation']), random), 'process.cpu.utilization')[0],
    ).toBeGreaterThan(0.85);
  });

  it('valuation: the backlog passes 1000 within seconds of a stall and drains after it', () => {
    const v = new Valuation();
    const random = seeded(2);
    let backlog = 0;
    for (let s = 0; s < 10; s++)
      backlog = values(v.tick(new Set(['stalled-pipeline']), random), 'stream.recompute_backlog')[0]!;
    expect(backlog).toBeGreaterThan(1000);
    for (let s = 0; s < 5; s++) backlog = values(v.tick(new Set(), random), 'stream.recompute_backlog')[0]!;
    expect(backlog).toBeLessThan(100);
  });

  it('legacy-batch: every tenth push carries one item vigil must reject', () => {
    const b = new LegacyBatch();
    const pushes = Array.from({ length: 20 }, () => b.tick());
    expect(pushes.filter((p) => p.some((m) => (m.value ?? 0) < 0))).toHaveLength(2);
  });

  it('localUrl: wildcard listeners are reached on loopback', () => {
    expect(localUrl({ address: '0.0.0.0', family: 'IPv4', port: 8080 })).toBe('http://127.0.0.1:8080');
    expect(localUrl({ address: '::1', family: 'IPv6', port: 9 })).toBe('http://[::1]:9');
  });
});
