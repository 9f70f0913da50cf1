import { afterEach, describe, expect, it } from 'vitest';
import { startRecorder, type HttpRecorder } from '../helpers/http-recorder.js';
import { find, parseExposition } from '../helpers/prometheus-text.js';
import { freePort } from '../helpers/real-prometheus.js';
import {
  startAlertmanager,
  type GettableAlert,
  type RealAlertmanager,
} from '../helpers/real-alertmanager.js';
import { eventually, startVigil, tempDir, testConfig, type VigilProcess } from '../helpers/vigil-process.js';

/**
 * SPEC §8 on the real process with a real Alertmanager 0.25 (Debian `prometheus-alertmanager`)
 * and a local webhook receiver: alerts and resolutions reach Alertmanager, an ack through vigil
 * silences the alert there, write endpoints are authorised and validated, Alertmanager being
 * down costs nothing but delay, and acks survive a restart.
 */

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function alertmanager(): Promise<RealAlertmanager> {
  const am = await startAlertmanager();
  cleanups.push(() => am.stop());
  return am;
}

async function vigil(config: string, env: NodeJS.ProcessEnv = {}): Promise<VigilProcess> {
  const v = await startVigil(testConfig(config), env);
  cleanups.push(() => v.stop());
  return v;
}

const rules = (alerting: string, extra = ''): string => `
evaluation_interval: 250ms
signals:
  cpu_percent: { metric: process.cpu.utilization, stat: last, window: 10s, unit: '%', by: [service.name] }
rules:
  - name: HIGH_CPU
    severity: warning
    expr: cpu_percent > 85
    summary: 'CPU {{value}}% is above 85%'
    recommendation: 'Check for hot loops.'
alerting:
${alerting}
${extra}`;

async function pushCpu(v: VigilProcess, service: string, value: number): Promise<void> {
  const res = await fetch(`${v.ingest}/api/v1/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      resource: { 'service.name': service },
      metrics: [{ name: 'process.cpu.utilization', type: 'gauge', unit: '1', value }],
    }),
  });
  expect(res.status).toBe(200);
}

interface ApiAlert {
  fingerprint: string;
  state: string;
  labels: Record<string, string>;
  acknowledgement: { by: string; comment: string; silenceID: string | null; silenceError?: string } | null;
  resolvedByHand: { by: string } | null;
}

async function vigilAlerts(v: VigilProcess): Promise<ApiAlert[]> {
  const body = (await (await fetch(`${v.api}/api/v1/alerts`)).json()) as { data: { alerts: ApiAlert[] } };
  return body.data.alerts;
}

async function firing(v: VigilProcess, service: string): Promise<ApiAlert> {
  return eventually(async () => {
    await pushCpu(v, service, 0.97);
    return (await vigilAlerts(v)).find((a) => a.state === 'firing' && a.labels['service_name'] === service);
  });
}

async function inAlertmanager(am: RealAlertmanager, service: string): Promise<GettableAlert | undefined> {
  return (await am.alerts()).find(
    (a) => a.labels['alertname'] === 'HIGH_CPU' && a.labels['service_name'] === service,
  );
}

async function amMetric(am: RealAlertmanager, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${am.url}/metrics`)).text();
  return find(parseExposition(text), name, labels)[0]?.value ?? 0;
}

interface Delivery {
  state: string;
  url?: string;
  last_success: string | null;
  last_error: string | null;
  consecutive_failures: number;
  queue_length?: number;
}

interface Report {
  anomalies: Array<{ code: string; state: string }>;
  alerting: { alertmanager: Delivery; webhooks: Delivery[]; alerts: Record<string, number> };
}

async function report(v: VigilProcess): Promise<Report> {
  return (await (await fetch(`${v.api}/api/v2/diagnostics/reliability`)).json()) as Report;
}

const post = (url: string, body: string | undefined, token?: string, method = 'POST'): Promise<Response> =>
  fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
  });

describe('alerting > Alertmanager', () => {
  it('an alert fired by vigil appears in Alertmanager; its resolution reaches Alertmanager; webhooks get both', async () => {
    const am = await alertmanager();
    const hook: HttpRecorder = await startRecorder();
    cleanups.push(() => hook.close());
    const v = await vigil(
      rules(`  alertmanager: { url: ${am.url}, resend_interval: 5s }
  webhooks: [{ name: ops, url: ${hook.url}, min_severity: warning }]
  external_labels: { cluster: it }`),
    );
    const alert = await firing(v, 'pricing');
    const inAm = await eventually(() => inAlertmanager(am, 'pricing'));
    expect(inAm.labels).toEqual({
      alertname: 'HIGH_CPU',
      severity: 'warning',
      service_name: 'pricing',
      cluster: 'it',
    });
    expect(inAm.annotations).toMatchObject({
      summary: 'CPU 97% is above 85%',
      recommendation: 'Check for hot loops.',
    });
    expect(inAm.generatorURL).toBe(`${v.api}/api/v2/diagnostics/reliability`);
    expect(inAm.status.state).toBe('active');
    // endsAt = send time + 4 × max(250ms, 5s): Alertmanager would resolve it 20 s after vigil stopped.
    const validMs = Date.parse(inAm.endsAt) - Date.now();
    expect(validMs).toBeGreaterThan(12_000);
    expect(validMs).toBeLessThanOrEqual(20_000);
    await eventually(async () => hook.requests.length === 1);
    expect(hook.requests[0]!.body).toMatchObject({
      status: 'firing',
      alerts: [{ fingerprint: alert.fingerprint, reason: 'new' }],
    });

    await pushCpu(v, 'pricing', 0.2);
    // Gone from Alertmanager well before its endsAt: vigil sent the resolve.
    await eventually(async () => (await inAlertmanager(am, 'pricing')) === undefined, 8_000);
    expect(
      await amMetric(am, 'alertmanager_alerts_received_total', { status: 'resolved', version: 'v2' }),
    ).toBeGreaterThan(0);
    await eventually(async () => hook.requests.length === 2);
    expect(hook.requests[1]!.body).toMatchObject({ status: 'resolved', alerts: [{ reason: 'resolved' }] });
    const r = await report(v);
    expect(r.alerting.alertmanager).toMatchObject({
      state: 'ok',
      consecutive_failures: 0,
      queue_length: 0,
    });
    expect(r.alerting.alertmanager.last_success).toEqual(expect.any(String));
    expect(r.alerting.webhooks).toEqual([
      expect.objectContaining({ name: 'ops', target: hook.url, state: 'ok', alerts_sent: 2 }),
    ]);
    const metrics = parseExposition(await (await fetch(`${v.metrics}/metrics`)).text());
    expect(
      find(metrics, 'vigil_alerting_requests_total', {
        integration: 'webhook',
        receiver: 'ops',
        outcome: 'success',
      })[0]?.value,
    ).toBe(2);
    expect(
      find(metrics, 'vigil_alerting_last_success_timestamp_seconds', { integration: 'alertmanager' })[0]
        ?.value,
    ).toBeGreaterThan(Date.now() / 1000 - 60);
  });

  it('an ack through vigil creates a silence that silences the alert; the resolution expires it', async () => {
    const am = await alertmanager();
    const v = await vigil(rules(`  alertmanager: { url: ${am.url}, resend_interval: 1s }`));
    const alert = await firing(v, 'pricing');
    await eventually(() => inAlertmanager(am, 'pricing'));

    const res = await post(
      `${v.api}/api/v1/alerts/${alert.fingerprint}/ack`,
      JSON.stringify({ by: 'alice', comment: 'on it', duration: '1h' }),
    );
    expect(res.status).toBe(200);
    const acked = ((await res.json()) as { alert: ApiAlert }).alert;
    expect(acked.acknowledgement).toMatchObject({ by: 'alice', comment: 'on it' });
    const silenceId = acked.acknowledgement!.silenceID!;
    expect(silenceId).toMatch(/^[0-9a-f-]{36}$/);
    const one = (await (await fetch(`${v.api}/api/v1/alerts/${alert.fingerprint}`)).json()) as {
      data: ApiAlert;
    };
    expect(one.data.acknowledgement).toMatchObject({ by: 'alice', silenceID: silenceId });

    const silence = (await am.silences()).find((s) => s.id === silenceId)!;
    expect(silence).toMatchObject({ status: { state: 'active' }, createdBy: 'alice', comment: 'on it' });
    expect(Object.fromEntries(silence.matchers.map((m) => [m.name, m.value]))).toEqual(acked.labels);
    expect(silence.matchers.every((m) => !m.isRegex && m.isEqual !== false)).toBe(true);
    expect(Date.parse(silence.endsAt) - Date.now()).toBeGreaterThan(59 * 60_000);
    const silenced = await eventually(async () => {
      const a = await inAlertmanager(am, 'pricing');
      return a?.status.state === 'suppressed' ? a : undefined;
    });
    expect(silenced.status.silencedBy).toEqual([silenceId]);
    expect((await report(v)).alerting.alerts).toMatchObject({ acknowledged: 1 });

    await pushCpu(v, 'pricing', 0.2);
    await eventually(
      async () => (await am.silences()).find((s) => s.id === silenceId)?.status.state === 'expired',
    );
    expect((await vigilAlerts(v)).find((a) => a.fingerprint === alert.fingerprint)).toMatchObject({
      state: 'resolved',
      acknowledgement: null,
    });
  });
});

describe('alerting > write endpoints', () => {
  it('answers 401 to unauthorised writes and changes nothing; 400 to malformed bodies; 404 and 409', async () => {
    const am = await alertmanager();
    const v = await vigil(rules(`  alertmanager: { url: ${am.url}, resend_interval: 1s }`), {
      VIGIL_API_TOKEN: 's3cret',
    });
    const alert = await firing(v, 'pricing');
    await eventually(() => inAlertmanager(am, 'pricing'));
    const base = `${v.api}/api/v1/alerts/${alert.fingerprint}`;
    const body = JSON.stringify({ by: 'mallory', comment: 'x' });
    for (const [url, token, method] of [
      [`${base}/ack`, undefined, 'POST'],
      [`${base}/ack`, 'wrong', 'POST'],
      [`${base}/resolve`, undefined, 'POST'],
      [`${base}/resolve`, 'wrong', 'POST'],
      [`${base}/ack`, undefined, 'DELETE'],
      [`${v.api}/api/v1/alerts/0123456789abcdef/ack`, undefined, 'POST'], // no hint that it is unknown
    ] as const) {
      const res = await post(url, method === 'DELETE' ? undefined : body, token, method);
      expect(res.status, `${method} ${url} ${token}`).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    for (const [payload, why] of [
      ['{"by": "x"', /malformed JSON/],
      ['[]', /JSON object/],
      ['"ack"', /malformed JSON/],
      ['{}', /by: /],
      ['{"by": ""}', /by: must not be empty/],
      ['{"by": 5}', /by: /],
      ['{"by": "x", "duration": "soon"}', /duration: invalid duration "soon"/],
      ['{"by": "x", "duration": -5}', /duration: invalid duration/],
      ['{"by": "x", "until": "tomorrow"}', /unknown key until/],
    ] as const) {
      const res = await post(`${base}/ack`, payload, 's3cret');
      expect(res.status, payload).toBe(400);
      expect(((await res.json()) as { error: string }).error, payload).toMatch(why);
    }
    expect((await post(`${base}/resolve`, '{"by": ["x"]}', 's3cret')).status).toBe(400);
    expect((await fetch(`${v.api}/api/v1/alerts?state=bogus`)).status).toBe(400);
    // Nothing changed: no ack, no silence, still firing here and active in Alertmanager.
    await new Promise((r) => setTimeout(r, 500));
    expect((await vigilAlerts(v)).find((a) => a.fingerprint === alert.fingerprint)).toMatchObject({
      state: 'firing',
      acknowledgement: null,
      resolvedByHand: null,
    });
    expect(await am.silences()).toEqual([]);
    expect((await inAlertmanager(am, 'pricing'))?.status.state).toBe('active');

    expect((await post(`${v.api}/api/v1/alerts/0123456789abcdef/ack`, body, 's3cret')).status).toBe(404);
    expect((await post(`${v.api}/api/v1/alerts/nope/resolve`, body, 's3cret')).status).toBe(404);
    expect((await fetch(`${base}/ack`)).status).toBe(405);

    // Resolve by hand: sent to Alertmanager at once, held until the rule fires anew.
    const resolved = await post(
      `${base}/resolve`,
      JSON.stringify({ by: 'bob', comment: 'known issue' }),
      's3cret',
    );
    expect(resolved.status).toBe(200);
    expect(((await resolved.json()) as { alert: ApiAlert }).alert).toMatchObject({
      state: 'resolved',
      resolvedByHand: { by: 'bob' },
    });
    await eventually(async () => (await inAlertmanager(am, 'pricing')) === undefined, 5_000);
    expect((await post(`${base}/resolve`, body, 's3cret')).status).toBe(409);
    expect((await post(`${base}/ack`, body, 's3cret')).status).toBe(409);
    await pushCpu(v, 'pricing', 0.97); // condition still true: stays closed
    await new Promise((r) => setTimeout(r, 1500));
    expect(await inAlertmanager(am, 'pricing')).toBeUndefined();
  });
});

describe('alerting > Alertmanager down', () => {
  it('keeps evaluating, retries, reports the failure, and delivers (alerts and silences) when Alertmanager is back', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const v = await vigil(rules(`  alertmanager: { url: ${url}, resend_interval: 1s }`));
    const alert = await firing(v, 'pricing');
    const down = await eventually(async () => {
      const r = await report(v);
      return r.alerting.alertmanager.consecutive_failures >= 2 ? r : undefined;
    });
    expect(down.alerting.alertmanager).toMatchObject({
      state: 'retrying',
      url: `http://127.0.0.1:${port}`,
      last_success: null,
      last_error: 'ECONNREFUSED',
    });
    expect(down.alerting.alertmanager.queue_length).toBeGreaterThanOrEqual(1);
    // Evaluation goes on: ready, rule firing, the report's anomaly present.
    expect((await fetch(`${v.api}/readyz`)).status).toBe(200);
    expect(down.anomalies).toEqual([expect.objectContaining({ code: 'HIGH_CPU', state: 'firing' })]);
    const metrics = parseExposition(await (await fetch(`${v.metrics}/metrics`)).text());
    expect(
      find(metrics, 'vigil_alerting_consecutive_failures', { integration: 'alertmanager' })[0]?.value,
    ).toBeGreaterThanOrEqual(2);
    expect(
      find(metrics, 'vigil_alerting_requests_total', { integration: 'alertmanager', outcome: 'failure' })[0]
        ?.value,
    ).toBeGreaterThanOrEqual(2);
    expect(find(metrics, 'vigil_rule_state', { rule: 'HIGH_CPU', service_name: 'pricing' })[0]?.value).toBe(
      2,
    );

    // An ack while Alertmanager is down succeeds; its silence is created once it is back.
    const ack = await post(`${v.api}/api/v1/alerts/${alert.fingerprint}/ack`, JSON.stringify({ by: 'dave' }));
    expect(ack.status).toBe(200);
    expect(((await ack.json()) as { alert: ApiAlert }).alert.acknowledgement).toMatchObject({
      by: 'dave',
      silenceID: null,
      silenceError: 'ECONNREFUSED',
    });

    const am = await startAlertmanager(port);
    cleanups.push(() => am.stop());
    const delivered = await eventually(() => inAlertmanager(am, 'pricing'), 15_000);
    const silenceId = await eventually(
      async () => (await vigilAlerts(v))[0]?.acknowledgement?.silenceID,
      15_000,
    );
    expect((await am.silences()).find((s) => s.id === silenceId)?.createdBy).toBe('dave');
    await eventually(async () => (await inAlertmanager(am, 'pricing'))?.status.state === 'suppressed');
    expect(delivered.labels['alertname']).toBe('HIGH_CPU');
    expect((await report(v)).alerting.alertmanager).toMatchObject({
      state: 'ok',
      consecutive_failures: 0,
      last_success: expect.any(String),
    });
  });
});

describe('alerting > state', () => {
  it('acknowledgements survive a restart, and the restored ack still expires its silence', async () => {
    const am = await alertmanager();
    const dir = tempDir('vigil-state-');
    const config = rules(
      `  alertmanager: { url: ${am.url}, resend_interval: 1s }`,
      `state:\n  dir: ${dir}\n  snapshot_interval: 1h\n  restore_grace: 30s\n`,
    );
    const first = await vigil(config);
    const alert = await firing(first, 'pricing');
    const res = await post(
      `${first.api}/api/v1/alerts/${alert.fingerprint}/ack`,
      JSON.stringify({ by: 'erin', comment: 'deploying a fix', duration: '2h' }),
    );
    const silenceId = ((await res.json()) as { alert: ApiAlert }).alert.acknowledgement!.silenceID!;
    // Killed, not stopped: the ack must already be on disk (snapshot_interval is 1h).
    first.proc.kill('SIGKILL');
    await new Promise((r) => first.proc.once('exit', r));

    const second = await vigil(config);
    const restored = await eventually(async () => (await vigilAlerts(second))[0]);
    expect(restored).toMatchObject({
      fingerprint: alert.fingerprint,
      acknowledgement: { by: 'erin', comment: 'deploying a fix', silenceID: silenceId },
    });
    // The restored alert is held (restore_grace) until an evaluation sees its data again.
    await pushCpu(second, 'pricing', 0.97);
    await new Promise((r) => setTimeout(r, 1000));
    await pushCpu(second, 'pricing', 0.1);
    await eventually(
      async () => (await am.silences()).find((s) => s.id === silenceId)?.status.state === 'expired',
    );
  });
});
