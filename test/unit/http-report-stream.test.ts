import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ReportStream, type ReportStreamOptions } from '../../src/http/report-stream.js';
import { eventually } from '../helpers/vigil-process.js';
import { openSse, type SseStream } from '../helpers/sse-client.js';

/**
 * The report stream in process, over real HTTP: one build per tick whatever the number of
 * streams, `report` only when the report changed (its clock fields aside), `tick` otherwise,
 * heartbeats, the cap, clean-up on disconnect, stalled clients cut, and shutdown.
 */

interface Harness {
  stream: ReportStream;
  url: string;
  builds: () => number;
  /** The next report's non-clock content. */
  state: { overall: string; alerts: unknown[]; blob: string };
}

const servers: Server[] = [];
const streams: SseStream[] = [];
afterEach(async () => {
  for (const s of streams.splice(0)) s.close();
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
});

async function harness(opts: Partial<ReportStreamOptions> = {}): Promise<Harness> {
  let builds = 0;
  let clockS = 0;
  const state = { overall: 'ok', alerts: [] as unknown[], blob: '' };
  const stream = new ReportStream({
    report: () => {
      builds++;
      clockS++;
      return {
        timestamp: new Date(clockS * 1000).toISOString(),
        overall_status: state.overall,
        generation_time_ms: Math.random(),
        uptime_seconds: clockS,
        blob: state.blob,
      };
    },
    alerts: () => ({ status: 'success', data: { alerts: state.alerts } }),
    log: pino({ level: 'silent' }),
    ...opts,
  });
  const app = express();
  app.get('/stream', stream.handle);
  const server = createServer(app);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { stream, url: `http://127.0.0.1:${port}/stream`, builds: () => builds, state };
}

async function open(url: string): Promise<SseStream> {
  const s = await openSse(url);
  streams.push(s);
  return s;
}

describe('ReportStream', () => {
  it('sends retry, the report and the alerts at once; builds nothing while nobody listens', async () => {
    const h = await harness();
    h.stream.publish();
    h.stream.publish();
    expect(h.builds()).toBe(0);
    const s = await open(h.url);
    expect(s.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    await s.waitFor((e) => e.event === 'alerts');
    expect(s.retryMs).toBe(2000);
    expect(s.events.map((e) => e.event)).toEqual(['report', 'alerts']);
    expect(JSON.parse(s.events[0]!.data)).toMatchObject({ overall_status: 'ok', uptime_seconds: 1 });
  });

  it('builds once per tick for every stream and sends only what changed', async () => {
    const h = await harness();
    const [a, b, c] = [await open(h.url), await open(h.url), await open(h.url)];
    await eventually(async () => h.stream.size === 3);
    for (const s of [a, b, c]) await s.waitFor((e) => e.event === 'alerts');
    const before = h.builds();

    h.stream.publish(); // nothing but the clock changed: a tick
    for (const s of [a, b, c]) await s.waitFor((e) => e.event === 'tick', 5_000, 2);
    expect(h.builds() - before).toBe(1);
    const tick = JSON.parse(a.events[2]!.data) as Record<string, unknown>;
    expect(Object.keys(tick).sort()).toEqual(['timestamp', 'uptime_seconds']);

    h.state.overall = 'down';
    h.stream.publish(); // the report changed, the alerts did not
    for (const s of [a, b, c]) await s.waitFor((e) => e.event === 'report', 5_000, 3);
    expect(h.builds() - before).toBe(2);

    h.state.alerts = [{ fingerprint: '0123456789abcdef' }];
    h.stream.publish(); // the alerts changed, the report did not
    for (const s of [a, b, c]) await s.waitFor((e) => e.event === 'alerts', 5_000, 4);
    expect(a.events.slice(2).map((e) => e.event)).toEqual(['tick', 'report', 'tick', 'alerts']);
    // Every stream got the very same bytes.
    expect(b.events.map((e) => e.data)).toEqual(a.events.map((e) => e.data));
    expect(c.events.map((e) => e.data)).toEqual(a.events.map((e) => e.data));
  });

  it('sends a heartbeat comment while nothing is published', async () => {
    const h = await harness({ heartbeatMs: 50 });
    const s = await open(h.url);
    await eventually(async () => s.comments.length >= 2, 5_000, 20);
    expect(s.comments[0]).toBe('heartbeat');
  });

  it('refuses streams beyond the cap with 503 and frees a slot when a client leaves', async () => {
    const h = await harness({ maxClients: 2 });
    const head = await fetch(h.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(h.stream.size).toBe(0); // a HEAD holds no slot
    const first = await open(h.url);
    await open(h.url);
    const third = await open(h.url);
    expect(third.response.status).toBe(503);
    expect(third.response.headers.get('retry-after')).toBe('10');
    expect(await third.response.json()).toEqual({
      error: 'too many report streams (at most 2); try again later',
    });
    first.close();
    await eventually(async () => h.stream.size === 1, 5_000, 20);
    expect((await open(h.url)).response.status).toBe(200);
  });

  it('cuts a stream whose client stopped reading, and keeps serving the others', async () => {
    const h = await harness({ maxBufferedBytes: 2 * 1024 * 1024 });
    h.state.blob = 'x'.repeat(1024 * 1024);
    // A client that reads the headers, then nothing: its socket fills up.
    const stalled = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(h.url, (res) => {
        res.pause();
        resolve(res);
      });
      req.on('error', reject);
      req.end();
    });
    const reader = await open(h.url);
    await eventually(async () => h.stream.size === 2);
    for (let i = 0; i < 40 && h.stream.size === 2; i++) {
      h.state.blob = `${i}`.padEnd(1024 * 1024, 'x'); // a new report each time
      h.stream.publish();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(h.stream.size).toBe(1);
    // Once it reads again, it finds the connection closed (after what had been sent).
    const closed = new Promise<void>((resolve) => stalled.socket.once('close', () => resolve()));
    stalled.on('error', () => undefined).resume();
    await closed;
    h.state.overall = 'degraded';
    h.stream.publish();
    await reader.waitFor((e) => e.event === 'report' && e.data.includes('"overall_status":"degraded"'));
  });

  it('ends every stream on close and refuses new ones', async () => {
    const h = await harness();
    const s = await open(h.url);
    await s.waitFor((e) => e.event === 'alerts');
    h.stream.close();
    expect(h.stream.size).toBe(0);
    await s.ended; // the server ended it: a server.close() would not wait for it
    const again = await open(h.url);
    expect(again.response.status).toBe(503);
    expect(await again.response.json()).toEqual({ error: 'shutting down' });
  });
});
