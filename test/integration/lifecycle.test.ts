import { describe, expect, it } from 'vitest';
import { eventually, startVigil } from '../helpers/vigil-process.js';

describe('process lifecycle', () => {
  it('logs its chosen ports, is live and ready, and exits 0 on SIGTERM', async () => {
    const vigil = await startVigil();
    const listening = vigil.logs.filter((l) => l['msg'] === 'listening').map((l) => l['listener']);
    expect(listening.sort()).toEqual(['api', 'ingest', 'metrics']);
    expect((await fetch(`${vigil.api}/livez`)).status).toBe(200);
    await eventually(async () => (await fetch(`${vigil.api}/readyz`)).status === 200);
    const started = Date.now();
    expect(await vigil.stop('SIGTERM')).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(vigil.logs.some((l) => l['msg'] === 'stopped')).toBe(true);
  });

  it('exits 0 on SIGINT too', async () => {
    const vigil = await startVigil();
    expect(await vigil.stop('SIGINT')).toBe(0);
  });

  it('writes structured JSON log lines with a level', async () => {
    const vigil = await startVigil();
    await vigil.stop();
    expect(vigil.logs.length).toBeGreaterThan(3);
    for (const l of vigil.logs) {
      expect(typeof l['level']).toBe('number');
      expect(typeof l['time']).toBe('string');
    }
  });
});
