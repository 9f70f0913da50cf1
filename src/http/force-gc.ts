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
export function exposedGc(): (() => void) | undefined {
  const global = (globalThis as { gc?: unknown }).gc;
  if (typeof global === 'function') return global as () => void;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}
