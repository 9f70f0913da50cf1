import { JsonMetricsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { OtlpProtocol } from '../config/exporters-schema.js';
import { summaryRequestProto, summaryResourceMetricsJson, type SummaryGroup } from './otlp-summary.js';
import { attributesOf, type ExportBatch } from './resource-metrics.js';

/**
 * One batch as the body of an ExportMetricsServiceRequest, with the official serializers of
 * `@opentelemetry/otlp-transformer`. They take one ResourceMetrics per call; a batch holds several
 * sources, so the per-source outputs are joined: protobuf by concatenation (merging two messages
 * of a type appends their repeated fields), JSON by joining the `resourceMetrics` arrays.
 */

export const CONTENT_TYPE: Readonly<Record<OtlpProtocol, string>> = {
  'http/protobuf': 'application/x-protobuf',
  'http/json': 'application/json',
};

const JSON_PREFIX = '{"resourceMetrics":[';
const JSON_SUFFIX = ']}';

export function serializeBatch(batch: ExportBatch, protocol: OtlpProtocol): Buffer {
  const proto = protocol === 'http/protobuf';
  const protoParts: Uint8Array[] = [];
  const jsonParts: string[] = [];
  for (const rb of batch.resources) {
    const rm: ResourceMetrics = {
      resource: resourceFromAttributes(attributesOf(rb.resource.attrs)),
      scopeMetrics: rb.scopes
        .filter((s) => s.metrics.length > 0)
        .map((s) => ({ scope: { name: s.scope.name, version: s.scope.version }, metrics: s.metrics })),
    };
    const summaries: SummaryGroup = {
      resourceAttrs: rb.resource.attrs,
      scopes: rb.scopes.filter((s) => s.summaries.length > 0),
    };
    if (rm.scopeMetrics.length > 0) {
      if (proto) {
        const bytes = ProtobufMetricsSerializer.serializeRequest(rm);
        if (bytes !== undefined) protoParts.push(bytes);
      } else {
        const bytes = JsonMetricsSerializer.serializeRequest(rm);
        const inner = bytes === undefined ? '' : unwrapJson(Buffer.from(bytes).toString('utf8'));
        if (inner !== '') jsonParts.push(inner);
      }
    }
    if (summaries.scopes.length > 0) {
      if (proto) protoParts.push(summaryRequestProto(summaries));
      else jsonParts.push(JSON.stringify(summaryResourceMetricsJson(summaries)));
    }
  }
  if (proto) return Buffer.concat(protoParts);
  return Buffer.from(`${JSON_PREFIX}${jsonParts.join(',')}${JSON_SUFFIX}`, 'utf8');
}

/** The ResourceMetrics list inside `{"resourceMetrics":[...]}` as the serializer writes it. */
function unwrapJson(text: string): string {
  if (text.startsWith(JSON_PREFIX) && text.endsWith(JSON_SUFFIX))
    return text.slice(JSON_PREFIX.length, text.length - JSON_SUFFIX.length);
  // Another layout (a future serializer version): fall back to parsing.
  const parsed = JSON.parse(text) as { resourceMetrics?: unknown[] };
  return (parsed.resourceMetrics ?? []).map((rm) => JSON.stringify(rm)).join(',');
}
