import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfigText, type LoadResult } from '../../src/config/load.js';
import { expectNoPrototypePollution, fuzzAssert, fuzzTimeout, MAGIC_KEYS } from '../helpers/fuzz.js';

/**
 * Property and fuzz tests of the config loader (src/config/load.ts: YAML text → zod schema →
 * `file:line:col path: message` errors, SPEC §1): random text, YAML token soup and damaged real
 * configs end in a valid config or in clean error lines — never an exception, a stack overflow,
 * a crash, or a key silently dropped; generated valid configs load with every name intact.
 */

afterEach(() => expectNoPrototypePollution());

const FILE = 'cfg.yaml';
const ERROR_LINE = /^cfg\.yaml:(\d+):(\d+) (.+?): (.+)$/s;

/** `parseConfigText` must return, and every error must be one located line. */
function load(text: string, env: NodeJS.ProcessEnv = {}): LoadResult {
  const r = parseConfigText(text, FILE, env);
  if (!r.ok) {
    expect(r.errors.length).toBeGreaterThan(0);
    const lines = text.split(/\r\n|\r|\n/).length;
    for (const e of r.errors) {
      const m = ERROR_LINE.exec(e);
      expect(m, e).not.toBeNull();
      expect(Number(m![1])).toBeGreaterThanOrEqual(1);
      expect(Number(m![1])).toBeLessThanOrEqual(lines + 1);
      expect(Number(m![2])).toBeGreaterThanOrEqual(1);
    }
  }
  return r;
}

const REAL = ['config.yaml', 'deploy/kubernetes/vigil-config.yaml'].map((f) =>
  readFileSync(new URL(`../../${f}`, import.meta.url), 'utf8'),
);
const SMALL = [
  'listeners:\n  ingest: 127.0.0.1:0\nlimits:\n  max_request_bytes: 1MiB\n',
  'signals:\n  p95: {metric: http.server.request.duration, stat: p95, window: 5m, where: {http.route: "~/o.*"}}\nrules:\n  - name: SLOW\n    expr: p95 > 1500\n    labels: {team: a}\n',
  'views:\n  - {instrument_name: "lat*", aggregation: exponential_histogram, max_size: 64}\nreport:\n  sections:\n    s: {f: x}\n',
];

/** YAML pieces: structure, tags, anchors, special scalars, prototype keys, env references. */
const YAML_TOKENS = [
  'signals:', 'rules:', 'listeners:', 'limits:', 'views:', 'report:', 'sections:', 'where:', 'labels:', 'metric:',
  'stat:', 'p95', 'expr:', 'name:', '  ', '    ', '- ', ': ', ':', '\n', '\t', '&a ', '*a', '&b ', '*b', '!!binary ',
  '!!set ', '!!omap ', '!!str ', '!!int ', '!!float ', '!custom ', '<<: ', '? ', '[', ']', '{', '}', ',', '"', "'",
  '# c', '|', '>', '---\n', '...\n', '%YAML 1.2\n', '__proto__', 'constructor', 'prototype', '.nan', '.inf', '-.inf',
  '-0', '1e400', '0x1F', '0o17', '~', 'null', 'true', 'y', '${X}', '${env:X:-y}', '${', '5m', '1MiB', '\u00e9',
  '%YAML 1.1\n---\n',
  '\ufeff', '\u0000', 'a'.repeat(300),
]; // prettier-ignore

const yamlSoup = fc.array(fc.constantFrom(...YAML_TOKENS), { maxLength: 50 }).map((t) => t.join(''));

const lineEdit = fc.record({
  kind: fc.constantFrom('delete', 'duplicate', 'swap', 'indent', 'dedent', 'insert', 'replace-value'),
  line: fc.nat(),
  other: fc.nat(),
  token: fc.constantFrom(...YAML_TOKENS),
});
function editLines(text: string, e: { kind: string; line: number; other: number; token: string }): string {
  const lines = text.split('\n');
  const i = e.line % lines.length;
  const j = e.other % lines.length;
  switch (e.kind) {
    case 'delete':
      lines.splice(i, 1);
      break;
    case 'duplicate':
      lines.splice(i, 0, lines[i]!);
      break;
    case 'swap':
      [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      break;
    case 'indent':
      lines[i] = '  ' + lines[i]!;
      break;
    case 'dedent':
      lines[i] = lines[i]!.replace(/^ {1,2}/, '');
      break;
    case 'insert': {
      const at = e.other % (lines[i]!.length + 1);
      lines[i] = lines[i]!.slice(0, at) + e.token + lines[i]!.slice(at);
      break;
    }
    default:
      // The value after the first `: ` of the line.
      lines[i] = lines[i]!.replace(/: .*$/, `: ${e.token}`);
  }
  return lines.join('\n');
}

describe('parseConfigText > hostile text (fuzz)', () => {
  it(
    'returns a config or located error lines for random text and YAML token soup',
    () => {
      fuzzAssert(
        'config random text',
        fc.property(
          fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }), yamlSoup),
          (t) => {
            load(t);
          },
        ),
        { runs: 500, seed: 601 },
      );
    },
    fuzzTimeout(60_000),
  );

  it(
    'returns a config or located error lines for damaged real configs (config.yaml, the Kubernetes sidecar config)',
    () => {
      fuzzAssert(
        'config mutated real configs',
        fc.property(fc.nat(), fc.array(lineEdit, { minLength: 1, maxLength: 4 }), (which, edits) => {
          const all = [...REAL, ...SMALL];
          let text = all[which % all.length]!;
          for (const e of edits) text = editLines(text, e);
          load(text, { POD_NAME: 'p', X: '{a: [' });
        }),
        { runs: 60, seed: 602 },
      );
    },
    fuzzTimeout(60_000),
  );

  it('refuses deep nesting, alias tricks and unknown tags with located errors, however often it is asked', () => {
    const texts = [
      'signals: ' + '['.repeat(3000) + ']'.repeat(3000) + '\n',
      'signals: ' + '{a: '.repeat(3000) + '1' + '}'.repeat(3000) + '\n',
      'signals:\n' + Array.from({ length: 400 }, (_, i) => ' '.repeat(2 * i + 2) + '-').join('\n') + ' x\n',
      'signals: *nowhere\n',
      'a: &a [x, x, x, x, x, x, x, x, x, x]\n' +
        'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n' +
        'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n' +
        'signals: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n',
      'signals: !!binary aGVsbG8=\n',
      'signals: !custom {a: 1}\n',
      '<<: {listeners: {}}\n',
    ];
    // Repeated: a stack overflow that V8 survives once can still take the process down later
    // (a regular expression compiled near the stack limit is a fatal out-of-memory error).
    for (let round = 0; round < 10; round++) {
      for (const t of texts) {
        const r = load(t);
        expect(r.ok, t.slice(0, 40)).toBe(false);
      }
    }
  });
});

describe('parseConfigText > names survive loading (property)', () => {
  const name = fc.oneof(
    fc.constantFrom(...MAGIC_KEYS),
    fc
      .stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/)
      .filter((n) => !['and', 'or', 'not'].includes(n.toLowerCase())),
  );
  /** `${VAR}` in any string scalar is replaced from the environment (README), so leave it out here. */
  const noEnv = (s: string): string => s.split('${').join('$ {');
  const attrKey = fc.oneof(
    fc.constantFrom(...MAGIC_KEYS, 'http.route', 'service.name'),
    fc.string({ minLength: 1, maxLength: 8 }).map(noEnv),
  );
  const config = fc.record({
    signals: fc.uniqueArray(
      fc.record({
        name,
        // Values starting with `~` are regular expressions: keep them exact-match here.
        where: fc.uniqueArray(
          fc.tuple(
            attrKey,
            fc.string({ maxLength: 6 }).map((v) => noEnv(v).replace(/^~/, '-')),
          ),
          {
            maxLength: 3,
            selector: ([k]) => k,
          },
        ),
      }),
      { minLength: 1, maxLength: 4, selector: (s) => s.name },
    ),
    labels: fc.uniqueArray(fc.tuple(attrKey, fc.string({ maxLength: 6 }).map(noEnv)), {
      maxLength: 3,
      selector: ([k]) => k,
    }),
    section: fc.tuple(name, name),
  });
  const objectOf = (pairs: ReadonlyArray<readonly [string, unknown]>): Record<string, unknown> => {
    const o: Record<string, unknown> = {};
    for (const [k, v] of pairs) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true });
    return o;
  };

  it(
    'keeps every signal, where key, rule label and report field as written, or names the key it refuses',
    () => {
      fuzzAssert(
        'config names survive',
        fc.property(config, (c) => {
          const first = c.signals[0]!.name;
          const doc = {
            signals: objectOf(
              c.signals.map((s) => [s.name, { metric: 'm', stat: 'p95', where: objectOf(s.where) }] as const),
            ),
            rules: [{ name: 'R', expr: `${first} > 1`, labels: objectOf(c.labels) }],
            report: { sections: objectOf([[c.section[0], objectOf([[c.section[1], first]])]]) },
          };
          const text = stringify(doc);
          const r = load(text);
          const keys = [
            ...c.signals.flatMap((s) => [s.name, ...s.where.map(([k]) => k)]),
            ...c.labels.map(([k]) => k),
            ...c.section,
          ];
          if (keys.includes('__proto__')) {
            // A key JavaScript objects cannot hold as data is refused by name, never dropped.
            expect(r.ok).toBe(false);
            if (!r.ok) expect(r.errors.some((e) => e.includes('__proto__'))).toBe(true);
            return;
          }
          expect(r.ok ? [] : r.errors).toEqual([]);
          if (!r.ok) return;
          expect(Object.keys(r.config.signals)).toEqual(c.signals.map((s) => s.name));
          // (Sorted: JavaScript lists integer-like keys first, whatever the YAML order.)
          const sorted = (pairs: Array<[string, unknown]>) =>
            pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
          for (const s of c.signals)
            expect(sorted(Object.entries(r.config.signals[s.name]!.where))).toEqual(sorted([...s.where]));
          expect(sorted(Object.entries(r.config.rules[0]!.labels))).toEqual(sorted([...c.labels]));
          expect(Object.keys(r.config.report.sections)).toEqual([c.section[0]]);
          expect(Object.keys(r.config.report.sections[c.section[0]]!)).toEqual([c.section[1]]);
        }),
        { runs: 150, seed: 603 },
      );
    },
    fuzzTimeout(60_000),
  );
});
