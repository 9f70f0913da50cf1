import { readFileSync } from 'node:fs';
import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
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
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined): string => {
    const p = lines.linePos(offset ?? 0);
    return `${file}:${p.line}:${p.col}`;
  };
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((e) => `${at(e.pos[0])} (yaml): ${e.message.split('\n')[0]}`),
    };
  }
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && node.value.includes('${'))
        node.value = substituteEnv(node.value, env);
    },
  });
  // A `__proto__` key would be dropped by the schema's records without a word (a `where` filter
  // or an external label silently gone): name it as the error it is.
  const magic: string[] = [];
  visit(doc, {
    Pair(_key, pair, path) {
      if (isScalar(pair.key) && pair.key.value === '__proto__') {
        const keys = path.filter(isPair).map((p) => (isScalar(p.key) ? String(p.key.value) : '?'));
        magic.push(
          `${at(pair.key.range?.[0])} ${dotted([...keys, '__proto__'])}: the key "__proto__" is not allowed`,
        );
      }
    },
  });
  if (magic.length > 0) return { ok: false, errors: magic };
  const raw: unknown = doc.toJS() ?? {};
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
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s === '' ? p : `.${p}`;
  return s;
}
