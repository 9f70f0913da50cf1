import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeDelimited, PROTO_CONTENT_TYPE } from '../helpers/prometheus-proto.js';
import { find, parseExposition } from '../helpers/prometheus-text.js';
import { startPrometheus } from '../helpers/real-prometheus.js';
import { startPushgateway, type RealPushgateway } from '../helpers/real-pushgateway.js';
import { eventually, startVigil, testConfig, type VigilProcess } from '../helpers/vigil-process.js';

/**
 * The Prometheus text push side by side with a real Pushgateway (Debian's 1.5.1): every request
 * goes to both, the answers must have the same status, and after each step the pushed families
 * on both `/metrics` must hold the same samples. Normalised only where Prometheus itself sees no
 * difference: an empty label value is no label (the Pushgateway writes `instance=""`), `le` and
 * `quantile` are compared as numbers, and push times only as "set" or 0.
 */

let pgw: RealPushgateway;
let vigil: VigilProcess;
beforeAll(async () => {
  [pgw, vigil] = await Promise.all([
    startPushgateway(),
    startVigil(testConfig('limits:\n  max_request_bytes: 1MiB\n')),
  ]);
});
afterAll(async () => {
  await pgw?.stop();
  expect(await vigil?.stop()).toBe(0);
});

interface Answer {
  status: number;
  text: string;
  allow: string | null;
}

async function send(
  base: string,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  return { status: res.status, text: (await res.text()).trim(), allow: res.headers.get('allow') };
}

/** The same request to both; their statuses must agree. */
async function both(
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<{ pgw: Answer; vigil: Answer }> {
  const [a, b] = await Promise.all([
    send(pgw.url, method, path, body, headers),
    send(vigil.ingest, method, path, body, headers),
  ]);
  expect({ path, method, status: b.status }, `${method} ${path}: pushgateway said ${a.text}`).toEqual({
    path,
    method,
    status: a.status,
  });
  return { pgw: a, vigil: b };
}

/** Families compared on both /metrics: what the tests pushed, and the groups' bookkeeping. */
const tracked = new Set(['push_time_seconds', 'push_failure_time_seconds']);

/** `family → {type, sorted normalised samples}` for the tracked families of an exposition. */
function families(text: string): Record<string, { type: string; samples: string[] }> {
  const out: Record<string, { type: string; samples: string[] }> = {};
  let current: string | undefined;
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type !== null) {
      current = tracked.has(type[1]!) ? type[1]! : undefined;
      if (current !== undefined) out[current] ??= { type: type[2]!, samples: [] };
      continue;
    }
    if (line === '' || line.startsWith('#') || current === undefined) continue;
    const [s] = parseExposition(`${line}\n`);
    const labels = Object.entries(s!.labels)
      .filter(([, v]) => v !== '')
      .map(([k, v]) => [k, k === 'le' || k === 'quantile' ? String(Number(v)) : v])
      .sort(([a], [b]) => (a! < b! ? -1 : 1))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(',');
    const value = current.startsWith('push_') ? (s!.value > 0 ? 'set' : String(s!.value)) : String(s!.value);
    out[current]!.samples.push(`${s!.name}{${labels}} ${value}`);
  }
  const sorted: Record<string, { type: string; samples: string[] }> = {};
  for (const name of Object.keys(out).sort())
    sorted[name] = { type: out[name]!.type, samples: out[name]!.samples.sort() };
  return sorted;
}

/** Both /metrics agree on every tracked family (DELETE is asynchronous on the Pushgateway: poll). */
async function compare(): Promise<Record<string, { type: string; samples: string[] }>> {
  let last: unknown;
  try {
    return await eventually(async () => {
      const [a, b] = await Promise.all([
        fetch(`${pgw.url}/metrics`).then((r) => r.text()),
        fetch(`${vigil.metrics}/metrics`).then((r) => r.text()),
      ]);
      const fa = families(a);
      const fb = families(b);
      last = { pushgateway: fa, vigil: fb };
      return JSON.stringify(fa) === JSON.stringify(fb) ? fa : false;
    }, 3000);
  } catch {
    expect((last as { vigil: unknown }).vigil).toEqual((last as { pushgateway: unknown }).pushgateway);
    throw new Error('unreachable');
  }
}

const push = (method: 'PUT' | 'POST', path: string, body: string, ...names: string[]) => {
  for (const n of names) tracked.add(n);
  return both(method, path, body);
};

describe('Prometheus text push: the same grouping-key behaviour as a real Pushgateway', () => {
  it('runs the Pushgateway README examples', async () => {
    // echo "some_metric 3.14" | curl --data-binary @- http://pushgateway.example.org:9091/metrics/job/some_job
    expect(
      (await push('POST', '/metrics/job/some_job', 'some_metric 3.14\n', 'some_metric')).vigil.status,
    ).toBe(200);
    expect((await compare())['some_metric']).toEqual({
      type: 'untyped',
      samples: ['some_metric{job="some_job"} 3.14'],
    });

    const readme =
      '# TYPE some_metric counter\nsome_metric{label="val1"} 42\n# TYPE another_metric gauge\n' +
      '# HELP another_metric Just an example.\nanother_metric 2398.283\n';
    // some_metric is untyped in the other group: both refuse the push as inconsistent.
    const refused = await push(
      'POST',
      '/metrics/job/some_job/instance/some_instance',
      readme,
      'another_metric',
    );
    expect(refused.vigil.status).toBe(400);
    expect(refused.vigil.text).toMatch(/^pushed metrics are invalid or inconsistent with existing metrics: /);
    await compare();

    // curl -X DELETE http://pushgateway.example.org:9091/metrics/job/some_job
    expect((await both('DELETE', '/metrics/job/some_job')).vigil.status).toBe(202);
    await compare();
    expect((await push('POST', '/metrics/job/some_job/instance/some_instance', readme)).vigil.status).toBe(
      200,
    );
    const after = await compare();
    expect(after['some_metric']!.samples).toEqual([
      'some_metric{instance="some_instance",job="some_job",label="val1"} 42',
    ]);
    expect(after['push_failure_time_seconds']!.samples).toContain(
      'push_failure_time_seconds{instance="some_instance",job="some_job"} set',
    );

    // curl -X DELETE http://pushgateway.example.org:9091/metrics/job/some_job/instance/some_instance
    await both('DELETE', '/metrics/job/some_job/instance/some_instance');
    expect((await compare())['some_metric']).toBeUndefined();

    // A value with a slash, base64url-encoded (README: path=/var/tmp), and the empty value.
    await push(
      'PUT',
      '/metrics/job/directory_cleaner/path@base64/L3Zhci90bXA',
      'cleaned_files 12\n',
      'cleaned_files',
    );
    await push('PUT', '/metrics/job@base64/ZGlyL2NsZWFuZXI/path@base64/=', 'cleaned_files 3\n');
    expect((await compare())['cleaned_files']!.samples).toEqual([
      'cleaned_files{job="dir/cleaner"} 3',
      'cleaned_files{job="directory_cleaner",path="/var/tmp"} 12',
    ]);
  });

  it('PUT replaces the group, POST the families sent, DELETE the group', async () => {
    await push('PUT', '/metrics/job/batch/x/1', 'pa 1\npb 1\n', 'pa', 'pb', 'pc');
    await push('PUT', '/metrics/job/batch/x/2', 'pa 10\n');
    await push('POST', '/metrics/job/batch/x/1', 'pa{l="2"} 2\n');
    expect((await compare())['pa']!.samples).toEqual([
      'pa{job="batch",l="2",x="1"} 2',
      'pa{job="batch",x="2"} 10',
    ]);
    await push('PUT', '/metrics/job/batch/x/1', 'pc 3\n');
    const replaced = await compare();
    expect(replaced['pb']).toBeUndefined();
    expect(replaced['pc']!.samples).toEqual(['pc{job="batch",x="1"} 3']);
    await push('PUT', '/metrics/job/batch/x/1', '');
    await push('POST', '/metrics/job/batch/x/2', '');
    await compare();
    await both('DELETE', '/metrics/job/batch/x/2');
    await both('DELETE', '/metrics/job/batch/x/1');
    await compare();
  });

  it('repeated pushes of one shape (values only read again) end as on the Pushgateway', async () => {
    const path = '/metrics/job/shape/instance/i1';
    const body = (c: string, g: string, u: string): string =>
      `# HELP shape_jobs_total Jobs.\n# TYPE shape_jobs_total counter\nshape_jobs_total{kind="a b}"} ${c}\n` +
      `shape_jobs_total{kind="c"} ${c}\n# TYPE shape_queue gauge\nshape_queue ${g}\nshape_untyped\t${u}\n`;
    const names = ['shape_jobs_total', 'shape_queue', 'shape_untyped', 'shape_other'];
    const steps: Array<['PUT' | 'POST', string]> = [
      ['PUT', body('1', '2.5', '3')],
      ['PUT', body('7', '-1e3', '4')], // same shape: only the values change
      ['POST', body('9', '.5', '5')],
      ['PUT', body('2', 'NaN', '+Inf')], // a counter that went down; NaN and +Inf values
      ['PUT', body('3', '4', '5')],
      ['POST', '# TYPE shape_other gauge\nshape_other 1\n'],
      ['PUT', body('4', '5', '6')], // a PUT after a POST replaces shape_other too
      ['PUT', body('5', '6', '7 1700000000000')], // a timestamp: refused by both
      ['PUT', body('6', '7', '8')],
    ];
    for (const [method, text] of steps) {
      await push(method, path, text, ...names);
      const seen = await compare();
      expect(seen['shape_jobs_total']?.samples.length ?? 0).toBeGreaterThan(0);
    }
    expect((await compare())['shape_jobs_total']?.samples).toContain(
      'shape_jobs_total{instance="i1",job="shape",kind="c"} 6',
    );
    expect((await compare())['shape_other']).toBeUndefined();
    await both('DELETE', path);
    await compare();
    await push('PUT', path, body('8', '9', '10'), ...names);
    expect((await compare())['shape_queue']?.samples).toEqual(['shape_queue{instance="i1",job="shape"} 9']);
  });

  it('applies the grouping labels over sample labels, and instance from the sample', async () => {
    await push('PUT', '/metrics/job/pq/x/1', 'cf{x="9",job="zz",y="1"} 1\n', 'cf', 'ci');
    await push('PUT', '/metrics/job/pi', 'ci{instance="i1"} 1\nci{instance="i2",a="b"} 2\n');
    await push('PUT', '/metrics/job/pj/instance@base64/=', 'ci{instance="i3"} 3\n');
    const f = await compare();
    expect(f['cf']!.samples).toEqual(['cf{job="pq",x="1",y="1"} 1']);
    expect(f['ci']!.samples).toEqual([
      'ci{a="b",instance="i2",job="pi"} 2',
      'ci{instance="i1",job="pi"} 1',
      'ci{job="pj"} 3',
    ]);
  });

  it('exposes every type under the pushed names: counters with and without _total, histograms, summaries', async () => {
    const body =
      '# HELP jobs_done_total Jobs done.\n# TYPE jobs_done_total counter\njobs_done_total{queue="a"} 17\n' +
      '# TYPE jobs counter\njobs 3\n' +
      '# TYPE temp gauge\ntemp{room="a\\"b\\\\c\\nd"} -1.5e-7\ntemp{room="nan"} NaN\ntemp{room="inf"} +Inf\n' +
      'free_form 1e3\n' +
      '# HELP req_seconds Request duration.\n# TYPE req_seconds histogram\n' +
      'req_seconds_bucket{path="/a",le="0.005"} 1\nreq_seconds_bucket{path="/a",le="0.5"} 3\n' +
      'req_seconds_bucket{path="/a",le="+Inf"} 4\nreq_seconds_sum{path="/a"} 7.25\nreq_seconds_count{path="/a"} 4\n' +
      '# TYPE rpc summary\nrpc{quantile="0.5"} 0.01\nrpc{quantile="0.99"} 0.2\nrpc_sum 5\nrpc_count 100\n';
    const r = await push(
      'PUT',
      '/metrics/job/types',
      body,
      'jobs_done_total',
      'jobs',
      'temp',
      'free_form',
      'req_seconds',
      'rpc',
    );
    expect(r.vigil.status).toBe(200);
    const f = await compare();
    expect(f['jobs']).toEqual({ type: 'counter', samples: ['jobs{job="types"} 3'] });
    expect(f['jobs_done_total']!.samples).toEqual(['jobs_done_total{job="types",queue="a"} 17']);
    expect(f['free_form']!.type).toBe('untyped');
    expect(f['req_seconds']!.samples).toContain('req_seconds_bucket{job="types",le="0.5",path="/a"} 3');
    expect(f['rpc']!.samples).toContain('rpc{job="types",quantile="0.99"} 0.2');
  });

  it('is stored by a real Prometheus under the same series as from the Pushgateway', async () => {
    // Prometheus asks vigil for OpenMetrics and the Pushgateway answers in text 0.0.4: both must
    // become the same series. `src` tells the two scrapes apart; the instance label Prometheus
    // adds where the Pushgateway sent instance="" (the target's address) is left out.
    const prom = await startPrometheus(
      new URL(vigil.metrics).host,
      `        labels: {src: vigil}\n  - job_name: pushgateway\n    honor_labels: true\n    static_configs:\n` +
        `      - targets: ['${new URL(pgw.url).host}']\n        labels: {src: pgw}\n`,
    );
    try {
      const names =
        'jobs|jobs_done_total|temp|free_form|req_seconds_(bucket|sum|count)|rpc|rpc_(sum|count)|cf|ci';
      const series = async (src: string): Promise<string[]> =>
        (await prom.query(`{src="${src}",__name__=~"${names}"}`))
          .map(({ metric, value }) => {
            const labels = Object.entries(metric)
              .filter(([k, v]) => k !== 'src' && !(k === 'instance' && /^127\.0\.0\.1:\d+$/.test(v)))
              .sort(([a], [b]) => (a < b ? -1 : 1));
            return `${JSON.stringify(labels)} ${value[1]}`;
          })
          .sort();
      let last: unknown;
      await eventually(async () => {
        const [a, b] = await Promise.all([series('pgw'), series('vigil')]);
        last = { pushgateway: a, vigil: b };
        return a.length >= 15 && JSON.stringify(a) === JSON.stringify(b);
      }, 30_000).catch(() => {
        const l = last as { pushgateway: string[]; vigil: string[] };
        expect(l.vigil).toEqual(l.pushgateway);
      });
    } finally {
      await prom.stop();
    }
  });

  it('refuses what the Pushgateway refuses and marks push_failure_time_seconds the same way', async () => {
    await push('PUT', '/metrics/job/stamp', 'stamped 1\n', 'stamped', 'clash', 'dup', 'sx', 'sx_count');
    const ts = await both('POST', '/metrics/job/stamp', 'stamped 2 1700000000000\n');
    expect(ts.vigil.text).toBe(ts.pgw.text);
    await both('PUT', '/metrics/job/stamp_new', 'stamped 2 1700000000000\n');
    // Type conflict with another group, series exposed by another group, suffix collision.
    await push('PUT', '/metrics/job/c1', 'clash 1\n');
    await both('PUT', '/metrics/job/c2', '# TYPE clash gauge\nclash 1\n');
    await push('PUT', '/metrics/job/d1', 'dup{x="1"} 1\n');
    await both('PUT', '/metrics/job/d1/x/1', 'dup 2\n');
    await push('PUT', '/metrics/job/s1', 'sx_count 1\n');
    await both('PUT', '/metrics/job/s2', '# TYPE sx summary\nsx_sum 1\n');
    const f = await compare();
    expect(f['stamped']!.samples).toEqual(['stamped{job="stamp"} 1']);
    expect(f['push_failure_time_seconds']!.samples).toEqual(
      expect.arrayContaining([
        'push_failure_time_seconds{job="stamp"} set',
        'push_failure_time_seconds{job="stamp_new"} set',
        'push_failure_time_seconds{job="c2"} set',
        'push_failure_time_seconds{job="d1",x="1"} set',
        'push_failure_time_seconds{job="s2"} set',
      ]),
    );
    expect(f['push_time_seconds']!.samples).toContain('push_time_seconds{job="stamp_new"} 0');
  });

  it('accepts the delimited protobuf format that client_golang pushes', async () => {
    const body = encodeDelimited([
      {
        name: 'go_job_runs_total',
        help: 'Runs.',
        type: 0,
        metric: [{ label: [{ name: 'step', value: 'a' }], counter: { value: 5 } }],
      },
      { name: 'go_job_last_success', type: 1, metric: [{ gauge: { value: 1700000000 } }] },
      {
        name: 'go_job_seconds',
        type: 4,
        metric: [
          {
            histogram: {
              sampleCount: 3,
              sampleSum: 1.5,
              bucket: [
                { cumulativeCount: 1, upperBound: 0.1 },
                { cumulativeCount: 2, upperBound: 1 },
              ],
            },
          },
        ],
      },
    ]);
    tracked.add('go_job_runs_total').add('go_job_last_success').add('go_job_seconds');
    const r = await both('PUT', '/metrics/job/go_batch/instance/w1', body, {
      'Content-Type': PROTO_CONTENT_TYPE,
    });
    expect(r.vigil.status).toBe(200);
    const f = await compare();
    expect(f['go_job_runs_total']!.samples).toEqual([
      'go_job_runs_total{instance="w1",job="go_batch",step="a"} 5',
    ]);
    expect(f['go_job_seconds']!.samples).toContain(
      'go_job_seconds_bucket{instance="w1",job="go_batch",le="1"} 2',
    );
    // Timestamps are refused in this format too.
    const stamped = encodeDelimited([
      { name: 'go_job_last_success', type: 1, metric: [{ gauge: { value: 1 }, timestampMs: 5 }] },
    ]);
    expect(
      (
        await both('POST', '/metrics/job/go_batch/instance/w1', stamped, {
          'Content-Type': PROTO_CONTENT_TYPE,
        })
      ).vigil.status,
    ).toBe(400);
    await compare();
  });

  it('answers other methods with 405 and the same Allow header', async () => {
    for (const method of ['GET', 'PATCH']) {
      const r = await both(method, '/metrics/job/some_job');
      expect(r.vigil.status).toBe(405);
      expect(r.vigil.allow).toBe(r.pgw.allow);
    }
  });

  it('parses like the Pushgateway: same status and the same parse error for each body', async () => {
    const bodies = [
      'm 1',
      'm 1 \n',
      'm 1 123 \n',
      'm\t1\n',
      ' m 1\n',
      'm{} 1\n',
      'm{a="1",} 1\n',
      'm{a="1",a="2"} 1\n',
      'm{a="1"}1\n',
      'm 0x10\n',
      'm 1_0\n',
      'm Inf\n',
      'm nan\n',
      'm +nan\n',
      'm -infinity\n',
      'm .5\n',
      'm 5.\n',
      'm 1\nm 2\n',
      'm{a="x"} 1\nm{a="x"} 2\n',
      '# TYPE m gauge\n# TYPE m gauge\nm 1\n',
      'm 1\n# TYPE m gauge\n',
      'm 1\n# HELP m x\n',
      '# HELP m a\\qb\nm 1\n',
      '# TYPE m foo\nm 1\n',
      'm{a="\\q"} 1\n',
      '#x\nm 1\n',
      '#\nm 1\n',
      '# HELP\nm 1\n',
      'm{__name__="x"} 1\n',
      'm{__x="x"} 1\n',
      '# TYPE m summary\nm{quantile="x"} 1\n',
      '',
      '\n\n',
      'm{a=1} 1\n',
      'm{a="1" b="2"} 1\n',
      'm {a="1"} 1\n',
      'm{ a = "1" } 1\n',
      'm  1\n',
      'm 1 5x\n',
      'm 1\r\n',
      ':m 1\n',
      'm-1 1\n',
      'm 1e400\n',
      'm 1e-400\n',
      'm 1 9223372036854775808\n',
      '{a="1"} 1\n',
      'm{a} 1\n',
      'm{a="1"\n',
      'm{a="1\n"} 1\n',
      '# HELP m x\n# HELP m y\nm 1\n',
      '# TYPE m counter \nm 1\n',
      '# HELP 1m x\nm 1\n',
      '#HELP m x\nm 1\n',
      '# foo',
      'm 1\n  ',
      'm{a="1",,} 1\n',
      'm{,} 1\n',
      'm{a="1"}\n',
      'm\n',
      'm 1 1 1\n',
      'm 1.5.5\n',
      'm Infinity\n',
      'm infin\n',
      '# TYPE m histogram\nm_bucket{le="x"} 1\n',
      'm{a="1"} \n',
      '# TYPE m_count gauge\nm_count 1\n# TYPE m summary\nm 1\n',
      '# TYPE m summary\nm_sum 1\n# TYPE m_sum gauge\n',
      '\x00\x01\x02garbage\xff\n',
    ];
    let i = 0;
    for (const body of bodies) {
      const path = `/metrics/job/parse_${i++}`;
      const r = await both('PUT', path, Buffer.from(body, 'latin1'));
      if (r.pgw.text.startsWith('text format parsing error'))
        expect(r.vigil.text, JSON.stringify(body)).toBe(r.pgw.text);
      await both('DELETE', path);
    }
    await compare();
  });

  it('reads grouping keys like the Pushgateway: same status for each path', async () => {
    const paths = [
      '/metrics/job',
      '/metrics/job/a/',
      '/metrics/job/a/b',
      '/metrics/job/a/b/',
      '/metrics/job/a/b/c/',
      '/metrics/job/a/__x/1',
      '/metrics/job/a/1x/2',
      '/metrics/job@base64/',
      '/metrics/job@base64/=',
      '/metrics/job@base64/YQ',
      '/metrics/job@base64/YQ==',
      '/metrics/job@base64/Y',
      '/metrics/job/a/x@base64/=',
      '/metrics/job/a/x@base64/',
      '/metrics/job/a/x@base64/!!',
      '/metrics/job/a%2Fb',
      '/metrics/job/a/x/%zz',
      '/metrics/job/a?x=1',
      '/metrics/job/a/job/b',
      '/metrics/job/a/x@base64/YWJj/y/2',
      '/metrics/job/a/x@base64@base64/YQ',
      '/metrics/job/a/x%40base64/YQ',
      '/metrics/jobs/a',
    ];
    for (const path of paths) {
      await both('PUT', path, 'path_probe 1\n');
      await both('DELETE', path);
    }
    tracked.add('path_probe');
    await compare();
  });
});

describe('Prometheus text push: bad input', () => {
  it('refuses garbage, huge bodies and bad paths, and keeps serving', async () => {
    const put = (path: string, body: string | Uint8Array, headers: Record<string, string> = {}) =>
      fetch(`${vigil.ingest}${path}`, { method: 'PUT', body, headers });
    expect((await put('/metrics/job/bad', new Uint8Array([0x0a, 0xff, 0x00, 0x13]))).status).toBe(400);
    const huge = `${'big_metric{label="x"} 1\n'.repeat(60_000)}`; // ~1.4 MiB, limit 1 MiB
    const tooBig = await put('/metrics/job/bad', huge);
    expect(tooBig.status).toBe(413);
    const bomb = gzipSync(Buffer.alloc(32 * 1024 * 1024, 0x20));
    expect((await put('/metrics/job/bad', bomb, { 'Content-Encoding': 'gzip' })).status).toBe(413);
    expect((await put('/metrics/job/bad/odd', 'm 1\n')).status).toBe(400);
    expect((await put('/metrics/nojob', 'm 1\n')).status).toBe(404);
    const proto = await put('/metrics/job/bad', new Uint8Array([0x05, 0x0a, 0xff, 0xff]), {
      'Content-Type': PROTO_CONTENT_TYPE,
    });
    expect(proto.status).toBe(400);

    expect((await put('/metrics/job/good', 'still_serving 1\n')).status).toBe(200);
    const samples = parseExposition(await (await fetch(`${vigil.metrics}/metrics`)).text());
    expect(find(samples, 'still_serving', { job: 'good' })).toHaveLength(1);
    expect(find(samples, 'big_metric')).toHaveLength(0);
    expect(find(samples, 'push_time_seconds', { job: 'bad' })).toHaveLength(0);
    await eventually(async () => {
      const s = parseExposition(await (await fetch(`${vigil.metrics}/metrics`)).text());
      return (
        find(s, 'vigil_receiver_requests_total', { transport: 'prometheus_push', code: '413' })[0]?.value ===
          2 &&
        (find(s, 'vigil_receiver_accepted_points_total', { transport: 'prometheus_push' })[0]?.value ?? 0) > 0
      );
    });
  });
});
