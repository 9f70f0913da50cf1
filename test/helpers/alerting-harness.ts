import { pino } from 'pino';
import { Alerting } from '../../src/alerting/alerting.js';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { RuleEngine } from '../../src/rules/rule-engine.js';
import type { Sample, SignalLookup } from '../../src/rules/types.js';

/**
 * The real rule engine and alerting pipeline driven by hand: signal values are set by the test,
 * time is an injected clock, and every evaluation is explicit. Deliveries go over real HTTP to
 * whatever the config points at (a real Alertmanager, a local receiver).
 */

export const S = 1000;
export const M = 60 * S;

export const SIGNALS = {
  lat: { metric: 'http.server.request.duration', stat: 'p95', unit: 'ms' },
  lat_by: { metric: 'http.server.request.duration', stat: 'p95', unit: 'ms', by: ['service.name'] },
  cpu: { metric: 'process.cpu.utilization', stat: 'last' },
} as const;

/** Signal values set by hand: a number, or `{service: value}` for grouped signals. */
export class SettableSignals implements SignalLookup {
  private readonly values = new Map<string, Sample[]>();

  set(name: string, v: number | undefined | Record<string, number>): this {
    if (v === undefined) this.values.delete(name);
    else if (typeof v === 'number') this.values.set(name, [{ labels: [], value: v }]);
    else
      this.values.set(
        name,
        Object.entries(v).map(([svc, value]) => ({ labels: ['service.name', svc], value })),
      );
    return this;
  }

  signal(name: string): readonly Sample[] {
    return this.values.get(name) ?? [];
  }

  baseline(): readonly Sample[] {
    return [];
  }
}

export interface Harness {
  readonly alerting: Alerting;
  readonly engine: RuleEngine;
  readonly signals: SettableSignals;
  now: number;
  /** Set the clock, evaluate the rules, hand the alerts to alerting, wait for deliveries. */
  evalAt(t: number): Promise<void>;
  /** Snapshot → a fresh pipeline restored from it (a restart), same clock and rules. */
  restart(): Promise<Harness>;
}

export function harness(
  input: Pick<ConfigInput, 'rules' | 'alerting' | 'evaluation_interval'>,
  t0: number,
  restoreFrom?: { rules: unknown; alerting: unknown },
): Harness {
  const config = configSchema.parse({ signals: SIGNALS, ...input });
  const signals = new SettableSignals();
  const engine = new RuleEngine();
  engine.configure(config.rules);
  const h = { now: t0 } as Harness;
  const alerting = new Alerting({
    config: config.alerting,
    evaluationIntervalMs: config.evaluation_interval,
    clock: () => h.now,
    log: pino({ level: 'silent' }),
    defaultExternalUrl: () => 'http://vigil.test:8080',
    // Retries happen when the test evaluates again, never behind its back.
    setTimer: () => ({ clear: () => undefined }),
  });
  if (restoreFrom !== undefined) {
    engine.restore(restoreFrom.rules, t0);
    alerting.restore(restoreFrom.alerting);
  }
  Object.assign(h, {
    alerting,
    engine,
    signals,
    async evalAt(t: number) {
      h.now = t;
      engine.evaluate(signals, t);
      alerting.onEvaluation(engine.alerts(), t);
      await alerting.idle();
    },
    async restart() {
      alerting.stop();
      return harness(input, h.now, { rules: engine.snapshot(), alerting: alerting.snapshot() });
    },
  });
  return h;
}
