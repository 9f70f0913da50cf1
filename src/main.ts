import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { ParsedConfig } from './config/schema.js';
import { prometheusFamily } from './export/prometheus-naming.js';
import { SelfTelemetry } from './export/self-telemetry.js';
import { createApiApp } from './http/api-server.js';
import { createIngestServer } from './http/ingest-server.js';
import { MemoryGuard } from './http/memory-guard.js';
import { createMetricsServer } from './http/metrics-server.js';
import { PushMeters } from './ingest/push-meters.js';
import { ViewResolver } from './ingest/views.js';
import type { Logger } from './log.js';
import { Store } from './store/store.js';

/** The one place where vigil's parts are wired together. */

export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export interface Vigil {
  /** Bound addresses by listener name (tests start vigil on port 0). */
  readonly addresses: Record<'ingest' | 'api' | 'metrics', AddressInfo>;
  /** Stop accepting, evaluate once more, flush, close; resolves when done (SPEC §1). */
  shutdown(reason: string): Promise<void>;
}

export async function startVigil(
  config: ParsedConfig,
  log: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Vigil> {
  const clock = (): number => Date.now();
  const startedMs = clock();
  const limits = {
    maxSeries: config.limits.max_series,
    maxSeriesPerMetric: config.limits.max_series_per_metric,
    seriesTtlMs: config.limits.series_ttl,
  };
  const store = new Store({ limits, clock, familyOf: prometheusFamily });
  const telemetry = new SelfTelemetry({
    store,
    clock,
    version: VERSION,
    instanceId: env['POD_NAME'] || hostname(),
  });
  const views = new ViewResolver(
    config.views.map((v) => ({
      instrumentName: v.instrument_name,
      aggregation: v.aggregation,
      boundaries: v.boundaries,
      maxSize: v.max_size,
    })),
  );
  const scope = { name: 'vigil.push', version: VERSION };
  const meters = new PushMeters({
    store,
    views,
    cardinalityLimit: config.limits.max_series_per_metric + 1,
    clock,
    scopeName: scope.name,
    scopeVersion: scope.version,
  });
  const memory = new MemoryGuard(
    config.limits.memory_soft_mib !== undefined ? config.limits.memory_soft_mib * 1024 * 1024 : undefined,
  );
  memory.start();

  let accepting = true;
  let lastEvalMs = 0;
  let listening = false;

  /** SDK-held data into the store: before a scrape, and on every evaluation tick. */
  const refresh = async (): Promise<void> => {
    const tally = await meters.collect();
    if (tally.rejected > 0)
      log.warn({ rejected: tally.rejected, reasons: tally.messages }, 'push collection rejected points');
    await telemetry.collect();
  };

  const evaluate = async (): Promise<void> => {
    await refresh();
    lastEvalMs = clock();
  };

  const ingest = createIngestServer({
    store,
    telemetry,
    memory,
    clock,
    maxRequestBytes: () => config.limits.max_request_bytes,
    push: () => ({ store, meters, views, scope }),
    accepting: () => accepting,
    log,
  });
  const metrics = createMetricsServer({
    store,
    refresh,
    onScrape: (s) => telemetry.recordScrape(s),
    log,
  });
  const evalIntervalMs = config.evaluation_interval;
  const api = createApiApp({
    ready: () => {
      if (!accepting) return { ready: false, reason: 'shutting down' };
      if (!listening) return { ready: false, reason: 'listeners starting' };
      const age = clock() - lastEvalMs;
      if (age > 2 * evalIntervalMs) return { ready: false, reason: `last evaluation ${age} ms ago` };
      return { ready: true, reason: '' };
    },
  });

  const servers: Record<'ingest' | 'api' | 'metrics', Server> = {
    ingest,
    api: (await import('node:http')).createServer(api),
    metrics,
  };
  const addresses = {} as Record<'ingest' | 'api' | 'metrics', AddressInfo>;
  for (const name of ['ingest', 'api', 'metrics'] as const) {
    const { host, port } = config.listeners[name];
    addresses[name] = await listen(servers[name], host, port);
    log.info({ listener: name, address: addresses[name].address, port: addresses[name].port }, 'listening');
  }
  listening = true;

  let evaluating = false;
  const tick = (): void => {
    if (evaluating) return; // a slow evaluation is skipped, never stacked
    evaluating = true;
    evaluate()
      .catch((err: unknown) => log.error({ err }, 'evaluation failed'))
      .finally(() => {
        evaluating = false;
      });
  };
  tick();
  const evalTimer = setInterval(tick, evalIntervalMs);
  // Expiry runs on its own timer, scraped or not (the collector only expires during scrapes).
  const sweepTimer = setInterval(
    () => {
      const removed = store.sweep();
      if (removed > 0) log.debug({ removed }, 'expired series');
      void meters.sweep(config.limits.series_ttl);
    },
    Math.max(250, Math.min(config.limits.series_ttl / 4, 15_000)),
  );

  log.info(
    { version: VERSION, startupMs: clock() - startedMs, limits, evaluationIntervalMs: evalIntervalMs },
    'vigil started',
  );

  let stopping: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      log.info({ reason }, 'shutting down');
      accepting = false;
      clearInterval(evalTimer);
      clearInterval(sweepTimer);
      memory.stop();
      await evaluate().catch((err: unknown) => log.error({ err }, 'final evaluation failed'));
      await Promise.all(Object.values(servers).map((s) => closeServer(s)));
      await telemetry.shutdown().catch(() => undefined);
      log.info('stopped');
    })();
    return stopping;
  };
  return { addresses, shutdown };
}

function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Stop accepting connections, let in-flight requests finish, then drop idle keep-alives. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
