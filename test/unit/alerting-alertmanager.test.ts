import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PostableAlert } from '../../src/alerting/types.js';
import { harness, M, S } from '../helpers/alerting-harness.js';
import { startRecorder, type HttpRecorder } from '../helpers/http-recorder.js';
import { startAlertmanager, type RealAlertmanager } from '../helpers/real-alertmanager.js';

/**
 * Prometheus's sending semantics, checked request by request with an injected clock. Every
 * request goes through a recording proxy to a REAL Alertmanager 0.25, and each test also checks
 * that Alertmanager accepted every request vigil made (a 200, not a 400 on labels or times).
 */

let am: RealAlertmanager;
let proxy: HttpRecorder;

beforeAll(async () => {
  am = await startAlertmanager();
  proxy = await startRecorder(am.url);
});
afterAll(async () => {
  await proxy?.close();
  await am?.stop();
});
beforeEach(() => {
  proxy.requests.length = 0;
  proxy.respondWith(undefined);
});

const iso = (ms: number): string => new Date(ms).toISOString();
/** Alerts posted to /api/v2/alerts, one array per request. */
const posts = (): PostableAlert[][] =>
  proxy.requests.filter((r) => r.path === '/api/v2/alerts').map((r) => r.body as PostableAlert[]);
const allAccepted = (): boolean => proxy.requests.every((r) => r.status === 200);

const HIGH_LAT = {
  name: 'HIGH_LAT',
  severity: 'warning',
  expr: 'lat_by > 1500',
  summary: 'p95 {{value}} ms',
  recommendation: 'check the slow dependency',
  labels: { team: 'pricing' },
} as const;

function amConfig(extra: Record<string, unknown> = {}) {
  return {
    alertmanager: { url: proxy.url, resend_interval: '1m' },
    external_labels: { cluster: 'test', team: 'not-this' },
    ...extra,
  };
}

describe('Alertmanager notifier > Prometheus sending semantics', () => {
  // In the past, so Alertmanager takes every startsAt/endsAt as history, never as the future.
  const T0 = Math.floor((Date.now() - 40 * M) / S) * S;

  it('sends a firing alert at once with startsAt = fired, endsAt = now + 4 × max(eval, resend), and labels as Prometheus builds them', async () => {
    const h = harness(
      {
        evaluation_interval: '15s',
        rules: [HIGH_LAT, { name: 'SLOW_START', severity: 'critical', expr: 'lat_by > 1500', for: '30s' }],
        alerting: amConfig(),
      },
      T0,
    );
    h.signals.set('lat_by', { pricing: 1800 });
    await h.evalAt(T0);
    expect(posts()).toHaveLength(1);
    const [first] = posts()[0]!;
    expect(posts()[0]).toHaveLength(1); // SLOW_START is pending: never sent
    expect(first).toEqual({
      labels: {
        alertname: 'HIGH_LAT',
        severity: 'warning',
        service_name: 'pricing', // `service.name`: Alertmanager refuses dotted label names
        team: 'pricing', // the rule's label wins over the external label
        cluster: 'test',
      },
      annotations: { summary: 'p95 1800 ms', recommendation: 'check the slow dependency', value: '1800' },
      startsAt: iso(T0),
      endsAt: iso(T0 + 4 * M), // 4 × max(15s, 1m)
      generatorURL: 'http://vigil.test:8080/api/v2/diagnostics/reliability',
    });
    // SLOW_START fires at +30s: sent then, startsAt = when it fired (Prometheus's FiredAt).
    await h.evalAt(T0 + 15 * S);
    expect(posts()).toHaveLength(1);
    await h.evalAt(T0 + 30 * S);
    expect(posts()).toHaveLength(2);
    expect(posts()[1]).toMatchObject([{ labels: { alertname: 'SLOW_START' }, startsAt: iso(T0 + 30 * S) }]);
    expect(allAccepted()).toBe(true);
    h.alerting.stop();
  });

  it('re-sends firing alerts once the resend interval has passed (strictly), and resolved ones for 5 minutes', async () => {
    const h = harness({ evaluation_interval: '15s', rules: [HIGH_LAT], alerting: amConfig() }, T0);
    h.signals.set('lat_by', { pricing: 1800 });
    const sentAt: number[] = [];
    for (let t = T0; t <= T0 + 75 * S; t += 15 * S) {
      const before = posts().length;
      await h.evalAt(t);
      if (posts().length > before) sentAt.push(t - T0);
    }
    // Prometheus: LastSentAt + resend < now — not at exactly +60s.
    expect(sentAt).toEqual([0, 75 * S]);
    expect(posts()[1]![0]!.endsAt).toBe(iso(T0 + 75 * S + 4 * M));

    h.signals.set('lat_by', { pricing: 100 });
    const resolvedAt = T0 + 90 * S;
    const resolvedSends: number[] = [];
    for (let t = resolvedAt; t <= resolvedAt + 8 * M; t += 15 * S) {
      const before = posts().length;
      await h.evalAt(t);
      if (posts().length > before) {
        resolvedSends.push(t - resolvedAt);
        const [a] = posts().at(-1)!;
        expect(a!.endsAt).toBe(iso(resolvedAt)); // endsAt = resolve time, every time
        expect(a!.startsAt).toBe(iso(T0));
      }
    }
    expect(resolvedSends).toEqual([0, 75 * S, 150 * S, 225 * S, 300 * S]);
    expect(allAccepted()).toBe(true);
    h.alerting.stop();
  });

  it('ends the old label set when escalation changes the severity label', async () => {
    const h = harness(
      { evaluation_interval: '15s', rules: [HIGH_LAT], alerting: amConfig({ escalate_after: '1m' }) },
      T0,
    );
    h.signals.set('lat_by', { pricing: 1800 });
    await h.evalAt(T0);
    await h.evalAt(T0 + 45 * S);
    expect(posts()).toHaveLength(1);
    await h.evalAt(T0 + 60 * S);
    expect(posts()).toHaveLength(2);
    const [ended, escalated] = posts()[1]!;
    expect(ended).toMatchObject({ labels: { severity: 'warning' }, endsAt: iso(T0 + 60 * S) });
    expect(escalated).toMatchObject({
      labels: { alertname: 'HIGH_LAT', severity: 'critical', service_name: 'pricing' },
      annotations: { escalated_from: 'warning' },
      startsAt: iso(T0),
      endsAt: iso(T0 + 60 * S + 4 * M),
    });
    expect(allAccepted()).toBe(true);
    h.alerting.stop();
  });

  it('sends batches of at most 64 alerts', async () => {
    const now = Date.now();
    const h = harness({ evaluation_interval: '1s', rules: [HIGH_LAT], alerting: amConfig() }, now);
    const services: Record<string, number> = {};
    for (let i = 0; i < 150; i++) services[`svc-${i}`] = 2000 + i;
    h.signals.set('lat_by', services);
    await h.evalAt(now);
    expect(posts().map((b) => b.length)).toEqual([64, 64, 22]);
    expect(allAccepted()).toBe(true);
    // All 150 are active in Alertmanager now (endsAt is in the future of its clock).
    const inAm = (await am.alerts()).filter((a) => a.labels['alertname'] === 'HIGH_LAT');
    expect(new Set(inAm.map((a) => a.labels['service_name'])).size).toBe(150);
    h.alerting.stop();
  });
});

describe('Alertmanager notifier > failures', () => {
  const T0 = Math.floor((Date.now() - 20 * M) / S) * S;

  it('retries with backoff while Alertmanager fails, reports it, and delivers the newest state when back', async () => {
    const h = harness({ evaluation_interval: '1s', rules: [HIGH_LAT], alerting: amConfig() }, T0);
    proxy.respondWith(503, '"unavailable"');
    h.signals.set('lat_by', { pricing: 1800 });
    await h.evalAt(T0);
    expect(proxy.requests).toHaveLength(1);
    let status = h.alerting.status()['alertmanager'] as Record<string, unknown>;
    expect(status).toMatchObject({
      state: 'retrying',
      consecutive_failures: 1,
      queue_length: 1,
      last_success: null,
      last_error: 'HTTP 503: "unavailable"',
    });
    // Backoff: the first retry waits 0.8–1 s; evaluations meanwhile do not hammer Alertmanager.
    await h.evalAt(T0 + 500);
    expect(proxy.requests).toHaveLength(1);
    await h.evalAt(T0 + 1000);
    expect(proxy.requests).toHaveLength(2);
    // Second retry waits 1.6–2 s.
    await h.evalAt(T0 + 2500);
    expect(proxy.requests).toHaveLength(2);
    await h.evalAt(T0 + 3000);
    expect(proxy.requests).toHaveLength(3);
    expect((h.alerting.status()['alertmanager'] as Record<string, unknown>)['consecutive_failures']).toBe(3);

    // Resolved while Alertmanager is down: the queued firing state is replaced by the resolve.
    h.signals.set('lat_by', { pricing: 100 });
    await h.evalAt(T0 + 4000);
    proxy.respondWith(undefined); // back
    await h.evalAt(T0 + 10_000);
    const delivered = proxy.requests.filter((r) => r.status === 200);
    expect(delivered).toHaveLength(1);
    expect(delivered[0]!.body).toEqual([
      expect.objectContaining({ startsAt: iso(T0), endsAt: iso(T0 + 4000) }),
    ]);
    status = h.alerting.status()['alertmanager'] as Record<string, unknown>;
    expect(status).toMatchObject({
      state: 'ok',
      consecutive_failures: 0,
      queue_length: 0,
      alerts_sent: 1,
      requests_failed: 3,
      requests_succeeded: 1,
      last_success: iso(T0 + 10_000),
    });
    h.alerting.stop();
  });

  it('drops the oldest alerts beyond queue_capacity, and does not retry what Alertmanager refuses (4xx)', async () => {
    const h = harness(
      {
        evaluation_interval: '1s',
        rules: [HIGH_LAT],
        alerting: amConfig({ alertmanager: { url: proxy.url, resend_interval: '1m', queue_capacity: 2 } }),
      },
      T0,
    );
    proxy.respondWith(503);
    h.signals.set('lat_by', { a: 1800, b: 1800, c: 1800 });
    await h.evalAt(T0);
    let status = h.alerting.status()['alertmanager'] as Record<string, unknown>;
    expect(status).toMatchObject({ queue_length: 2, alerts_dropped: 1 });

    proxy.respondWith(400, '"bad alert"');
    await h.evalAt(T0 + 5000);
    status = h.alerting.status()['alertmanager'] as Record<string, unknown>;
    expect(status).toMatchObject({ state: 'failed', queue_length: 0, alerts_dropped: 3 });
    const n = proxy.requests.length;
    await h.evalAt(T0 + 10_000);
    expect(proxy.requests).toHaveLength(n); // nothing left to retry until the next resend
    h.alerting.stop();
  });
});
