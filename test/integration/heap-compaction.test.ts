import { describe, expect, it } from 'vitest';
import { eventually, startVigil, testConfig } from '../helpers/vigil-process.js';

/**
 * The heap compaction after a burst of new series (README "Memory"): the real process asks V8 for
 * it once the store has grown by 10k series and held still, and steady pushes into the same
 * series never ask again.
 */

const MSG = 'heap compaction after a burst of new series';

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
