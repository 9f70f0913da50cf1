import { describe, expect, it } from 'vitest';
import { eventually, startVigil, testConfig } from '../helpers/vigil-process.js';

/**
 * The heap compaction after a burst of new series (README "Memory"): the real process asks V8 for
 * it once the store has grown by 10k series and held still, and steady pushes into the same
 * series never ask again.
 */

const MSG = 'heap compaction after a burst of new series';
const SETTLED = 'heap settled after idle';

function body(series: number, value: number): string {
  const lines = ['# TYPE burst_requests_total counter'];
  for (let i = 0; i < series; i++) lines.push(`burst_requests_total{route="/r/${i}",code="200"} ${value}`);
  return `${lines.join('\n')}\n`;
}

describe('heap compaction', () => {
  it('runs once after a burst of 12k new series, once ingest is idle, and not for pushes into them', async () => {
    const vigil = await startVigil(
      testConfig('limits:\n  max_series: 50000\n  max_series_per_metric: 50000\n'),
    );
    try {
      const put = async (value: number): Promise<void> => {
        const res = await fetch(`${vigil.ingest}/metrics/job/burst`, {
          method: 'PUT',
          body: body(12_000, value),
        });
        expect(res.status).toBe(200);
      };
      await put(1);
      const line = await eventually(async () => vigil.logs.find((l) => l['msg'] === MSG), 5000);
      expect(line['newSeries']).toBeGreaterThanOrEqual(12_000);
      for (let v = 2; v < 6; v++) await put(v);
      await new Promise((r) => setTimeout(r, 1500));
      expect(vigil.logs.filter((l) => l['msg'] === MSG)).toHaveLength(1);
      const text = await (await fetch(`${vigil.metrics}/metrics`)).text();
      expect(text).toContain('burst_requests_total{job="burst",code="200",route="/r/11999"} 5');
    } finally {
      await vigil.stop();
    }
  });

  it('settles the heap once ingest and scrapes are idle: V8 gives back what a push and a scrape grew', async () => {
    // The burst compaction off, so that what is measured is the settle alone.
    const config =
      'limits:\n  max_series: 50000\n  max_series_per_metric: 50000\n  compact_after_new_series: 0\n';
    const [vigil, off] = await Promise.all([
      startVigil(testConfig(config), { VIGIL_LOG_LEVEL: 'debug' }),
      startVigil(testConfig(`${config}  compact_after_heap_growth: 0\n`), { VIGIL_LOG_LEVEL: 'debug' }),
    ]);
    try {
      const heapBytes = async (v: typeof vigil): Promise<number> => {
        const text = await (await fetch(`${v.metrics}/metrics`)).text();
        const kind = (k: string): number =>
          Number(
            new RegExp(`^vigil_process_memory_usage_bytes\\{[^}]*kind="${k}"[^}]*\\} (\\S+)$`, 'm').exec(
              text,
            )![1],
          );
        return kind('heap_total') + kind('external');
      };
      for (const v of [vigil, off]) {
        const res = await fetch(`${v.ingest}/metrics/job/burst`, { method: 'PUT', body: body(30_000, 1) });
        expect(res.status).toBe(200);
      }
      const before = await heapBytes(vigil); // a scrape of 30k series: the activity last seen
      await heapBytes(off); // the same scrape, then the same wait, with the settle turned off
      const settled = await eventually(async () => vigil.logs.find((l) => l['msg'] === SETTLED), 15_000);
      expect(settled['growthBytes']).toBeGreaterThanOrEqual(8 * 1024 * 1024);
      // The major GC is incremental: it ends when V8 gets to it.
      const after = await eventually(
        async () => {
          const bytes = await heapBytes(vigil);
          return bytes < before - 4 * 1024 * 1024 && bytes;
        },
        5000,
        500,
      );
      expect(after).toBeLessThan(before);
      await new Promise((r) => setTimeout(r, 3000));
      expect(off.logs.filter((l) => l['msg'] === SETTLED)).toHaveLength(0);
      expect(vigil.logs.filter((l) => l['msg'] === SETTLED)).toHaveLength(1); // one per quiet spell
      // What the settle gave back, beside what V8 gave back on its own in the same time.
      expect(await heapBytes(vigil)).toBeLessThan((await heapBytes(off)) - 8 * 1024 * 1024);
    } finally {
      await Promise.all([vigil.stop(), off.stop()]);
    }
  }, 40_000);

  it('never runs with limits.compact_after_new_series: 0', async () => {
    const vigil = await startVigil(
      testConfig(
        'limits:\n  max_series: 50000\n  max_series_per_metric: 50000\n  compact_after_new_series: 0\n',
      ),
    );
    try {
      const res = await fetch(`${vigil.ingest}/metrics/job/burst`, { method: 'PUT', body: body(12_000, 1) });
      expect(res.status).toBe(200);
      await new Promise((r) => setTimeout(r, 2000));
      expect(vigil.logs.filter((l) => l['msg'] === MSG)).toHaveLength(0);
    } finally {
      await vigil.stop();
    }
  });
});
