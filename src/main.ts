import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { alertJson, mountAlertsApi } from './alerting/alerts-api.js';
import { createAlerting } from './alerting/create-alerting.js';
import type { LoadResult } from './config/load.js';
import { memoryLimitsBytes } from './config/limits-schema.js';
import type { ParsedConfig } from './config/schema.js';
import { API_TOKEN, INGEST_TOKEN, resolveToken } from './config/tokens.js';
import { prometheusFamily } from './export/prometheus-naming.js';
import { registerRuleGauges } from './export/rule-gauges.js';
import { createOtlpExporter } from './export/otlp-exporter.js';
import { SelfTelemetry } from './export/self-telemetry.js';
import { createApiApp } from './http/api-server.js';
import { ingestAuthorizer, writeAuthorizer } from './http/bearer-auth.js';
import { connectionLimits, createLimitedServer } from './http/connection-limits.js';
import { mountDashboard } from './http/dashboard.js';
import { exposedGc } from './http/force-gc.js';
import { HeapCompactor } from './http/heap-compactor.js';
import { IngestAdmission } from './http/ingest-admission.js';
import { createIngestServer } from './http/ingest-server.js';
import { MemoryGuard } from './http/memory-guard.js';
import { createMetricsServer } from './http/metrics-server.js';
import { ReportStream } from './http/report-stream.js';
import { PushMeters } from './ingest/push-meters.js';
import { PushGroups } from './ingest/pushgateway.js';
import { ViewResolver } from './ingest/views.js';
import type { Logger } from './log.js';
import { buildReport, overallStatus, type OverallStatus } from './report/reliability-report.js';
import { RuleEngine } from './rules/rule-engine.js';
import { SignalEngine } from './signals/signal-engine.js';
import { SourceHealth } from './signals/source-health.js';
import { StateFile, type SnapshotCheck } from './store/state-file.js';
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
  /** Re-read the config (SIGHUP, POST /-/reload); false keeps the old one. */
  reload(): { ok: boolean; errors: string[] };
}

export interface StartOptions {
  /** Re-reads the config file for reloads. */
  reloadConfig?: () => LoadResult;
  env?: NodeJS.ProcessEnv;
}

export async function startVigil(config: ParsedConfig, log: Logger, opts: StartOptions = {}): Promise<Vigil> {
  const env = opts.env ?? process.env;
  const clock = (): number => Date.now();
  const startedMs = clock();
  const limits = {
    maxSeries: config.limits.max_series,
    maxSeriesPerMetric: config.limits.max_series_per_metric,
    seriesTtlMs: config.limits.series_ttl,
    attributes: {
      maxAttributes: config.limits.max_attributes_per_point,
      maxValueLength: config.limits.max_attribute_value_length,
    },
  };
  const store = new Store({ limits, clock, familyOf: prometheusFamily });
  const pushGroups = new PushGroups({ store, clock });
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
  const signals = new SignalEngine({ store, clock, observedScope: scope.name });
  let sources = new SourceHealth(config.sources);
  const rules = new RuleEngine();
  signals.configure(config.signals, sources.measures());
  rules.configure(config.rules);
  let overall: OverallStatus = 'ok';
  registerRuleGauges(telemetry.provider.getMeter('vigil.rules', VERSION), {
    rules: () => rules,
    signals: () => signals,
    sources: () => sources.list(),
    overall: () => overall,
  });
  const alerting = createAlerting({
    config,
    clock,
    log,
    meter: telemetry.provider.getMeter('vigil.alerting', VERSION),
    apiAddress: () => addresses['api'],
    onStateChange: () => saveState(),
  });

  const stateFile = config.state.dir !== undefined ? new StateFile(config.state.dir, log, clock) : undefined;
  if (stateFile !== undefined)
    restoreState(stateFile, { signals, rules, alerting, clock, log, graceMs: config.state.restore_grace });
  const saveState = (): void => {
    if (stateFile === undefined) return;
    try {
      stateFile.write({
        version: 1,
        savedAt: new Date(clock()).toISOString(),
        trends: signals.snapshotTrends(),
        rules: rules.snapshot(),
        alerting: alerting.snapshot(),
      });
    } catch (err) {
      log.error({ err }, 'cannot write state snapshot');
    }
  };

  const memoryLimits = memoryLimitsBytes(config.limits);
  const gc = exposedGc();
  const memory = new MemoryGuard(memoryLimits, { gc: memoryLimits === undefined ? undefined : gc });
  memory.start();

  let accepting = true;
  let lastEvalMs = 0;
  let listening = false;

  /** SDK-held data into the store: before a scrape, and on every evaluation tick. */
  const collectPushed = async (): Promise<void> => {
    const tally = await meters.collect();
    if (tally.rejected > 0)
      log.warn({ rejected: tally.rejected, reasons: tally.messages }, 'push collection rejected points');
  };
  const refresh = async (): Promise<void> => {
    await collectPushed();
    await telemetry.collect();
  };
  const otlp = createOtlpExporter({ config, env, store, telemetry, refresh, clock, log, version: VERSION });

  const evaluate = async (): Promise<void> => {
    // Pushed data must reach the signals every tick; vigil's own instruments only when a signal
    // reads them (scrapes and exports collect them anyway): most of an idle tick's cost.
    if (signals.readsMetricPrefix('vigil.')) await refresh();
    else await collectPushed();
    const now = clock();
    signals.tick(now);
    sources.tick(signals, now);
    for (const { rule, change } of rules.evaluate(signals, now)) {
      if (change.kind === 'firing' || change.kind === 'resolved')
        log.info(
          {
            rule: rule.name,
            severity: rule.severity,
            labels: change.alert.labels,
            value: change.alert.value,
          },
          `alert ${change.kind}`,
        );
    }
    overall = overallStatus(rules.alerts(), sources.list());
    alerting.onEvaluation(rules.alerts(), now);
    telemetry.recordEvaluation(rules.lastEvalDurationMs / 1000);
    lastEvalMs = now;
    reportStream.publish();
  };

  let currentConfig = config;
  const reload = (): { ok: boolean; errors: string[] } => {
    const loaded = opts.reloadConfig?.();
    if (loaded === undefined) return { ok: false, errors: ['no config file to reload'] };
    if (!loaded.ok) {
      telemetry.setReloadResult(false);
      log.error({ errors: loaded.errors }, 'reload failed; keeping the running config');
      return { ok: false, errors: loaded.errors };
    }
    const next = loaded.config;
    sources = new SourceHealth(next.sources).carryOver(sources);
    signals.configure(next.signals, sources.measures());
    rules.configure(next.rules);
    alerting.configure(next.alerting, config.evaluation_interval);
    currentConfig = next;
    telemetry.setReloadResult(true);
    log.info({ signals: Object.keys(next.signals).length, rules: next.rules.length }, 'config reloaded');
    return { ok: true, errors: [] };
  };
  const onSighup = (): void => void reload();
  process.on('SIGHUP', onSighup);

  const report = (includeTraces: boolean): Record<string, unknown> =>
    buildReport({
      nowMs: clock(),
      startedMs,
      windowMs: currentConfig.sources.window,
      signals,
      rules,
      sources: sources.list(),
      sections: currentConfig.report.sections,
      ingest: telemetry.ingestTotals(),
      exporters: { otlp: otlp?.health() ?? { state: 'disabled', last_success: null } },
      alerting: alerting.status(),
      includeTraces,
    });

  const reportStream = new ReportStream({
    report: () => report(false),
    alerts: () => ({ status: 'success', data: { alerts: alerting.list().map(alertJson) } }),
    log,
  });

  const connections = connectionLimits(config.limits);
  const admission = new IngestAdmission({
    maxConcurrent: config.limits.max_concurrent_requests,
    maxInflightBytes: config.limits.max_inflight_bytes,
    memory,
    accepting: () => accepting,
  });
  /** Scrapes served: with ingest requests, the activity the heap compactor waits out. */
  let scrapesServed = 0;
  const compactor = new HeapCompactor({
    seriesCount: () => store.size,
    activity: () => admission.admitted + scrapesServed,
    minGrowthSeries: config.limits.compact_after_new_series,
    heapBytes: () => {
      const heap = getHeapStatistics();
      return heap.total_heap_size + heap.external_memory;
    },
    minGrowthBytes: config.limits.compact_after_heap_growth,
    gc,
    clock,
    log,
  });
  compactor.start();
  const ingest = createIngestServer({
    store,
    telemetry,
    admission,
    connections,
    authorise: ingestAuthorizer(
      resolveToken({ ...INGEST_TOKEN, file: config.ingest.token_file }, env),
      config.listeners.ingest.host,
      log,
    ),
    clock,
    maxRequestBytes: () => config.limits.max_request_bytes,
    push: () => ({
      store,
      meters,
      views,
      scope,
      observe: (resource, metric, unit, attrs, values) =>
        signals.observe(resource, metric, unit, attrs, values, clock()),
    }),
    prometheusPush: pushGroups,
    log,
  });
  const metrics = createMetricsServer({
    store,
    refresh,
    onScrape: (s) => {
      scrapesServed++;
      telemetry.recordScrape(s);
    },
    connections,
    log,
  });
  const evalIntervalMs = config.evaluation_interval;
  const api = createApiApp({
    report,
    version: VERSION,
    reload,
    writeAuth: writeAuthorizer(
      resolveToken({ ...API_TOKEN, file: config.api.token_file }, env),
      config.listeners.api.host,
      log,
    ),
    mountAlerting: (app, authorised) => mountAlertsApi(app, { alerting, authorised, log }),
    reportStream: reportStream.handle,
    mountDashboard: (app) => mountDashboard(app, { log }),
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
    api: createLimitedServer(connections, api),
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
  otlp?.start();
  const stateTimer =
    stateFile === undefined ? undefined : setInterval(saveState, config.state.snapshot_interval);
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
      // The OTLP flush gets what is left of 80% of shutdown_timeout; the rest is for closing.
      const otlpDeadlineMs = clock() + config.shutdown_timeout * 0.8;
      accepting = false;
      clearInterval(evalTimer);
      clearInterval(sweepTimer);
      clearInterval(stateTimer);
      process.off('SIGHUP', onSighup);
      memory.stop();
      compactor.stop();
      await evaluate().catch((err: unknown) => log.error({ err }, 'final evaluation failed'));
      await alerting.flush(Math.min(5000, config.shutdown_timeout / 2));
      alerting.stop();
      await otlp?.shutdown(otlpDeadlineMs).catch((err: unknown) => log.error({ err }, 'OTLP flush failed'));
      saveState();
      reportStream.close(); // open streams would keep the api listener from closing
      await Promise.all(Object.values(servers).map((s) => closeServer(s)));
      await telemetry.shutdown().catch(() => undefined);
      log.info('stopped');
    })();
    return stopping;
  };
  return { addresses, shutdown, reload };
}

/** What the snapshot's top level must look like; its parts check their own entries. */
const snapshotShape: SnapshotCheck = (saved) => {
  if (saved['version'] !== 1) return `unsupported snapshot version ${JSON.stringify(saved['version'])}`;
  for (const part of ['trends', 'rules', 'alerting']) {
    const v = saved[part];
    if (v !== undefined && (typeof v !== 'object' || v === null || Array.isArray(v)))
      return `"${part}" is not an object`;
  }
  return undefined;
};

/**
 * Restore the snapshot (SPEC §9). Never throws, whatever the file holds: a kill -9, a full disk or
 * a hand edit can leave anything there, and a sidecar that cannot start on its own state file
 * crash-loops until someone deletes the file by hand. A snapshot of the wrong shape, or one with a
 * part that cannot be restored, is set aside (so the next periodic write does not destroy the
 * evidence); the parts that were fine are kept, as the alerting part keeps its good entries.
 */
function restoreState(
  file: StateFile,
  p: {
    signals: SignalEngine;
    rules: RuleEngine;
    alerting: { restore(json: unknown): unknown };
    clock: () => number;
    log: Logger;
    graceMs: number;
  },
): void {
  const saved = file.read(snapshotShape);
  if (saved === undefined) return;
  const now = p.clock();
  const failed: string[] = [];
  const part = <T>(name: string, restore: () => T, otherwise: T): T => {
    try {
      return restore();
    } catch (err) {
      p.log.error({ err, path: file.path, part: name }, `${name} in the state snapshot cannot be restored`);
      failed.push(name);
      return otherwise;
    }
  };
  const trends = part('trends', () => p.signals.restoreTrends(saved['trends'], now), 0);
  const alerts = part('rules', () => p.rules.restore(saved['rules'], now, p.graceMs), 0);
  part('alerting', () => p.alerting.restore(saved['alerting']), undefined);
  p.log.info({ path: file.path, trends, alerts }, 'state restored');
  if (failed.length > 0) file.setAside(`cannot restore ${failed.join(', ')}`);
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
