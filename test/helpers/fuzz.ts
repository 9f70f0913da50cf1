import fc from 'fast-check';
import { expect } from 'vitest';

/**
 * Settings shared by the fuzz and property tests (test/fuzz/, test/integration/fuzz-http.test.ts).
 *
 * In `npm test` every property runs a fixed number of cases from a fixed seed, so a failure is
 * reproducible and the suites stay within their time budget. For a longer hunt:
 *
 *   VIGIL_FUZZ_SCALE=50 npm run fuzz        # 50x the cases of every property
 *   VIGIL_FUZZ_SEED=random npm run fuzz     # a fresh seed, printed, for every property
 *   VIGIL_FUZZ_SEED=1234 npm run fuzz       # replay one seed
 *
 * A failing property prints fast-check's counterexample, seed and path; pass them back as
 * VIGIL_FUZZ_SEED (and the path via fast-check's `path` if needed) to replay it.
 */

function envScale(): number {
  const raw = process.env['VIGIL_FUZZ_SCALE'];
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`VIGIL_FUZZ_SCALE must be a positive number, got ${raw}`);
  return n;
}

/** Multiplier of every property's number of cases (env VIGIL_FUZZ_SCALE, default 1). */
export const FUZZ_SCALE = envScale();

const seedSetting = process.env['VIGIL_FUZZ_SEED'] ?? '';

/** Whether to print one line per property (cases, seed, time): on for any non-default run. */
export const FUZZ_VERBOSE = FUZZ_SCALE !== 1 || seedSetting !== '' || process.env['VIGIL_FUZZ_LOG'] === '1';

/** The seed a property runs with: its own fixed default, or VIGIL_FUZZ_SEED (`random`: a new one). */
export function fuzzSeed(defaultSeed: number): number {
  if (seedSetting === '') return defaultSeed;
  if (seedSetting === 'random') return (Math.random() * 0x7fffffff) | 0;
  const n = Number(seedSetting);
  if (!Number.isInteger(n))
    throw new Error(`VIGIL_FUZZ_SEED must be an integer or "random", got ${seedSetting}`);
  return n;
}

/** A test timeout that grows with the scale (vitest's default here is 60 s). */
export function fuzzTimeout(baseMs: number): number {
  return Math.ceil(baseMs * Math.max(1, FUZZ_SCALE));
}

/** The number of cases a property runs: `baseRuns` in CI, times VIGIL_FUZZ_SCALE. */
export function fuzzRuns(baseRuns: number): number {
  return Math.max(1, Math.round(baseRuns * FUZZ_SCALE));
}

/**
 * `fc.assert` with the shared settings. `name` labels the summary line printed in long runs
 * (`fuzz <name>: <cases> cases, seed <seed>, <ms> ms`), which is what the README's figures come from.
 */
export function fuzzAssert<Ts extends [unknown, ...unknown[]]>(
  name: string,
  property: fc.IProperty<Ts>,
  opts: { runs: number; seed: number },
): void {
  const seed = fuzzSeed(opts.seed);
  const numRuns = fuzzRuns(opts.runs);
  const started = performance.now();
  try {
    fc.assert(property, { seed, numRuns });
  } finally {
    if (FUZZ_VERBOSE)
      console.log(
        `fuzz ${name}: ${numRuns} cases, seed ${seed}, ${Math.round(performance.now() - started)} ms`,
      );
  }
}

/** The async twin of {@link fuzzAssert}. */
export async function fuzzAssertAsync<Ts extends [unknown, ...unknown[]]>(
  name: string,
  property: fc.IAsyncProperty<Ts>,
  opts: { runs: number; seed: number },
): Promise<void> {
  const seed = fuzzSeed(opts.seed);
  const numRuns = fuzzRuns(opts.runs);
  const started = performance.now();
  try {
    await fc.assert(property, { seed, numRuns });
  } finally {
    if (FUZZ_VERBOSE)
      console.log(
        `fuzz ${name}: ${numRuns} cases, seed ${seed}, ${Math.round(performance.now() - started)} ms`,
      );
  }
}

// ---- prototype pollution ------------------------------------------------------------------------

const WATCHED: ReadonlyArray<readonly [string, object]> = [
  ['Object.prototype', Object.prototype],
  ['Array.prototype', Array.prototype],
  ['Function.prototype', Function.prototype],
  ['String.prototype', String.prototype],
];

type Snapshot = Map<object, Map<PropertyKey, unknown>>;

function snapshot(): Snapshot {
  const out: Snapshot = new Map();
  for (const [, proto] of WATCHED) {
    const props = new Map<PropertyKey, unknown>();
    for (const key of Reflect.ownKeys(proto)) {
      const d = Object.getOwnPropertyDescriptor(proto, key)!;
      props.set(key, 'value' in d ? d.value : d.get);
    }
    out.set(proto, props);
  }
  return out;
}

const PRISTINE = snapshot();

/** What differs on the built-in prototypes since the test file loaded ([] when nothing). */
export function prototypeChanges(): string[] {
  const changes: string[] = [];
  const now = snapshot();
  for (const [name, proto] of WATCHED) {
    const before = PRISTINE.get(proto)!;
    const after = now.get(proto)!;
    for (const [key, v] of after)
      if (!before.has(key)) changes.push(`${name}.${String(key)} added`);
      else if (before.get(key) !== v) changes.push(`${name}.${String(key)} replaced`);
    for (const key of before.keys()) if (!after.has(key)) changes.push(`${name}.${String(key)} deleted`);
  }
  return changes;
}

/** Fails if anything was added to, replaced on or deleted from a built-in prototype. */
export function expectNoPrototypePollution(): void {
  const probe = {} as Record<string, unknown>;
  expect(probe['polluted']).toBeUndefined();
  expect(Object.getPrototypeOf(probe)).toBe(Object.prototype);
  expect(prototypeChanges()).toEqual([]);
}

/** Keys that are special on plain objects: every key generator mixes them in. */
export const MAGIC_KEYS: readonly string[] = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
  'polluted',
];
