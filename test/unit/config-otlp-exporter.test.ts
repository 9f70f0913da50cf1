import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { resolveOtlpExporter } from '../../src/config/otlp-env.js';
import type { ParsedConfig } from '../../src/config/schema.js';

function config(yaml: string): ParsedConfig {
  const r = parseConfigText(yaml, 'c.yaml', {});
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.config;
}

function resolve(yaml: string, env: NodeJS.ProcessEnv = {}) {
  return resolveOtlpExporter(config(yaml).exporters.otlp, env);
}

describe('exporters.otlp config', () => {
  it('is disabled without an endpoint, with the collector’s defaults otherwise', () => {
    const off = resolve('');
    expect(off.enabled).toBe(false);
    const on = resolve('exporters:\n  otlp:\n    endpoint: http://collector:4318/v1/metrics\n');
    expect(on.enabled).toBe(true);
    if (!on.enabled) return;
    expect(on.settings).toMatchObject({
      url: 'http://collector:4318/v1/metrics',
      protocol: 'http/protobuf',
      intervalMs: 15_000,
      timeoutMs: 10_000,
      compression: 'gzip',
      temporality: 'cumulative',
      maxBatchPoints: 8192,
      queue: { maxBatches: 1000, maxBytes: 64 * 1024 * 1024, persist: true },
      retry: {
        enabled: true,
        initialIntervalMs: 5_000,
        multiplier: 1.5,
        maxIntervalMs: 30_000,
        randomizationFactor: 0.5,
        maxElapsedMs: 300_000,
      },
      breaker: { enabled: true, failureThreshold: 5, openTimeoutMs: 30_000, successThreshold: 2 },
    });
    expect([...on.settings.export]).toEqual(['ingested', 'rules', 'self']);
  });

  it('takes the endpoint from OTEL_EXPORTER_OTLP_METRICS_ENDPOINT as is, or the generic one + v1/metrics', () => {
    const specific = resolve('', {
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://a:4318/custom/path',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://b:4318',
    });
    expect(specific.enabled && specific.settings.url).toBe('http://a:4318/custom/path');
    const generic = resolve('', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://b:4318' });
    expect(generic.enabled && generic.settings.url).toBe('http://b:4318/v1/metrics');
    const withBase = resolve('', { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://b.example/otlp/' });
    expect(withBase.enabled && withBase.settings.url).toBe('https://b.example/otlp/v1/metrics');
  });

  it('lets the file win over the environment, and enabled: false win over both', () => {
    const file = resolve('exporters:\n  otlp:\n    endpoint: http://file:4318/v1/metrics\n', {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:4318',
    });
    expect(file.enabled && file.settings.url).toBe('http://file:4318/v1/metrics');
    const off = resolve('exporters:\n  otlp:\n    enabled: false\n', {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:4318',
    });
    expect(off.enabled).toBe(false);
  });

  it('merges OTEL_EXPORTER_OTLP_HEADERS, the metrics-specific headers and the file’s', () => {
    const r = resolve('exporters:\n  otlp:\n    headers:\n      x-team: file\n', {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:4318',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20abc,x-team=generic,x-a=1',
      OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'x-a=2',
    });
    expect(r.enabled && r.settings.headers).toEqual({
      authorization: 'Bearer abc',
      'x-team': 'file',
      'x-a': '2',
    });
  });

  it('reads protocol, timeout, compression and temporality from the environment when the file is silent', () => {
    const r = resolve('', {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: '2500',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'none',
      OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'Delta',
    });
    expect(r.enabled && r.settings).toMatchObject({
      protocol: 'http/json',
      timeoutMs: 2500,
      compression: 'none',
      temporality: 'delta',
    });
    const grpc = resolve('exporters:\n  otlp:\n    timeout: 3s\n', {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_TIMEOUT: '1',
    });
    expect(grpc.enabled && grpc.settings.protocol).toBe('http/protobuf');
    expect(grpc.enabled && grpc.settings.timeoutMs).toBe(3000);
    expect(grpc.warnings.join()).toMatch(/grpc is not supported/);
  });

  it('reports bad values at their line, and treats an empty substituted endpoint as unset', () => {
    const r = parseConfigText(
      'exporters:\n  otlp:\n    endpoint: ftp://x\n    protocol: grpc\n    interval: 10ms\n    sending_queue:\n      queue_size: 0\n',
      'c.yaml',
      {},
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual([
      expect.stringMatching(/^c\.yaml:3:15 exporters\.otlp\.endpoint: endpoint must be an http/),
      expect.stringMatching(/^c\.yaml:4:15 exporters\.otlp\.protocol: /),
      expect.stringMatching(/^c\.yaml:5:15 exporters\.otlp\.interval: interval must be at least 100 ms/),
      expect.stringMatching(/^c\.yaml:7:19 exporters\.otlp\.sending_queue\.queue_size: /),
    ]);
    const empty = parseConfigText('exporters:\n  otlp:\n    endpoint: ${NOPE}\n', 'c.yaml', {});
    expect(empty.ok && empty.config.exporters.otlp.endpoint).toBeUndefined();
    const unknown = parseConfigText('exporters:\n  otlp:\n    retry:\n      enabled: true\n', 'c.yaml', {});
    expect(!unknown.ok && unknown.errors[0]).toMatch(/exporters\.otlp\.retry: unknown key 'retry'/);
  });
});
