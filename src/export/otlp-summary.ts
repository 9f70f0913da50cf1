import type { FlatAttrs, ScopeInfo } from '../store/types.js';
import type { SummaryMetric } from './resource-metrics.js';

/**
 * OTLP encodings of Summary metrics, which the official serializers cannot produce (the SDK's
 * data model has no summary). Each call yields one ResourceMetrics for one source's summaries,
 * in the same shape as the official serializers' output so the two can be joined:
 * - protobuf: a complete ExportMetricsServiceRequest; protobuf concatenation of two messages of
 *   one type merges them, appending repeated fields, so `official bytes + these bytes` is one
 *   request with both ResourceMetrics.
 * - JSON: one ResourceMetrics object (lowerCamelCase, int64 timestamps as decimal strings).
 *
 * Field numbers from opentelemetry-proto: collector/metrics/v1/metrics_service.proto,
 * metrics/v1/metrics.proto, common/v1/common.proto, resource/v1/resource.proto.
 */

export interface SummaryGroup {
  resourceAttrs: FlatAttrs;
  scopes: Array<{ scope: ScopeInfo; summaries: SummaryMetric[] }>;
}

// ---- protobuf -------------------------------------------------------------------------------

const WIRE_I64 = 1;
const WIRE_LEN = 2;

/** A minimal protobuf writer: messages are built inside-out as lists of byte chunks. */
class Chunks {
  readonly parts: Buffer[] = [];
  length = 0;

  push(b: Buffer): this {
    this.parts.push(b);
    this.length += b.length;
    return this;
  }

  tag(field: number, wire: number): this {
    return this.push(varint((field << 3) | wire));
  }

  string(field: number, s: string): this {
    if (s === '') return this;
    const b = Buffer.from(s, 'utf8');
    return this.tag(field, WIRE_LEN).push(varint(b.length)).push(b);
  }

  message(field: number, m: Chunks): this {
    this.tag(field, WIRE_LEN).push(varint(m.length));
    for (const p of m.parts) this.push(p);
    return this;
  }

  double(field: number, v: number): this {
    const b = Buffer.allocUnsafe(8);
    b.writeDoubleLE(v);
    return this.tag(field, WIRE_I64).push(b);
  }

  fixed64(field: number, v: bigint): this {
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64LE(v);
    return this.tag(field, WIRE_I64).push(b);
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts, this.length);
  }
}

function varint(n: number): Buffer {
  const bytes: number[] = [];
  let v = n;
  while (v > 0x7f) {
    bytes.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

/** Milliseconds (possibly fractional) since the epoch as nanoseconds, without float overflow. */
export function msToNanos(ms: number): bigint {
  const whole = Math.floor(ms);
  return BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6));
}

function keyValues(field: number, attrs: FlatAttrs, into: Chunks): void {
  for (let i = 0; i < attrs.length; i += 2) {
    const any = new Chunks().string(1, attrs[i + 1]!);
    into.message(field, new Chunks().string(1, attrs[i]!).message(2, any));
  }
}

export function summaryRequestProto(group: SummaryGroup): Buffer {
  const resource = new Chunks();
  keyValues(1, group.resourceAttrs, resource);
  const rm = new Chunks().message(1, resource);
  for (const { scope, summaries } of group.scopes) {
    const sm = new Chunks().message(1, new Chunks().string(1, scope.name).string(2, scope.version));
    for (const m of summaries) {
      const summary = new Chunks();
      for (const p of m.dataPoints) {
        const dp = new Chunks()
          .fixed64(2, msToNanos(p.startMs))
          .fixed64(3, msToNanos(p.timeMs))
          .fixed64(4, BigInt(Math.round(p.count)))
          .double(5, p.sum);
        for (const [q, v] of p.quantiles) dp.message(6, new Chunks().double(1, q).double(2, v));
        keyValues(7, p.attributes, dp);
        summary.message(1, dp);
      }
      sm.message(
        2,
        new Chunks().string(1, m.name).string(2, m.description).string(3, m.unit).message(11, summary),
      );
    }
    rm.message(2, sm);
  }
  return new Chunks().message(1, rm).toBuffer();
}

// ---- JSON -----------------------------------------------------------------------------------

function jsonAttributes(attrs: FlatAttrs): Array<{ key: string; value: { stringValue: string } }> {
  const out: Array<{ key: string; value: { stringValue: string } }> = [];
  for (let i = 0; i < attrs.length; i += 2)
    out.push({ key: attrs[i]!, value: { stringValue: attrs[i + 1]! } });
  return out;
}

export function summaryResourceMetricsJson(group: SummaryGroup): Record<string, unknown> {
  return {
    resource: { attributes: jsonAttributes(group.resourceAttrs), droppedAttributesCount: 0 },
    scopeMetrics: group.scopes.map(({ scope, summaries }) => ({
      scope: { name: scope.name, version: scope.version },
      metrics: summaries.map((m) => ({
        name: m.name,
        description: m.description,
        unit: m.unit,
        summary: {
          dataPoints: m.dataPoints.map((p) => ({
            attributes: jsonAttributes(p.attributes),
            startTimeUnixNano: msToNanos(p.startMs).toString(),
            timeUnixNano: msToNanos(p.timeMs).toString(),
            count: Math.round(p.count),
            sum: p.sum,
            quantileValues: p.quantiles.map(([quantile, value]) => ({ quantile, value })),
          })),
        },
      })),
    })),
  };
}
