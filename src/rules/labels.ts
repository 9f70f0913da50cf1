import { pairsKey } from '../store/canonical-key.js';
import type { FlatLabels } from './types.js';

/** Canonical label identity: the sorted labels' {@link pairsKey}, as the store's series keys. */

const EMPTY: FlatLabels = Object.freeze([]) as FlatLabels;

/** Sort a flat label list by key (last value wins for a repeated key) and return it with its key. */
export function canonicalLabels(labels: FlatLabels): { key: string; labels: FlatLabels } {
  const n = labels.length >> 1;
  if (n === 0) return { key: '', labels: EMPTY };
  if (n === 1) {
    const one = [labels[0]!, labels[1]!];
    return { key: pairsKey(one), labels: one };
  }
  const pairs: Array<[string, string, number]> = [];
  for (let i = 0; i < n; i++) pairs.push([labels[2 * i]!, labels[2 * i + 1]!, i]);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[2] - b[2]));
  const sorted: string[] = [];
  for (const [k, v] of pairs) {
    if (sorted.length > 0 && sorted[sorted.length - 2] === k) sorted[sorted.length - 1] = v;
    else sorted.push(k, v);
  }
  return { key: pairsKey(sorted), labels: sorted };
}

/**
 * Flat labels as an object, for JSON output. A plain object (label sets of one shape share a
 * hidden class and serialise fast; `Object.create(null)` objects are dictionaries, and building
 * them was a quarter of the report's cost); a `__proto__` label is defined as an own property, so
 * it stays plain data instead of setting the prototype.
 */
export function labelsObject(labels: FlatLabels): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < labels.length; i += 2) {
    const key = labels[i]!;
    if (key === '__proto__')
      Object.defineProperty(out, key, {
        value: labels[i + 1]!,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    else out[key] = labels[i + 1]!;
  }
  return out;
}
