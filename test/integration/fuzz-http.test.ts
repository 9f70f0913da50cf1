import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUZZ_VERBOSE, fuzzAssertAsync, fuzzTimeout } from '../helpers/fuzz.js';
import { applyJsonMutation, jsonMutation, nastyJsonValue } from '../helpers/json-mutate.js';
import { otlpRequest, type GenRequest } from '../helpers/otlp-arbitraries.js';
import { expectedStore } from '../helpers/otlp-model-store.js';
import { toOtlpJson } from '../helpers/otlp-model-writers.js';
import { fixturePayload, sdkPayload, type OtlpPayload } from '../helpers/otlp-payloads.js';
import { RequestType, ResponseType } from '../helpers/otlp-proto.js';
import { families, mutateText, textMutation, toProto, toText } from '../helpers/prometheus-arbitraries.js';
import { MetricFamily, PROTO_CONTENT_TYPE } from '../helpers/prometheus-proto.js';
import { find, parseExposition, promtoolCheckMetrics } from '../helpers/prometheus-text.js';
import { applyMutation, wireMutation } from '../helpers/proto-wire.js';
import { startVigil, testConfig, type VigilProcess } from '../helpers/vigil-process.js';

/**
 * Fuzzing the real process over HTTP (one vigil for the whole file): every ingest endpoint —
 * OTLP/protobuf, OTLP/JSON, JSON push, Pushgateway text and delimited-protobuf push — gets a
 * fixed-seed sequence of random and damaged bodies, with and without compression, under bogus
 * content types and methods. Every answer must be 2xx or 4xx (vigil's only 5xx, the documented
 * 503 for overload and shutdown, cannot happen here) with the body shape of its endpoint. After
 * the run vigil still serves, `/metrics` passes promtool, the series pushed before the run are
 * intact and a good push lands.
 */

let vigil: VigilProcess;
let payloads: OtlpPayload[] = [];
const MAX_BODY = 64 * 1024;

beforeAll(async () => {
  vigil = await startVigil(testConfig('limits:\n  max_request_bytes: 64KiB\n'));
  payloads = [fixturePayload(), await sdkPayload()];
});
afterAll(async () => {
  expect(await vigil.stop()).toBe(0);
});

const Status = protobuf
  .parse('syntax = "proto3"; message Status { int32 code = 1; string message = 2; }')
  .root.lookupType('Status');

// ---- known-good data, before and after ----------------------------------------------------------

const T = '1700000000000000000';
const sentinelOtlp = (value: number) => ({
  resourceMetrics: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'fz-sentinel' } }] },
      scopeMetrics: [
        {
          metrics: [
            {
              name: 'fz.sentinel',
              unit: '1',
              gauge: {
                dataPoints: [
                  {
                    asDouble: value,
                    timeUnixNano: T,
                    attributes: [{ key: 'k', value: { stringValue: 'v' } }],
                  },
                ],
              },
            },
          ],
        },
      ],
    },
  ],
});

async function post(
  path: string,
  body: Uint8Array | string,
  headers: Record<string, string>,
  method = 'POST',
) {
  return fetch(`${vigil.ingest}${path}`, { method, body, headers });
}

async function scrape(): Promise<string> {
  const res = await fetch(`${vigil.metrics}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

async function pushSentinels(round: number): Promise<void> {
  const otlp = await post('/v1/metrics', JSON.stringify(sentinelOtlp(42 + round)), {
    'Content-Type': 'application/json',
  });
  expect([otlp.status, await otlp.text()]).toEqual([200, '{}']);
  const push = await post(
    '/api/v1/push',
    JSON.stringify({
      resource: { 'service.name': 'fz-sentinel-push' },
      metrics: [{ name: 'fz.sentinel.push', type: 'gauge', value: 5 + round }],
    }),
    { 'Content-Type': 'application/json' },
  );
  expect(push.status).toBe(200);
  expect(await push.json()).toEqual({ accepted: 1, rejected: 0, errors: [] });
  const text = await post(
    `/metrics/job/fz-sentinel-${round}`,
    `# TYPE fz_sentinel_pushed gauge\nfz_sentinel_pushed 7\n`,
    {},
    'PUT',
  );
  expect(text.status).toBe(200);
}

function expectSentinels(exposition: string, round: number): void {
  const s = parseExposition(exposition);
  expect(find(s, 'fz_sentinel_ratio', { job: 'fz-sentinel', k: 'v' }).map((x) => x.value)).toEqual([
    42 + round,
  ]);
  expect(find(s, 'fz_sentinel_push', { job: 'fz-sentinel-push' }).map((x) => x.value)).toEqual([5 + round]);
  expect(find(s, 'fz_sentinel_pushed', { job: `fz-sentinel-${round}` }).map((x) => x.value)).toEqual([7]);
}

// ---- requests -----------------------------------------------------------------------------------

interface FuzzRequest {
  endpoint: 'otlp' | 'push' | 'pushgateway';
  method: string;
  path: string;
  body: Uint8Array;
  contentType: string | undefined;
  /** Content-Encoding, and how the body is actually encoded (a lie is a fuzz case too). */
  encoding: 'identity' | 'gzip' | 'deflate' | 'deflate-raw' | 'gzip-lie' | 'br' | 'zstd';
}

/** `arb` one time in six, else undefined. */
const rarely = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
const otlpBody = fc.oneof(
  fc.record({ which: fc.nat(), ms: fc.array(wireMutation, { maxLength: 3 }) }).map(({ which, ms }) => {
    let b: Uint8Array = payloads[which % payloads.length]!.proto;
    for (const m of ms) b = applyMutation(b, RequestType, m);
    return { body: b, type: 'application/x-protobuf' };
  }),
  fc
    .record({
      req: otlpRequest({ invalidPoints: true, maxPoints: 2 }),
      ms: fc.array(wireMutation, { maxLength: 2 }),
    })
    .map(({ req, ms }) => {
      let b: Uint8Array = RequestType.encode(RequestType.fromObject(toOtlpJson(req))).finish();
      for (const m of ms) b = applyMutation(b, RequestType, m);
      return { body: b, type: 'application/x-protobuf' };
    }),
  fc
    .record({ which: fc.nat(), ms: fc.array(jsonMutation, { maxLength: 3 }), cut: rarely(fc.nat()) })
    .map(({ which, ms, cut }) => {
      let v: unknown = JSON.parse(payloads[which % payloads.length]!.json);
      for (const m of ms) v = applyJsonMutation(v, m);
      const text = JSON.stringify(v) ?? 'null';
      return {
        body: Buffer.from(cut === undefined ? text : text.slice(0, cut % (text.length + 1))),
        type: 'application/json',
      };
    }),
  fc.record({ req: otlpRequest({ invalidPoints: true, maxPoints: 2 }) }).map(({ req }) => ({
    body: Buffer.from(JSON.stringify(toOtlpJson(req))),
    type: 'application/json; charset=utf-8',
  })),
  fc.uint8Array({ maxLength: 200 }).map((b) => ({ body: b, type: 'application/x-protobuf' })),
);

const README_PUSH = {
  resource: { 'service.name': 'fz-pricing' },
  metrics: [
    {
      name: 'http.server.request.duration',
      type: 'histogram',
      unit: 'ms',
      values: [12.5, 40, 1800],
      attributes: { 'http.route': '/odds' },
    },
    { name: 'stream.events', type: 'counter', value: 250 },
    { name: 'inflight', type: 'updowncounter', value: -2 },
  ],
};
const pushBody = fc.oneof(
  fc.array(jsonMutation, { maxLength: 4 }).map((ms) => {
    let v: unknown = README_PUSH;
    for (const m of ms) v = applyJsonMutation(v, m);
    return Buffer.from(JSON.stringify(v) ?? '');
  }),
  nastyJsonValue.map((v) => Buffer.from(JSON.stringify({ metrics: [v] }))),
  fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b)),
);

const groupPath = fc.constantFrom(
  '/metrics/job/fz-a',
  '/metrics/job/fz-a/instance/i1',
  '/metrics/job/fz-b/path@base64/L3Zhci90bXA',
  '/metrics/job@base64/Zm9vYmFy',
  '/metrics/job/fz-a/odd',
  '/metrics/job/fz-a/__bad/x',
  '/metrics/job/fz-a/a@base64/!!!',
  '/metrics/job/%zz',
  '/metrics/job/',
  '/metrics/job//x/y',
  '/metrics/nojob',
);
const pushgatewayBody = fc.oneof(
  fc.record({ fams: families, damage: fc.array(textMutation, { maxLength: 2 }) }).map(({ fams, damage }) => {
    let b: Buffer = Buffer.from(toText(fams), 'utf8');
    for (const m of damage) b = mutateText(b, m);
    return { body: b, type: 'text/plain; version=0.0.4' as string | undefined };
  }),
  fc.record({ fams: families, ms: fc.array(wireMutation, { maxLength: 2 }) }).map(({ fams, ms }) => {
    let b: Uint8Array = toProto(fams);
    for (const m of ms) b = applyMutation(b, MetricFamily, m);
    return { body: b, type: PROTO_CONTENT_TYPE as string | undefined };
  }),
  fc.uint8Array({ maxLength: 100 }).map((b) => ({ body: b, type: undefined as string | undefined })),
);

const encoding = fc.constantFrom<FuzzRequest['encoding']>(
  'identity', 'identity', 'identity', 'gzip', 'gzip', 'deflate', 'deflate-raw', 'gzip-lie', 'br', 'zstd',
); // prettier-ignore
const bogusType = fc.constantFrom(
  'text/html',
  '',
  'application/JSON',
  'multipart/form-data; boundary=x',
  'application/x-protobuf ; q=1',
);

const request: fc.Arbitrary<FuzzRequest> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record({ b: otlpBody, enc: encoding, bogus: rarely(bogusType) })
      .map(({ b, enc, bogus }) => ({
        endpoint: 'otlp' as const,
        method: 'POST',
        path: '/v1/metrics',
        body: b.body,
        contentType: bogus ?? b.type,
        encoding: enc,
      })),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({ body: pushBody, enc: encoding, bogus: rarely(bogusType) })
      .map(({ body, enc, bogus }) => ({
        endpoint: 'push' as const,
        method: 'POST',
        path: '/api/v1/push',
        body,
        contentType: bogus ?? 'application/json',
        encoding: enc,
      })),
  },
  {
    weight: 3,
    arbitrary: fc
      .record({
        b: pushgatewayBody,
        enc: encoding,
        path: groupPath,
        method: fc.constantFrom(
          'PUT',
          'POST',
          'PUT',
          'POST',
          'PUT',
          'POST',
          'DELETE',
          'GET',
          'PATCH',
          'OPTIONS',
        ),
      })
      .map(({ b, enc, path, method }) => ({
        endpoint: 'pushgateway' as const,
        method,
        path,
        body: b.body,
        contentType: b.type,
        encoding: enc,
      })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE').map((method) => ({
      endpoint: 'otlp' as const,
      method,
      path: '/v1/metrics',
      body: new Uint8Array(0),
      contentType: 'application/x-protobuf',
      encoding: 'identity' as const,
    })),
  },
);

function encode(r: FuzzRequest): { body: Uint8Array; header: string | undefined } {
  switch (r.encoding) {
    case 'identity':
      return { body: r.body, header: undefined };
    case 'gzip':
      return { body: gzipSync(r.body), header: 'gzip' };
    case 'deflate':
      return { body: deflateSync(r.body), header: 'deflate' };
    case 'deflate-raw':
      return { body: deflateRawSync(r.body), header: 'deflate' };
    case 'gzip-lie':
      return { body: r.body, header: 'gzip' };
    default:
      return { body: r.body, header: r.encoding };
  }
}

const mediaType = (t: string | undefined): string => (t ?? '').split(';')[0]!.trim().toLowerCase();

/** The answer must be 2xx / 4xx with the body shape its endpoint documents (README "Ingest"). */
async function check(r: FuzzRequest): Promise<number> {
  const { body, header } = encode(r);
  const headers: Record<string, string> = {};
  if (r.contentType !== undefined) headers['Content-Type'] = r.contentType;
  if (header !== undefined) headers['Content-Encoding'] = header;
  const sendsBody = r.method !== 'GET' && r.method !== 'OPTIONS';
  const res = await fetch(`${vigil.ingest}${r.path}`, {
    method: r.method,
    headers,
    ...(sendsBody ? { body } : {}),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  const where = `${r.method} ${r.path} (${r.contentType ?? 'no type'}, ${r.encoding}) → ${res.status} ${bytes.toString('utf8', 0, 200)}`;
  expect(res.status >= 200 && res.status < 500, where).toBe(true);
  const type = res.headers.get('content-type') ?? '';
  switch (r.endpoint) {
    case 'otlp': {
      if (r.method !== 'POST') {
        expect(res.status, where).toBe(405);
        break;
      }
      const format = mediaType(r.contentType);
      if (format !== 'application/x-protobuf' && format !== 'application/json') {
        expect(res.status, where).toBe(415);
        break;
      }
      // The answer is in the request's encoding: ExportMetricsServiceResponse, or google.rpc.Status.
      expect(type, where).toBe(format);
      if (res.status === 200) {
        if (format === 'application/json')
          expect(JSON.parse(bytes.toString('utf8')), where).toBeTypeOf('object');
        else ResponseType.decode(bytes);
        break;
      }
      expect([400, 413], where).toContain(res.status);
      const status =
        format === 'application/json'
          ? (JSON.parse(bytes.toString('utf8')) as { code: number; message: string })
          : (Status.toObject(Status.decode(bytes)) as { code: number; message: string });
      expect(status.code, where).toBe(res.status === 413 ? 8 : 3);
      expect(status.message, where).toBeTypeOf('string');
      break;
    }
    case 'push': {
      expect(type, where).toBe('application/json');
      const reply = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
      if (res.status === 200) {
        expect(Object.keys(reply).sort(), where).toEqual(['accepted', 'errors', 'rejected']);
        expect(Array.isArray(reply['errors']), where).toBe(true);
      } else {
        expect([400, 413, 415], where).toContain(res.status);
        expect(reply['error'], where).toBeTypeOf('string');
      }
      break;
    }
    case 'pushgateway': {
      // As the Pushgateway: empty 200 / 202, a reason as text otherwise.
      if (res.status === 200 || res.status === 202) expect(bytes.length, where).toBe(0);
      else {
        expect([400, 404, 405, 413], where).toContain(res.status);
        expect(type, where).toMatch(/^text\/plain/);
        expect(bytes.toString('utf8'), where).toMatch(/\S\n$/);
      }
      if (res.status === 405 || (r.method === 'OPTIONS' && res.status === 200))
        expect(res.headers.get('allow'), where).toBe('DELETE, OPTIONS, POST, PUT');
      break;
    }
  }
  return res.status;
}

describe('ingest over HTTP (fuzz)', () => {
  it(
    "answers every random or damaged request with 2xx or 4xx in its endpoint's shape, and keeps serving the good data",
    async () => {
      await pushSentinels(0);
      expectSentinels(await scrape(), 0);

      const seen = new Map<number, number>();
      await fuzzAssertAsync(
        'http ingest endpoints',
        fc.asyncProperty(request, async (r) => {
          const status = await check(r);
          seen.set(status, (seen.get(status) ?? 0) + 1);
        }),
        { runs: 300, seed: 701 },
      );
      if (FUZZ_VERBOSE) console.log('fuzz http answers by status:', Object.fromEntries([...seen].sort()));
      // The run reached past the front doors: bodies were accepted, refused and rejected.
      for (const status of [200, 400, 415])
        expect(seen.get(status) ?? 0, `answers ${status}`).toBeGreaterThan(0);

      expect((await fetch(`${vigil.api}/livez`)).status).toBe(200);
      const after = await scrape();
      expectSentinels(after, 0);
      const check1 = promtoolCheckMetrics(after);
      // promtool may lint what the fuzzer named (exit 3); it must not find the format broken.
      expect(check1.output, check1.output).not.toMatch(/error while linting|parse error/i);
      expect([0, 3]).toContain(check1.status);
      expect(vigil.logs.filter((l) => l['msg'] === 'ingest request failed')).toEqual([]);

      // And good pushes still land.
      await pushSentinels(1);
      expectSentinels(await scrape(), 1);
    },
    fuzzTimeout(120_000),
  );

  it(
    'lands exactly the valid points of requests mixing valid and invalid ones, and counts the others in partialSuccess',
    async () => {
      let n = 0;
      await fuzzAssertAsync(
        'http mixed valid/invalid',
        fc.asyncProperty(
          otlpRequest({ invalidPoints: true, maxPoints: 3 }),
          fc.boolean(),
          async (generated, asJson) => {
            // Names of their own per case: the same name with another type in a later case would conflict.
            const prefix = `fz.h${n++}`;
            const req: GenRequest = structuredClone(generated);
            for (const r of req.resources)
              for (const s of r.scopes) for (const m of s.metrics) m.name = `${prefix}.${m.name}`;
            const want = expectedStore(req);
            const res = asJson
              ? await post('/v1/metrics', JSON.stringify(toOtlpJson(req)), {
                  'Content-Type': 'application/json',
                })
              : await post(
                  '/v1/metrics',
                  RequestType.encode(RequestType.fromObject(toOtlpJson(req))).finish(),
                  {
                    'Content-Type': 'application/x-protobuf',
                  },
                );
            expect(res.status).toBe(200);
            const bytes = Buffer.from(await res.arrayBuffer());
            const reply = (
              asJson
                ? JSON.parse(bytes.toString('utf8'))
                : ResponseType.toObject(ResponseType.decode(bytes), { longs: Number })
            ) as { partialSuccess?: { rejectedDataPoints?: number | string } };
            expect(Number(reply.partialSuccess?.rejectedDataPoints ?? 0)).toBe(want.rejected);

            // On /metrics: one (metric, point index) per valid point, whatever the metric became.
            const metricRe = new RegExp(`^${prefix.replace('.', '_')}_fz_m(\\d+)`);
            const exposed = new Set<string>();
            for (const sample of parseExposition(await scrape())) {
              const m = metricRe.exec(sample.name);
              if (m !== null) exposed.add(`m${m[1]} #${sample.labels['fz_i']}`);
            }
            const index = (attrs: string[]): string | undefined => {
              for (let i = 0; i < attrs.length; i += 2) if (attrs[i] === 'fz.i') return attrs[i + 1];
              return undefined;
            };
            const expected = new Set(
              want.series.map((s) => `${s.name.slice(`${prefix}.fz.`.length)} #${index(s.attrs)}`),
            );
            expect([...exposed].sort()).toEqual([...expected].sort());
          },
        ),
        { runs: 40, seed: 702 },
      );
    },
    fuzzTimeout(120_000),
  );

  it('refuses a body beyond the limit, compressed or not, without storing any of it', async () => {
    const big = Buffer.alloc(MAX_BODY + 1, 0x20);
    for (const [body, enc] of [
      [big, undefined],
      [gzipSync(big), 'gzip'],
    ] as const) {
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      if (enc !== undefined) headers['Content-Encoding'] = enc;
      expect((await post('/v1/metrics', body, headers)).status).toBe(413);
      expect((await post('/api/v1/push', body, headers)).status).toBe(413);
      expect(
        (await post('/metrics/job/fz-big', body, { ...headers, 'Content-Type': 'text/plain' }, 'PUT')).status,
      ).toBe(413);
    }
  });
});
