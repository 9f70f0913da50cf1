import { JsonMetricsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import {
  contentTypeOf,
  exportResponse,
  exportResponseProto,
  statusBody,
} from '../../src/ingest/otlp-response.js';
import { IngestTally } from '../../src/ingest/types.js';

// collector/metrics/v1/metrics_service.proto and google/rpc/status.proto, for an independent decoder.
const root = protobuf.parse(`
syntax = "proto3";
message ExportMetricsServiceResponse { ExportMetricsPartialSuccess partial_success = 1; }
message ExportMetricsPartialSuccess { int64 rejected_data_points = 1; string error_message = 2; }
message Any { string type_url = 1; bytes value = 2; }
message Status { int32 code = 1; string message = 2; repeated Any details = 3; }
`).root;
const Response = root.lookupType('ExportMetricsServiceResponse');
const Status = root.lookupType('Status');

function decodeResponse(bytes: Uint8Array): unknown {
  return Response.toObject(Response.decode(bytes), { longs: Number });
}

function tallyWith(rejections: Array<[string, number]>, accepted = 10): IngestTally {
  const t = new IngestTally();
  t.accepted = accepted;
  for (const [message, n] of rejections) t.reject('invalid_value', message, n);
  return t;
}

describe('exportResponse', () => {
  it('is an empty message when nothing was rejected', () => {
    const t = tallyWith([]);
    expect(exportResponse('proto', t)).toHaveLength(0);
    expect(exportResponse('json', t)).toBe('{}');
    expect(ProtobufMetricsSerializer.deserializeResponse(exportResponse('proto', t))).toEqual({});
  });

  it('reports rejected points and their messages in partial_success (JSON)', () => {
    const t = tallyWith([
      ['a: non-finite value NaN', 2],
      ['b: invalid histogram', 1],
    ]);
    const json = exportResponse('json', t);
    expect(json).toBe(
      '{"partialSuccess":{"rejectedDataPoints":"3","errorMessage":"a: non-finite value NaN; b: invalid histogram"}}',
    );
    expect(JsonMetricsSerializer.deserializeResponse(Buffer.from(json))).toEqual({
      partialSuccess: {
        rejectedDataPoints: '3',
        errorMessage: 'a: non-finite value NaN; b: invalid histogram',
      },
    });
  });

  it('reports rejected points and their messages in partial_success (protobuf)', () => {
    const t = tallyWith([['série « x »: bad', 3]]);
    const bytes = exportResponse('proto', t);
    expect(decodeResponse(bytes)).toEqual({
      partialSuccess: { rejectedDataPoints: 3, errorMessage: 'série « x »: bad' },
    });
    expect(ProtobufMetricsSerializer.deserializeResponse(bytes)).toMatchObject({
      partialSuccess: { errorMessage: 'série « x »: bad' },
    });
  });

  it('encodes counts beyond 32 bits exactly', () => {
    const n = 2 ** 40 + 5;
    expect(decodeResponse(exportResponseProto(n, ''))).toEqual({ partialSuccess: { rejectedDataPoints: n } });
  });

  it('sends a warning (no rejected count) when only messages were recorded', () => {
    const t = tallyWith([['resourceMetrics[0] is odd', 0]]);
    expect(exportResponse('json', t)).toBe('{"partialSuccess":{"errorMessage":"resourceMetrics[0] is odd"}}');
    expect(decodeResponse(exportResponse('proto', t))).toEqual({
      partialSuccess: { errorMessage: 'resourceMetrics[0] is odd' },
    });
  });
});

describe('statusBody', () => {
  it('encodes google.rpc.Status as JSON', () => {
    expect(statusBody('json', 3, 'malformed OTLP protobuf: "x"')).toBe(
      '{"code":3,"message":"malformed OTLP protobuf: \\"x\\""}',
    );
  });

  it('encodes google.rpc.Status as protobuf', () => {
    expect(Status.toObject(Status.decode(statusBody('proto', 3, 'bad body')))).toEqual({
      code: 3,
      message: 'bad body',
    });
    expect(Status.toObject(Status.decode(statusBody('proto', 8, '')))).toEqual({ code: 8 });
    // int32 negatives are sign-extended varints; decoders must read them back.
    expect(Status.toObject(Status.decode(statusBody('proto', -1, 'neg')))).toEqual({
      code: -1,
      message: 'neg',
    });
  });

  it('names the content type of each encoding', () => {
    expect(contentTypeOf('proto')).toBe('application/x-protobuf');
    expect(contentTypeOf('json')).toBe('application/json');
  });
});
