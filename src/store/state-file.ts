import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';

/**
 * Says what is wrong with a parsed snapshot (undefined: nothing). Lets the owner of a file set
 * aside valid JSON of the wrong shape as {@link StateFile.read} sets aside broken JSON.
 */
export type SnapshotCheck = (snapshot: Record<string, unknown>) => string | undefined;

/**
 * The snapshot under `state.dir` (SPEC §9): one JSON file written atomically (temp file, fsync,
 * rename, fsync of the directory), so a crash mid-write leaves the previous snapshot intact. A
 * snapshot that cannot be used is logged and set aside (renamed `*.corrupt-<time>`), never fatal:
 * kept for a post-mortem, and out of the way so that the next start does not trip over it again.
 * Only the newest {@link KEEP_SET_ASIDE} are kept: a pod that is OOM-killed in a loop leaves one
 * per crash, and `state.dir` is typically a size-limited emptyDir that they would fill.
 */
export const KEEP_SET_ASIDE = 3;

export class StateFile {
  readonly path: string;
  private readonly tmpPath: string;

  constructor(
    dir: string,
    private readonly log: Logger,
    private readonly clock: () => number,
    name = 'vigil-state.json',
  ) {
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, name);
    this.tmpPath = `${this.path}.tmp`;
  }

  /** The last snapshot, or undefined when there is none or it was set aside (see `check`). */
  read(check?: SnapshotCheck): Record<string, unknown> | undefined {
    this.setAsideUnfinishedWrite();
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.log.warn({ err, path: this.path }, 'cannot read state');
      return undefined;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      this.setAside((err as Error).message);
      return undefined;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      this.setAside('not a JSON object');
      return undefined;
    }
    const problem = check?.(parsed as Record<string, unknown>);
    if (problem !== undefined) {
      this.setAside(problem);
      return undefined;
    }
    return parsed as Record<string, unknown>;
  }

  /**
   * Rename the snapshot to `<path>.corrupt-<time>` and log it as an error naming both files.
   * For a snapshot that parsed but could not be restored, too: otherwise the next periodic write
   * would replace it and the evidence would be gone.
   */
  setAside(reason: string): void {
    const movedTo = `${this.path}.corrupt-${this.clock()}`;
    this.log.error({ path: this.path, movedTo, reason }, 'corrupt state snapshot set aside');
    try {
      renameSync(this.path, movedTo);
    } catch {
      // Nothing more to do: the next write replaces it.
    }
    this.pruneSetAside();
  }

  write(state: Record<string, unknown>): void {
    const fd = openSync(this.tmpPath, 'w');
    try {
      writeFileSync(fd, JSON.stringify(state));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(this.tmpPath, this.path);
    // The rename is only durable once the directory entry is on disk: without this a power cut
    // (not a mere kill -9, which the page cache survives) can bring back the previous snapshot.
    syncDirectory(dirname(this.path));
  }

  /**
   * A temp file at start is a write that a crash (kill -9, OOM kill) cut short somewhere between
   * open and rename: the snapshot itself is intact, but whether the temp file is complete cannot
   * be told. It is never read; it is set aside (warned about, not an error: the previous
   * snapshot is there) so that a crash shows in the logs and the directory holds no stray file.
   */
  private setAsideUnfinishedWrite(): void {
    if (!existsSync(this.tmpPath)) return;
    const movedTo = `${this.tmpPath}.corrupt-${this.clock()}`;
    try {
      renameSync(this.tmpPath, movedTo);
      this.log.warn({ path: this.tmpPath, movedTo }, 'unfinished state snapshot set aside');
    } catch (err) {
      this.log.warn({ err, path: this.tmpPath }, 'cannot set aside an unfinished state snapshot');
    }
    this.pruneSetAside();
  }

  /** Remove all but the newest {@link KEEP_SET_ASIDE} files this snapshot had set aside (both kinds). */
  private pruneSetAside(): void {
    const dir = dirname(this.path);
    const name = basename(this.path);
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    const setAside = entries
      .map((file) => ({ file, ms: setAsideTimeMs(file, name) }))
      .filter((e): e is { file: string; ms: number } => e.ms !== undefined)
      .sort((a, b) => b.ms - a.ms || (a.file < b.file ? -1 : 1));
    const removed: string[] = [];
    for (const { file } of setAside.slice(KEEP_SET_ASIDE)) {
      try {
        rmSync(join(dir, file), { force: true });
        removed.push(file);
      } catch (err) {
        this.log.warn({ err, path: join(dir, file) }, 'cannot remove an old set-aside state snapshot');
      }
    }
    if (removed.length > 0)
      this.log.info({ dir, removed, kept: KEEP_SET_ASIDE }, 'old set-aside state snapshots removed');
  }
}

/** `<name>.corrupt-<ms>` or `<name>.tmp.corrupt-<ms>`: its time; undefined for any other file. */
function setAsideTimeMs(file: string, name: string): number | undefined {
  const m = /^\.(?:tmp\.)?corrupt-(\d+)$/.exec(file.startsWith(name) ? file.slice(name.length) : '');
  return m === null ? undefined : Number(m[1]);
}

function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some platforms and file systems cannot open or fsync a directory; the rename stands.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
