import type { Store } from '../store/store.js';
import type { FlatAttrs, RejectReason } from '../store/types.js';

/** Outcome of one ingest request, whatever its transport. */
export class IngestTally {
  accepted = 0;
  rejected = 0;
  readonly reasons = new Map<RejectReason, number>();
  /** First few distinct error messages, for partialSuccess.errorMessage / push `errors`. */
  readonly messages: string[] = [];

  reject(reason: RejectReason, message: string, count = 1): void {
    this.rejected += count;
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + count);
    if (this.messages.length < 5 && !this.messages.includes(message)) this.messages.push(message);
  }
}

/** A body that cannot be decoded at all (→ 400 with a google.rpc.Status). */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

/** Human text for a store rejection reason. */
export function reasonText(reason: RejectReason): string {
  switch (reason) {
    case 'series_limit':
      return 'series limit (limits.max_series) reached';
    case 'series_per_metric_limit':
      return 'series limit per metric (limits.max_series_per_metric) reached';
    case 'type_conflict':
      return 'metric name already used with another type';
    case 'invalid_name':
      return 'empty metric name';
    case 'unsupported':
      return 'unsupported data type';
    case 'invalid_histogram':
      return 'invalid histogram';
    case 'invalid_value':
      return 'invalid value';
    case 'attribute_count_limit':
      return 'too many attributes on a point (limits.max_attributes_per_point)';
    case 'attribute_length_limit':
      return 'attribute key or value too long (limits.max_attribute_value_length)';
  }
}

/** The reply's text for a point the store refused: the attribute check's own words when it was that. */
export function rejectionText(reason: RejectReason, store: Store, attrs: FlatAttrs): string {
  if (reason === 'attribute_count_limit' || reason === 'attribute_length_limit')
    return store.attributeProblem(attrs)?.message ?? reasonText(reason);
  return reasonText(reason);
}
