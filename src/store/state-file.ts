import { mkdirSync, readFileSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';

/**
 * The snapshot under `state.dir` (SPEC §9): one JSON file written atomically (temp file, fsync,
 * rename), so a crash mid-write leaves the previous snapshot intact. A snapshot that cannot be
 * read is logged and set aside (renamed `*.corrupt-<time>`), never fatal.
 */
export class StateFile {
  readonly path: string;

  constructor(
    dir: string,
    private readonly log: Logger,
    private readonly clock: () => number,
    name = 'vigil-state.json',
  ) {
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, name);
  }

  read(): Record<string, unknown> | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.log.warn({ err, path: this.path }, 'cannot read state');
      return undefined;
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        throw new Error('not a JSON object');
      return parsed as Record<string, unknown>;
    } catch (err) {
      const aside = `${this.path}.corrupt-${this.clock()}`;
      this.log.error({ err, path: this.path, movedTo: aside }, 'corrupt state snapshot set aside');
      try {
        renameSync(this.path, aside);
      } catch {
        // Nothing more to do: the next write replaces it.
      }
      return undefined;
    }
  }

  write(state: Record<string, unknown>): void {
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(state));
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
  }
}
