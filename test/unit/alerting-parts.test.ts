import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AckBook } from '../../src/alerting/acks.js';
import { Alerting } from '../../src/alerting/alerting.js';
import { AlertmanagerClient } from '../../src/alerting/alertmanager-client.js';
import { backoffDelayMs, retryAfterMs } from '../../src/alerting/backoff.js';
import { defaultExternalUrl } from '../../src/alerting/create-alerting.js';
import { parseTarget } from '../../src/alerting/http-delivery.js';
import { slackEscape, slackMessage, SLACK_MAX_ATTACHMENTS } from '../../src/alerting/webhook-format.js';
import { parseConfigText } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { harness, M } from '../helpers/alerting-harness.js';
import { startRecorder, type HttpRecorder } from '../helpers/http-recorder.js';

let receiver: HttpRecorder;
beforeAll(async () => {
  receiver = await startRecorder();
});
afterAll(async () => {
  await receiver?.close();
});

describe('alerting config', () => {
  it('has Prometheus / Alertmanager defaults', () => {
    const c = configSchema.parse({
      alerting: { alertmanager: { url: 'http://am:9093' }, webhooks: [{ url: 'https://hooks.example/x' }] },
    }).alerting;
    expect(c.alertmanager).toEqual({
      url: 'http://am:9093',
      resend_interval: 60_000,
      timeout: 10_000,
      queue_capacity: 10_000,
    });
    expect(c.webhooks[0]).toEqual({
      url: 'https://hooks.example/x',
      format: 'json',
      min_severity: 'warning',
      repeat_interval: 4 * 3_600_000,
      timeout: 10_000,
    });
    expect(c.escalate_after).toBeUndefined();
    expect(c.ack_default_duration).toBe(24 * 3_600_000);
    expect(configSchema.parse({}).alerting).toMatchObject({ webhooks: [], external_labels: {} });
  });

  it('reports mistakes at file:line:col', () => {
    const text = `alerting:
  alertmanager: { url: 'am:9093' }
  webhooks:
    - { name: ops, url: 'http://a', format: teams }
    - { name: ops, url: 'http://b', repeat_interval: often }
  external_labels: { pod.name: x }
  escalate_after: 30
  acknowledge: true
`;
    const r = parseConfigText(text, 'c.yaml', {});
    expect(r.ok).toBe(false);
    const errors = r.ok ? [] : r.errors;
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^c\.yaml:2:\d+ alerting\.alertmanager\.url: must be an http:\/\/ or https:\/\/ URL$/,
        ),
        expect.stringMatching(/^c\.yaml:4:\d+ alerting\.webhooks\[0\]\.format: /),
        expect.stringMatching(
          /^c\.yaml:5:\d+ alerting\.webhooks\[1\]\.repeat_interval: invalid duration "often"/,
        ),
        expect.stringMatching(/^c\.yaml:6:\d+ alerting\.external_labels\.pod\.name: label names are/),
        expect.stringMatching(/^c\.yaml:8:3 alerting\.acknowledge: unknown key 'acknowledge'$/),
      ]),
    );
    // 30 (a number) is 30 s, which is valid.
    expect(errors.some((e) => e.includes('escalate_after'))).toBe(false);
    const dup = parseConfigText(
      `alerting:\n  webhooks:\n    - { name: ops, url: 'http://a' }\n    - { name: ops, url: 'http://b' }\n`,
      'd.yaml',
      {},
    );
    expect(dup.ok ? [] : dup.errors).toEqual([
      expect.stringMatching(/^d\.yaml:\d+:\d+ alerting\.webhooks\[1\]\.name: duplicate webhook name ops$/),
    ]);
  });
});

describe('backoff', () => {
  it('doubles from the initial delay up to the cap, with at most 20% jitter off', () => {
    const opts = { initialMs: 1000, maxMs: 30_000 };
    expect([1, 2, 3, 4, 5, 6, 9].map((n) => backoffDelayMs(n, opts, () => 0))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000,
    ]);
    expect(backoffDelayMs(1, opts, () => 1)).toBe(800);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.UTC(2026, 0, 1);
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs(new Date(now + 30_000).toUTCString(), now)).toBe(30_000);
    expect(retryAfterMs(null, now)).toBeUndefined();
    expect(retryAfterMs('soon', now)).toBeUndefined();
  });
});

describe('http targets', () => {
  it('turns user:password in a URL into basic auth that reaches the receiver, and never shows them', async () => {
    const url = receiver.url.replace('http://', 'http://vigil:p%40ss@');
    const t = parseTarget(`${url}/prefix/`);
    expect(t.base).toBe(`${receiver.url}/prefix`);
    expect(t.display).toBe(receiver.url);
    const client = new AlertmanagerClient(`${url}/prefix`, 1000, Date.now);
    await client.postAlerts([]);
    const req = receiver.requests.at(-1)!;
    expect(req.path).toBe('/prefix/api/v2/alerts');
    expect(req.headers.authorization).toBe(`Basic ${Buffer.from('vigil:p@ss').toString('base64')}`);
    expect(client.display).not.toContain('p%40ss');
  });

  it('defaults the external URL to the api listener, the host name standing in for a wildcard address', () => {
    expect(defaultExternalUrl('0.0.0.0', 8080, 'pod-7')).toBe('http://pod-7:8080');
    expect(defaultExternalUrl('127.0.0.1', 4000, 'pod-7')).toBe('http://127.0.0.1:4000');
    expect(defaultExternalUrl('::1', 4000, 'pod-7')).toBe('http://[::1]:4000');
  });
});

describe('slack format', () => {
  it("escapes Slack's control characters and caps the attachments", () => {
    expect(slackEscape('a < b && c > d')).toBe('a &lt; b &amp;&amp; c &gt; d');
    const alert = {
      fingerprint: '0000000000000001',
      rule: 'R',
      status: 'firing' as const,
      severity: 'warning' as const,
      ruleSeverity: 'warning' as const,
      escalated: false,
      labels: { alertname: 'R', severity: 'warning', route: '<odds>' },
      annotations: { summary: 'p95 > 1500 ms' },
      activeAtMs: 0,
      firedAtMs: 0,
      resolvedAtMs: undefined,
      value: 1,
      generatorUrl: 'http://v/api/v2/diagnostics/reliability',
      ack: undefined,
      manual: undefined,
    };
    const items = Array.from({ length: SLACK_MAX_ATTACHMENTS + 3 }, () => ({
      alert,
      reason: 'new' as const,
    }));
    const msg = slackMessage(items, { receiver: 'ops', externalUrl: 'http://v' }) as {
      text: string;
      attachments: Array<{ text: string; fields: Array<{ value: string }> }>;
    };
    expect(msg.text).toBe(`[FIRING:${SLACK_MAX_ATTACHMENTS + 3}] ops: R`);
    expect(msg.attachments).toHaveLength(SLACK_MAX_ATTACHMENTS + 1);
    expect(msg.attachments[0]!.text).toBe('p95 &gt; 1500 ms');
    expect(msg.attachments[0]!.fields[0]!.value).toBe('route=&lt;odds&gt;');
    expect(msg.attachments.at(-1)!.text).toBe('…and 3 more alerts');
  });
});

describe('state snapshot', () => {
  it('skips malformed entries instead of failing the restore', () => {
    const book = new AckBook();
    expect(
      book.restore([
        { fingerprint: 'a', activeAtMs: 1, by: 'x', comment: '', atMs: 1, expiresAtMs: 2 },
        { fingerprint: 'b', by: 'x' },
        'junk',
        {
          fingerprint: 'c',
          activeAtMs: 1,
          by: 'x',
          comment: '',
          atMs: 1,
          expiresAtMs: 2,
          silence: { matchers: 5 },
        },
      ]),
    ).toBe(1);
    const alerting = new Alerting({
      config: configSchema.parse({}).alerting,
      evaluationIntervalMs: 1000,
      clock: Date.now,
      log: pino({ level: 'silent' }),
      defaultExternalUrl: () => 'http://v',
    });
    expect(alerting.restore('garbage')).toEqual({ acks: 0, closures: 0, escalations: 0 });
    expect(alerting.restore({ version: 2, acks: [] })).toEqual({ acks: 0, closures: 0, escalations: 0 });
  });
});

describe('reload', () => {
  it('keeps acknowledgements and the notification log of unchanged webhooks', async () => {
    const T0 = Date.UTC(2026, 10, 22, 10);
    const rules = [{ name: 'HIGH_LAT', severity: 'warning', expr: 'lat_by > 1500' }] as const;
    const h = harness(
      { rules: [...rules], alerting: { webhooks: [{ name: 'ops', url: receiver.url }] } },
      T0,
    );
    h.signals.set('lat_by', { a: 1800 });
    const before = receiver.requests.length;
    await h.evalAt(T0);
    expect(receiver.requests.length).toBe(before + 1);
    const fp = h.alerting.list()[0]!.fingerprint;
    await h.alerting.ack(fp, { by: 'x', comment: '' });
    const next = configSchema.parse({
      alerting: { webhooks: [{ name: 'ops', url: receiver.url }], external_labels: { cluster: 'b' } },
    }).alerting;
    h.alerting.configure(next, 1000);
    await h.evalAt(T0 + M);
    expect(receiver.requests.length).toBe(before + 1); // not re-sent as new
    expect(h.alerting.get(fp)?.ack?.by).toBe('x');
    expect(h.alerting.get(fp)?.labels['cluster']).toBe('b');
    h.alerting.stop();
  });
});
