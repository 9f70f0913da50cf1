import { isUtf8 } from 'node:buffer';
import { goQuote } from './prometheus-text-parse.js';
import { pairsKey } from '../store/canonical-key.js';

/**
 * The Pushgateway's grouping key from a request path (SPEC §3): `/metrics/job/<job>{/<label>/<value>}`,
 * where `job@base64` / `<label>@base64` mark a value in base64url (padding optional, `=` alone for
 * the empty value). Mirrors Pushgateway 1.x: the path is percent-decoded before it is split (so an
 * encoded `/` splits too, which is what `@base64` is for), label names must be valid and not
 * start with `__`, a later duplicate label wins, and `job` always comes from the job segment.
 */

/** A group's identity: its labels, `job` included, sorted by name. */
export interface GroupingKey {
  readonly job: string;
  /** Flat `[name, value, ...]` sorted by name, `job` included. */
  readonly labels: readonly string[];
  /** Canonical string identity of the group. */
  readonly key: string;
}

export type GroupingPath =
  | { readonly ok: true; readonly key: GroupingKey }
  /** 404: not a grouping-key path at all; 400: a grouping-key path with a bad part. */
  | { readonly ok: false; readonly status: 400 | 404; readonly message: string };

const JOB_PREFIX = '/metrics/job/';
const JOB64_PREFIX = '/metrics/job@base64/';
const BASE64_SUFFIX = '@base64';
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** The grouping key of a push path (without the query string). */
export function parseGroupingPath(rawPath: string): GroupingPath {
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return { ok: false, status: 400, message: `invalid URL escape in ${goQuote(rawPath)}` };
  }
  const base64Job = path.startsWith(JOB64_PREFIX);
  if (!base64Job && !path.startsWith(JOB_PREFIX))
    return { ok: false, status: 404, message: `no route for ${path}; push to /metrics/job/<job>` };
  const rest = path.slice(base64Job ? JOB64_PREFIX.length : JOB_PREFIX.length);
  const slash = rest.indexOf('/');
  const jobSegment = slash < 0 ? rest : rest.slice(0, slash);
  const labelPath = slash < 0 ? '' : rest.slice(slash);
  if (jobSegment === '' && labelPath === '')
    return { ok: false, status: 404, message: 'no job in the path; push to /metrics/job/<job>' };
  // The Pushgateway's router answers these with a redirect to the cleaned path; vigil asks for it.
  if (jobSegment === '' || jobSegment === '.' || jobSegment === '..' || /\/\/|\/\.\.?(\/|$)/.test(labelPath))
    return { ok: false, status: 400, message: `path ${goQuote(path)} has an empty or dot segment` };

  let job = jobSegment;
  if (base64Job) {
    const decoded = decodeBase64(jobSegment);
    if (typeof decoded !== 'string')
      return {
        ok: false,
        status: 400,
        message: `invalid base64 encoding in job name ${goQuote(jobSegment)}: ${decoded.error}`,
      };
    job = decoded;
  }
  const labels = new Map<string, string>();
  if (labelPath.length > 1) {
    const parts = labelPath.slice(1).split('/');
    if (parts.length % 2 !== 0)
      return {
        ok: false,
        status: 400,
        message: `odd number of components in label string ${goQuote(labelPath)}`,
      };
    for (let i = 0; i < parts.length; i += 2) {
      const name = parts[i]!;
      const encoded = name.endsWith(BASE64_SUFFIX);
      const trimmed = encoded ? name.slice(0, -BASE64_SUFFIX.length) : name;
      if (!LABEL_NAME.test(trimmed) || trimmed.startsWith('__'))
        return { ok: false, status: 400, message: `improper label name ${goQuote(trimmed)}` };
      let value = parts[i + 1]!;
      if (encoded) {
        const decoded = decodeBase64(value);
        if (typeof decoded !== 'string')
          return {
            ok: false,
            status: 400,
            message: `invalid base64 encoding for label ${trimmed}=${goQuote(value)}: ${decoded.error}`,
          };
        value = decoded;
      }
      labels.set(trimmed, value);
    }
  }
  if (job === '') return { ok: false, status: 400, message: 'job name is required' };
  labels.set('job', job);
  return { ok: true, key: groupingKey(labels) };
}

/** A grouping key from labels (`job` must be among them). */
export function groupingKey(labels: ReadonlyMap<string, string>): GroupingKey {
  const names = [...labels.keys()].sort();
  const flat: string[] = [];
  for (const n of names) flat.push(n, labels.get(n)!);
  return { job: labels.get('job') ?? '', labels: flat, key: pairsKey(flat) };
}

/**
 * Go's `base64.RawURLEncoding` after trimming `=` padding: the URL-safe alphabet only, and a
 * length that is not 1 mod 4. The value must also be UTF-8, as every Prometheus label value.
 */
function decodeBase64(s: string): string | { error: string } {
  const trimmed = s.replace(/=+$/, '');
  if (!BASE64URL.test(trimmed)) {
    const at = [...trimmed].findIndex((c) => !/[A-Za-z0-9_-]/.test(c));
    return { error: `illegal base64 data at input byte ${at}` };
  }
  if (trimmed.length % 4 === 1) return { error: `illegal base64 data at input byte ${trimmed.length - 1}` };
  const bytes = Buffer.from(trimmed, 'base64url');
  if (!isUtf8(bytes)) return { error: 'decoded value is not valid UTF-8' };
  return bytes.toString('utf8');
}
