import fc from 'fast-check';
import { MAGIC_KEYS } from './fuzz.js';

/**
 * Mutations of parsed JSON bodies for the fuzz tests: a real or generated request with one of
 * its values replaced by something hostile, a key dropped or renamed, an array element
 * duplicated. Objects in the result come from `JSON.parse`, so `__proto__` keys are own
 * properties exactly as a server sees them.
 */

/** Nesting deeper than any decoder should recurse into. */
export function deepArray(depth: number): unknown {
  return JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as unknown;
}

function deepObject(depth: number): unknown {
  return JSON.parse('{"a":'.repeat(depth) + '1' + '}'.repeat(depth)) as unknown;
}

/** Values that have broken JSON decoders elsewhere: special numbers, huge integers, prototype keys, depth. */
export const nastyJsonValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  {
    weight: 4,
    arbitrary: fc.constantFrom<unknown>(
      'NaN',
      'Infinity',
      '-Infinity',
      'nan',
      '1e400',
      '-1e400',
      '9'.repeat(400),
      '18446744073709551616',
      '18446744073709551615',
      '-9223372036854775809',
      '9223372036854775808',
      '0x10',
      ' 1',
      '1 ',
      '+1',
      '-0',
      '',
      -0,
      1e308,
      -1e308,
      Number.MAX_SAFE_INTEGER + 2,
      1e21,
      -1,
      0.5,
      2 ** 64,
      true,
      null,
      [],
      {},
      'AGGREGATION_TEMPORALITY_DELTA',
      'AGGREGATION_TEMPORALITY_BOGUS',
    ),
  },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(...MAGIC_KEYS)
      .map((k) => JSON.parse(`{${JSON.stringify(k)}: {"polluted": "yes"}, "x": 1}`) as unknown),
  },
  { weight: 1, arbitrary: fc.constant(JSON.parse('{"__proto__": {"polluted": "yes"}}') as unknown) },
  {
    weight: 1,
    arbitrary: fc.constant(JSON.parse('{"constructor": {"prototype": {"polluted": "yes"}}}') as unknown),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 1500 }).map(deepArray) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 1500 }).map(deepObject) },
  { weight: 1, arbitrary: fc.string({ minLength: 1000, maxLength: 5000 }) },
);

type Path = Array<string | number>;

/** Every path in `v` (the root is []), depth-first. */
export function jsonPaths(v: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((x, i) => jsonPaths(x, [...prefix, i], out));
  else if (typeof v === 'object' && v !== null)
    for (const k of Object.keys(v)) jsonPaths((v as Record<string, unknown>)[k], [...prefix, k], out);
  return out;
}

export type JsonMutation =
  | { kind: 'replace'; path: number; value: unknown }
  | { kind: 'delete'; path: number }
  | { kind: 'duplicate'; path: number }
  | { kind: 'rename'; path: number; key: string }
  | { kind: 'wrap'; path: number };

export const jsonMutation: fc.Arbitrary<JsonMutation> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('replace' as const), path: fc.nat(), value: nastyJsonValue }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), path: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), path: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('rename' as const),
      path: fc.nat(),
      key: fc.oneof(fc.constantFrom(...MAGIC_KEYS), fc.string({ maxLength: 6 })),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('wrap' as const), path: fc.nat() }) },
);

const snakeCase = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** `body` (not modified) with one mutation applied; paths are picked by index among all of them. */
export function applyJsonMutation(body: unknown, m: JsonMutation): unknown {
  // A copy through JSON text, so `__proto__` keys stay own properties.
  const root = { v: body === undefined ? undefined : (JSON.parse(JSON.stringify(body)) as unknown) };
  const paths = jsonPaths(root.v);
  const path = paths[m.path % paths.length]!;
  let parent: Record<string | number, unknown> = root as unknown as Record<string, unknown>;
  let key: string | number = 'v';
  for (const p of path) {
    parent = parent[key] as Record<string | number, unknown>;
    key = p;
  }
  const define = (obj: Record<string | number, unknown>, k: string | number, value: unknown) =>
    Object.defineProperty(obj, k, { value, enumerable: true, writable: true, configurable: true });
  switch (m.kind) {
    case 'replace':
      define(parent, key, m.value);
      break;
    case 'delete':
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
      break;
    case 'duplicate':
      if (Array.isArray(parent)) parent.splice(key as number, 0, JSON.parse(JSON.stringify(parent[key])));
      else define(parent, snakeCase(String(key)), parent[key]);
      break;
    case 'rename':
      if (!Array.isArray(parent) && parent !== (root as unknown)) {
        const value = parent[key];
        delete parent[key];
        define(parent, m.key === '' ? snakeCase(String(key)) : m.key, value);
      }
      break;
    case 'wrap':
      define(parent, key, [parent[key]]);
      break;
  }
  return root.v;
}
