/**
 * Map keys for lists of texts: attribute and label lists (`pairsKey`) and fixed tuples such as a
 * resource's identity or a stream's (`tupleKey`). A key must tell any two different lists apart,
 * or two series (resources, alert groups, push groups) become one and each overwrites the other.
 *
 * The usual key joins the texts with control characters, cheap to build, hash and scan: a pair
 * list as `name U+0001 value U+0002` per pair, a tuple with U+0004 between its parts. That is
 * only unambiguous while no text holds a separator, and attribute and label text may hold any
 * character (OTLP strings, JSON, the Prometheus formats, a base64 path segment). So a list with a
 * text holding a character below U+0005 gets U+0003 followed by the list's JSON instead: JSON
 * escapes every control character, so that key holds none raw, and cannot equal a joined key
 * (which holds its separators raw); JSON itself is one-to-one. Keys of both kinds hold no raw
 * U+0004 but as a tuple's separator, so keys can be parts of a tuple key in turn.
 */

/** First character of an escaped key; no joined key starts with it. */
const ESCAPED = '\u0003';

/**
 * The key of a flat `[name, value, name, value, ...]` list (even length), in its order (callers
 * sort first where order must not matter). `''` for an empty list.
 */
export function pairsKey(flat: readonly string[]): string {
  const n = flat.length;
  if (n === 0) return '';
  // One `join`: concatenating with `+=` leaves a rope of cons strings that a series keeps
  // (measured ~170 bytes against ~65 for the flat string of a 3-attribute key), and a flat
  // string also hashes without being flattened first.
  const parts: string[] = [];
  for (let i = 0; i < n; i += 2) parts.push(flat[i]!, '\u0001', flat[i + 1]!, '\u0002');
  const key = parts.join('');
  return separatorsOnly(key, n >> 1) ? key : ESCAPED + JSON.stringify(flat);
}

/**
 * A flat `[name, value, ...]` list sorted by name (stable; the later value wins for a repeated
 * name, as the OTel SDK does) with its {@link pairsKey}: the canonical identity of an attribute
 * or label set, wherever one is needed.
 */
export function canonicalPairs(flat: readonly string[]): { key: string; sorted: string[] } {
  const n = flat.length >> 1;
  if (n === 0) return { key: '', sorted: [] };
  if (n === 1) {
    const one = [flat[0]!, flat[1]!];
    return { key: pairsKey(one), sorted: one };
  }
  const idx: number[] = [];
  for (let i = 0; i < n; i++) idx.push(i);
  idx.sort((a, b) => {
    const ka = flat[2 * a]!;
    const kb = flat[2 * b]!;
    return ka < kb ? -1 : ka > kb ? 1 : a - b;
  });
  const sorted: string[] = [];
  for (let j = 0; j < n; j++) {
    const i = idx[j]!;
    const k = flat[2 * i]!;
    if (sorted.length > 0 && sorted[sorted.length - 2] === k) sorted[sorted.length - 1] = flat[2 * i + 1]!;
    else sorted.push(k, flat[2 * i + 1]!);
  }
  return { key: pairsKey(sorted), sorted };
}

/**
 * The key of a tuple of two or more texts (or keys), always of the same arity for one map: its
 * parts joined by U+0004.
 */
export function tupleKey(parts: readonly string[]): string {
  return noTupleSeparator(parts) ? parts.join('\u0004') : ESCAPED + JSON.stringify(parts);
}

/** Whether `key` is a joined pair key, whose pairs {@link pairsOfKey} gives back. */
export function isJoinedKey(key: string): boolean {
  return key.charCodeAt(0) !== 3;
}

/** The flat pair list a joined key was built from (see {@link isJoinedKey}). */
export function pairsOfKey(key: string): string[] {
  const out: string[] = [];
  let start = 0;
  while (start < key.length) {
    const eq = key.indexOf('\u0001', start);
    const end = key.indexOf('\u0002', eq + 1);
    out.push(key.slice(start, eq), key.slice(eq + 1, end));
    start = end + 1;
  }
  return out;
}

/** Whether the only characters below U+0005 in `key` are the `pairs` × (U+0001, U+0002) it was joined with. */
function separatorsOnly(key: string, pairs: number): boolean {
  let low = 0;
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) < 5) low++;
  return low === 2 * pairs;
}

function noTupleSeparator(parts: readonly string[]): boolean {
  for (const p of parts) if (p.includes('\u0004')) return false;
  return true;
}
