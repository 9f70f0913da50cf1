import { describe, expect, it } from 'vitest';
import { prometheusFamily } from '../../src/export/prometheus-naming.js';
import { writeExposition } from '../../src/export/prometheus-text.js';
import { parsePrometheusText } from '../../src/ingest/prometheus-text-parse.js';
import { PushGroups } from '../../src/ingest/pushgateway.js';
import { parseGroupingPath, type GroupingKey } from '../../src/ingest/pushgateway-path.js';
import { applyNumber } from '../../src/store/apply.js';
import { Store } from '../../src/store/store.js';
import { parseExposition } from '../helpers/prometheus-text.js';

function setup(limits: Partial<{ maxSeries: number; maxSeriesPerMetric: number; seriesTtlMs: number }> = {}) {
  let now = 1_700_000_000_000;
  const clock = (): number => now;
  const store = new Store({
    limits: { maxSeries: 1000, maxSeriesPerMetric: 1000, seriesTtlMs: 60_000, ...limits },
    clock,
    familyOf: prometheusFamily,
  });
  const groups = new PushGroups({ store, clock });
  const key = (path: string): GroupingKey => {
    const r = parseGroupingPath(path);
    if (!r.ok) throw new Error(r.message);
    return r.key;
  };
  const push = (method: 'PUT' | 'POST', path: string, text: string) =>
    groups.push(key(path), parsePrometheusText(Buffer.from(text)), method === 'PUT');
  const exposition = async (openMetrics = false): Promise<string> => {
    let out = '';
    await writeExposition(store, { write: (c) => void (out += c) }, { openMetrics });
    return out;
  };
  /** `name{sorted labels} value` lines, target_info left out. */
  const samples = async (): Promise<string[]> =>
    parseExposition(await exposition())
      .filter((s) => s.name !== 'target_info')
      .map((s) => {
        const labels = Object.keys(s.labels)
          .sort()
          .map((k) => `${k}="${s.labels[k]}"`)
          .join(',');
        return `${s.name}{${labels}} ${s.value}`;
      })
      .sort();
  return {
    store,
    groups,
    key,
    push,
    samples,
    exposition,
    advance: (ms: number) => (now += ms),
    now: () => now,
  };
}

const T = 1_700_000_000;

describe('PushGroups > grouping-key semantics', () => {
  it('adds the grouping labels to every sample; job and instance become the resource', async () => {
    const t = setup();
    const r = t.push('POST', '/metrics/job/some_job/instance/some_instance/team/a', 'm{x="1"} 2\n');
    expect(r.status).toBe(200);
    expect(r.tally.accepted).toBe(1);
    expect(await t.samples()).toEqual([
      `m{instance="some_instance",job="some_job",team="a",x="1"} 2`,
      `push_failure_time_seconds{instance="some_instance",job="some_job",team="a"} 0`,
      `push_time_seconds{instance="some_instance",job="some_job",team="a"} ${T}`,
    ]);
  });

  it('overwrites sample labels that the grouping key also has; job always from the key', async () => {
    const t = setup();
    t.push('PUT', '/metrics/job/pq/x/1', 'cf{x="9",job="zz",y="1"} 1\n');
    expect((await t.samples()).filter((s) => s.startsWith('cf'))).toEqual([`cf{job="pq",x="1",y="1"} 1`]);
  });

  it("keeps a sample's own instance when the grouping key has none", async () => {
    const t = setup();
    t.push('PUT', '/metrics/job/j', 'm{instance="i1"} 1\nm{instance="i2"} 2\n');
    expect((await t.samples()).filter((s) => s.startsWith('m{'))).toEqual([
      `m{instance="i1",job="j"} 1`,
      `m{instance="i2",job="j"} 2`,
    ]);
  });

  it('PUT replaces the whole group, POST only the families it sends', async () => {
    const t = setup();
    t.push('PUT', '/metrics/job/pp/x/1', 'a 1\nb 1\n');
    t.push('POST', '/metrics/job/pp/x/1', 'a{l="2"} 2\n');
    expect((await t.samples()).filter((s) => /^[ab]\{/.test(s))).toEqual([
      `a{job="pp",l="2",x="1"} 2`,
      `b{job="pp",x="1"} 1`,
    ]);
    t.push('PUT', '/metrics/job/pp/x/1', 'c 3\n');
    expect((await t.samples()).filter((s) => /^[abc]\{/.test(s))).toEqual([`c{job="pp",x="1"} 3`]);
    // An empty PUT empties the group but keeps it (and its push time).
    t.advance(1000);
    t.push('PUT', '/metrics/job/pp/x/1', '');
    expect(await t.samples()).toEqual([
      `push_failure_time_seconds{job="pp",x="1"} 0`,
      `push_time_seconds{job="pp",x="1"} ${T + 1}`,
    ]);
  });

  it('DELETE removes the group and its bookkeeping, and leaves other groups alone', async () => {
    const t = setup();
    t.push('PUT', '/metrics/job/a', 'm 1\n');
    t.push('PUT', '/metrics/job/a/instance/i', 'm 2\n');
    t.groups.delete(t.key('/metrics/job/a'));
    expect(await t.samples()).toEqual([
      `m{instance="i",job="a"} 2`,
      `push_failure_time_seconds{instance="i",job="a"} 0`,
      `push_time_seconds{instance="i",job="a"} ${T}`,
    ]);
    t.groups.delete(t.key('/metrics/job/a/instance/i'));
    expect(await t.samples()).toEqual([]);
    expect(t.store.size).toBe(0);
    expect(t.store.families.size).toBe(0);
    expect(t.groups.size).toBe(0);
  });

  it('keeps groups that share streams apart: each finds only its own series there', async () => {
    const t = setup();
    // One resource (job "s", no instance) for both groups: their series share the streams.
    t.push('PUT', '/metrics/job/s/g/1', '# TYPE m counter\nm{k="a"} 1\nm{k="b"} 2\n');
    t.push('PUT', '/metrics/job/s/g/2', '# TYPE m counter\nm{k="a"} 3\n');
    // A group whose samples carry their own instance spans several resources (streams) per family.
    t.push(
      'PUT',
      '/metrics/job/s/g/3',
      '# TYPE m counter\nm{instance="x",k="a"} 4\nm{instance="y",k="a"} 5\n',
    );
    t.push('PUT', '/metrics/job/s/g/1', '# TYPE m counter\nm{k="b"} 6\n'); // drops g=1's k="a" only
    expect((await t.samples()).filter((l) => l.startsWith('m{'))).toEqual([
      'm{g="1",job="s",k="b"} 6',
      'm{g="2",job="s",k="a"} 3',
      'm{g="3",instance="x",job="s",k="a"} 4',
      'm{g="3",instance="y",job="s",k="a"} 5',
    ]);
    // Untyped where the family is a counter (g=1's): refused whole.
    expect(t.push('POST', '/metrics/job/s/g/3', 'm{instance="y",k="a"} 7\n').status).toBe(400);
    t.push('POST', '/metrics/job/s/g/3', '# TYPE m counter\nm{instance="y",k="a"} 7\n'); // m replaced
    t.groups.delete(t.key('/metrics/job/s/g/2'));
    expect((await t.samples()).filter((l) => l.startsWith('m{'))).toEqual([
      'm{g="1",job="s",k="b"} 6',
      'm{g="3",instance="y",job="s",k="a"} 7',
    ]);
    for (const g of ['1', '3']) t.groups.delete(t.key(`/metrics/job/s/g/${g}`));
    expect(t.store.size).toBe(0);
    expect(t.store.streams.size).toBe(0);
  });

  it('ignores pushed push_time_seconds: the group sets its own', async () => {
    const t = setup();
    t.push('PUT', '/metrics/job/j', '# TYPE push_time_seconds gauge\npush_time_seconds 5\n');
    expect(await t.samples()).toContain(`push_time_seconds{job="j"} ${T}`);
  });
});

describe('PushGroups > refusals (400) keep the group as it was', () => {
  it('refuses timestamps and marks push_failure_time_seconds, creating the group if new', async () => {
    const t = setup();
    t.push('PUT', '/metrics/job/old', 'ok 1\n');
    t.advance(2000);
    const r = t.push('POST', '/metrics/job/old', 'ok 2 5\n');
    expect(r.status).toBe(400);
    expect(r.message).toBe(
      'pushed metrics are invalid or inconsistent with existing metrics: pushed metrics must not have timestamps',
    );
    expect(r.tally.rejected).toBe(1);
    t.push('PUT', '/metrics/job/new', 'ts 1 123\n');
    expect(await t.samples()).toEqual([
      `ok{job="old"} 1`,
      `push_failure_time_seconds{job="new"} ${T + 2}`,
      `push_failure_time_seconds{job="old"} ${T + 2}`,
      `push_time_seconds{job="new"} 0`,
      `push_time_seconds{job="old"} ${T}`,
    ]);
  });

  it('refuses a type that differs from the same family elsewhere, but lets a group change its own', () => {
    const t = setup();
    expect(t.push('PUT', '/metrics/job/a', 'm 1\n').status).toBe(200);
    const r = t.push('PUT', '/metrics/job/b', '# TYPE m counter\nm 1\n');
    expect(r.status).toBe(400);
    expect(r.message).toMatch(/metric family "m" is a untyped elsewhere/);
    expect(r.tally.reasons.get('type_conflict')).toBe(1);
    expect(t.push('PUT', '/metrics/job/a', '# TYPE m counter\nm 1\n').status).toBe(200);
    expect(t.store.families.get('m')!.type).toBe('counter');
  });

  it('refuses a family that conflicts with data from other ingest paths', () => {
    const t = setup();
    const resource = t.store.resource(['service.name', 'svc']);
    const desc = {
      name: 'stream.events',
      unit: '',
      description: '',
      kind: 'sum',
      monotonic: true,
      temporality: 'cumulative',
    } as const;
    const stream = t.store.stream(resource, { name: 's', version: '' }, desc);
    if (typeof stream === 'string') throw new Error(stream);
    const s = t.store.series(stream, null, []);
    if (typeof s === 'string') throw new Error(s);
    applyNumber(stream, s, 0, 1, 5, t.now());
    expect(
      t.push('PUT', '/metrics/job/j', '# TYPE stream_events_total gauge\nstream_events_total 1\n').status,
    ).toBe(400);
    // Same type: the pushed series joins the family.
    expect(
      t.push('PUT', '/metrics/job/j', '# TYPE stream_events_total counter\nstream_events_total 1\n').status,
    ).toBe(200);
    expect(t.store.families.get('stream_events_total')!.streams.size).toBe(2);
  });

  it('refuses summary / histogram names that collide with _count, _sum or _bucket families', () => {
    const t = setup();
    expect(t.push('PUT', '/metrics/job/a', 'x_count 1\n').status).toBe(200);
    const r = t.push('PUT', '/metrics/job/b', '# TYPE x summary\nx_sum 1\n');
    expect(r.message).toMatch(
      /collected histogram or summary named "x" collides with previously collected metric named "x_count"/,
    );
    expect(t.push('PUT', '/metrics/job/c', '# TYPE h histogram\nh_count 1\n').status).toBe(200);
    expect(t.push('PUT', '/metrics/job/d', 'h_bucket 1\n').message).toMatch(
      /collides with previously collected histogram named "h"/,
    );
    // Once group a is gone, x may be a summary.
    t.groups.delete(t.key('/metrics/job/a'));
    expect(t.push('PUT', '/metrics/job/b', '# TYPE x summary\nx_sum 1\n').status).toBe(200);
  });

  it('refuses a series that another group already exposes, and duplicates within a push', () => {
    const t = setup();
    expect(t.push('PUT', '/metrics/job/a', 'm{x="1"} 1\n').status).toBe(200);
    expect(t.push('PUT', '/metrics/job/a/x/1', 'm 2\n').message).toMatch(
      /was collected before with the same name and label values/,
    );
    expect(t.push('PUT', '/metrics/job/b', 'm 1\nm 2\n').message).toMatch(/was collected before/);
    // An empty label value is no label: these two are one series.
    expect(t.push('PUT', '/metrics/job/b', 'm{y=""} 1\nm 2\n').status).toBe(400);
  });

  it('refuses label names the Pushgateway refuses and explicit le / quantile labels', () => {
    const t = setup();
    expect(t.push('PUT', '/metrics/job/a', 'u{__x="x"} 1\n').message).toMatch(
      /has a label with an invalid name: __x/,
    );
    expect(t.push('PUT', '/metrics/job/a/le/1', '# TYPE h histogram\nh_count 1\n').status).toBe(400);
    expect(t.push('PUT', '/metrics/job/a/quantile/1', '# TYPE s summary\ns_count 1\n').status).toBe(400);
  });

  it('refuses histograms that are not one distribution, which the Pushgateway would store as sent', () => {
    const t = setup();
    const h = (body: string) => t.push('PUT', '/metrics/job/h', `# TYPE h histogram\n${body}`);
    expect(h('h_bucket{le="1"} 1\nh_bucket{le="+Inf"} 3\nh_count 2\n').message).toMatch(
      /\+Inf bucket 3 differs from _count 2/,
    );
    expect(h('h_bucket{le="5"} 1\nh_bucket{le="1"} 2\nh_count 2\n').message).toMatch(
      /bucket counts decrease/,
    );
    expect(h('h_bucket{le="1"} -1\nh_count 0\n').message).toMatch(/invalid bucket count -1/);
    expect(h('h_bucket{le="1"} 1\nh_bucket{le="1"} 1\nh_count 1\n').message).toMatch(/sent twice/);
  });

  it('refuses target_info, which vigil renders from resources', () => {
    const t = setup();
    expect(t.push('PUT', '/metrics/job/a', 'target_info 1\n').status).toBe(400);
  });
});

describe('PushGroups > data', () => {
  it('keeps names verbatim: no _total added to counters, untyped stays untyped', async () => {
    const t = setup();
    t.push(
      'PUT',
      '/metrics/job/j',
      '# TYPE jobs counter\njobs 3\n# TYPE jobs_total counter\njobs_total 4\nu 5\n',
    );
    const text = await t.exposition();
    expect(text).toMatch(/^# TYPE jobs counter\njobs\{job="j"\} 3$/m);
    expect(text).toMatch(/^# TYPE jobs_total counter\njobs_total\{job="j"\} 4$/m);
    expect(text).toMatch(/^# TYPE u untyped\nu\{job="j"\} 5$/m);
    expect(text).not.toMatch(/jobs_total_total|jobs_total_total/);
    // OpenMetrics: the same series names; untyped, and a counter without _total (whose samples
    // OpenMetrics would have to rename), are unknown.
    const om = await t.exposition(true);
    expect(om).toMatch(/^# TYPE jobs unknown\njobs\{job="j"\} 3$/m);
    expect(om).toMatch(/^# TYPE jobs counter\njobs_total\{job="j"\} 4$/m);
    expect(om).toMatch(/^# TYPE u unknown\nu\{job="j"\} 5$/m);
  });

  it('renders histograms and summaries as pushed (buckets sorted), and NaN / Inf values', async () => {
    const t = setup();
    t.push(
      'PUT',
      '/metrics/job/j',
      '# TYPE h histogram\nh_bucket{le="5"} 4\nh_bucket{le="1"} 1\nh_sum 2\nh_count 4.9\n' +
        '# TYPE s summary\ns{quantile="0.5"} 1\ns_sum 3\ns_count 2.7\n' +
        'g NaN\ni -Inf\n# TYPE e histogram\ne 1\n',
    );
    expect(await t.samples()).toEqual(
      expect.arrayContaining([
        `h_bucket{job="j",le="1"} 1`,
        `h_bucket{job="j",le="5"} 4`,
        `h_bucket{job="j",le="+Inf"} 4`,
        `h_count{job="j"} 4`,
        `h_sum{job="j"} 2`,
        `s{job="j",quantile="0.5"} 1`,
        `s_count{job="j"} 2`,
        `s_sum{job="j"} 3`,
        `g{job="j"} NaN`,
        `i{job="j"} -Infinity`,
        `e_bucket{job="j",le="+Inf"} 0`,
        `e_count{job="j"} 0`,
        `e_sum{job="j"} 0`,
      ]),
    );
  });

  it('keeps the same store series across pushes (one counter for the signal windows)', () => {
    const t = setup();
    t.push('PUT', '/metrics/job/j', '# TYPE c counter\nc 5\n');
    const stream = [...t.store.families.get('c')!.streams][0]!;
    const first = [...stream.series.values()][0]!;
    const start = first.startMs;
    t.advance(1000);
    t.push('PUT', '/metrics/job/j', '# TYPE c counter\nc 7\n');
    const again = [...[...t.store.families.get('c')!.streams][0]!.series.values()][0]!;
    expect(again).toBe(first);
    expect(again.value).toBe(7);
    expect(again.startMs).toBe(start);
    t.advance(1000);
    t.push('PUT', '/metrics/job/j', '# TYPE c counter\nc 1\n');
    expect(again.startMs).toBe(t.now()); // went down: a reset
  });

  it('is exempt from the TTL sweep, unlike other series', async () => {
    const t = setup({ seriesTtlMs: 1000 });
    t.push('PUT', '/metrics/job/j', 'm 1\n');
    const resource = t.store.resource(['service.name', 'otlp']);
    const stream = t.store.stream(
      resource,
      { name: 's', version: '' },
      { name: 'g', unit: '', description: '', kind: 'gauge', monotonic: false, temporality: 'cumulative' },
    );
    if (typeof stream === 'string') throw new Error(stream);
    const s = t.store.series(stream, null, []);
    if (typeof s === 'string') throw new Error(s);
    applyNumber(stream, s, 0, 1, 5, t.now());
    t.advance(10_000);
    expect(t.store.sweep()).toBe(1);
    expect(await t.samples()).toEqual([
      `m{job="j"} 1`,
      `push_failure_time_seconds{job="j"} 0`,
      `push_time_seconds{job="j"} ${T}`,
    ]);
  });

  it('counts towards the series limits, all or nothing', async () => {
    const t = setup({ maxSeries: 5 });
    // 2 samples + push_time + push_failure_time = 4 series.
    expect(t.push('PUT', '/metrics/job/a', 'm{x="1"} 1\nm{x="2"} 1\n').status).toBe(200);
    expect(t.store.size).toBe(4);
    const r = t.push('PUT', '/metrics/job/b', 'n 1\n');
    expect(r.status).toBe(400);
    expect(r.tally.reasons.get('series_limit')).toBe(1);
    // A replace that frees what it adds fits.
    expect(t.push('PUT', '/metrics/job/a', 'n{x="1"} 1\nn{x="2"} 2\n').status).toBe(200);
    expect(t.push('PUT', '/metrics/job/a', 'n{x="1"} 1\nn{x="2"} 2\nn{x="3"} 3\n').status).toBe(400);
    expect((await t.samples()).filter((s) => s.startsWith('n{'))).toEqual([
      `n{job="a",x="1"} 1`,
      `n{job="a",x="2"} 2`,
    ]);
  });

  it('applies limits.max_series_per_metric', () => {
    const t = setup({ maxSeriesPerMetric: 2 });
    expect(t.push('PUT', '/metrics/job/a', 'm{x="1"} 1\nm{x="2"} 1\n').status).toBe(200);
    const r = t.push('PUT', '/metrics/job/b', 'm{x="3"} 1\n');
    expect(r.status).toBe(400);
    expect(r.tally.reasons.get('series_per_metric_limit')).toBe(1);
  });
});

describe('PushGroups > pushes of the same shape', () => {
  const body = (c: number | string, g: number | string): Buffer =>
    Buffer.from(
      `# TYPE jobs_total counter\njobs_total{kind="a b}"} ${c}\njobs_total{kind="c"} ${c}\n# TYPE queue gauge\nqueue\t${g}\n`,
    );
  /** The full path; pushed twice, since a group keeps a shape from its second push on. */
  const fullPush = (t: ReturnType<typeof setup>, method: 'PUT' | 'POST', path: string, b: Buffer) => {
    t.groups.push(t.key(path), parsePrometheusText(b), method === 'PUT', b);
    return t.groups.push(t.key(path), parsePrometheusText(b), method === 'PUT', b);
  };

  it('reads only the values of a push shaped like the last one, with the full path result', async () => {
    const t = setup();
    expect(fullPush(t, 'PUT', '/metrics/job/j', body(1, 2)).status).toBe(200);
    t.advance(1000);
    const fast = t.groups.pushSameShape(t.key('/metrics/job/j'), body(5, 0.25), true);
    expect(fast?.status).toBe(200);
    expect(fast?.tally.accepted).toBe(3);
    const viaFast = await t.samples();
    expect(viaFast).toContain('jobs_total{job="j",kind="c"} 5');
    expect(viaFast).toContain('queue{job="j"} 0.25');
    expect(viaFast).toContain(`push_time_seconds{job="j"} ${T + 1}`);

    // The same push through the full path on a fresh store gives the same exposition.
    const u = setup();
    fullPush(u, 'PUT', '/metrics/job/j', body(1, 2));
    u.advance(1000);
    fullPush(u, 'PUT', '/metrics/job/j', body(5, 0.25));
    expect(await u.samples()).toEqual(viaFast);
  });

  it('restarts a counter that went down, as the full path does', () => {
    const t = setup();
    fullPush(t, 'PUT', '/metrics/job/j', body(10, 1));
    t.advance(5000);
    t.groups.pushSameShape(t.key('/metrics/job/j'), body(3, 1), true);
    const stream = [...t.store.streams.values()].find((s) => s.desc.name === 'jobs_total')!;
    for (const s of stream.series.values()) expect(s.startMs).toBe(t.now());
  });

  it('leaves to the full path whatever differs in more than plain decimal values', () => {
    const t = setup();
    const k = t.key('/metrics/job/j');
    fullPush(t, 'PUT', '/metrics/job/j', body(1, 2));
    const other = [
      body('NaN', 2),
      body('+Inf', 2),
      body(1, '0x10'),
      body('1 1700000000000', 2),
      Buffer.from(body(1, 2).toString().replace('kind="c"', 'kind="d"')),
      Buffer.concat([body(1, 2), Buffer.from('extra 1\n')]),
      body(1, 2).subarray(0, body(1, 2).length - 1),
    ];
    for (const b of other) expect(t.groups.pushSameShape(k, b, true), b.toString()).toBeUndefined();
    expect(t.groups.pushSameShape(t.key('/metrics/job/other'), body(1, 2), true)).toBeUndefined();
    expect(t.groups.pushSameShape(k, body(4, 2), true)).toBeDefined();
  });

  it('forgets the shape when the group changes another way', () => {
    const t = setup();
    const k = t.key('/metrics/job/j');
    fullPush(t, 'POST', '/metrics/job/j', body(1, 2));
    // Recorded from a POST: a POST may reuse it, a PUT (which replaces everything) may not.
    expect(t.groups.pushSameShape(k, body(2, 2), false)).toBeDefined();
    expect(t.groups.pushSameShape(k, body(2, 2), true)).toBeUndefined();
    fullPush(t, 'PUT', '/metrics/job/j', body(1, 2));
    expect(t.groups.pushSameShape(k, body(2, 2), true)).toBeDefined();
    // A refused push, a push of something else, a delete: each ends the shape.
    t.groups.push(k, parsePrometheusText(Buffer.from('jobs_total 1 1700000000000\n')), true);
    expect(t.groups.pushSameShape(k, body(2, 2), true)).toBeUndefined();
    fullPush(t, 'PUT', '/metrics/job/j', body(1, 2));
    t.push('POST', '/metrics/job/j', 'queue 3\n');
    expect(t.groups.pushSameShape(k, body(2, 2), false)).toBeUndefined();
    fullPush(t, 'PUT', '/metrics/job/j', body(1, 2));
    t.groups.delete(k);
    expect(t.groups.pushSameShape(k, body(2, 2), true)).toBeUndefined();
  });

  it('keeps no shape for a group pushed to once (a body copy for nothing)', () => {
    const t = setup();
    const k = t.key('/metrics/job/j');
    t.groups.push(k, parsePrometheusText(body(1, 2)), true, body(1, 2));
    expect(t.groups.pushSameShape(k, body(2, 2), true)).toBeUndefined();
    t.groups.push(k, parsePrometheusText(body(2, 2)), true, body(2, 2));
    expect(t.groups.pushSameShape(k, body(3, 2), true)).toBeDefined();
  });

  it('keeps no shape for histograms or summaries (several lines make one sample)', () => {
    const t = setup();
    const h = Buffer.from(
      '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3\nh_count 2\n',
    );
    fullPush(t, 'PUT', '/metrics/job/j', h);
    expect(t.groups.pushSameShape(t.key('/metrics/job/j'), h, true)).toBeUndefined();
  });
});
