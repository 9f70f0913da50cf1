import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { startVigil as startInProcess } from '../../src/main.js';
import { find, parseExposition } from '../helpers/prometheus-text.js';
import { eventually, startVigil, tempDir, testConfig, type VigilProcess } from '../helpers/vigil-process.js';

/**
 * Authorisation and secrets (README "Overload and security"): the bearer token on ingest, write
 * endpoints of an api listener off loopback, the default loopback bind, and tokens kept out of
 * every log line.
 */

const INGEST_TOKEN = 'ingest-tok-5f1e9c2a7b';
const API_TOKEN = 'api-tok-88d3a0c6e1';
const OTLP_SECRET = 'otlp-hdr-3c9b7e2d40';

const json = { 'content-type': 'application/json' };
const otlpJson = (service: string) =>
  JSON.stringify({
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeMetrics: [
          {
            metrics: [
              {
                name: 'auth.gauge',
                gauge: { dataPoints: [{ asDouble: 1, timeUnixNano: String(Date.now() * 1e6) }] },
              },
            ],
          },
        ],
      },
    ],
  });

/** One request on each ingest path, with `authorization` when given. */
function ingestRequests(v: VigilProcess, authorization?: string) {
  const auth: Record<string, string> = authorization === undefined ? {} : { authorization };
  return {
    otlpJson: () =>
      fetch(`${v.ingest}/v1/metrics`, { method: 'POST', headers: { ...json, ...auth }, body: otlpJson('a') }),
    otlpProto: () =>
      fetch(`${v.ingest}/v1/metrics`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', ...auth },
        body: new Uint8Array(),
      }),
    jsonPush: () =>
      fetch(`${v.ingest}/api/v1/push`, {
        method: 'POST',
        headers: { ...json, ...auth },
        body: JSON.stringify({
          resource: { 'service.name': 'a' },
          metrics: [{ name: 'p', type: 'gauge', value: 1 }],
        }),
      }),
    prometheus: () =>
      fetch(`${v.ingest}/metrics/job/auth`, { method: 'PUT', headers: auth, body: 'pushed 1\n' }),
  };
}

describe('ingest bearer token', () => {
  it('answers 401 with WWW-Authenticate on every ingest path without the token, and stores nothing', async () => {
    const v = await startVigil(testConfig(), { VIGIL_INGEST_TOKEN: INGEST_TOKEN });
    try {
      for (const authorization of [undefined, 'Bearer wrong', `Basic ${INGEST_TOKEN}`, INGEST_TOKEN]) {
        const r = ingestRequests(v, authorization);
        const otlp = await r.otlpJson();
        expect(otlp.status, String(authorization)).toBe(401);
        expect(otlp.headers.get('www-authenticate')).toBe('Bearer realm="vigil"');
        expect(otlp.headers.get('content-type')).toBe('application/json');
        expect(((await otlp.json()) as { code: number }).code).toBe(16); // UNAUTHENTICATED
        const proto = await r.otlpProto();
        expect(proto.status).toBe(401);
        expect(proto.headers.get('content-type')).toBe('application/x-protobuf');
        expect([...new Uint8Array(await proto.arrayBuffer()).subarray(0, 2)]).toEqual([0x08, 16]);
        const push = await r.jsonPush();
        expect(push.status).toBe(401);
        expect(push.headers.get('www-authenticate')).toMatch(/^Bearer/);
        const prom = await r.prometheus();
        expect(prom.status).toBe(401);
        expect(prom.headers.get('www-authenticate')).toMatch(/^Bearer/);
      }
      let samples = parseExposition(await (await fetch(`${v.metrics}/metrics`)).text());
      expect(find(samples, 'auth_gauge')).toEqual([]);
      expect(find(samples, 'pushed')).toEqual([]);
      expect(
        find(samples, 'vigil_receiver_requests_total', { transport: 'json_push', code: '401' })[0]?.value,
      ).toBe(4);

      const ok = ingestRequests(v, `Bearer ${INGEST_TOKEN}`);
      expect((await ok.otlpJson()).status).toBe(200);
      expect((await ok.otlpProto()).status).toBe(200);
      expect((await ok.jsonPush()).status).toBe(200);
      expect((await ok.prometheus()).status).toBe(200);
      samples = parseExposition(await (await fetch(`${v.metrics}/metrics`)).text());
      expect(find(samples, 'auth_gauge', { job: 'a' })).toHaveLength(1);
      expect(find(samples, 'pushed', { job: 'auth' })).toHaveLength(1);
    } finally {
      expect(await v.stop()).toBe(0);
    }
  });

  it('reads the token from ingest.token_file (a mounted Secret), and refuses all ingest if it cannot', async () => {
    const dir = tempDir();
    const file = join(dir, 'ingest-token');
    writeFileSync(file, `${INGEST_TOKEN}\n`);
    const v = await startVigil(testConfig(`ingest:\n  token_file: ${file}\n`), {
      VIGIL_INGEST_TOKEN: 'env-loses',
    });
    try {
      expect((await ingestRequests(v, 'Bearer env-loses').jsonPush()).status).toBe(401);
      expect((await ingestRequests(v, `Bearer ${INGEST_TOKEN}`).jsonPush()).status).toBe(200);
    } finally {
      expect(await v.stop()).toBe(0);
    }
    const missing = await startVigil(testConfig(`ingest:\n  token_file: ${join(dir, 'nope')}\n`));
    try {
      expect((await ingestRequests(missing).jsonPush()).status).toBe(401);
      expect(
        missing.logs.some((l) => l['msg'] === 'ingest token unavailable: every ingest request refused (401)'),
      ).toBe(true);
    } finally {
      expect(await missing.stop()).toBe(0);
    }
  });
});

describe('api write endpoints off loopback', () => {
  it('refuses reload and alert writes without a token when the api listener is not on loopback', async () => {
    // 0.0.0.0 is not loopback; the test still connects through 127.0.0.1.
    const v = await startVigil(
      `listeners:\n  ingest: 127.0.0.1:0\n  api: 0.0.0.0:0\n  metrics: 127.0.0.1:0\n`,
    );
    try {
      const reload = await fetch(`${v.api}/-/reload`, { method: 'POST' });
      expect(reload.status).toBe(401);
      expect(reload.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const ack = await fetch(`${v.api}/api/v1/alerts/0123456789abcdef/ack`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ by: 'mallory' }),
      });
      expect(ack.status).toBe(401);
      expect((await fetch(`${v.api}/api/v1/alerts`)).status).toBe(200); // reads stay open
      expect((await fetch(`${v.api}/livez`)).status).toBe(200);
    } finally {
      expect(await v.stop()).toBe(0);
    }
  });
});

describe('default bind', () => {
  it('puts ingest on loopback when listeners.ingest is not set', async () => {
    const parsed = parseConfigText('listeners:\n  api: 127.0.0.1:0\n  metrics: 127.0.0.1:0\n', 'c.yaml');
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
    expect(parsed.config.listeners.ingest).toEqual({ host: '127.0.0.1', port: 4318 });
    // Port 0 instead of 4318 (other vigils may run on this machine); the host is the default's.
    const config = {
      ...parsed.config,
      listeners: { ...parsed.config.listeners, ingest: { ...parsed.config.listeners.ingest, port: 0 } },
    };
    const v = await startInProcess(config, createLogger('silent'), { env: {} });
    try {
      expect(v.addresses.ingest.address).toBe('127.0.0.1');
      expect(v.addresses.ingest.family).toBe('IPv4');
    } finally {
      await v.shutdown('test');
    }
  });
});

describe('secrets in logs', () => {
  it('never writes a token to stdout or stderr: 401s, reloads good and bad, exporter failures, debug level', async () => {
    const dir = tempDir();
    const tokenFile = join(dir, 'ingest-token');
    writeFileSync(tokenFile, INGEST_TOKEN);
    const config = testConfig(
      `ingest:\n  token_file: ${tokenFile}\n` +
        // Nothing listens on port 1: every export fails and is logged.
        `exporters:\n  otlp:\n    endpoint: http://127.0.0.1:1/v1/metrics\n    interval: 200ms\n    timeout: 500ms\n` +
        `    headers: { authorization: 'Bearer \${OTLP_SECRET}' }\n` +
        `    retry_on_failure: { initial_interval: 100ms, max_interval: 200ms }\n`,
    ).replace('level: info', 'level: debug');
    const v = await startVigil(config, { VIGIL_API_TOKEN: API_TOKEN, OTLP_SECRET });
    try {
      for (const authorization of [undefined, 'Bearer nope', `Bearer ${API_TOKEN}x`]) {
        const h: Record<string, string> = authorization === undefined ? {} : { authorization };
        expect((await fetch(`${v.api}/-/reload`, { method: 'POST', headers: h })).status).toBe(401);
        expect((await ingestRequests(v, authorization).otlpJson()).status).toBe(401);
      }
      const reload = await fetch(`${v.api}/-/reload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_TOKEN}` },
      });
      expect(reload.status).toBe(200);
      writeFileSync(v.configFile, `${config}\nbogus_key: ${API_TOKEN}\n`);
      const bad = await fetch(`${v.api}/-/reload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_TOKEN}` },
      });
      expect(bad.status).toBe(400);
      v.proc.kill('SIGHUP');
      expect((await ingestRequests(v, `Bearer ${INGEST_TOKEN}`).otlpJson()).status).toBe(200);
      await eventually(async () =>
        v.logs.some((l) => /OTLP|export/i.test(String(l['msg'])) && Number(l['level']) >= 40),
      );
      await eventually(
        async () =>
          v.logs.filter((l) => l['msg'] === 'reload failed; keeping the running config').length >= 2,
      );
    } finally {
      expect(await v.stop()).toBe(0);
    }
    const everything = JSON.stringify(v.logs) + v.stderr.join('\n');
    expect(v.logs.length).toBeGreaterThan(10);
    for (const secret of [INGEST_TOKEN, API_TOKEN, OTLP_SECRET]) expect(everything).not.toContain(secret);
  });
});
