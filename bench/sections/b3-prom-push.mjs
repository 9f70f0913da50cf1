// B3: Prometheus text push (Pushgateway protocol), the real vigil against a real Pushgateway on
// the same bodies: PUT /metrics/job/bench{/instance/<i>} with 1000 series per request, into one
// group (every request replaces it) or cycling over 200 groups. Series accepted per second.
import { Buffer } from 'node:buffer';
import { collectGarbage, median, QUICK, RUNS } from '../lib/measure.mjs';
import { loadFor, send, target } from '../lib/http-load.mjs';
import { profileVigil } from '../lib/profile.mjs';
import { pushgatewayVersion, startPushgateway } from '../lib/pushgateway.mjs';
import { startVigil } from '../lib/vigil-process.mjs';

const CONNECTIONS = 4;
const FAMILIES = 10;
const SERIES_PER_FAMILY = 100;
const SERIES = FAMILIES * SERIES_PER_FAMILY;
const WARMUP_MS = QUICK ? 200 : 1000;
const SLICES = 2;
const SLICE_MS = QUICK ? 250 : 500;
const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];
/**
 * The many-groups case. The Pushgateway slows down as groups grow (~2k series/s at 200 groups on
 * this machine), so filling 200 of them takes about a minute: --quick uses 20.
 */
const MANY_GROUPS = QUICK ? 20 : 200;

const CONFIG = `listeners:
  ingest: 127.0.0.1:0
  api: 127.0.0.1:0
  metrics: 127.0.0.1:0
log:
  level: info
limits:
  max_request_bytes: 64MiB
  max_series: 400000
  max_series_per_metric: 50000
  series_ttl: 1h
`;

export const METHOD =
  'B3: `node dist/cli.js serve` and `prometheus-pushgateway` (--persistence.file=, in memory), both on ' +
  `loopback; text bodies of ${FAMILIES} counter families × ${SERIES_PER_FAMILY} series (3 labels, ` +
  '# TYPE and # HELP lines), PUT to /metrics/job/bench (1 group) or /metrics/job/bench/instance/i<k> ' +
  `(${MANY_GROUPS} groups, cycled) on ${CONNECTIONS} keep-alive connections. Every group is pushed once ` +
  '(vigil: three times, to reach its steady state, see the push shapes in the README), ' +
  `${WARMUP_MS} ms of warm-up each, then ${RUNS} runs; in a run vigil and the Pushgateway take turns ` +
  `in ${SLICES} slices of ${SLICE_MS} ms each (rotating order). Fresh processes per group count; ` +
  `in the ${MANY_GROUPS}-group runs a second vigil with the one-group load takes its turn in the same ` +
  'slices, and "no collapse" is the per-run ratio of the two vigils.';

function body(variant) {
  const lines = [];
  for (let f = 0; f < FAMILIES; f++) {
    const name = `bench_requests_${f}_total`;
    lines.push(`# HELP ${name} Requests served.`, `# TYPE ${name} counter`);
    for (let i = 0; i < SERIES_PER_FAMILY; i++) {
      const labels = `route="/api/v1/items/${i}",method="${METHODS[i % 4]}",code="${200 + (i % 5)}"`;
      lines.push(`${name}{${labels}} ${1000 * f + i + variant}`);
    }
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}

/** Sends each of `requests` once, on the target's connections. */
async function fill(t, requests) {
  let next = 0;
  const connection = async () => {
    while (next < requests.length) {
      const r = requests[next++];
      await send(t, r.path, r.body);
    }
  };
  await Promise.all(Array.from({ length: t.connections }, connection));
}

/** The PUT requests of a load into `groups` groups, cycled. */
function pushes(groups, bodies) {
  return Array.from({ length: Math.max(groups, 2) }, (_, k) => ({
    path: groups === 1 ? '/metrics/job/bench' : `/metrics/job/bench/instance/i${k % groups}`,
    body: bodies[k % 2],
  }));
}

/**
 * One run per group count: vigil and the Pushgateway on the same load. With many groups a second
 * vigil takes the one-group load in the same slices, so "no collapse" compares the two in the
 * same run rather than two runs minutes apart (this machine drifts between them).
 */
async function variant(groups) {
  const bodies = [body(1), body(2)];
  const requests = pushes(groups, bodies);
  const vigil = await startVigil(CONFIG);
  const pgw = await startPushgateway();
  const ref = groups > 1 ? await startVigil(CONFIG) : undefined;
  const servers = [
    { name: 'vigil', url: vigil.ingest, pid: vigil.pid, requests },
    { name: 'pushgateway', url: pgw.url, pid: pgw.pid, requests },
    ...(ref ? [{ name: 'vigil, 1 group', url: ref.ingest, pid: ref.pid, requests: pushes(1, bodies) }] : []),
  ].map((s) => ({
    ...s,
    t: target(s.url, { method: 'PUT', contentType: 'text/plain; version=0.0.4', connections: CONNECTIONS }),
    state: { next: 0 },
  }));
  const vigils = servers.filter((s) => s.name !== 'pushgateway');
  try {
    // Fill every group (all servers at once: the Pushgateway slows down as its groups grow).
    await Promise.all(servers.map((s) => fill(s.t, s.requests.slice(0, groups))));
    // vigil reads only the values of a push shaped like the group's last one, from a group's
    // third push on: push every group twice more so the runs measure that steady state, not the
    // tail of the warm-up. (The Pushgateway's cost per push does not depend on earlier pushes, and
    // two more passes over 200 groups would take it minutes.)
    for (let pass = 0; pass < 2; pass++) for (const s of vigils) await fill(s.t, s.requests.slice(0, groups));
    for (const s of servers) await loadFor(s.t, s.requests, WARMUP_MS, { state: s.state });
    const runs = [];
    for (let r = 0; r < RUNS; r++) {
      collectGarbage();
      const sum = servers.map(() => ({ requests: 0, seconds: 0, cpu: 0 }));
      for (let slice = 0; slice < SLICES; slice++) {
        // Each server first in turn across runs and slices.
        const first = (slice + r) % servers.length;
        for (let i = 0; i < servers.length; i++) {
          const k = (first + i) % servers.length;
          const s = servers[k];
          const l = await loadFor(s.t, s.requests, SLICE_MS, { pid: s.pid, state: s.state });
          sum[k].requests += l.requests;
          sum[k].seconds += l.seconds;
          sum[k].cpu += l.serverCpu;
        }
      }
      runs.push(sum.map((x) => ({ rate: (x.requests * SERIES) / x.seconds, cores: x.cpu / x.seconds })));
    }
    return runs;
  } finally {
    for (const s of servers) s.t.agent.destroy();
    await vigil.stop();
    await pgw.stop();
    await ref?.stop();
  }
}

export async function run() {
  const version = pushgatewayVersion();
  const results = [];
  for (const groups of [1, MANY_GROUPS]) results.push({ groups, runs: await variant(groups) });
  const rates = (runs, k) => runs.map((x) => x[k].rate);
  const rows = results.map(({ groups, runs }) => {
    const vigil = rates(runs, 0);
    const peer = rates(runs, 1);
    const ratio = median(vigil.map((v, i) => v / peer[i]));
    // Many groups against one, per run: both vigils took turns in the same slices.
    const collapse = groups > 1 ? median(runs.map((x) => x[0].rate / x[2].rate)) : 1;
    const met = ratio >= 3 && collapse >= 0.7;
    const cores = (k) => median(runs.map((x) => x[k].cores)).toFixed(2);
    return {
      bench: 'B3',
      workload: `PUT /metrics/job/... text push, ${SERIES} series/request, ${groups} group${groups > 1 ? 's' : ''}`,
      unit: 'series/s',
      vigil,
      peer: { name: `Pushgateway ${version}`, runs: peer },
      goal: {
        text: groups > 1 ? '≥ 3x Pushgateway, ≥ 0.7x of 1 group' : '≥ 3x Pushgateway',
        met,
      },
      notes: [
        `CPU: vigil ${cores(0)} cores, the Pushgateway ${cores(1)} cores (it is multi-threaded)`,
        ...(groups > 1
          ? [
              `vigil at ${groups} groups / at 1 group, in the same runs: ${collapse.toFixed(2)} ` +
                `(the one-group vigil: ${(median(rates(runs, 2)) / 1e6).toFixed(2)} M series/s)`,
            ]
          : []),
      ],
      groups,
    };
  });
  for (const row of rows) {
    if (row.goal.met) continue;
    row.close =
      "a push shaped like the group's last one only has its values read (src/ingest/push-shape.ts), " +
      'so a group costs two full pushes and then the same per series however many groups there ' +
      'are; the profile below is of a fresh vigil and so mostly those first pushes. Where the ' +
      'many-groups row falls behind the one-group row, look at the Pushgateway too: at 200 groups ' +
      'it works through its backlog in the background and shares the two cores with vigil.';
    if (QUICK) continue;
    const requests = [{ path: `/metrics/job/bench${row.groups > 1 ? '/instance/i0' : ''}`, body: body(1) }];
    for (let k = 1; k < row.groups; k++)
      requests.push({ path: `/metrics/job/bench/instance/i${k}`, body: body(k % 2) });
    row.profile = await profileVigil(CONFIG, async (v) => {
      const t = target(v.ingest, { method: 'PUT', contentType: 'text/plain', connections: CONNECTIONS });
      try {
        await loadFor(t, requests, 3000);
      } finally {
        t.agent.destroy();
      }
    });
  }
  for (const row of rows) delete row.groups;
  return rows;
}
