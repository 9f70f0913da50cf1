import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import {
  DockerfileParser,
  type Copy,
  type Dockerfile,
  type Env,
  type Instruction,
  type JSONInstruction,
  type Run,
} from 'dockerfile-ast';

/**
 * The Dockerfile's steps run outside Docker, as the build would run them: each stage gets a
 * folder as its root filesystem; WORKDIR, ENV, COPY (from the context, filtered by
 * .dockerignore, or `--from` an earlier stage), RUN (with `sh -c`, absolute paths mapped into
 * the stage's root, `--mount=type=cache` as the host's cache), USER, EXPOSE, ENTRYPOINT and CMD
 * are interpreted from the file itself, so the test exercises what the Dockerfile says rather
 * than a copy of it. Any other instruction fails the build: a new kind of step needs support here.
 */

export interface Stage {
  readonly name: string | undefined;
  /** The stage's root filesystem on the host. */
  readonly root: string;
  workdir: string;
  readonly env: Record<string, string>;
  user: string | undefined;
  expose: string[];
  entrypoint: string[] | undefined;
  cmd: string[] | undefined;
}

export interface BuildOptions {
  /** Dockerfile text. */
  dockerfile: string;
  /** The build context (the repository). */
  context: string;
  /** An empty folder that receives one folder per stage. */
  workDir: string;
  /** Host folders standing in for cache mounts, by mount target (e.g. `/root/.npm`). */
  cacheMounts: Record<string, string>;
  /** Extra environment for RUN steps (e.g. npm_config_prefer_offline). */
  runEnv?: Record<string, string>;
  /** Called with each step as it runs. */
  onStep?: (line: string) => void;
}

export function parseDockerfile(text: string): Dockerfile {
  return DockerfileParser.parse(text);
}

/** Docker's .dockerignore semantics: glob patterns, `!` exceptions, the last match wins. */
export function dockerignoreMatcher(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = posix.normalize((negate ? l.slice(1) : l).replace(/^\/+/, '')).replace(/\/+$/, '');
      const re = pattern
        .split('/')
        .map((part) =>
          part === '**'
            ? '.*'
            : part
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/');
      // A pattern matching a folder also excludes (or re-includes) everything below it.
      return { negate, re: new RegExp(`^${re}(/.*)?$`) };
    });
  return (path) => {
    let excluded = false;
    for (const r of rules) if (r.re.test(path)) excluded = !r.negate;
    return excluded;
  };
}

/** Files of `dir` (relative paths, posix) that the context holds after .dockerignore. */
export function contextFiles(context: string): string[] {
  const ignorePath = join(context, '.dockerignore');
  const ignored = existsSync(ignorePath)
    ? dockerignoreMatcher(readFileSync(ignorePath, 'utf8'))
    : () => false;
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(join(context, rel), { withFileTypes: true })) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (entry.name === '.git' || entry.name === 'node_modules') {
          if (!ignored(path)) out.push(`${path}/`); // must be ignored; reported, not walked
          continue;
        }
        walk(path);
      } else if (!ignored(path)) out.push(path);
    }
  };
  walk('');
  return out;
}

const args = (i: Instruction): string[] => i.getArguments().map((a) => a.getValue());

/** Runs the Dockerfile's stages; returns them, the last one being the image. */
export function buildOutsideDocker(opts: BuildOptions): Stage[] {
  const df = parseDockerfile(opts.dockerfile);
  const allowed = new Set(contextFiles(opts.context));
  const stages: Stage[] = [];
  let stage: Stage | undefined;
  const log = (s: string): void => opts.onStep?.(s);
  const inRoot = (st: Stage, p: string): string => join(st.root, posix.resolve(st.workdir, p));

  for (const ins of df.getInstructions()) {
    const keyword = ins.getKeyword();
    log(`${keyword} ${ins.getRawArgumentsContent() ?? ''}`);
    if (keyword === 'FROM') {
      const a = args(ins);
      const name = a[1]?.toUpperCase() === 'AS' ? a[2] : undefined;
      const root = join(opts.workDir, `stage-${stages.length}${name !== undefined ? `-${name}` : ''}`);
      mkdirSync(root, { recursive: true });
      stage = {
        name,
        root,
        workdir: '/',
        env: {},
        user: undefined,
        expose: [],
        entrypoint: undefined,
        cmd: undefined,
      };
      stages.push(stage);
      continue;
    }
    if (stage === undefined) throw new Error(`${keyword} before FROM`);
    switch (keyword) {
      case 'WORKDIR': {
        stage.workdir = posix.resolve(stage.workdir, args(ins)[0]!);
        mkdirSync(join(stage.root, stage.workdir), { recursive: true });
        break;
      }
      case 'ENV': {
        for (const p of (ins as Env).getProperties()) stage.env[p.getName()] = p.getValue() ?? '';
        break;
      }
      case 'COPY': {
        const copy = ins as Copy;
        const flags = Object.fromEntries(copy.getFlags().map((f) => [f.getName(), f.getValue() ?? '']));
        const unknown = Object.keys(flags).filter((f) => f !== 'from' && f !== 'chown' && f !== 'chmod');
        if (unknown.length > 0) throw new Error(`COPY flags not supported here: ${unknown.join(', ')}`);
        const a = args(copy);
        const dest = a[a.length - 1]!;
        const sources = a.slice(0, -1);
        const destIsDir = dest.endsWith('/') || sources.length > 1;
        for (const src of sources) {
          let from: string;
          if (flags['from'] !== undefined) {
            const other = stages.find((s) => s.name === flags['from']);
            if (other === undefined) throw new Error(`COPY --from=${flags['from']}: no such stage`);
            from = join(other.root, posix.resolve(other.workdir, src));
          } else {
            const rel = posix.normalize(src).replace(/\/+$/, '');
            const inContext = [...allowed].some((f) => f === rel || f.startsWith(`${rel}/`));
            if (!inContext) throw new Error(`COPY ${src}: not in the build context (see .dockerignore)`);
            from = join(opts.context, rel);
          }
          const isDir = statSync(from).isDirectory();
          const target = inRoot(stage, dest);
          const to = isDir ? target : destIsDir ? join(target, posix.basename(src)) : target;
          mkdirSync(isDir ? to : dirname(to), { recursive: true });
          cpSync(from, to, {
            recursive: true,
            // Context folders are filtered by .dockerignore as Docker sends them.
            filter: (p) =>
              flags['from'] !== undefined ||
              statSync(p).isDirectory() ||
              allowed.has(relative(opts.context, p).split('\\').join('/')),
          });
        }
        break;
      }
      case 'RUN': {
        const run = ins as Run;
        // A clean environment as in a build container (no npm_* or NODE_ENV from the test runner).
        const env: Record<string, string> = {
          PATH: process.env['PATH'] ?? '/usr/bin:/bin',
          HOME: process.env['HOME'] ?? '/root',
          ...opts.runEnv,
          ...stage.env,
        };
        for (const flag of run.getFlags()) {
          if (flag.getName() !== 'mount') throw new Error(`RUN --${flag.getName()} not supported here`);
          const o = Object.fromEntries(flag.getOptions().map((x) => [x.getName(), x.getValue() ?? '']));
          const host = o['target'] !== undefined ? opts.cacheMounts[o['target']] : undefined;
          if (o['type'] !== 'cache' || host === undefined)
            throw new Error(`RUN --mount=${flag.getValue() ?? ''}: only known cache mounts are supported`);
          if (o['target'] === '/root/.npm') env['npm_config_cache'] = host;
        }
        // Absolute paths in the command name places in the stage's root filesystem.
        let command = (run.getArgumentsContent() ?? '').replace(
          /(^|[\s=])(\/[A-Za-z0-9._/-]*)/g,
          (_m, pre: string, p: string) => `${pre}${join(stage!.root, p)}`,
        );
        // Without root, chown to the image's user cannot run; the ownership is checked as root (CI).
        if (process.getuid?.() !== 0) command = `chown() { :; }; ${command}`;
        const r = spawnSync('sh', ['-c', command], {
          cwd: join(stage.root, stage.workdir),
          env,
          encoding: 'utf8',
          maxBuffer: 64 * 1024 * 1024,
        });
        if (r.status !== 0)
          throw new Error(
            `RUN ${run.getArgumentsContent() ?? ''} exited ${r.status}:\n${r.stdout}\n${r.stderr}`,
          );
        break;
      }
      case 'USER':
        stage.user = args(ins)[0];
        break;
      case 'EXPOSE':
        stage.expose.push(...args(ins));
        break;
      case 'ENTRYPOINT':
        stage.entrypoint = (ins as JSONInstruction).getJSONStrings().map((s) => s.getJSONValue());
        break;
      case 'CMD':
        stage.cmd = (ins as JSONInstruction).getJSONStrings().map((s) => s.getJSONValue());
        break;
      default:
        throw new Error(`instruction ${keyword} is not supported by this test's builder`);
    }
  }
  if (stages.length === 0) throw new Error('no FROM');
  return stages;
}

/** Every file and folder under `root` with its size and mtime: to prove nothing was written. */
export function treeSnapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      const st = statSync(p, { throwIfNoEntry: false });
      if (st === undefined) continue;
      out.set(relative(root, p), `${st.size}:${st.mtimeMs}`);
      if (entry.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}

/** `npm config get cache`: the host's npm cache, standing in for the build's cache mount. */
export function hostNpmCache(): string {
  return execFileSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8' }).trim();
}
