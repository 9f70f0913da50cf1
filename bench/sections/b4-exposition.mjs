// B4: Prometheus text exposition of 10k series, in-process: vigil's writeExposition against the
// OTel SDK's PrometheusSerializer on the same points. vigil's store is filled by decoding the
// OTLP/protobuf form of the ResourceMetrics the SDK serialiser is given.
//
// Besides the time of a full serialisation, the longest event-loop block during it: the SDK
// serialises synchronously in one go, vigil's writer yields every ~4 ms so a scrape does not stall
// ingest. Both are timed to UTF-8 bytes ready for a socket.
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { writeExposition } from '../../dist/export/prometheus-text.js';
import { KINDS, loadStore, makeDataset } from '../lib/data.mjs';
import { collectGarbage, median, RUNS, watchEventLoop } from '../lib/measure.mjs';

/** Untimed serialisations of each before the runs, for the JIT. */
const WARMUPS = 2;

export const METHOD =
  `B4: in one process, ${RUNS} runs of each serialiser after ${WARMUPS} untimed, alternating, each ` +
  'after a forced GC: vigil writeExposition(store, sink, { openMetrics: false }), its sink encoding ' +
  'each chunk to UTF-8; the SDK new PrometheusSerializer().serialize(resourceMetrics), its string ' +
  'then encoded to UTF-8. Event-loop block: the longest gap between ticks of a 1 ms setInterval ' +
  'during one serialisation, GC pauses included.';

export async function run(kind) {
  const { resourceMetrics, whole } = await makeDataset(kind);
  const store = loadStore([whole]);
  const serializer = new PrometheusSerializer();

  // vigil caches label strings on its streams and series: its first scrape is the cold one.
  const cold = await vigilOnce(store);
  for (let i = 0; i < WARMUPS; i++) {
    await vigilOnce(store);
    await sdkOnce(serializer, resourceMetrics);
  }
  const v = [];
  const s = [];
  for (let r = 0; r < RUNS; r++) {
    v.push(await vigilOnce(store));
    s.push(await sdkOnce(serializer, resourceMetrics));
  }
  const size = (runs) => `${(runs[0].bytes / 1024 / 1024).toFixed(1)} MiB, ${runs[0].samples} samples`;
  return [
    {
      bench: 'B4',
      workload: `/metrics text, 10k ${KINDS[kind]}: full serialisation`,
      unit: 'ms',
      vigil: v.map((x) => x.ms),
      peer: { name: 'SDK PrometheusSerializer', runs: s.map((x) => x.ms) },
      ...goal(kind, '≥ 10x faster (ratio ≤ 0.10)', median(v.map((x, i) => x.ms / s[i].ms)) <= 0.1),
      notes: [
        `output: vigil ${size(v)}; SDK ${size(s)}`,
        `SDK serialize() alone, before encoding its string: ${median(s.map((x) => x.serializeMs)).toFixed(1)} ms`,
        `vigil's first serialisation (label caches empty) ${cold.ms.toFixed(1)} ms`,
      ],
    },
    {
      bench: 'B4',
      workload: `/metrics text, 10k ${KINDS[kind]}: longest event-loop block`,
      unit: 'ms',
      vigil: v.map((x) => x.blockMs),
      peer: { name: 'SDK PrometheusSerializer', runs: s.map((x) => x.blockMs) },
      ...goal(kind, '≤ 20 ms', median(v.map((x) => x.blockMs)) <= 20),
      notes: [],
    },
  ];
}

/** The goals are for the 10k histograms; the counters rows are for reference. */
function goal(kind, text, met) {
  if (kind !== 'histograms') return {};
  return {
    goal: { text, met },
    ...(met
      ? {}
      : {
          profile: ['in-process; profile with node --cpu-prof bench/run.mjs --section B4:histograms'],
          close: 'smaller write slices between yields, fewer string concatenations per sample',
        }),
  };
}

/**
 * One exposition by vigil. The sink encodes each chunk to UTF-8, as a socket write would: V8
 * builds concatenated strings lazily, and a sink that kept the strings would leave part of the
 * work (flattening them) off the clock.
 */
async function vigilOnce(store) {
  const buffers = [];
  collectGarbage();
  const watch = watchEventLoop();
  const t0 = performance.now();
  await writeExposition(
    store,
    { write: (chunk) => void buffers.push(Buffer.from(chunk)) },
    { openMetrics: false },
  );
  const ms = performance.now() - t0;
  return { ms, blockMs: await watch.stop(), ...output(Buffer.concat(buffers)) };
}

/** One exposition by the SDK, to UTF-8 bytes as its exporter sends them; serialize() alone too. */
async function sdkOnce(serializer, resourceMetrics) {
  collectGarbage();
  const watch = watchEventLoop();
  const t0 = performance.now();
  const text = serializer.serialize(resourceMetrics);
  const serializeMs = performance.now() - t0;
  const bytes = Buffer.from(text);
  const ms = performance.now() - t0;
  return { ms, serializeMs, blockMs: await watch.stop(), ...output(bytes) };
}

/** Size and sample count (lines that are not comments) of an exposition. */
function output(bytes) {
  let samples = 0;
  for (const line of bytes.toString('utf8').split('\n')) if (line !== '' && !line.startsWith('#')) samples++;
  return { bytes: bytes.length, samples };
}
