import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrometheus, type RealPrometheus } from '../helpers/real-prometheus.js';
import { eventually, startVigil, type VigilProcess } from '../helpers/vigil-process.js';

/** A real Prometheus scrapes vigil and answers a query for an ingested series. */

describe('real Prometheus scrape', () => {
  let vigil: VigilProcess;
  let prom: RealPrometheus;
  beforeAll(async () => {
    vigil = await startVigil();
    prom = await startPrometheus(new URL(vigil.metrics).host);
  });
  afterAll(async () => {
    await prom?.stop();
    expect(await vigil?.stop()).toBe(0);
  });

  it('finds a pushed series through PromQL', async () => {
    const res = await fetch(`${vigil.ingest}/api/v1/push`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        resource: { 'service.name': 'pricing', 'service.instance.id': 'p-1' },
        metrics: [
          { name: 'quotes.served', type: 'counter', value: 42, attributes: { market: 'eu' } },
          { name: 'quote.latency', type: 'histogram', unit: 'ms', values: [20, 40, 400] },
        ],
      }),
    });
    expect(res.status).toBe(200);
    // vigil's job/instance come from the source's resource; the scrape uses honor_labels: true,
    // as the README recommends, so they are kept as they are.
    const result = await eventually(async () => {
      const r = await prom.query('quotes_served_total{job="pricing"}');
      return r.length > 0 ? r : undefined;
    }, 20_000);
    expect(result[0]?.metric['market']).toBe('eu');
    expect(result[0]?.metric['instance']).toBe('p-1');
    expect(result[0]?.value[1]).toBe('42');
    const q = await eventually(async () => {
      const r = await prom.query('histogram_quantile(0.5, quote_latency_milliseconds_bucket)');
      return r.length > 0 ? r : undefined;
    }, 20_000);
    expect(Number(q[0]?.value[1])).toBeGreaterThan(25);
    expect(Number(q[0]?.value[1])).toBeLessThanOrEqual(50);
    // The scrape itself is healthy.
    const up = await prom.query('up{job="vigil"}');
    expect(up[0]?.value[1]).toBe('1');
  });
});
