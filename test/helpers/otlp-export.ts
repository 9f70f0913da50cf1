import { expect } from 'vitest';
import { find, parseExposition, type Sample } from './prometheus-text.js';
import { startVigil, testConfig, type VigilProcess } from './vigil-process.js';

/** Shared steps of the OTLP export tests: a sender vigil, pushes into it, and reading it back. */

export interface ExporterHealth {
  state: string;
  last_success: string | null;
  queued_batches?: number;
  last_error?: string | null;
}

/** Config for a vigil that exports to `url`; `otlp` overrides any `exporters.otlp` key. */
export function senderConfig(
  url: string | undefined,
  otlp: Record<string, unknown> = {},
  extra = '',
): string {
  const exporter = {
    ...(url !== undefined ? { endpoint: url } : {}),
    interval: '200ms',
    timeout: '2s',
    retry_on_failure: { initial_interval: '100ms', max_interval: '400ms', randomization_factor: 0 },
    ...otlp,
  };
  // YAML is a superset of JSON: the exporter block is written as JSON.
  return testConfig(`exporters: ${JSON.stringify({ otlp: exporter })}\n${extra}`);
}

export function startSender(
  url: string | undefined,
  otlp: Record<string, unknown> = {},
  opts: { pod?: string; extra?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<VigilProcess> {
  return startVigil(senderConfig(url, otlp, opts.extra), { POD_NAME: opts.pod ?? 'sender-0', ...opts.env });
}

export async function pushJson(vigil: VigilProcess, body: unknown): Promise<void> {
  const res = await fetch(`${vigil.ingest}/api/v1/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  const reply = (await res.json()) as { rejected: number };
  expect(reply.rejected).toBe(0);
}

export async function pushOtlpJson(vigil: VigilProcess, body: unknown): Promise<void> {
  const res = await fetch(`${vigil.ingest}/v1/metrics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({});
}

export async function samples(vigil: VigilProcess): Promise<Sample[]> {
  return parseExposition(await (await fetch(`${vigil.metrics}/metrics`)).text());
}

export async function exporterHealth(vigil: VigilProcess): Promise<ExporterHealth> {
  const r = (await (await fetch(`${vigil.api}/api/v2/diagnostics/reliability`)).json()) as {
    exporters: { otlp: ExporterHealth };
  };
  return r.exporters.otlp;
}

/** One self-metric of the sender's OTLP exporter (summed over label sets that match). */
export async function exporterMetric(
  vigil: VigilProcess,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const all = find(await samples(vigil), name, { exporter: 'otlp', job: 'vigil', ...labels });
  return all.reduce((n, s) => n + s.value, 0);
}

export const str = (key: string, value: string) => ({ key, value: { stringValue: value } });
export const nowNs = (): string => String(BigInt(Date.now()) * 1_000_000n);
