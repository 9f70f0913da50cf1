import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { handlePush, PushBodyError, type PushContext } from '../../src/ingest/json-push.js';
import { PushMeters } from '../../src/ingest/push-meters.js';
import { IngestTally } from '../../src/ingest/types.js';
import { ViewResolver } from '../../src/ingest/views.js';
import { familyType, Store } from '../../src/store/store.js';
import type { HistogramPoint } from '../../src/store/types.js';
import { expectNoPrototypePollution, fuzzAssertAsync, fuzzTimeout, MAGIC_KEYS } from '../helpers/fuzz.js';
import { applyJsonMutation, jsonMutation, nastyJsonValue } from '../helpers/json-mutate.js';
import { storeProblems } from '../helpers/store-invariants.js';

/**
 * Property and fuzz tests of the JSON push API (`POST /api/v1/push`, src/ingest/json-push.ts):
 * a body mixing valid and invalid items records exactly the valid values (README: "a bad item
 * never drops the good ones"), answers with the right counts and error indexes, and lands in the
 * store on the next collection under the pushed attributes — `__proto__` and friends included;
 * any other body gets PushBodyError or a reply, never another exception.
 */

const NOW_MS = 1_700_000_000_000;
const SCOPE = { name: 'vigil.push', version: 'test' };

function context(): PushContext & { meters: PushMeters } {
  const store = new Store({
    limits: { maxSeries: 1_000_000, maxSeriesPerMetric: 100_000, seriesTtlMs: 300_000 },
    clock: () => NOW_MS,
    familyOf: (d) => ({ name: d.name, type: familyType(d) }),
  });
  const views = new ViewResolver([]);
  const meters = new PushMeters({
    store,
    views,
    cardinalityLimit: 100_001,
    clock: () => NOW_MS,
    scopeName: SCOPE.name,
    scopeVersion: SCOPE.version,
  });
  return { store, meters, views, scope: SCOPE, nowMs: NOW_MS, observe: () => undefined };
}

afterEach(() => expectNoPrototypePollution());

// ---- a model of push bodies ---------------------------------------------------------------------

type PushType = 'counter' | 'updowncounter' | 'gauge' | 'histogram';
type AttrValue = string | number | boolean;

interface Item {
  /** What goes on the wire (after JSON.stringify). */
  raw: unknown;
  /** Points the reply counts for it: one per value, or one when the values themselves are bad. */
  points: number;
  valid: boolean;
  name: string;
  type: PushType;
  values: number[];
  attrs: Array<[string, AttrValue]>;
}

/** An object from pairs, `__proto__` included as an own key (as JSON.parse makes it). */
function objectOf(pairs: ReadonlyArray<readonly [string, unknown]>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of pairs) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true });
  return o;
}

const attrKey = fc.oneof(
  fc.constantFrom(...MAGIC_KEYS, 'http.route', 'http.response.status_code', 'a b', 'ключ'),
  fc.string({ minLength: 1, maxLength: 20 }),
);
const attrValue: fc.Arbitrary<AttrValue> = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom('', '__proto__', 'x'.repeat(4096)),
  fc.integer({ min: -1e9, max: 1e9 }),
  fc.double({ min: -1e12, max: 1e12, noNaN: true }),
  fc.boolean(),
);
const attributes = fc.uniqueArray(fc.tuple(attrKey, attrValue), { maxLength: 5, selector: ([k]) => k });

function validItem(index: number): fc.Arbitrary<Item> {
  return fc
    .record({
      type: fc.constantFrom<PushType>('counter', 'updowncounter', 'gauge', 'histogram'),
      single: fc.boolean(),
      unit: fc.option(fc.constantFrom('', 'ms', 's', '1', 'By', '{request}'), { nil: undefined }),
      attrs: attributes,
      raw: fc.array(fc.double({ min: -1e12, max: 1e12, noNaN: true }), { minLength: 1, maxLength: 5 }),
    })
    .map(({ type, single, unit, attrs, raw }) => {
      const monotonic = type === 'counter' || type === 'histogram';
      const values = (single ? raw.slice(0, 1) : raw).map((v) => (monotonic ? Math.abs(v) : v));
      const name = `fz.p${index}`;
      const item: Array<[string, unknown]> = [
        ['name', name],
        ['type', type],
        single ? ['value', values[0]] : ['values', values],
        ['attributes', objectOf(attrs)],
      ];
      if (unit !== undefined) item.push(['unit', unit]);
      return { raw: objectOf(item), points: values.length, valid: true, name, type, values, attrs };
    });
}

/** One way to break an item, each refused by a rule README "JSON push" states. */
const breakItem = (item: Item): fc.Arbitrary<Item> => {
  const raw = item.raw as Record<string, unknown>;
  const set = (k: string, v: unknown, points = item.points): Item => ({
    ...item,
    raw: objectOf([...Object.entries(raw).filter(([key]) => key !== k), [k, v]]),
    points,
    valid: false,
  });
  const without = (k: string): Item => ({
    ...item,
    raw: objectOf(Object.entries(raw).filter(([key]) => key !== k)),
    valid: false,
  });
  /** The item with `key` (value or values) set to `v` and the other one removed. */
  const withValues = (key: 'value' | 'values', v: unknown): Item => ({
    ...item,
    raw: objectOf([...Object.entries(raw).filter(([k]) => k !== 'value' && k !== 'values'), [key, v]]),
    points: 1,
    valid: false,
  });
  // One more than limits.max_attributes_per_point (128 by default).
  const tooMany = objectOf(Array.from({ length: 129 }, (_, i) => [`k${i}`, i] as const));
  return fc.oneof(
    fc.constantFrom('', '1abc', 'has space', 'a'.repeat(256), 42, null).map((n) => set('name', n)),
    fc.constant(without('name')),
    fc.constantFrom('summary', '', 'COUNTER', 7, null).map((t) => set('type', t)),
    fc.constantFrom('x'.repeat(64), 5).map((u) => set('unit', u)), // null is an absent unit
    fc
      .constantFrom<unknown>(
        [],
        'a=b',
        objectOf([['k', { nested: 1 }]]),
        objectOf([['k', null]]),
        objectOf([['', 'empty key']]),
        objectOf([['k'.repeat(257), 'v']]),
        objectOf([['k', 'v'.repeat(4097)]]),
        tooMany,
      )
      .map((a) => set('attributes', a)),
    // Values that are not a non-empty list of numbers count as one rejected point.
    fc.constantFrom<unknown>([], ['1'], [1, null], 'NaN', { v: 1 }).map((v) => withValues('values', v)),
    fc.constantFrom<unknown>('5', null, 'NaN', true).map((v) => withValues('value', v)),
    fc
      .constantFrom<unknown>(5, 'item', null, [1, 2])
      .map((r) => ({ ...item, raw: r, points: 1, valid: false })),
    // Negative values on a counter or histogram (monotonic): the item is refused whole.
    item.type === 'counter' || item.type === 'histogram'
      ? fc.constant(set('values', [...item.values, -1], item.points + 1))
      : fc.constant(set('type', 'gauges')),
  );
};

const pushBody = fc
  .record({
    n: fc.integer({ min: 1, max: 8 }),
    resource: fc.uniqueArray(fc.tuple(attrKey, attrValue), { maxLength: 3, selector: ([k]) => k }),
  })
  .chain(({ n, resource }) =>
    fc
      .tuple(
        ...Array.from({ length: n }, (_, i) =>
          validItem(i).chain((it) =>
            fc.oneof({ weight: 2, arbitrary: fc.constant(it) }, { weight: 1, arbitrary: breakItem(it) }),
          ),
        ),
      )
      .map((items) => ({
        items,
        resourceAttrs: [
          ...resource.filter(([k]) => k !== 'service.name'),
          ['service.name', 'fz-push'] as const,
        ],
      })),
  );

/** Attribute text as the store keeps it (README: numbers and booleans in their usual text). */
const flatSorted = (attrs: ReadonlyArray<readonly [string, AttrValue]>): string[] =>
  [...attrs]
    .map(([k, v]) => [k, String(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .flat();

describe('handlePush > valid and invalid items in one body (property)', () => {
  it(
    'records exactly the valid items, answers with their counts and the bad indexes, and collects them into the store',
    async () => {
      await fuzzAssertAsync(
        'json-push mixed valid/invalid',
        fc.asyncProperty(pushBody, async ({ items, resourceAttrs }) => {
          const ctx = context();
          // Through JSON text, as the server receives it.
          const text = JSON.stringify({
            resource: objectOf(resourceAttrs),
            metrics: items.map((i) => i.raw),
          });
          const tally = new IngestTally();
          const reply = handlePush(JSON.parse(text), ctx, tally);
          const good = items.filter((i) => i.valid);
          expect(reply.accepted).toBe(good.reduce((a, i) => a + i.points, 0));
          expect(reply.rejected).toBe(items.filter((i) => !i.valid).reduce((a, i) => a + i.points, 0));
          expect(reply.errors.map((e) => e.index)).toEqual(items.flatMap((it, i) => (it.valid ? [] : [i])));
          expect([tally.accepted, tally.rejected]).toEqual([reply.accepted, reply.rejected]);

          const collected = await ctx.meters.collect();
          expect(collected.rejected).toBe(0);
          expect(storeProblems(ctx.store)).toEqual([]);
          for (const st of ctx.store.streams.values())
            for (const s of st.series.values())
              expect(s.filled, `${st.desc.name} ${s.attrs.join(',')}`).toBe(true);
          expect(ctx.store.size).toBe(good.length);
          for (const it of good) {
            const stream = [...ctx.store.streams.values()].find((st) => st.desc.name === it.name)!;
            expect(stream.resource.attrs).toEqual(flatSorted(resourceAttrs));
            expect(stream.scope).toEqual(SCOPE);
            const s = [...stream.series.values()][0]!;
            expect(s.attrs).toEqual(flatSorted(it.attrs));
            if (it.type === 'histogram') {
              const p = s.point as HistogramPoint;
              expect([p.count, p.sum]).toEqual([it.values.length, it.values.reduce((a, v) => a + v, 0)]);
              expect([p.min, p.max]).toEqual([Math.min(...it.values), Math.max(...it.values)]);
            } else if (it.type === 'gauge') {
              // (The SDK's last-value aggregation keeps no negative zero: `+ 0` makes -0 and 0 one value.)
              expect(s.value + 0).toBe(it.values[it.values.length - 1]! + 0);
            } else expect(s.value).toBe(it.values.reduce((a, v) => a + v, 0));
          }
          await ctx.meters.sweep(-1); // shuts the sources' MeterProviders down
        }),
        { runs: 100, seed: 301 },
      );
    },
    fuzzTimeout(60_000),
  );
});

describe('handlePush > hostile bodies (fuzz)', () => {
  const README_BODY: unknown = {
    resource: { 'service.name': 'pricing', 'service.instance.id': 'pricing-7f9c' },
    metrics: [
      {
        name: 'http.server.request.duration',
        type: 'histogram',
        unit: 'ms',
        value: 123.4,
        attributes: { 'http.route': '/odds', 'http.response.status_code': 200 },
      },
      { name: 'http.server.request.duration', type: 'histogram', unit: 'ms', values: [12.5, 40, 1800] },
      { name: 'stream.events', type: 'counter', value: 250 },
      { name: 'stream.recompute_backlog', type: 'gauge', value: 1200 },
      { name: 'inflight', type: 'updowncounter', value: -2 },
    ],
  };

  /** PushBodyError only when the body is not `{resource?: {...}, metrics: [...]}`; otherwise a consistent reply. */
  const checkHostile = async (body: unknown): Promise<void> => {
    const ctx = context();
    const tally = new IngestTally();
    let reply;
    try {
      reply = handlePush(body, ctx, tally);
    } catch (e) {
      expect(e).toBeInstanceOf(PushBodyError);
      const o = body as Record<string, unknown>;
      const shaped =
        typeof body === 'object' &&
        body !== null &&
        !Array.isArray(body) &&
        Array.isArray(o['metrics']) &&
        (o['resource'] === undefined ||
          o['resource'] === null ||
          (typeof o['resource'] === 'object' && !Array.isArray(o['resource'])));
      // A shaped body is refused only for its resource attributes.
      if (shaped) expect((e as Error).message).toMatch(/^resource: /);
      expect(ctx.store.size).toBe(0);
      return;
    }
    const metrics = (body as { metrics: unknown[] }).metrics;
    expect(reply.accepted + reply.rejected).toBeGreaterThanOrEqual(metrics.length);
    const indexes = reply.errors.map((e) => e.index);
    expect(indexes).toEqual([...new Set(indexes)].sort((a, b) => a - b));
    expect(indexes.every((i) => i >= 0 && i < metrics.length)).toBe(true);
    const collected = await ctx.meters.collect();
    expect(storeProblems(ctx.store)).toEqual([]);
    expect(collected.messages.filter((m) => !/non-finite|invalid/.test(m))).toEqual([]);
    await ctx.meters.sweep(-1);
  };

  it(
    'answers random JSON values with PushBodyError or a consistent reply',
    async () => {
      await fuzzAssertAsync(
        'json-push random values',
        fc.asyncProperty(nastyJsonValue, async (v) => {
          await checkHostile(v);
          await checkHostile({ metrics: [v] });
          await checkHostile({ resource: v, metrics: [] });
        }),
        { runs: 200, seed: 302 },
      );
    },
    fuzzTimeout(60_000),
  );

  it(
    'answers the README example with hostile values spliced in with PushBodyError or a consistent reply',
    async () => {
      await fuzzAssertAsync(
        'json-push mutated README body',
        fc.asyncProperty(fc.array(jsonMutation, { minLength: 1, maxLength: 4 }), async (mutations) => {
          let body = README_BODY;
          for (const m of mutations) body = applyJsonMutation(body, m);
          await checkHostile(body);
        }),
        { runs: 150, seed: 303 },
      );
    },
    fuzzTimeout(60_000),
  );
});
