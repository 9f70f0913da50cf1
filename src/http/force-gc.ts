import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * A function that runs a full garbage collection, for the memory guard (the collector's
 * memory_limiter calls runtime.GC() above its limits). `node --expose-gc` puts one on
 * `globalThis`; without the flag, the flag is set at run time and the function taken from a new
 * context, where V8 installs it — the way Jest gets it for `--logHeapUsage`. Setting the flag
 * late only affects contexts created afterwards, so the main context is left as it was.
 * Undefined when neither works (another runtime): the guard then only refuses.
 */
/**
 * V8's `gc` as `--expose-gc` gives it. `{ type: 'major', execution: 'async' }` runs a full GC from
 * a task V8 posts (not incremental marking: --trace-gc shows one stop-the-world mark-compact);
 * `{ type: 'minor' }` a scavenge.
 */
export type GcFunction = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void;

export function exposedGc(): GcFunction | undefined {
  const global = (globalThis as { gc?: unknown }).gc;
  if (typeof global === 'function') return global as GcFunction;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as GcFunction) : undefined;
  } catch {
    return undefined;
  }
}
