/**
 * DDSketch merging for windows of slots, around two defects of `@datadog/sketches-js` 2.1.1
 * (both reproduced in test/unit/signals-observation-window.test.ts):
 * - `merge()` never merges the negative-value store (counts say 3, quantiles see 2);
 * - `DenseStore.merge()` widens its range with `_extendRange(minKey, maxKey)`, which reads
 *   `secondKey || key`: a source whose highest key is 0 — values in (1/γ, 1], e.g. exactly 1 ms —
 *   loses that key, leaving NaN bins and wrong quantiles.
 * {@link mergeSketchInto} therefore adds bins one key at a time through the store's own `add()`
 * (the path `accept()` takes), after widening the target once per end.
 *
 * Also here: the compact, frozen form of a finished slot's sketch. A live sketch keeps 8-byte
 * elements padded to 128-key chunks plus its own mapping objects (~4 KiB for a slot of lognormal
 * latencies); the compact form keeps only the used keys in the narrowest typed array (~0.4 KiB).
 */
import type { DDSketch } from '@datadog/sketches-js';

/** Every DDSketch variant of the library has this shape (collapsing ones included). */
type Sketch = DDSketch;
type SketchStore = Sketch['store'];
type CompactCounts = Uint8Array | Uint16Array | Uint32Array | Float64Array;

/** A frozen sketch of non-negative values; see the module comment. */
export interface CompactSketch {
  /** The mapping's γ, to refuse merging into a sketch of another accuracy. */
  readonly gamma: number;
  readonly minKey: number;
  /** Counts of keys minKey, minKey + 1, …, in the narrowest array that holds them exactly. */
  readonly counts: CompactCounts;
  readonly zeroCount: number;
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
}

/**
 * Adds `source` into `target`. Cost: O(keys spanned by source).
 * @throws Error when the sketches have different relative accuracies.
 */
export function mergeSketchInto(target: Sketch, source: Sketch): void {
  checkGamma(target, source.mapping.gamma);
  if (source.count === 0) return;
  addStore(target.store, source.store);
  addStore(target.negativeStore, source.negativeStore);
  addSummary(target, source);
}

/**
 * The compact form of `sketch`.
 * @throws Error when the sketch holds negative values (the compact form has no negative store).
 */
export function compactSketch(sketch: Sketch): CompactSketch {
  if (sketch.negativeStore.count > 0) throw new Error('compactSketch: negative values are not supported');
  const { store } = sketch;
  const length = store.count > 0 ? store.maxKey - store.minKey + 1 : 0;
  const from = store.minKey - store.offset;
  return {
    gamma: sketch.mapping.gamma,
    minKey: store.minKey,
    counts: narrowestArray(store.bins.slice(from, from + length)),
    zeroCount: sketch.zeroCount,
    count: sketch.count,
    sum: sketch.sum,
    min: sketch.min,
    max: sketch.max,
  };
}

/**
 * Adds a compact sketch into `target`, as {@link mergeSketchInto} does.
 * @throws Error when the relative accuracies differ.
 */
export function addCompactSketch(target: Sketch, c: CompactSketch): void {
  checkGamma(target, c.gamma);
  const { counts, minKey } = c;
  if (counts.length > 0) {
    target.store.add(minKey, 0);
    target.store.add(minKey + counts.length - 1, 0);
    for (let i = 0; i < counts.length; i++) {
      const n = counts[i]!;
      if (n > 0) target.store.add(minKey + i, n);
    }
  }
  addSummary(target, c);
}

function checkGamma(target: Sketch, gamma: number): void {
  if (target.mapping.gamma !== gamma)
    throw new Error('cannot merge sketches with different relative accuracy');
}

function addSummary(
  target: Sketch,
  s: { zeroCount: number; count: number; sum: number; min: number; max: number },
): void {
  target.zeroCount += s.zeroCount;
  target.count += s.count;
  target.sum += s.sum;
  if (s.min < target.min) target.min = s.min;
  if (s.max > target.max) target.max = s.max;
}

function addStore(target: SketchStore, source: SketchStore): void {
  if (source.count === 0) return;
  // Widen the target once per end (weight 0 adds nothing), so the per-key adds below never
  // re-centre its bins — ascending adds into a narrow store would re-centre at every new key.
  target.add(source.minKey, 0);
  target.add(source.maxKey, 0);
  const { bins, offset } = source;
  for (let key = source.minKey; key <= source.maxKey; key++) {
    const n = bins[key - offset] ?? 0;
    if (n > 0) target.add(key, n);
  }
}

/** The smallest typed array that holds `counts` exactly (a slot of 100 latencies fits bytes). */
function narrowestArray(counts: number[]): CompactCounts {
  let max = 0;
  let whole = true;
  for (const n of counts) {
    if (n > max) max = n;
    if (!Number.isInteger(n)) whole = false;
  }
  if (!whole || max > 0xffff_ffff) return Float64Array.from(counts);
  if (max <= 0xff) return Uint8Array.from(counts);
  if (max <= 0xffff) return Uint16Array.from(counts);
  return Uint32Array.from(counts);
}
