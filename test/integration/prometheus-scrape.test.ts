import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrometheus, type RealPrometheus } from '../helpers/real-prometheus.js';
import { eventually, startVigil, testConfig, type VigilProcess } from '../helpers/vigil-process.js';

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

describe('a scraper that reads slowly or goes away', () => {
  // ~30 MiB of exposition, ~15 MiB gzipped (random label values): far more than a loopback
  // socket's kernel buffers hold.
  const SERIES = 100_000;
  let vigil: VigilProcess;
  beforeAll(async () => {
    vigil = await startVigil(
      testConfig(
        'limits:\n  max_series: 200000\n  max_series_per_metric: 200000\n  max_request_bytes: 64MiB\n',
      ).replace('level: info', 'level: debug'),
    );
    for (let g = 0; g < 10; g++) {
      let body = '# TYPE slow_scrape_total counter\n';
      for (let i = g * (SERIES / 10); i < (g + 1) * (SERIES / 10); i++)
        body += `slow_scrape_total{i="${i}",pad="${randomBytes(120).toString('hex')}"} ${i}\n`;
      const res = await fetch(`${vigil.ingest}/metrics/job/slow/instance/i${g}`, { method: 'PUT', body });
      expect(res.status).toBe(200);
    }
    await (await fetch(`${vigil.metrics}/metrics`)).text(); // fills the label caches
  });
  afterAll(async () => {
    expect(await vigil?.stop()).toBe(0);
  });

  const rssMiB = (): number =>
    Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${vigil.proc.pid}/status`, 'utf8'))![1]) / 1024;

  /** GET /metrics on a raw socket that reads its first bytes, then nothing until `resume()`. */
  function pausedScrape(headers = ''): {
    first: Promise<void>;
    resume: () => Promise<string>;
    socket: Socket;
  } {
    const { hostname, port } = new URL(vigil.metrics);
    const socket = connect(Number(port), hostname);
    socket.write(`GET /metrics HTTP/1.1\r\nHost: vigil\r\nConnection: close\r\n${headers}\r\n`);
    const chunks: Buffer[] = [];
    const first = new Promise<void>((resolve) =>
      socket.once('data', (d: Buffer) => {
        chunks.push(d);
        socket.pause();
        resolve();
      }),
    );
    const resume = (): Promise<string> => {
      socket.on('data', (d: Buffer) => chunks.push(d));
      const ended = once(socket, 'end').then(() => Buffer.concat(chunks).toString('utf8'));
      socket.resume();
      return ended;
    };
    return { first, resume, socket };
  }

  it('does not queue the exposition in memory for a scraper that does not read', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const before = rssMiB();
    const scrape = pausedScrape();
    await scrape.first;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // Without waiting for the socket to drain, vigil queued what the kernel would not take:
    // +19–24 MiB here, measured.
    expect(rssMiB() - before).toBeLessThan(8);
    const text = await scrape.resume();
    expect(text.split('\nslow_scrape_total{').length - 1).toBe(SERIES);
  });

  it('stops writing for a scraper that went away, logs no error, and serves the next one', async () => {
    // Plain and gzip: with gzip the wait is on the compressor, which nothing drains once the
    // socket is gone (the exposition would wait there for ever, holding its memory).
    const wentAway = (): number =>
      vigil.logs.filter((l) => l['msg'] === 'scraper went away mid-scrape').length;
    for (const headers of ['', 'Accept-Encoding: gzip\r\n']) {
      const before = wentAway();
      const scrape = pausedScrape(headers);
      await scrape.first;
      await new Promise((resolve) => setTimeout(resolve, 1000)); // vigil waits for a drain now
      scrape.socket.destroy();
      await eventually(async () => wentAway() > before, 10_000);
    }
    const text = await (await fetch(`${vigil.metrics}/metrics`)).text();
    expect(text.split('\nslow_scrape_total{').length - 1).toBe(SERIES);
    expect(vigil.logs.filter((l) => l['msg'] === 'scrape failed')).toEqual([]);
  });
});
