// vigil's benchmarks: `npm run bench` (builds, then runs this with --expose-gc).
//
//   node --expose-gc bench/run.mjs [--quick] [B0|B1|B4|B1:histograms ...]
//
// --quick (`npm run bench -- --quick`): a smoke run for CI in under a minute: 2 runs instead of
// 5, shorter slices, smaller data, the slowest sections skipped; it prints, never writes RESULTS.md.
//
// Sections (bench/sections/), each against a peer on the same data, in the same run:
//   B0  in-process OTLP/protobuf decode: vigil into its store vs protobufjs;
//   B1  OTLP/protobuf ingest end to end into the real vigil over loopback HTTP, and one real
//       GET /metrics scrape of 10k histogram series;
//   B2  JSON push of histogram observations into the real vigil;
//   B3  Prometheus text push, 1 and 200 groups: the real vigil vs a real Pushgateway;
//   B4  /metrics serialisation of 10k series: vigil's writer vs the OTel SDK's PrometheusSerializer;
//   B5  memory per active counter series at 100k series: vigil vs the Pushgateway;
//   B6  detection latency of a rule on the real process (first slow point to firing on /metrics);
//   B7  reliability report generation at 1k series, 50 signals, 50 rules;
//   B8  percentile error on 1M lognormal latencies: vigil's sketches vs a 1028-sample reservoir;
//   B9  idle footprint (RSS, CPU) on the default config.yaml;
//   B10 ingest p99 latency at half of vigil's capacity with a scrape every second.
// Each section and dataset runs in its own child process, so one's JIT feedback and heap do not
// skew the next. Figures are medians of several runs; nothing is asserted. A full run prints a
// table and writes it to bench/RESULTS.md with the machine it ran on; a filtered run only prints.
import { fork } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';
import { METHOD as DATA_METHOD } from './lib/data.mjs';
import { median, QUICK, RUNS } from './lib/measure.mjs';

/** `quick: true`: also in a --quick run. */
const SECTIONS = [
  { id: 'B0:numbers', module: './sections/b0-decode.mjs' },
  { id: 'B0:histograms', module: './sections/b0-decode.mjs' },
  { id: 'B1:numbers', module: './sections/b1-ingest.mjs', quick: true },
  { id: 'B1:histograms', module: './sections/b1-ingest.mjs' },
  { id: 'B2:push', module: './sections/b2-json-push.mjs', quick: true },
  { id: 'B3:push', module: './sections/b3-prom-push.mjs', quick: true },
  { id: 'B4:histograms', module: './sections/b4-exposition.mjs' },
  { id: 'B4:counters', module: './sections/b4-exposition.mjs' },
  { id: 'B5:memory', module: './sections/b5-memory.mjs', quick: true },
  { id: 'B6:detection', module: './sections/b6-detection.mjs' },
  { id: 'B7:report', module: './sections/b7-report.mjs', quick: true },
  { id: 'B8:percentiles', module: './sections/b8-percentiles.mjs', quick: true },
  { id: 'B9:idle', module: './sections/b9-idle.mjs', quick: true },
  { id: 'B10:latency', module: './sections/b10-latency.mjs', quick: true },
];

const RESULTS_FILE = fileURLToPath(new URL('RESULTS.md', import.meta.url));

if (process.argv[2] === '--section') await runChild(process.argv[3]);
else await runAll(process.argv.slice(2));

/** In a child: run one section, hand its rows to the parent. */
async function runChild(id) {
  const section = SECTIONS.find((s) => s.id === id);
  const { run } = await import(section.module);
  const rows = await run(id.split(':')[1]);
  // Disconnecting once the rows are sent lets the child exit (an open IPC channel keeps it alive).
  process.send(rows, () => process.disconnect());
}

async function runAll(args) {
  const quick = args.includes('--quick');
  const filters = args.filter((a) => a !== '--quick');
  // Children read it (bench/lib/measure.mjs QUICK).
  if (quick) process.env.VIGIL_BENCH_QUICK = '1';
  const chosen = SECTIONS.filter(
    (s) =>
      (!quick || s.quick === true) &&
      (filters.length === 0 || filters.some((f) => s.id === f || s.id.startsWith(`${f}:`))),
  );
  if (chosen.length === 0) throw new Error(`no section matches ${filters.join(' ')}`);
  if (globalThis.gc === undefined)
    process.stderr.write('warning: run with node --expose-gc (npm run bench does) for steadier figures\n');
  const t0 = performance.now();
  const rows = [];
  for (const section of chosen) {
    process.stderr.write(`${section.id} ...`);
    const started = performance.now();
    rows.push(...(await inChild(section.id)));
    process.stderr.write(` ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const report = [
    machine(),
    '',
    ...(quick
      ? ['QUICK RUN (--quick): fewer and shorter runs, smaller data; not the reference figures.', '']
      : []),
    `Medians of ${RUNS} runs unless a note says otherwise. vigil and its peer take turns within each`,
    'run; "vigil/peer" is the median of the per-run ratios vigil / peer, and their range. Rates:',
    "higher is better; times, memory and errors: lower is better. Goal: the issue's target for the row.",
    '',
    ...table(rows),
    '',
    ...notes(rows),
    '',
    ...misses(rows),
    `Total benchmark time ${seconds.toFixed(0)} s.`,
  ];
  process.stdout.write(`\n${report.join('\n')}\n`);
  if (!quick && chosen.length === SECTIONS.length) {
    writeFileSync(RESULTS_FILE, await resultsMarkdown(report));
    process.stderr.write(`\nwritten to ${RESULTS_FILE}\n`);
  } else {
    process.stderr.write(`\n(a ${quick ? 'quick' : 'filtered'} run: bench/RESULTS.md left as it was)\n`);
  }
}

function inChild(id) {
  return new Promise((resolve, reject) => {
    let rows;
    fork(fileURLToPath(import.meta.url), ['--section', id], { env: process.env })
      .on('message', (m) => (rows = m))
      .on('error', reject)
      .on('exit', (code) =>
        code === 0 && rows !== undefined ? resolve(rows) : reject(new Error(`${id} failed (exit ${code})`)),
      );
  });
}

function machine() {
  const model =
    /^model name\s*:\s*(.+)$/m.exec(readFileSafe('/proc/cpuinfo'))?.[1] ?? `${process.arch} (model unknown)`;
  return (
    `Machine: ${availableParallelism()} CPUs (nproc), ${model}, Node ${process.version}, ` +
    `${process.platform}/${process.arch}; ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`
  );
}

function readFileSafe(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function fmt(value, unit) {
  if (unit.endsWith('/s')) return `${(value / 1e6).toFixed(2)} M ${unit}`;
  if (unit === 'bytes/series') return `${value.toFixed(0)} bytes/series`;
  if (unit === '%') return `${value.toFixed(value < 1 ? 2 : 1)}%`;
  if (unit === '% of a core') return `${value.toFixed(2)}% of a core`;
  if (unit === 'MiB') return `${value.toFixed(1)} MiB`;
  if (unit === 'ms') return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
  throw new Error(`no format for unit ${unit}`);
}

/**
 * vigil / peer of each run (both measured back to back), median and range: pairing runs cancels
 * most of the machine's drift, which a ratio of the two medians would not.
 */
function ratio(row) {
  const ratios = row.vigil.map((v, i) => v / row.peer.runs[i]);
  const f = (x) => x.toFixed(2);
  return `${f(median(ratios))}x (${f(Math.min(...ratios))}-${f(Math.max(...ratios))})`;
}

/** A Markdown table, its columns padded so that it also reads well in a terminal. */
function table(rows) {
  const header = ['Bench', 'Workload', 'vigil', 'Peer', 'Peer figure', 'vigil/peer (range)', 'Goal'];
  const measured = (r) => r.peer?.runs !== undefined;
  const body = rows.map((r) => [
    r.bench,
    r.workload,
    fmt(median(r.vigil), r.unit),
    r.peer?.name ?? '-',
    measured(r) ? fmt(median(r.peer.runs), r.unit) : (r.peer?.figure ?? '-'),
    measured(r) ? ratio(r) : '-',
    r.goal ? `${r.goal.text}: ${verdict(r.goal)}` : '-',
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((cells) => cells[c].length)));
  const line = (cells) => `| ${cells.map((cell, c) => cell.padEnd(widths[c])).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
}

function notes(rows) {
  return [
    'Notes:',
    ...rows
      .filter((r) => r.notes.length > 0)
      .map((r) => `- ${r.bench} (${r.workload}): ${r.notes.join('; ')}`),
  ];
}

/**
 * A quick run shrinks some workloads so far that their goal does not apply (B5's 10k series are
 * dominated by start-up growth); such a section sets `goal.quick` to say why, and is not judged.
 */
function verdict(goal) {
  if (QUICK && goal.quick !== undefined) return `not judged in --quick (${goal.quick})`;
  return goal.met ? 'met' : '**missed**';
}

/** Each missed goal: the top frames of a CPU profile of vigil under that load, and what would close it. */
function misses(rows) {
  const missed = rows.filter((r) => r.goal !== undefined && verdict(r.goal) === '**missed**');
  if (missed.length === 0) return ['Every goal met.', ''];
  return [
    'Missed goals (profile: self time of `node --cpu-prof` of vigil under the same load, top frames):',
    ...missed.flatMap((r) => [
      `- ${r.bench} (${r.workload}), goal ${r.goal.text}:`,
      `  - profile: ${r.profile?.join('; ') ?? 'not profiled in this run (--quick)'}`,
      `  - to close it: ${r.close ?? '-'}`,
    ]),
    '',
  ];
}

/** bench/RESULTS.md: the report, then how each figure was made (from the sections themselves). */
async function resultsMarkdown(report) {
  const modules = [...new Set(SECTIONS.map((s) => s.module))];
  const methods = [DATA_METHOD, ...(await Promise.all(modules.map(async (m) => (await import(m)).METHOD)))];
  return [
    '# vigil benchmarks',
    '',
    'Written by `npm run bench` (bench/run.mjs); do not edit by hand.',
    '',
    ...report,
    '',
    '## Method',
    '',
    ...methods.map((m) => `- ${m}`),
    '',
  ].join('\n');
}
