import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { prometheusFamily } from '../../src/export/prometheus-naming.js';
import { writeExposition } from '../../src/export/prometheus-text.js';
import { parseMetricFamiliesDelimited } from '../../src/ingest/prometheus-proto-parse.js';
import {
  parsePrometheusText,
  TextParseError,
  type TextParseResult,
} from '../../src/ingest/prometheus-text-parse.js';
import { PushGroups } from '../../src/ingest/pushgateway.js';
import { parseGroupingPath } from '../../src/ingest/pushgateway-path.js';
import { DecodeError } from '../../src/ingest/types.js';
import { Store } from '../../src/store/store.js';
import { expectNoPrototypePollution, fuzzAssert, fuzzAssertAsync, fuzzTimeout } from '../helpers/fuzz.js';
import {
  delimit,
  families,
  mutateText,
  splitDelimited,
  textMutation,
  tokenSoup,
  toProto,
  toText,
  type GenFamily,
} from '../helpers/prometheus-arbitraries.js';
import { MetricFamily } from '../helpers/prometheus-proto.js';
import { applyMutation, wireMutation } from '../helpers/proto-wire.js';
import { storeProblems } from '../helpers/store-invariants.js';

/**
 * Property and fuzz tests of the Pushgateway-compatible push parsers: the text format
 * (src/ingest/prometheus-text-parse.ts) and the delimited protobuf format
 * (src/ingest/prometheus-proto-parse.ts), the grouping-key path parser, and what a parsed push
 * does to the groups and to the exposition. Generated families round-trip through both formats;
 * random and corrupted bodies only ever raise the parser's own error (with a sane line number);
 * any body that parses is either applied or refused with 400, and `/metrics` stays parseable.
 */

afterEach(() => expectNoPrototypePollution());

/**
 * What a parser must return for `fams`. In the text format, as in expfmt, the blanks after the
 * name on a HELP line are separators, so leading blanks of the help text and an empty help are
 * lost; protobuf keeps the string as sent.
 */
function expected(fams: GenFamily[], format: 'text' | 'proto'): unknown {
  const help = (h: string | undefined): string | undefined => {
    if (format === 'proto' || h === undefined) return h;
    const trimmed = h.replace(/^[ \t]+/, '');
    return trimmed === '' ? undefined : trimmed;
  };
  return fams.map((f) => ({
    name: f.name,
    help: help(f.help),
    type: f.type,
    metrics: f.metrics.map((m) => ({
      labels: m.labels.flat(),
      value: f.type === 'summary' || f.type === 'histogram' ? 0 : m.value,
      count: f.type === 'summary' || f.type === 'histogram' ? m.count : undefined,
      sum: f.type === 'summary' || f.type === 'histogram' ? m.sum : undefined,
      quantiles: f.type === 'summary' && m.quantiles.length > 0 ? m.quantiles : undefined,
      buckets: f.type === 'histogram' && m.buckets.length > 0 ? m.buckets : undefined,
    })),
  }));
}

const familiesOf = (r: TextParseResult): unknown => [...r.families.values()];

describe('Prometheus push parsers > round trips (property)', () => {
  it(
    'parse generated families written in the text format and in delimited protobuf to the same data',
    () => {
      fuzzAssert(
        'prometheus-push round trip (text and protobuf)',
        fc.property(families, (fams) => {
          const text = parsePrometheusText(Buffer.from(toText(fams), 'utf8'));
          expect(familiesOf(text)).toEqual(expected(fams, 'text'));
          expect(text.timestamps).toBe(false);
          const proto = parseMetricFamiliesDelimited(toProto(fams));
          expect(familiesOf(proto)).toEqual(expected(fams, 'proto'));
        }),
        { runs: 150, seed: 401 },
      );
    },
    fuzzTimeout(60_000),
  );
});

// ---- hostile bodies -----------------------------------------------------------------------------

function textError(body: Buffer): TextParseError | undefined {
  try {
    parsePrometheusText(body);
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(TextParseError);
    return e as TextParseError;
  }
}

/** Only TextParseError, naming a line of the body (or the one after its last). */
function checkText(body: Buffer): void {
  const err = textError(body);
  if (err === undefined) return;
  const lines = body.toString('latin1').split('\n').length;
  expect(err.line).toBeGreaterThanOrEqual(1);
  expect(err.line).toBeLessThanOrEqual(lines);
  expect(err.message.startsWith(`text format parsing error in line ${err.line}: `)).toBe(true);
}

function checkProto(body: Buffer): void {
  try {
    parseMetricFamiliesDelimited(body);
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
  }
}

describe('Prometheus push parsers > hostile bodies (fuzz)', () => {
  it(
    'the text parser throws nothing but TextParseError, with a line of the body, on random bytes and token soup',
    () => {
      fuzzAssert(
        'prometheus-text random bytes',
        fc.property(
          fc.oneof(
            fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
            tokenSoup,
          ),
          checkText,
        ),
        { runs: 1000, seed: 402 },
      );
    },
    fuzzTimeout(60_000),
  );

  it(
    'the text parser throws nothing but TextParseError on damaged valid bodies',
    () => {
      fuzzAssert(
        'prometheus-text mutated bodies',
        fc.property(families, fc.array(textMutation, { minLength: 1, maxLength: 3 }), (fams, ms) => {
          let body: Buffer = Buffer.from(toText(fams), 'utf8');
          for (const m of ms) body = mutateText(body, m);
          checkText(body);
        }),
        { runs: 400, seed: 403 },
      );
    },
    fuzzTimeout(60_000),
  );

  it(
    'the protobuf parser throws nothing but DecodeError on random bytes and damaged valid bodies',
    () => {
      fuzzAssert(
        'prometheus-proto random and mutated bodies',
        fc.property(
          families,
          fc.array(wireMutation, { minLength: 1, maxLength: 3 }),
          fc.nat(),
          fc.uint8Array({ maxLength: 64 }),
          (fams, ms, which, noise) => {
            checkProto(Buffer.from(noise));
            // Damage one family, keeping the delimiters right, and the whole body byte-wise.
            const msgs = splitDelimited(toProto(fams));
            const i = which % msgs.length;
            let one: Uint8Array = msgs[i]!;
            for (const m of ms) one = applyMutation(one, MetricFamily, m);
            checkProto(delimit([...msgs.slice(0, i), one, ...msgs.slice(i + 1)]));
            let whole: Uint8Array = toProto(fams);
            for (const m of ms) whole = applyMutation(whole, MetricFamily, m);
            checkProto(Buffer.from(whole));
          },
        ),
        { runs: 250, seed: 404 },
      );
    },
    fuzzTimeout(60_000),
  );

  it(
    'parses any grouping-key path to a key, a 400 or a 404, never an exception',
    () => {
      const segment = fc.oneof(
        fc.string({ maxLength: 8 }),
        fc.constantFrom(
          '',
          '.',
          '..',
          '%',
          '%2F',
          '%zz',
          '%C3%28',
          'job',
          'job@base64',
          'a@base64',
          '=',
          'L3Zhci90bXA',
          '____',
          '__x',
        ),
      );
      fuzzAssert(
        'pushgateway grouping paths',
        fc.property(fc.array(segment, { maxLength: 6 }), (parts) => {
          const r = parseGroupingPath(`/metrics/${parts.join('/')}`);
          if (r.ok) {
            expect(r.key.labels.length % 2).toBe(0);
            expect(r.key.job).not.toBe('');
          } else expect([400, 404]).toContain(r.status);
        }),
        { runs: 1000, seed: 405 },
      );
    },
    fuzzTimeout(60_000),
  );
});

describe('Prometheus push parsers > what a parsed push does (property)', () => {
  it(
    'applies or refuses (200 / 400) whatever parses, and the exposition stays valid text format',
    async () => {
      await fuzzAssertAsync(
        'prometheus-push groups and exposition',
        fc.asyncProperty(
          fc.array(
            fc.record({
              fams: families,
              damage: fc.array(textMutation, { maxLength: 2 }),
              replace: fc.boolean(),
              group: fc.constantFrom(
                '/metrics/job/a',
                '/metrics/job/a/instance/i',
                '/metrics/job/b',
                '/metrics/job/a/__proto__x/1',
              ),
            }),
            { minLength: 1, maxLength: 4 },
          ),
          async (pushes) => {
            const store = new Store({
              limits: { maxSeries: 10_000, maxSeriesPerMetric: 1000, seriesTtlMs: 60_000 },
              clock: () => 1_700_000_000_000,
              familyOf: prometheusFamily,
            });
            const groups = new PushGroups({ store, clock: () => 1_700_000_000_000 });
            for (const p of pushes) {
              let body: Buffer = Buffer.from(toText(p.fams), 'utf8');
              for (const m of p.damage) body = mutateText(body, m);
              let parsed: TextParseResult;
              try {
                parsed = parsePrometheusText(body);
              } catch (e) {
                expect(e).toBeInstanceOf(TextParseError);
                continue;
              }
              const key = parseGroupingPath(p.group);
              if (!key.ok) continue;
              const outcome = groups.push(key.key, parsed, p.replace);
              expect([200, 400]).toContain(outcome.status);
            }
            expect(storeProblems(store)).toEqual([]);
            let exposition = '';
            await writeExposition(store, { write: (c) => void (exposition += c) }, { openMetrics: false });
            // vigil's /metrics must read back through the (Pushgateway-strict) text parser.
            expect(textError(Buffer.from(exposition, 'utf8'))).toBeUndefined();
          },
        ),
        { runs: 150, seed: 406 },
      );
    },
    fuzzTimeout(60_000),
  );
});
