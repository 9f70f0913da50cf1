import { readFileSync } from 'node:fs';
import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  Parser,
  visit,
  type CST,
  type Document,
  type Node,
} from 'yaml';
import { z } from 'zod';
import { configSchema, type ParsedConfig } from './schema.js';

/**
 * Reading, substituting and validating the config file, once. Every problem becomes one line
 * `<file>:<line>:<col> <yaml.path>: <message>` (SPEC §1), pointing at the offending node.
 */

export type LoadResult = { ok: true; config: ParsedConfig } | { ok: false; errors: string[] };

/** `${VAR}`, `${env:VAR}` (collector style) and `${VAR:-default}` in string scalars. */
const ENV_REF = /\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export function substituteEnv(text: string, env: NodeJS.ProcessEnv): string {
  return text.replace(ENV_REF, (_m, name: string, fallback: string | undefined) => {
    const v = env[name];
    return v !== undefined && v !== '' ? v : (fallback ?? '');
  });
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { ok: false, errors: [`${file}:1:1 (file): cannot read: ${(err as Error).message}`] };
  }
  return parseConfigText(text, file, env);
}

export function parseConfigText(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): LoadResult {
  const lines = new LineCounter();
  const at = (offset: number | undefined): string => {
    const p = lines.linePos(offset ?? 0);
    return `${file}:${p.line}:${p.col}`;
  };
  const deep = tooDeep(text);
  if (deep !== undefined) {
    const lineStart = text.lastIndexOf('\n', deep - 1) + 1;
    const line = text.slice(0, lineStart).split('\n').length;
    return {
      ok: false,
      errors: [
        `${file}:${line}:${deep - lineStart + 1} (yaml): collections nested more than ${MAX_YAML_DEPTH} deep`,
      ],
    };
  }
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((e) => `${at(e.pos[0])} (yaml): ${e.message.split('\n')[0]}`),
    };
  }
  const reserved: string[] = [];
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && node.value.includes('${'))
        node.value = substituteEnv(node.value, env);
    },
    Pair(_key, pair, ancestors) {
      // `__proto__` cannot be an own key of the objects zod builds for records (signals, where,
      // labels, report sections): it would be dropped without a word, or turn a wrong reference
      // valid. Say so instead.
      if (isScalar(pair.key) && pair.key.value === '__proto__')
        reserved.push(
          `${at(pair.key.range?.[0])} ${dotted([...pathOf(ancestors), '__proto__'])}: '__proto__' cannot be used as a key`,
        );
    },
  });
  if (reserved.length > 0) return { ok: false, errors: reserved };
  let raw: unknown;
  try {
    raw = doc.toJS() ?? {};
  } catch (err) {
    // Aliases and merge keys are resolved here, not while parsing, and the yaml library throws
    // for what it cannot resolve: an alias to an anchor defined nowhere (or only later), more
    // alias expansions than its maxAliasCount (a "billion laughs" document), a YAML 1.1 merge
    // (`<<`) of something that is not a map.
    if (!(err instanceof Error)) throw err;
    return { ok: false, errors: [`${at(conversionErrorOffset(doc))} (yaml): ${err.message}`] };
  }
  const parsed = configSchema.safeParse(raw);
  if (parsed.success) return { ok: true, config: parsed.data };
  return { ok: false, errors: parsed.error.issues.map((issue) => formatIssue(issue, doc, at)) };
}

function formatIssue(
  issue: z.core.$ZodIssue,
  doc: Document,
  at: (offset: number | undefined) => string,
): string {
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    // Point at the unknown key itself, not at its parent map.
    const key = issue.keys[0]!;
    const node = nodeAt(doc, path);
    const pair = isMap(node) ? node.items.find((it) => isScalar(it.key) && it.key.value === key) : undefined;
    const keyNode = pair?.key as Node | undefined;
    message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
    return `${at(keyNode?.range?.[0] ?? node?.range?.[0])} ${dotted([...path, key])}: ${message}`;
  }
  const { node, depth } = deepestNode(doc, path);
  if (depth < path.length && issue.code === 'invalid_type') message = `missing required key: ${message}`;
  return `${at(node?.range?.[0])} ${dotted(path) || '(root)'}: ${message}`;
}

function nodeAt(doc: Document, path: ReadonlyArray<string | number>): Node | undefined {
  return path.length === 0 ? (doc.contents ?? undefined) : (doc.getIn(path, true) as Node | undefined);
}

/** The node at `path`, or its closest existing ancestor (a missing key is reported at its parent). */
function deepestNode(
  doc: Document,
  path: ReadonlyArray<string | number>,
): { node: Node | undefined; depth: number } {
  for (let d = path.length; d >= 0; d--) {
    const n = nodeAt(doc, path.slice(0, d));
    if (n !== undefined && (isScalar(n) || isMap(n) || isSeq(n))) return { node: n, depth: d };
  }
  return { node: undefined, depth: 0 };
}

function dotted(path: ReadonlyArray<string | number>): string {
  let s = '';
  for (const p of path) {
    // An empty key (`"": x`, or a bare `:`) would leave no path at all: show it quoted.
    const key = p === '' ? '""' : p;
    s += typeof key === 'number' ? `[${key}]` : s === '' ? key : `.${key}`;
  }
  return s;
}

/**
 * Collections nested deeper than this are refused before the document is composed: the yaml
 * library composes recursively and reports a stack overflow as an ordinary error, but a process
 * that overflows its stack again and again (a reload loop, a fuzzer) can die of it — V8 aborts
 * when it compiles a regular expression with the stack nearly exhausted. A vigil config is a
 * handful of levels deep.
 */
export const MAX_YAML_DEPTH = 64;

/** The offset of the first collection nested deeper than MAX_YAML_DEPTH, from the CST (built without recursion). */
function tooDeep(text: string): number | undefined {
  // An explicit work list of (token, depth), so deep input cannot overflow this walk either.
  const pending: Array<[CST.Token | null | undefined, number]> = [];
  for (const token of new Parser().parse(text)) pending.push([token, 0]);
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [token, depth] = next;
    if (token === null || token === undefined) continue;
    if (token.type === 'document') pending.push([token.value, depth]);
    else if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      if (depth >= MAX_YAML_DEPTH) return token.offset;
      for (const item of token.items) pending.push([item.key, depth + 1], [item.value, depth + 1]);
    }
  }
  return undefined;
}

/**
 * Where to point an error of `toJS`: the first alias that resolves to nothing, else the first
 * merge key whose value is not a map (or an alias), else the first alias.
 */
function conversionErrorOffset(doc: Document): number | undefined {
  let firstAlias: number | undefined;
  let unresolved: number | undefined;
  let badMerge: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      firstAlias ??= node.range?.[0];
      if (unresolved === undefined && node.resolve(doc) === undefined) unresolved = node.range?.[0];
    },
    Pair(_key, pair) {
      // With merge keys on, yaml gives `<<` a symbol value; its source text is still `<<`.
      const key = pair.key;
      if (
        badMerge === undefined &&
        isScalar(key) &&
        (key.value === '<<' || key.source === '<<') &&
        !isMap(pair.value)
      )
        badMerge = key.range?.[0];
    },
  });
  return unresolved ?? badMerge ?? firstAlias;
}

/** The YAML path (keys and sequence indexes) of a visited node from its ancestors. */
function pathOf(ancestors: readonly unknown[]): Array<string | number> {
  const path: Array<string | number> = [];
  ancestors.forEach((a, i) => {
    if (isPair(a) && isScalar(a.key)) path.push(String(a.key.value));
    else if (isSeq(a)) path.push(a.items.indexOf(ancestors[i + 1] as never));
  });
  return path;
}
