import { describe, expect, it } from 'vitest';
import { parseConfigText, substituteEnv } from '../../src/config/load.js';
import { parseBytes, parseDurationMs, parseHostPort } from '../../src/config/units.js';

describe('config units', () => {
  it('parses Prometheus-style durations', () => {
    expect(parseDurationMs('250ms')).toBe(250);
    expect(parseDurationMs('15s')).toBe(15_000);
    expect(parseDurationMs('1h30m')).toBe(5_400_000);
    expect(parseDurationMs('0')).toBe(0);
    expect(parseDurationMs(2)).toBe(2000);
    expect(parseDurationMs('5 m')).toBeUndefined();
    expect(parseDurationMs('m5')).toBeUndefined();
    expect(parseDurationMs('')).toBeUndefined();
  });

  it('parses sizes and listen addresses', () => {
    expect(parseBytes('8MiB')).toBe(8 * 1024 * 1024);
    expect(parseBytes('1KB')).toBe(1000);
    expect(parseBytes(12)).toBe(12);
    expect(parseBytes('8 potatoes')).toBeUndefined();
    expect(parseHostPort('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseHostPort('[::1]:4318')).toEqual({ host: '::1', port: 4318 });
    expect(parseHostPort(':9464')).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(parseHostPort('host:70000')).toBeUndefined();
  });

  it('substitutes ${VAR}, ${env:VAR} and defaults', () => {
    const env = { POD: 'p-1' };
    expect(substituteEnv('${POD}/${env:POD}/${MISSING:-x}/${MISSING}', env)).toBe('p-1/p-1/x/');
  });
});

describe('config schema', () => {
  it('fills every default from an empty file', () => {
    const r = parseConfigText('', 'c.yaml');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.listeners.ingest).toEqual({ host: '127.0.0.1', port: 4318 });
    expect(r.config.limits).toEqual({
      max_request_bytes: 8 * 1024 * 1024,
      max_series: 100_000,
      max_series_per_metric: 10_000,
      series_ttl: 300_000,
      max_concurrent_requests: 64,
      max_inflight_bytes: 32 * 1024 * 1024,
      request_timeout: 30_000,
      headers_timeout: 10_000,
      keep_alive_timeout: 65_000,
      max_header_bytes: 16 * 1024,
      max_headers_count: 100,
      max_connections: 512,
      compact_after_new_series: 10_000,
      compact_after_heap_growth: 8 * 1024 * 1024,
      max_attributes_per_point: 128,
      max_attribute_value_length: 4096,
    });
    expect(r.config.ingest).toEqual({});
    expect(r.config.evaluation_interval).toBe(1000);
    expect(r.config.shutdown_timeout).toBe(10_000);
  });

  it('reports wrong types at the offending node', () => {
    const r = parseConfigText(
      'log:\n  level: loud\nviews:\n  - instrument_name: x\n    aggregation: sum\n',
      'c.yaml',
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors[0]).toMatch(/^c\.yaml:2:10 log\.level: /);
    expect(r.errors[1]).toMatch(/^c\.yaml:5:18 views\[0\]\.aggregation: /);
  });

  it('rejects duplicate keys', () => {
    const r = parseConfigText('log:\n  level: info\nlog:\n  level: warn\n', 'c.yaml');
    expect(r.ok).toBe(false);
  });
});
