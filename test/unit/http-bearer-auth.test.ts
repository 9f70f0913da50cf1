import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INGEST_TOKEN, resolveToken } from '../../src/config/tokens.js';
import { BearerCheck, isLoopbackHost } from '../../src/http/bearer-auth.js';
import { tempDir } from '../helpers/vigil-process.js';

describe('BearerCheck', () => {
  it('accepts exactly "Bearer <token>"', () => {
    const check = new BearerCheck('s3cret');
    expect(check.matches('Bearer s3cret')).toBe(true);
    for (const wrong of [
      undefined,
      '',
      's3cret',
      'Bearer s3cre',
      'Bearer s3cret ',
      'bearer s3cret',
      'Basic s3cret',
    ])
      expect(check.matches(wrong), String(wrong)).toBe(false);
  });
});

describe('isLoopbackHost', () => {
  it('knows 127.0.0.0/8, ::1 and localhost from the rest', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1'])
      expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com', '127.0.0.1.example.com'])
      expect(isLoopbackHost(h), h).toBe(false);
  });
});

describe('resolveToken', () => {
  it('reads the file (trimmed) before the environment, and fails closed on an unreadable or empty file', () => {
    const dir = tempDir();
    const file = join(dir, 'token');
    writeFileSync(file, 'from-file\n');
    const env = { VIGIL_INGEST_TOKEN: 'from-env' };
    expect(resolveToken({ ...INGEST_TOKEN, file }, env)).toEqual({
      kind: 'token',
      token: 'from-file',
      from: 'file',
    });
    expect(resolveToken({ ...INGEST_TOKEN, file: undefined }, env)).toEqual({
      kind: 'token',
      token: 'from-env',
      from: 'env',
    });
    expect(resolveToken({ ...INGEST_TOKEN, file: undefined }, {})).toEqual({ kind: 'none' });
    const missing = resolveToken({ ...INGEST_TOKEN, file: join(dir, 'nope') }, env);
    expect(missing).toMatchObject({ kind: 'error' });
    expect(JSON.stringify(missing)).toMatch(/ingest\.token_file .*ENOENT/);
    writeFileSync(file, ' \n');
    expect(resolveToken({ ...INGEST_TOKEN, file }, env)).toMatchObject({ kind: 'error' });
  });
});
