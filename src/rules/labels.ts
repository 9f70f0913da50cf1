import { canonicalPairs } from '../store/canonical-key.js';
import type { FlatLabels } from './types.js';

/** Canonical label identity: the store's {@link canonicalPairs}, so labels and attributes sort alike. */

const EMPTY: FlatLabels = Object.freeze([]) as FlatLabels;

/** Sort a flat label list by key (last value wins for a repeated key) and return it with its key. */
export function canonicalLabels(labels: FlatLabels): { key: string; labels: FlatLabels } {
  if (labels.length < 2) return { key: '', labels: EMPTY };
  const { key, sorted } = canonicalPairs(labels);
  return { key, labels: sorted };
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
