import type { IngestTally } from './types.js';

/**
 * OTLP/HTTP response bodies, in the request's encoding (the OTLP spec: the server MUST answer in
 * the Content-Type of the request).
 *
 * - ExportMetricsServiceResponse (collector/metrics/v1/metrics_service.proto):
 *   partial_success = 1 { rejected_data_points = 1 (int64), error_message = 2 (string) }.
 *   Empty when nothing was rejected. Unlike the collector, vigil fills it (SPEC §3).
 * - google.rpc.Status (google/rpc/status.proto): code = 1 (int32), message = 2 (string);
 *   details = 3 is never sent.
 */

export type OtlpFormat = 'proto' | 'json';

/** The Content-Type of a response body in `format`. */
export function contentTypeOf(format: OtlpFormat): string {
  return format === 'proto' ? 'application/x-protobuf' : 'application/json';
}

/** partial_success.error_message: the tally's first distinct messages, joined. */
export function partialSuccessMessage(tally: IngestTally): string {
  return tally.messages.join('; ');
}

export function exportResponse(format: 'proto', tally: IngestTally): Buffer;
export function exportResponse(format: 'json', tally: IngestTally): string;
export function exportResponse(format: OtlpFormat, tally: IngestTally): Buffer | string;
export function exportResponse(format: OtlpFormat, tally: IngestTally): Buffer | string {
  const rejected = tally.rejected;
  const message = partialSuccessMessage(tally);
  return format === 'proto' ? exportResponseProto(rejected, message) : exportResponseJson(rejected, message);
}

export function statusBody(format: 'proto', code: number, message: string): Buffer;
export function statusBody(format: 'json', code: number, message: string): string;
export function statusBody(format: OtlpFormat, code: number, message: string): Buffer | string;
export function statusBody(format: OtlpFormat, code: number, message: string): Buffer | string {
  return format === 'proto' ? statusProto(code, message) : JSON.stringify({ code, message });
}

/**
 * An ExportMetricsServiceResponse. A partial_success with rejected 0 and a message is a warning,
 * which the spec allows; with neither it is omitted (the two are equivalent on the wire).
 */
export function exportResponseProto(rejectedDataPoints: number, errorMessage: string): Buffer {
  if (rejectedDataPoints === 0 && errorMessage === '') return Buffer.alloc(0);
  const w = new Writer();
  w.tag(1, WIRE_LEN);
  const mark = w.beginLength();
  if (rejectedDataPoints !== 0) {
    w.tag(1, WIRE_VARINT);
    w.int64(rejectedDataPoints);
  }
  if (errorMessage !== '') w.string(2, errorMessage);
  w.endLength(mark);
  return w.finish();
}

/** The proto3 JSON form: int64 as a decimal string, default values omitted. */
export function exportResponseJson(rejectedDataPoints: number, errorMessage: string): string {
  if (rejectedDataPoints === 0 && errorMessage === '') return '{}';
  const partial: { rejectedDataPoints?: string; errorMessage?: string } = {};
  if (rejectedDataPoints !== 0) partial.rejectedDataPoints = String(rejectedDataPoints);
  if (errorMessage !== '') partial.errorMessage = errorMessage;
  return JSON.stringify({ partialSuccess: partial });
}

export function statusProto(code: number, message: string): Buffer {
  const w = new Writer();
  if (code !== 0) {
    w.tag(1, WIRE_VARINT);
    w.int64(code);
  }
  if (message !== '') w.string(2, message);
  return w.finish();
}

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

/** A minimal protobuf writer for these few small messages. */
class Writer {
  private bytes: number[] = [];

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /** An unsigned varint of a non-negative safe integer. */
  varint(n: number): void {
    while (n >= 0x80) {
      this.bytes.push((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    this.bytes.push(n);
  }

  /** int64 / int32 as varint: negatives are sign-extended to ten bytes, as protobuf requires. */
  int64(n: number): void {
    if (n >= 0) {
      this.varint(n);
      return;
    }
    let v = BigInt.asUintN(64, BigInt(Math.trunc(n)));
    while (v >= 0x80n) {
      this.bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.bytes.push(Number(v));
  }

  string(field: number, s: string): void {
    const utf8 = Buffer.from(s, 'utf8');
    this.tag(field, WIRE_LEN);
    this.varint(utf8.length);
    for (const b of utf8) this.bytes.push(b);
  }

  /** Start a length-delimited payload; its length is inserted by `endLength`. */
  beginLength(): number {
    return this.bytes.length;
  }

  endLength(mark: number): void {
    const payload = this.bytes.splice(mark);
    this.varint(payload.length);
    for (const b of payload) this.bytes.push(b);
  }

  finish(): Buffer {
    return Buffer.from(this.bytes);
  }
}
