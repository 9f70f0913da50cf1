// For a goal that is missed: a CPU profile of the real vigil under the same load (node --cpu-prof,
// written when vigil exits), reduced to its top frames by self time, for bench/RESULTS.md.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Session } from 'node:inspector/promises';
import { basename, join } from 'node:path';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { startVigil } from './vigil-process.mjs';

/** Frames shown per profile. */
const TOP = 6;

/**
 * Starts vigil with `configYaml` under --cpu-prof, calls `drive(vigil)` (which loads it), stops it
 * and returns its top frames by self time, as "name (file:line) NN%", idle and GC apart.
 */
export async function profileVigil(configYaml, drive) {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-prof-'));
  try {
    const vigil = await startVigil(configYaml, { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir] });
    try {
      await drive(vigil);
    } finally {
      await vigil.stop();
    }
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) return ['(no profile written)'];
    return topFrames(JSON.parse(readFileSync(join(dir, file), 'utf8')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Top frames by self time of a V8 CPU profile, as shares of the non-idle samples. */
export function topFrames(profile, top = TOP) {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let busy = 0;
  for (const id of profile.samples) {
    const { callFrame } = byNode.get(id);
    if (callFrame.functionName === '(idle)' || callFrame.functionName === '(program)') continue;
    busy++;
    const where = callFrame.url ? ` (${basename(callFrame.url)}:${callFrame.lineNumber + 1})` : '';
    const key = `${callFrame.functionName || '(anonymous)'}${where}`;
    self.set(key, (self.get(key) ?? 0) + 1);
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([frame, n]) => `${frame} ${((n / busy) * 100).toFixed(0)}%`);
}

/** Runs `fn` (async) under the V8 CPU profiler of this process; its top frames by self time. */
export async function profileInProcess(fn) {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    await fn();
    const { profile } = await session.post('Profiler.stop');
    return topFrames(profile);
  } finally {
    session.disconnect();
  }
}

/**
 * For a memory miss: a heap snapshot of process `pid` (started with `--heapsnapshot-signal=SIGUSR2
 * --diagnostic-dir=<dir>`), written on SIGUSR2 and reduced to bytes by kind of object (self
 * size): "Series objects", "strings", "arrays (object elements)", ...
 */
export async function heapKinds(pid, dir) {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  let file;
  let size = -1;
  for (let i = 0; i < 600; i++) {
    await sleep(500);
    file ??= readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (file === undefined) continue;
    // Written in one go but not atomically: done when its size holds still.
    const now = statSync(join(dir, file)).size;
    if (now > 0 && now === size) break;
    size = now;
  }
  if (file === undefined) throw new Error('no heap snapshot written');
  const snap = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  rmSync(join(dir, file), { force: true });
  const { node_fields: fields, node_types: nodeTypes } = snap.snapshot.meta;
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const kinds = new Map();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = nodeTypes[0][snap.nodes[i + typeAt]];
    const name = snap.strings[snap.nodes[i + nameAt]];
    const kind = type.endsWith('string')
      ? 'strings'
      : type === 'object'
        ? `${name} objects`
        : type === 'array'
          ? `arrays ${name}`.trim()
          : type === 'number'
            ? 'heap numbers (double fields)'
            : type;
    kinds.set(kind, (kinds.get(kind) ?? 0) + snap.nodes[i + sizeAt]);
  }
  return kinds;
}

/** The kinds that grew most from `before` to `after`, per `per` (e.g. per series), as text. */
export function heapGrowth(before, after, per, top = TOP) {
  return [...after.entries()]
    .map(([kind, bytes]) => [kind, bytes - (before.get(kind) ?? 0)])
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([kind, bytes]) => `${kind} ${(bytes / per).toFixed(0)} B`);
}
