import type { FlatLabels } from './types.js';

/**
 * Alert identity hash: FNV-1a 64-bit over the alert's labels plus `alertname`, sorted by name,
 * each name and value followed by 0xff (as Prometheus's labels.Hash separates them; 0xff never
 * occurs in UTF-8). Rendered as 16 hex digits like Alertmanager's fingerprints — stable across
 * restarts and processes, but not numerically equal to Alertmanager's (which uses xxhash/FNV over
 * its own encoding).
 */

const FNV64_OFFSET = 0xcbf29ce484222325n;
const FNV64_PRIME = 0x100000001b3n;
const SEPARATOR = 0xff;
const encoder = new TextEncoder();

/** Stable hex fingerprint of the alert `ruleName` + `labels` (an `alertname` label is overridden). */
export function fingerprint(ruleName: string, labels: FlatLabels): string {
  const pairs: Array<[string, string]> = [['alertname', ruleName]];
  for (let i = 0; i + 1 < labels.length; i += 2) {
    if (labels[i] !== 'alertname') pairs.push([labels[i]!, labels[i + 1]!]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let h = FNV64_OFFSET;
  const add = (text: string): void => {
    for (const byte of encoder.encode(text)) h = BigInt.asUintN(64, (h ^ BigInt(byte)) * FNV64_PRIME);
    h = BigInt.asUintN(64, (h ^ BigInt(SEPARATOR)) * FNV64_PRIME);
  };
  for (const [k, v] of pairs) {
    add(k);
    add(v);
  }
  return h.toString(16).padStart(16, '0');
}
