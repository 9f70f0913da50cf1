import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import { harness, M, S } from '../helpers/alerting-harness.js';
import { startRecorder, type HttpRecorder } from '../helpers/http-recorder.js';

/**
 * Webhooks against local HTTP receivers started by the test, with an injected clock: grouping per
 * evaluation, per-fingerprint repeat_interval, min_severity, resolved once, acks, escalation,
 * retries, and the notification log across a restart.
 */

let ops: HttpRecorder;
let pager: HttpRecorder;

beforeAll(async () => {
  ops = await startRecorder();
  pager = await startRecorder();
});
afterAll(async () => {
  await ops?.close();
  await pager?.close();
});
beforeEach(() => {
  for (const r of [ops, pager]) {
    r.requests.length = 0;
    r.respondWith(undefined);
  }
});

const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);
const H = 60 * M;
const iso = (ms: number): string => new Date(ms).toISOString();

interface JsonMessage {
  version: string;
  status: string;
  receiver: string;
  commonLabels: Record<string, string>;
  externalURL: string;
  alerts: Array<{
    status: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: string;
    endsAt: string;
    fingerprint: string;
    reason: string;
    generatorURL: string;
  }>;
}

const messages = (r: HttpRecorder): JsonMessage[] => r.requests.map((q) => q.body as JsonMessage);
/** `service_name:reason` of each alert in message i. */
const summary = (r: HttpRecorder, i: number): string[] =>
  messages(r)[i]!.alerts.map((a) => `${a.labels['service_name'] ?? a.labels['alertname']}:${a.reason}`);

const RULES = [
  { name: 'HIGH_LAT', severity: 'warning', expr: 'lat_by > 1500', summary: 'p95 {{value}} ms' },
  { name: 'CPU_HOT', severity: 'info', expr: 'cpu > 90' },
] as const;

type AlertingInput = NonNullable<ConfigInput['alerting']>;

function hooks(extra: Partial<AlertingInput> = {}): AlertingInput {
  return {
    webhooks: [
      { name: 'ops', url: ops.url, min_severity: 'warning', repeat_interval: '1h' },
      { name: 'pager', url: pager.url, format: 'slack', min_severity: 'critical', repeat_interval: '30m' },
    ],
    external_labels: { cluster: 'test' },
    ...extra,
  };
}

describe('webhooks > grouping and throttling', () => {
  it('sends the firings of one evaluation as one message and repeats each fingerprint after repeat_interval', async () => {
    const h = harness({ rules: [...RULES], alerting: hooks() }, T0);
    h.signals.set('lat_by', { a: 1800, b: 1900 }).set('cpu', 95);
    await h.evalAt(T0);
    expect(ops.requests).toHaveLength(1);
    const m = messages(ops)[0]!;
    expect(m).toMatchObject({
      version: '4',
      status: 'firing',
      receiver: 'ops',
      commonLabels: { alertname: 'HIGH_LAT', severity: 'warning', cluster: 'test' },
      externalURL: 'http://vigil.test:8080',
    });
    expect(m.alerts[0]).toEqual({
      status: 'firing',
      labels: { alertname: 'HIGH_LAT', severity: 'warning', service_name: 'a', cluster: 'test' },
      annotations: { summary: 'p95 1800 ms', value: '1800' },
      startsAt: iso(T0),
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://vigil.test:8080/api/v2/diagnostics/reliability',
      fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/),
      reason: 'new',
    });
    // CPU_HOT is info: below ops' min_severity; nothing reaches the critical-only pager.
    expect(summary(ops, 0)).toEqual(['a:new', 'b:new']);
    expect(pager.requests).toHaveLength(0);

    // Evaluations in between send nothing; a new firing goes out alone.
    await h.evalAt(T0 + 5 * M);
    expect(ops.requests).toHaveLength(1);
    h.signals.set('lat_by', { a: 1800, b: 1900, c: 2000 });
    await h.evalAt(T0 + 10 * M);
    expect(summary(ops, 1)).toEqual(['c:new']);
    await h.evalAt(T0 + H - S);
    expect(ops.requests).toHaveLength(2);
    await h.evalAt(T0 + H);
    expect(summary(ops, 2)).toEqual(['a:repeat', 'b:repeat']);
    await h.evalAt(T0 + H + 10 * M);
    expect(summary(ops, 3)).toEqual(['c:repeat']);
  });

  it('sends a resolution once, only where the firing was sent', async () => {
    const h = harness(
      { rules: [...RULES], alerting: hooks({ webhooks: [{ url: ops.url, min_severity: 'info' }] }) },
      T0,
    );
    h.signals.set('lat_by', { a: 1800, b: 1900 }).set('cpu', 95);
    await h.evalAt(T0);
    expect(summary(ops, 0)).toEqual(['a:new', 'b:new', 'CPU_HOT:new']);
    h.signals.set('lat_by', { a: 1800 }).set('cpu', 10);
    await h.evalAt(T0 + M);
    expect(ops.requests).toHaveLength(2);
    const m = messages(ops)[1]!;
    expect(m.status).toBe('resolved');
    expect(summary(ops, 1)).toEqual(['b:resolved', 'CPU_HOT:resolved']);
    expect(m.alerts[0]).toMatchObject({ status: 'resolved', startsAt: iso(T0), endsAt: iso(T0 + M) });
    for (let t = T0 + 2 * M; t <= T0 + 20 * M; t += 2 * M) await h.evalAt(t);
    expect(ops.requests).toHaveLength(2);
  });
});

describe('webhooks > acknowledgement and escalation', () => {
  it('an ack stops repeats; an unacknowledged warning escalates to critical after escalate_after', async () => {
    const h = harness({ rules: [...RULES], alerting: hooks({ escalate_after: '30m' }) }, T0);
    h.signals.set('lat_by', { a: 1800, b: 1900 });
    await h.evalAt(T0);
    expect(summary(ops, 0)).toEqual(['a:new', 'b:new']);
    const fpA = messages(ops)[0]!.alerts[0]!.fingerprint;

    h.now = T0 + 5 * M;
    const acked = await h.alerting.ack(fpA, { by: 'alice', comment: 'looking' });
    expect(acked).toMatchObject({ ok: true, alert: { ack: { by: 'alice', comment: 'looking' } } });
    expect(ops.requests).toHaveLength(1); // an ack sends nothing

    await h.evalAt(T0 + 30 * M - S);
    expect(pager.requests).toHaveLength(0);
    await h.evalAt(T0 + 30 * M);
    // b escalated: the critical-only pager hears of it now (Slack format); a is acknowledged.
    expect(pager.requests).toHaveLength(1);
    const slack = pager.requests[0]!.body as { text: string; attachments: Array<Record<string, unknown>> };
    expect(slack.text).toBe('[FIRING:1] pager: HIGH_LAT');
    expect(slack.attachments).toHaveLength(1);
    expect(slack.attachments[0]).toMatchObject({
      color: '#d50200',
      title: '[ESCALATED] HIGH_LAT (critical, escalated from warning)',
      title_link: 'http://vigil.test:8080/api/v2/diagnostics/reliability',
      text: 'p95 1900 ms',
      fields: [{ title: 'Labels', value: 'service_name=b, cluster=test', short: false }],
    });
    expect(summary(ops, 1)).toEqual(['b:escalated']);
    expect(messages(ops)[1]!.alerts[0]!.labels['severity']).toBe('critical');

    // At +1h: b was last sent to ops at +30m, a is acknowledged: nothing for ops. The pager repeats b.
    await h.evalAt(T0 + H);
    expect(ops.requests).toHaveLength(2);
    expect(pager.requests).toHaveLength(2);
    expect((pager.requests[1]!.body as { attachments: Array<{ title: string }> }).attachments[0]!.title).toBe(
      '[FIRING] HIGH_LAT (critical, escalated from warning) — still firing',
    );
    await h.evalAt(T0 + 90 * M);
    expect(summary(ops, 2)).toEqual(['b:repeat']);

    // Withdrawing the ack makes a an unacknowledged warning firing for 95 min: it escalates now.
    h.now = T0 + 95 * M;
    expect(h.alerting.unack(fpA)).toMatchObject({ ok: true });
    await h.evalAt(T0 + 95 * M);
    expect(summary(ops, 3)).toEqual(['a:escalated']);
  });

  it('a manual resolution is sent at once and holds until the rule fires anew', async () => {
    const h = harness({ rules: [...RULES], alerting: hooks() }, T0);
    h.signals.set('lat_by', { a: 1800 });
    await h.evalAt(T0);
    const fp = messages(ops)[0]!.alerts[0]!.fingerprint;
    h.now = T0 + M;
    const r = h.alerting.resolve(fp, { by: 'bob', comment: 'false positive' });
    expect(r).toMatchObject({ ok: true, alert: { status: 'resolved', manual: { by: 'bob' } } });
    await h.alerting.idle();
    expect(summary(ops, 1)).toEqual(['a:resolved']);
    expect(messages(ops)[1]!.alerts[0]!.endsAt).toBe(iso(T0 + M));
    expect(h.alerting.resolve(fp, { by: 'bob', comment: '' })).toMatchObject({ ok: false, status: 409 });
    // The condition still holds: no repeat, no new firing, for hours.
    for (let t = T0 + 2 * M; t <= T0 + 3 * H; t += 20 * M) await h.evalAt(t);
    expect(ops.requests).toHaveLength(2);
    // Condition clears, then comes back: a new alert, sent.
    h.signals.set('lat_by', {});
    await h.evalAt(T0 + 4 * H);
    h.signals.set('lat_by', { a: 2500 });
    await h.evalAt(T0 + 4 * H + M);
    expect(summary(ops, 2)).toEqual(['a:new']);
  });
});

describe('webhooks > delivery failures', () => {
  it('retries a failed message with backoff (honouring Retry-After) and drops one refused with 4xx', async () => {
    const h = harness(
      { rules: [...RULES], alerting: hooks({ webhooks: [{ name: 'ops', url: ops.url }] }) },
      T0,
    );
    ops.respondWith(503);
    h.signals.set('lat_by', { a: 1800 });
    await h.evalAt(T0);
    await h.evalAt(T0 + 500);
    expect(ops.requests).toHaveLength(1); // backing off (0.8–1 s)
    await h.evalAt(T0 + 1000);
    expect(ops.requests).toHaveLength(2);
    expect(h.alerting.status()['webhooks']).toEqual([
      expect.objectContaining({ name: 'ops', state: 'retrying', consecutive_failures: 2, alerts_sent: 0 }),
    ]);
    ops.respondWith(429, '', { 'retry-after': '120' });
    await h.evalAt(T0 + 5000);
    expect(ops.requests).toHaveLength(3);
    await h.evalAt(T0 + 100_000);
    expect(ops.requests).toHaveLength(3); // Retry-After: 120 s
    ops.respondWith(undefined);
    await h.evalAt(T0 + 125_000);
    expect(ops.requests).toHaveLength(4);
    expect(summary(ops, 3)).toEqual(['a:new']); // the same alert, still "new" to the receiver
    expect(h.alerting.status()['webhooks']).toEqual([
      expect.objectContaining({ state: 'ok', consecutive_failures: 0, alerts_sent: 1, requests_failed: 3 }),
    ]);

    ops.respondWith(404, 'no such hook');
    h.signals.set('lat_by', { a: 1800, b: 1900 });
    await h.evalAt(T0 + 130_000);
    await h.evalAt(T0 + 200_000);
    expect(ops.requests).toHaveLength(5); // not retried
    expect(h.alerting.status()['webhooks']).toEqual([
      expect.objectContaining({ state: 'failed', alerts_dropped: 1, last_error: 'HTTP 404: no such hook' }),
    ]);
  });

  it('does not notify again after a restart (the notification log and acks are in the snapshot)', async () => {
    const h = harness({ rules: [...RULES], alerting: hooks() }, T0);
    h.signals.set('lat_by', { a: 1800, b: 1900 });
    await h.evalAt(T0);
    const fpB = messages(ops)[0]!.alerts[1]!.fingerprint;
    await h.alerting.ack(fpB, { by: 'carol', comment: '', durationMs: 2 * H });
    const again = await h.restart();
    again.signals.set('lat_by', { a: 1800, b: 1900 });
    await again.evalAt(T0 + 10 * S);
    expect(ops.requests).toHaveLength(1);
    expect(again.alerting.get(fpB)?.ack).toMatchObject({ by: 'carol', expiresAtMs: T0 + 2 * H });
    // The throttle continues from the original send; the ack still stops b's repeat.
    await again.evalAt(T0 + H);
    expect(summary(ops, 1)).toEqual(['a:repeat']);
    again.alerting.stop();
  });
});
