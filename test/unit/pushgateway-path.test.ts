import { describe, expect, it } from 'vitest';
import { parseGroupingPath } from '../../src/ingest/pushgateway-path.js';

function labels(path: string): Record<string, string> {
  const r = parseGroupingPath(path);
  if (!r.ok) throw new Error(`${r.status} ${r.message}`);
  const out: Record<string, string> = {};
  for (let i = 0; i < r.key.labels.length; i += 2) out[r.key.labels[i]!] = r.key.labels[i + 1]!;
  return out;
}

function failure(path: string): { status: number; message: string } {
  const r = parseGroupingPath(path);
  if (r.ok) throw new Error(`parsed: ${JSON.stringify(r.key)}`);
  return { status: r.status, message: r.message };
}

describe('parseGroupingPath > grouping keys', () => {
  it.each<[string, Record<string, string>]>([
    ['/metrics/job/some_job', { job: 'some_job' }],
    ['/metrics/job/some_job/', { job: 'some_job' }],
    ['/metrics/job/some_job/instance/some_instance', { job: 'some_job', instance: 'some_instance' }],
    ['/metrics/job/a/b/', { job: 'a', b: '' }],
    ['/metrics/job/a/x/1/y/2', { job: 'a', x: '1', y: '2' }],
    // Pushgateway README: a value with a slash, base64url-encoded.
    [
      '/metrics/job/directory_cleaner/path@base64/L3Zhci90bXA',
      { job: 'directory_cleaner', path: '/var/tmp' },
    ],
    [
      '/metrics/job/directory_cleaner/path@base64/L3Zhci90bXA=',
      { job: 'directory_cleaner', path: '/var/tmp' },
    ],
    ['/metrics/job@base64/YQ', { job: 'a' }],
    ['/metrics/job@base64/YQ==', { job: 'a' }],
    ['/metrics/job/a/x@base64/=', { job: 'a', x: '' }],
    ['/metrics/job/a/x@base64/', { job: 'a', x: '' }],
    // Percent-decoding happens before the split, as in Go's router.
    ['/metrics/job/a/x%40base64/YQ', { job: 'a', x: 'a' }],
    ['/metrics/job/caf%C3%A9', { job: 'café' }],
    // job always comes from the job segment; a later duplicate label wins.
    ['/metrics/job/a/job/b', { job: 'a' }],
    ['/metrics/job/a/x/1/x/2', { job: 'a', x: '2' }],
  ])('%s', (path, expected) => {
    expect(labels(path)).toEqual(expected);
  });

  it('sorts the labels so that the order in the path does not make another group', () => {
    const a = parseGroupingPath('/metrics/job/j/x/1/y/2');
    const b = parseGroupingPath('/metrics/job/j/y/2/x/1');
    expect(a.ok && b.ok && a.key.key === b.key.key).toBe(true);
  });

  it('tells an empty label value from a missing label (two groups)', () => {
    const a = parseGroupingPath('/metrics/job/j');
    const b = parseGroupingPath('/metrics/job/j/instance@base64/=');
    expect(a.ok && b.ok && a.key.key !== b.key.key).toBe(true);
  });
});

describe('parseGroupingPath > refusals', () => {
  it.each<[string, number, string]>([
    ['/metrics/job/a/b', 400, 'odd number of components in label string "/b"'],
    ['/metrics/job/a/b/c/', 400, 'odd number of components in label string "/b/c/"'],
    ['/metrics/job/a%2Fb', 400, 'odd number of components in label string "/b"'],
    ['/metrics/job/a/__x/1', 400, 'improper label name "__x"'],
    ['/metrics/job/a/1x/2', 400, 'improper label name "1x"'],
    ['/metrics/job/a/x@base64@base64/YQ', 400, 'improper label name "x@base64"'],
    ['/metrics/job@base64/=', 400, 'job name is required'],
    [
      '/metrics/job@base64/Y',
      400,
      'invalid base64 encoding in job name "Y": illegal base64 data at input byte 0',
    ],
    [
      '/metrics/job/a/x@base64/!!',
      400,
      'invalid base64 encoding for label x="!!": illegal base64 data at input byte 0',
    ],
    ['/metrics/job/a/x/%zz', 400, 'invalid URL escape in "/metrics/job/a/x/%zz"'],
    ['/metrics/job', 404, 'no route for /metrics/job; push to /metrics/job/<job>'],
    ['/metrics/job/', 404, 'no job in the path; push to /metrics/job/<job>'],
    ['/metrics/job@base64/', 404, 'no job in the path; push to /metrics/job/<job>'],
    ['/metrics/other/a', 404, 'no route for /metrics/other/a; push to /metrics/job/<job>'],
  ])('%s → %d', (path, status, message) => {
    expect(failure(path)).toEqual({ status, message });
  });

  it('asks for the cleaned path where the Pushgateway would redirect to it', () => {
    for (const path of ['/metrics/job//', '/metrics/job/a//x', '/metrics/job/a/x/../y', '/metrics/job/./x'])
      expect(failure(path).status).toBe(400);
  });
});
