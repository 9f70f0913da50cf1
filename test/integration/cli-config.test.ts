import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, REPO, tempDir } from '../helpers/vigil-process.js';

function vigil(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 20_000,
  });
}

describe('vigil check-config', () => {
  it('accepts the shipped config.yaml', () => {
    const r = vigil(['check-config', '--config', join(REPO, 'config.yaml')]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('prints every problem as file:line:col path: message and exits 1', () => {
    const file = join(tempDir(), 'bad.yaml');
    writeFileSync(
      file,
      [
        'listeners:',
        '  ingest: nowhere',
        'limits:',
        '  series_ttl: 5 minutes',
        '  max_seriess: 3',
        'evaluation_interval: 1s',
        '',
      ].join('\n'),
    );
    const r = vigil(['check-config', '--config', file]);
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n').sort();
    expect(lines).toEqual([
      `${file}:2:11 listeners.ingest: invalid listen address "nowhere" (use host:port)`,
      `${file}:4:15 limits.series_ttl: invalid duration "5 minutes" (use e.g. 500ms, 15s, 5m, 1h)`,
      `${file}:5:3 limits.max_seriess: unknown key 'max_seriess'`,
    ]);
  });

  it('reports YAML syntax errors with a position', () => {
    const file = join(tempDir(), 'broken.yaml');
    writeFileSync(file, 'listeners:\n  ingest: [\n');
    const r = vigil(['check-config', '--config', file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^${file.replace(/[.]/g, '\\.')}:\\d+:\\d+ \\(yaml\\): `));
  });

  it('substitutes environment variables and VIGIL_CONFIG names the file', () => {
    const file = join(tempDir(), 'env.yaml');
    writeFileSync(file, 'evaluation_interval: ${EVAL_EVERY:-1s}\n');
    expect(vigil(['check-config'], { VIGIL_CONFIG: file, EVAL_EVERY: '2s' }).status).toBe(0);
    expect(vigil(['check-config'], { VIGIL_CONFIG: file, EVAL_EVERY: 'soon' }).status).toBe(1);
  });
});

describe('vigil serve', () => {
  it('refuses to start on an invalid config', () => {
    const file = join(tempDir(), 'bad.yaml');
    writeFileSync(file, 'limits:\n  max_series: lots\n');
    const r = vigil(['serve', '--config', file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/limits\.max_series/);
    expect(r.stderr).toMatch(/refusing to start/);
  });
});
