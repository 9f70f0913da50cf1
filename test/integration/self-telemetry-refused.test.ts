import { describe, expect, it } from 'vitest';
import { find, parseExposition } from '../helpers/prometheus-text.js';
import { startVigil, testConfig } from '../helpers/vigil-process.js';

/** Refused ingest (load shedding) is counted in vigil's own telemetry, per transport. */

describe('vigil_receiver_refused_requests_total', () => {
  it('counts requests refused over limits.memory_soft_mib, per transport', async () => {
    // 1 MiB is below any Node process's RSS: every ingest request is shed.
    const vigil = await startVigil(testConfig('limits:\n  memory_soft_mib: 1\n'));
    try {
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`${vigil.ingest}/api/v1/push`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ resource: { 'service.name': 'a' }, metrics: [] }),
        });
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toBe('5');
      }
      const otlp = await fetch(`${vigil.ingest}/v1/metrics`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(otlp.status).toBe(503);
      const samples = parseExposition(await (await fetch(`${vigil.metrics}/metrics`)).text());
      expect(
        find(samples, 'vigil_receiver_refused_requests_total', { transport: 'json_push' })[0]?.value,
      ).toBe(2);
      expect(
        find(samples, 'vigil_receiver_refused_requests_total', { transport: 'otlp_json' })[0]?.value,
      ).toBe(1);
      expect(find(samples, 'vigil_receiver_accepted_points_total')).toEqual([]);
    } finally {
      expect(await vigil.stop()).toBe(0);
    }
  });
});
