import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Copy, Instruction, JSONInstruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  buildOutsideDocker,
  contextFiles,
  hostNpmCache,
  parseDockerfile,
  treeSnapshot,
  type Stage,
} from '../helpers/dockerfile-build.js';
import { eventually, REPO, tempDir } from '../helpers/vigil-process.js';

/**
 * The production image (SPEC §11). There is no Docker engine here and hadolint is in neither
 * Debian nor npm, so: the file passes dockerfile-utils (the Docker language server's linter),
 * the hadolint rules that apply are checked on its syntax tree, and its steps run outside Docker
 * in a clean folder — then the result serves with a read-only tree, as the image's user.
 */

const DOCKERFILE = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
const df = parseDockerfile(DOCKERFILE);
const instructions = df.getInstructions();
const args = (i: Instruction): string[] => i.getArguments().map((a) => a.getValue());

/** Instructions per stage (a stage starts at its FROM). */
function stages(): Instruction[][] {
  const out: Instruction[][] = [];
  for (const i of instructions) {
    if (i.getKeyword() === 'FROM') out.push([]);
    out[out.length - 1]?.push(i);
  }
  return out;
}

describe('Dockerfile lint', () => {
  it('has no problem dockerfile-utils can see, which does flag a broken file', () => {
    expect(validate(DOCKERFILE)).toEqual([]);
    const broken = validate('FROM node:24-trixie-slim\nEXPOSE http\nWORKDIR\nCMD ["a", "b"\nFOO bar\n');
    expect(broken.length).toBeGreaterThanOrEqual(3);
  });

  it('follows the hadolint rules that apply to it', () => {
    const aliases: string[] = [];
    for (const [n, stage] of stages().entries()) {
      const from = stage[0]!;
      const [image, as, alias] = args(from);
      // DL3006, DL3007: a tagged base image, never `latest`.
      expect(image, 'DL3006').toMatch(/^[^:@]+:[^:]+$/);
      expect(image!.endsWith(':latest'), 'DL3007').toBe(false);
      if (as !== undefined) {
        // DL3024: unique stage aliases.
        expect(aliases, 'DL3024').not.toContain(alias);
        aliases.push(alias!);
      }
      let workdir = false;
      for (const i of stage.slice(1)) {
        const k = i.getKeyword();
        // DL3020: COPY, not ADD.
        expect(k, 'DL3020').not.toBe('ADD');
        if (k === 'WORKDIR') {
          // DL3000: absolute WORKDIR.
          expect(args(i)[0], 'DL3000').toMatch(/^\//);
          workdir = true;
        }
        if (k === 'COPY') {
          const a = args(i);
          const dest = a[a.length - 1]!;
          // DL3021: several sources need a folder destination.
          if (a.length > 2) expect(dest, 'DL3021').toMatch(/\/$/);
          // DL3045: a relative destination needs a WORKDIR.
          if (!dest.startsWith('/')) expect(workdir, 'DL3045').toBe(true);
          // DL3022: --from names an earlier stage.
          const from = (i as Copy).getFromFlag()?.getValue();
          if (from != null) expect(aliases, 'DL3022').toContain(from);
        }
        if (k === 'RUN') {
          const cmd = i.getArgumentsContent() ?? '';
          expect(cmd, 'DL4006: pipes need pipefail').not.toMatch(/\|/);
          expect(cmd, 'DL3003: use WORKDIR, not cd').not.toMatch(/(^|[;&|]\s*)cd\s/);
          expect(cmd, 'DL3004: no sudo').not.toMatch(/\bsudo\b/);
          expect(cmd, 'DL3016: npm ci from the lockfile, not npm install').not.toMatch(
            /\bnpm\s+(i|install)\b/,
          );
          expect(cmd, 'DL3008/DL3009: no apt-get').not.toMatch(/\bapt(-get)?\b/);
        }
      }
      // DL4003, DL4004: one CMD and one ENTRYPOINT at most.
      expect(stage.filter((i) => i.getKeyword() === 'CMD').length, `DL4003 stage ${n}`).toBeLessThanOrEqual(
        1,
      );
      expect(stage.filter((i) => i.getKeyword() === 'ENTRYPOINT').length, 'DL4004').toBeLessThanOrEqual(1);
    }
    for (const i of instructions.filter((x) => x.getKeyword() === 'CMD' || x.getKeyword() === 'ENTRYPOINT')) {
      // DL3025: JSON form, so signals reach node (PID 1) rather than a shell.
      expect((i as JSONInstruction).getJSONStrings().length, 'DL3025').toBeGreaterThan(0);
    }
    // DL3002: the last USER is not root.
    const users = instructions.filter((i) => i.getKeyword() === 'USER');
    expect(users.length).toBeGreaterThan(0);
    expect(args(users[users.length - 1]!)[0], 'DL3002').not.toMatch(/^(root|0)(:|$)/);
  });
});

describe('Dockerfile content', () => {
  it('is the image the SPEC asks for: multi-stage, production deps, non-root, no HEALTHCHECK', () => {
    const all = stages();
    expect(all.length).toBeGreaterThanOrEqual(2);
    const runtime = all[all.length - 1]!;
    const keyword = (k: string) => runtime.filter((i) => i.getKeyword() === k);
    // A maintained LTS line: an even major of at least 22.
    const base = args(runtime[0]!)[0]!;
    const major = Number(/^node:(\d+)/.exec(base)?.[1]);
    expect(major % 2).toBe(0);
    expect(major).toBeGreaterThanOrEqual(22);
    expect(keyword('RUN').map((i) => i.getArgumentsContent())).toContainEqual(
      expect.stringMatching(/^npm ci --omit=dev\b/),
    );
    expect(instructions.filter((i) => i.getKeyword() === 'HEALTHCHECK')).toEqual([]);
    expect(args(keyword('USER')[0]!)[0]).toBe('1000:1000'); // numeric: runAsNonRoot can verify it
    expect(keyword('EXPOSE').flatMap(args).sort()).toEqual(['4318', '8080', '9464']);
    const json = (k: string) =>
      (keyword(k)[0] as JSONInstruction).getJSONStrings().map((s) => s.getJSONValue());
    expect(json('ENTRYPOINT')).toEqual(['node', 'dist/cli.js']);
    expect(json('CMD')).toEqual(['serve', '--config', '/etc/vigil/config.yaml']);
  });

  it('.dockerignore keeps the build context to the files the build reads', () => {
    const files = contextFiles(REPO);
    expect(files).toContain('package.json');
    expect(files).toContain('package-lock.json');
    expect(files).toContain('config.yaml');
    expect(files).toContain('src/main.ts');
    expect(files).toContain('web/dashboard/index.html');
    for (const f of files)
      expect(f).toMatch(/^(package\.json|package-lock\.json|tsconfig\.json|config\.yaml|src\/|web\/)/);
  });
});

describe('Dockerfile steps outside Docker', () => {
  const work = tempDir('vigil-image-');
  chmodSync(work, 0o755); // the image's user (uid 1000) must reach the tree
  const asRoot = process.getuid?.() === 0;
  afterAll(() => {
    setWritable(work);
    rmSync(work, { recursive: true, force: true });
  });

  it('build in a clean folder, then serve /readyz from a read-only tree as the image user', async () => {
    const steps: string[] = [];
    const built = buildOutsideDocker({
      dockerfile: DOCKERFILE,
      context: REPO,
      workDir: work,
      cacheMounts: { '/root/.npm': hostNpmCache() },
      runEnv: { npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' },
      onStep: (s) => steps.push(s),
    });
    const image: Stage = built[built.length - 1]!;
    const app = join(image.root, image.workdir);

    // Only what runs: compiled code, the dashboard's files, production dependencies, the default config.
    expect(existsSync(join(app, 'dist/cli.js'))).toBe(true);
    expect(existsSync(join(app, 'web/dashboard/index.html'))).toBe(true);
    expect(existsSync(join(app, 'src'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/express'))).toBe(true);
    expect(existsSync(join(app, 'node_modules/@opentelemetry/exporter-metrics-otlp-proto'))).toBe(true);
    for (const dev of ['typescript', 'vitest', 'eslint', 'kubernetes-models'])
      expect(existsSync(join(app, 'node_modules', dev)), dev).toBe(false);
    expect(readFileSync(join(image.root, 'etc/vigil/config.yaml'), 'utf8')).toBe(
      readFileSync(join(REPO, 'config.yaml'), 'utf8'),
    );
    const stateDir = join(image.root, 'var/lib/vigil');
    if (asRoot) expect(statSync(stateDir).uid).toBe(1000);

    // The pod's view: the config from a (read-only) ConfigMap mount, state in its emptyDir.
    const configDir = join(work, 'configmap');
    mkdirSync(configDir);
    const config = parse(readFileSync(join(image.root, 'etc/vigil/config.yaml'), 'utf8')) as Record<
      string,
      unknown
    >;
    config['listeners'] = { ingest: '127.0.0.1:0', api: '127.0.0.1:0', metrics: '127.0.0.1:0' };
    config['state'] = { dir: stateDir, snapshot_interval: '30s' };
    writeFileSync(join(configDir, 'config.yaml'), stringify(config));
    chmodSync(join(configDir, 'config.yaml'), 0o444);
    setReadOnly(image.root, stateDir);

    const [entry, ...entryArgs] = image.entrypoint!;
    expect(entry).toBe('node');
    const cmd = image.cmd!.map((a) => (a === '/etc/vigil/config.yaml' ? join(configDir, 'config.yaml') : a));
    const [uid, gid] = (image.user ?? '').split(':').map(Number);
    // The setup is effective: the image's user can write the state dir and nothing else.
    const probe = (dir: string) =>
      spawnSync(
        process.execPath,
        ['-e', `require('fs').writeFileSync(${JSON.stringify(join(dir, 'probe'))}, '')`],
        {
          ...(asRoot ? { uid: uid!, gid: gid! } : {}),
        },
      ).status;
    expect(probe(app)).not.toBe(0);
    expect(probe(join(image.root, 'etc/vigil'))).not.toBe(0);
    expect(probe(stateDir)).toBe(0);
    rmSync(join(stateDir, 'probe'));
    const before = treeSnapshot(image.root);
    const proc = spawn(process.execPath, [...entryArgs, ...cmd], {
      cwd: app,
      env: { PATH: process.env['PATH'], HOME: '/nonexistent', POD_NAME: 'vigil-image-test', ...image.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(asRoot ? { uid: uid!, gid: gid! } : {}),
    });
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    const ports: Record<string, number> = {};
    const lines: string[] = [];
    createInterface({ input: proc.stderr }).on('line', (l) => lines.push(l));
    createInterface({ input: proc.stdout }).on('line', (l) => {
      lines.push(l);
      try {
        const rec = JSON.parse(l) as Record<string, unknown>;
        if (rec['msg'] === 'listening') ports[String(rec['listener'])] = Number(rec['port']);
      } catch {
        // not a log line
      }
    });
    try {
      await eventually(async () => Object.keys(ports).length === 3, 20_000);
      const api = `http://127.0.0.1:${ports['api']}`;
      expect((await fetch(`${api}/livez`)).status).toBe(200);
      const page = await fetch(`${api}/`);
      expect(page.status).toBe(200);
      const assets = /src="(assets\/[0-9a-f]+\/app\.js)"/.exec(await page.text())?.[1];
      expect((await fetch(`${api}/${assets}`)).status).toBe(200);
      await eventually(async () => (await fetch(`${api}/readyz`)).status === 200, 10_000);
      const push = await fetch(`http://127.0.0.1:${ports['ingest']}/api/v1/push`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          resource: { 'service.name': 'image-test' },
          metrics: [{ name: 'stream.events', type: 'counter', value: 5 }],
        }),
      });
      expect(push.status).toBe(200);
      const metrics = await eventually(async () => {
        const text = await (await fetch(`http://127.0.0.1:${ports['metrics']}/metrics`)).text();
        return text.includes('stream_events_total{job="image-test"') ? text : undefined;
      });
      expect(metrics).toContain('vigil_rule_state');
    } finally {
      proc.kill('SIGTERM');
    }
    expect(await exited, lines.join('\n')).toBe(0);
    expect(lines.join('\n')).not.toMatch(/EACCES|EROFS|cannot write state/);

    // The snapshot went to the state dir, and nothing else in the tree changed.
    expect(readdirSync(stateDir)).toContain('vigil-state.json');
    const after = treeSnapshot(image.root);
    const changed = [...new Set([...before.keys(), ...after.keys()])].filter(
      (p) => before.get(p) !== after.get(p) && !p.startsWith('var/lib/vigil'),
    );
    expect(changed).toEqual([]);
    expect(steps[0]).toMatch(/^FROM /);
  }, 600_000);
});

/** chmod a-w on everything under `root` except `keep` (the state volume). */
function setReadOnly(root: string, keep: string): void {
  const walk = (p: string): void => {
    if (p === keep) return;
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (st === undefined || st.isSymbolicLink()) return;
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    chmodSync(p, st.mode & ~0o222);
  };
  walk(root);
}

function setWritable(root: string): void {
  const walk = (p: string): void => {
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (st === undefined || st.isSymbolicLink()) return;
    chmodSync(p, st.mode | 0o200);
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
  };
  walk(root);
}
