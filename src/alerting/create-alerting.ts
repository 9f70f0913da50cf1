import type { Meter } from '@opentelemetry/api';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { ParsedConfig } from '../config/schema.js';
import { Alerting } from './alerting.js';
import { registerAlertingMetrics } from './alerting-metrics.js';

/** Builds the alerting pipeline for the composition root (src/main.ts) and registers its self-metrics. */

export interface CreateAlertingOptions {
  config: ParsedConfig;
  clock: () => number;
  log: Logger;
  meter: Meter;
  /** The bound api listener, once listening (port 0 is only known then). */
  apiAddress: () => AddressInfo | undefined;
  onStateChange: () => void;
}

export function createAlerting(o: CreateAlertingOptions): Alerting {
  const api = o.config.listeners.api;
  const alerting = new Alerting({
    config: o.config.alerting,
    evaluationIntervalMs: o.config.evaluation_interval,
    clock: o.clock,
    log: o.log,
    defaultExternalUrl: () => defaultExternalUrl(api.host, o.apiAddress()?.port ?? api.port),
    onStateChange: o.onStateChange,
  });
  registerAlertingMetrics(o.meter, () => alerting);
  return alerting;
}

/**
 * `http://<api host>:<port>`; a wildcard listener has no address others can use, so the host name
 * stands in (as Prometheus's default --web.external-url does). IPv6 literals get brackets.
 */
export function defaultExternalUrl(host: string, port: number, name: string = hostname()): string {
  const h = host === '0.0.0.0' || host === '::' || host === '' ? name : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}
