import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopDelaySeconds } from '../../src/export/self-telemetry.js';
import { startVigil, type VigilProcess } from '../helpers/vigil-process.js';

// Bug: vigil_process_event_loop_delay_seconds read ~0.05 on an idle vigil, because Node's
// event-loop histogram records the time between its 50 ms timer ticks, not the delay beyond them.

describe('event-loop delay', () => {
  it('is what exceeds the 50 ms sampling interval, never negative', () => {
    expect(loopDelaySeconds(50_200_000)).toBeCloseTo(0.0002, 6);
    expect(loopDelaySeconds(49_000_000)).toBe(0);
    expect(loopDelaySeconds(170_000_000)).toBeCloseTo(0.12, 6);
  });

  let vigil: VigilProcess;
  beforeAll(async () => {
    vigil = await startVigil();
  });
  afterAll(async () => {
    await vigil.stop();
  });

  it('reads near zero on an idle vigil', async () => {
    await new Promise((r) => setTimeout(r, 1500));
    const text = await (await fetch(`${vigil.metrics}/metrics`)).text();
    const p50 = /^vigil_process_event_loop_delay_seconds\{[^}]*stat="p50"[^}]*\} (\S+)$/m.exec(text);
    expect(p50).not.toBeNull();
    expect(Number(p50![1])).toBeLessThan(0.02);
  });
});
