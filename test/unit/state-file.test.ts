import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KEEP_SET_ASIDE, StateFile } from '../../src/store/state-file.js';

const T0 = 1_700_000_400_000;
const log = pino({ level: 'silent' });

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-state-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const stateFile = (sub = '', name?: string) => new StateFile(join(dir, sub), log, () => T0, name);

describe('StateFile', () => {
  it('creates its directory and names the file vigil-state.json by default', () => {
    const f = stateFile('a/b');
    expect(f.path).toBe(join(dir, 'a/b', 'vigil-state.json'));
    expect(readdirSync(join(dir, 'a/b'))).toEqual([]);
    expect(stateFile('', 'other.json').path).toBe(join(dir, 'other.json'));
  });

  it('returns undefined when there is no snapshot yet', () => {
    expect(stateFile().read()).toBeUndefined();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('round-trips a snapshot, leaving no temporary file behind', () => {
    const f = stateFile();
    const state = {
      version: 1,
      savedAt: new Date(T0).toISOString(),
      trends: { http_p95_ms: [{ labels: ['service.name', 'a'], trend: { version: 1, buckets: [] } }] },
      rules: { HIGH: { version: 1, savedAtMs: T0, alerts: [] } },
      unicode: 'é ✓ \u2028',
    };
    f.write(state);
    expect(readdirSync(dir)).toEqual(['vigil-state.json']);
    expect(f.read()).toEqual(state);
    expect(JSON.parse(readFileSync(f.path, 'utf8'))).toEqual(state);
    // A second instance (a restart) reads the same.
    expect(stateFile().read()).toEqual(state);
  });

  it('replaces the previous snapshot on each write', () => {
    const f = stateFile();
    f.write({ n: 1 });
    f.write({ n: 2 });
    expect(f.read()).toEqual({ n: 2 });
    expect(readdirSync(dir)).toEqual(['vigil-state.json']);
  });

  it('sets aside a temporary file left by a crash mid-write (warned), keeping the last snapshot intact', () => {
    const lines: Array<Record<string, unknown>> = [];
    const capture = pino(
      { level: 'info' },
      { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) },
    );
    const f = new StateFile(dir, capture, () => T0);
    f.write({ n: 1 });
    writeFileSync(`${f.path}.tmp`, '{"n": 2, "trunc');
    expect(f.read()).toEqual({ n: 1 });
    expect(readdirSync(dir).sort()).toEqual(['vigil-state.json', `vigil-state.json.tmp.corrupt-${T0}`]);
    expect(readFileSync(join(dir, `vigil-state.json.tmp.corrupt-${T0}`), 'utf8')).toBe('{"n": 2, "trunc');
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        msg: 'unfinished state snapshot set aside',
        path: `${f.path}.tmp`,
        movedTo: `${f.path}.tmp.corrupt-${T0}`,
      }),
    ]);
    f.write({ n: 3 });
    expect(f.read()).toEqual({ n: 3 });
    expect(lines).toHaveLength(1); // a write leaves no temporary file behind
  });

  it('sets aside a temporary file even when there is no snapshot yet', () => {
    const f = stateFile();
    writeFileSync(`${f.path}.tmp`, '');
    expect(f.read()).toBeUndefined();
    expect(readdirSync(dir)).toEqual([`vigil-state.json.tmp.corrupt-${T0}`]);
  });

  it('sets aside valid JSON that the check refuses, with the check’s reason', () => {
    const lines: Array<Record<string, unknown>> = [];
    const capture = pino(
      { level: 'info' },
      { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) },
    );
    const f = new StateFile(dir, capture, () => T0);
    f.write({ version: 2 });
    const check = (s: Record<string, unknown>) => (s['version'] === 1 ? undefined : 'not version 1');
    expect(f.read(check)).toBeUndefined();
    expect(readdirSync(dir)).toEqual([`vigil-state.json.corrupt-${T0}`]);
    expect(lines[0]).toMatchObject({
      level: 50,
      msg: 'corrupt state snapshot set aside',
      reason: 'not version 1',
    });
    f.write({ version: 1 });
    expect(f.read(check)).toEqual({ version: 1 });
  });

  it(`keeps only the newest ${KEEP_SET_ASIDE} files it set aside, of both kinds, and nobody else's`, () => {
    // Regression: every crash left one more file, for ever; a pod OOM-killed in a loop fills its
    // size-limited emptyDir with them.
    const lines: Array<Record<string, unknown>> = [];
    const capture = pino(
      { level: 'info' },
      { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) },
    );
    let now = T0;
    const others = ['otlp-queue.json.corrupt-1', 'vigil-state.json.bak', 'vigil-state.json.corrupt-x'];
    for (const o of others) writeFileSync(join(dir, o), 'not mine');
    for (let crash = 0; crash < 6; crash++) {
      now += 1000;
      const f = new StateFile(dir, capture, () => now); // a restart
      writeFileSync(crash % 2 === 0 ? `${f.path}.tmp` : f.path, `crash ${crash}`);
      expect(f.read()).toBeUndefined();
    }
    expect(readdirSync(dir).sort()).toEqual(
      [
        ...others,
        `vigil-state.json.corrupt-${T0 + 4000}`,
        `vigil-state.json.tmp.corrupt-${T0 + 5000}`,
        `vigil-state.json.corrupt-${T0 + 6000}`,
      ].sort(),
    );
    expect(readFileSync(join(dir, `vigil-state.json.corrupt-${T0 + 6000}`), 'utf8')).toBe('crash 5');
    expect(lines.filter((l) => l['msg'] === 'old set-aside state snapshots removed')).toHaveLength(3);
    expect(lines.at(-1)).toMatchObject({
      level: 30,
      msg: 'old set-aside state snapshots removed',
      removed: [`vigil-state.json.tmp.corrupt-${T0 + 3000}`],
      kept: KEEP_SET_ASIDE,
    });
  });

  it('setAside moves a snapshot that parsed but could not be restored', () => {
    const f = stateFile();
    f.write({ version: 1 });
    f.setAside('cannot restore rules');
    expect(readdirSync(dir)).toEqual([`vigil-state.json.corrupt-${T0}`]);
    f.setAside('again'); // nothing left to move: logged, not thrown
    expect(f.read()).toBeUndefined();
  });

  it.each([
    ['truncated JSON', '{"version": 1, "trends": {'],
    ['an empty file', ''],
    ['a JSON array', '[1, 2]'],
    ['JSON null', 'null'],
    ['a JSON string', '"state"'],
    ['garbage bytes', '\u0000\u00ff\ufffd\u0001PK\u0003\u0004'],
  ])('sets aside %s as *.corrupt-<time> and returns undefined', (_what, text) => {
    const f = stateFile();
    writeFileSync(f.path, text);
    expect(f.read()).toBeUndefined();
    expect(readdirSync(dir)).toEqual([`vigil-state.json.corrupt-${T0}`]);
    expect(readFileSync(join(dir, `vigil-state.json.corrupt-${T0}`), 'utf8')).toBe(text);
    // Next start: nothing to restore, and writing works again.
    expect(f.read()).toBeUndefined();
    f.write({ ok: true });
    expect(f.read()).toEqual({ ok: true });
  });

  it('logs a corrupt snapshot as an error naming where it went', () => {
    const lines: Array<Record<string, unknown>> = [];
    const capture = pino(
      { level: 'info' },
      { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) },
    );
    const f = new StateFile(dir, capture, () => T0);
    writeFileSync(f.path, 'not json');
    expect(f.read()).toBeUndefined();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 50,
      msg: 'corrupt state snapshot set aside',
      path: f.path,
      movedTo: `${f.path}.corrupt-${T0}`,
    });
  });

  it('returns undefined without setting anything aside when the snapshot cannot be read', () => {
    const f = stateFile();
    mkdirSync(f.path); // EISDIR: unreadable, but not corrupt
    expect(f.read()).toBeUndefined();
    expect(readdirSync(dir)).toEqual(['vigil-state.json']);
  });
});
