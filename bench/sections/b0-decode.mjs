// B0: in-process decoding of 1000-point OTLP requests, vigil against protobufjs on the same bytes.
//
// vigil decodes straight into a store that already knows every series (the steady state of a
// sidecar); protobufjs only builds message objects, which is less work than vigil does, so this
// is the decoder's cost against a generic decoder's floor. Alongside: vigil's structural
// validation pass alone (its share of the decode) and its OTLP/JSON path on the same points.
import { decodeOtlpJson } from '../../dist/ingest/otlp-json-decode.js';
import { decodeOtlpProto, validateOtlpProto } from '../../dist/ingest/otlp-proto-decode.js';
import { IngestTally } from '../../dist/ingest/types.js';
import {
  countDecodedPoints,
  KINDS,
  loadStore,
  makeDataset,
  otlpRequestType,
  POINTS_PER_REQUEST,
} from '../lib/data.mjs';
import { compareRates, median, QUICK, RUNS, SLICE_MS } from '../lib/measure.mjs';

const RUN_MS = QUICK ? 160 : 300;
const WARMUP_MS = QUICK ? 160 : 300;

export const METHOD =
  `B0: in one process, calls per second of each decoder over the ${POINTS_PER_REQUEST}-point ` +
  `requests, ${RUNS} runs after ${WARMUP_MS} ms of warm-up; in a run the decoders take turns in ` +
  `${SLICE_MS} ms slices until each has had ${RUN_MS} ms. vigil: decodeOtlpProto into a store that ` +
  'knows every series (validate, decode, apply); protobufjs: Type.decode to message objects, ' +
  'nothing stored.';

export async function run(kind) {
  const { requests, jsonRequests } = await makeDataset(kind);
  const store = loadStore(requests);
  // The JSON path gets a store of its own: its raw series keys differ from the protobuf ones and
  // would share (and churn) the same alias maps.
  const jsonStore = loadStore(requests);
  const Request = otlpRequestType();
  const decodedPoints = countDecodedPoints(Request.decode(requests[0]));
  if (decodedPoints !== POINTS_PER_REQUEST) throw new Error(`protobufjs decoded ${decodedPoints} points`);
  const jsonTally = new IngestTally();
  decodeOtlpJson(JSON.parse(jsonRequests[0]), jsonStore, Date.now(), jsonTally);
  if (jsonTally.accepted !== POINTS_PER_REQUEST) throw new Error(`JSON path accepted ${jsonTally.accepted}`);

  const pick = (list, i) => list[i % list.length];
  const [vigil, pbjs, validate, json] = compareRates(
    [
      { fn: (i) => decodeOtlpProto(pick(requests, i), store, Date.now(), new IngestTally()) },
      { fn: (i) => Request.decode(pick(requests, i)) },
      { fn: (i) => validateOtlpProto(pick(requests, i)) },
      {
        fn: (i) =>
          decodeOtlpJson(JSON.parse(pick(jsonRequests, i)), jsonStore, Date.now(), new IngestTally()),
      },
    ],
    { runMs: RUN_MS, warmupMs: WARMUP_MS },
  ).map((runs) => runs.map((callsPerSec) => callsPerSec * POINTS_PER_REQUEST));

  const avgBytes = (list) => Math.round(list.reduce((n, b) => n + b.length, 0) / list.length);
  return [
    {
      bench: 'B0',
      workload: `decode 1000-point requests into the store, ${KINDS[kind]}`,
      unit: 'points/s',
      vigil,
      peer: { name: 'protobufjs decode', runs: pbjs },
      notes: [
        `request ${(avgBytes(requests) / 1024).toFixed(0)} KiB protobuf`,
        `vigil's validation pass alone ${fmtRate(median(validate))} ` +
          `(${((median(vigil) / median(validate)) * 100).toFixed(0)}% of its decode time)`,
        `the same points as OTLP/JSON (${(avgBytes(jsonRequests) / 1024).toFixed(0)} KiB), ` +
          `JSON.parse + decodeOtlpJson: ${fmtRate(median(json))}`,
      ],
    },
  ];
}

const fmtRate = (pointsPerSec) => `${(pointsPerSec / 1e6).toFixed(2)} M points/s`;
