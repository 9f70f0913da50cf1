import type { AddressInfo } from 'node:net';
import type { ParsedConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { startVigil, type Vigil } from '../main.js';
import { DemoCollector } from './collector.js';
import { demoConfig, wantsDemoCollector, withDemoCollector } from './demo-config.js';
import { activeIncidents, CYCLE_S, cycleSeconds, INCIDENTS, type IncidentName } from './scenario.js';
import { demoServices, type ServiceModel } from './traffic.js';
import { JsonPushTransport, OtlpTransport, type DemoTransport } from './transports.js';

/**
 * `vigil demo` (SPEC §1): vigil in this process, on the given config with shortened windows,
 * plus simulated services pushing OTLP (through the OpenTelemetry SDK) and JSON, and a
 * five-minute cycle of staged incidents, each logged when it starts and ends. vigil's own log
 * lines (`alert firing`, `alert resolved`) show the outcome.
 */

export interface DemoOptions {
  config: ParsedConfig;
  log: Logger;
  /** Run the scenario, the windows and the evaluation this many times faster (default 1). */
  speed?: number;
  /** uniform [0, 1): the traffic's randomness (default Math.random). */
  random?: () => number;
  clock?: () => number;
  /** Environment for vigil (OTEL_EXPORTER_OTLP_*); default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface RunningDemo {
  readonly vigil: Vigil;
  /** Stop the services (their last data is sent), then vigil. */
  stop(reason: string): Promise<void>;
}

/** A listener's address as a client on this host reaches it. */
export function localUrl(a: AddressInfo): string {
  const host = a.address === '0.0.0.0' || a.address === '::' ? '127.0.0.1' : a.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${a.port}`;
}

export async function startDemo(opts: DemoOptions): Promise<RunningDemo> {
  const speed = opts.speed ?? 1;
  const random = opts.random ?? Math.random;
  const clock = opts.clock ?? Date.now;
  const { log } = opts;
  const env = opts.env ?? process.env;
  let active: ReadonlySet<IncidentName> = new Set();
  let config = demoConfig(opts.config, speed);
  let collector: DemoCollector | undefined;
  if (wantsDemoCollector(config, env)) {
    collector = new DemoCollector(() => active.has('collector-outage'));
    config = withDemoCollector(config, await collector.start(), speed);
  }
  let vigil: Vigil;
  try {
    vigil = await startVigil(config, log, { env });
  } catch (err) {
    await collector?.stop(); // e.g. a port in use: nothing may keep the process alive
    throw err;
  }
  const ingestUrl = localUrl(vigil.addresses.ingest);
  const tickMs = 1000 / speed;

  const services: Array<{ model: ServiceModel; transport: DemoTransport }> = demoServices().map((model) => ({
    model,
    transport:
      model.transport === 'otlp'
        ? new OtlpTransport({ service: model.name, ingestUrl, exportIntervalMs: tickMs })
        : new JsonPushTransport({ service: model.name, ingestUrl, log }),
  }));

  log.info(
    {
      component: 'demo',
      speed,
      windowMs: Object.values(config.signals)[0]?.window,
      evaluationIntervalMs: config.evaluation_interval,
      report: `${localUrl(vigil.addresses.api)}/api/v2/diagnostics/reliability`,
      metrics: `${localUrl(vigil.addresses.metrics)}/metrics`,
      ingest: ingestUrl,
      services: services.map(
        ({ model }) => `${model.name} (${model.transport === 'otlp' ? 'OTLP' : 'JSON push'})`,
      ),
      otlpExport:
        collector !== undefined ? `demo collector at ${config.exporters.otlp.endpoint}` : 'as configured',
      cycleSeconds: CYCLE_S / speed,
    },
    'demo started: simulated services push to vigil; incidents follow every few seconds',
  );

  const startedMs = clock();
  let previous: ReadonlySet<IncidentName> = new Set();
  // Without the demo collector, vigil exports where the config says: that backend is not staged.
  const staged = INCIDENTS.filter((i) => i.name !== 'collector-outage' || collector !== undefined);
  let cycle = -1;
  const tick = (): void => {
    const elapsedS = ((clock() - startedMs) / 1000) * speed;
    const n = Math.floor(elapsedS / CYCLE_S);
    if (n !== cycle) {
      cycle = n;
      log.info({ component: 'demo', cycle: n + 1 }, `demo cycle ${n + 1}: healthy traffic, then incidents`);
    }
    active = activeIncidents(cycleSeconds(elapsedS));
    for (const incident of staged) {
      const was = previous.has(incident.name);
      const is = active.has(incident.name);
      if (is === was) continue;
      log.info(
        { component: 'demo', incident: incident.name, service: incident.service, expect: incident.expect },
        is
          ? `incident started: ${incident.service}: ${incident.what}`
          : `incident over: ${incident.service} is healthy again`,
      );
    }
    previous = active;
    for (const { model, transport } of services) transport.send(model.tick(active, random));
  };
  tick();
  const timer = setInterval(tick, tickMs);

  let stopping: Promise<void> | undefined;
  return {
    vigil,
    stop(reason) {
      stopping ??= (async () => {
        clearInterval(timer);
        await Promise.all(services.map(({ transport }) => transport.shutdown().catch(() => undefined)));
        log.info({ component: 'demo', reason }, 'demo services stopped');
        await vigil.shutdown(reason);
        await collector?.stop();
      })();
      return stopping;
    },
  };
}
