import { describe, expect, it } from 'vitest';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { fingerprint } from '../../src/rules/fingerprint.js';
import { RuleEngine, type CompiledRule } from '../../src/rules/rule-engine.js';
import type { AlertChangeKind, Sample, SignalLookup } from '../../src/rules/types.js';

const T0 = 1_700_000_400_000;
const S = 1000;
const M = 60 * S;

type RulesInput = NonNullable<ConfigInput['rules']>;

const SIGNALS = {
  lat: { metric: 'http.server.request.duration', stat: 'p95', unit: 'ms' },
  lat_by: { metric: 'http.server.request.duration', stat: 'p95', unit: 'ms', by: ['service.name'] },
  cpu: { metric: 'cpu', stat: 'last' },
  boom: { metric: 'x', stat: 'last' },
} as const;

/** Rules as the config loader produces them (defaults applied, references checked). */
const parseRules = (rules: RulesInput) => configSchema.parse({ signals: SIGNALS, rules }).rules;

/** Signal values set by hand; `boom` throws when read. */
class FakeSignals implements SignalLookup {
  readonly values = new Map<string, Sample[]>();
  readonly baselines = new Map<string, Sample[]>();

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
    if (name === 'boom') throw new Error('signal store exploded');
    return this.values.get(name) ?? [];
  }

  baseline(name: string): readonly Sample[] {
    return this.baselines.get(name) ?? [];
  }
}

function engine(rules: RulesInput): RuleEngine {
  const e = new RuleEngine();
  e.configure(parseRules(rules));
  return e;
}

const kinds = (changes: Array<{ rule: CompiledRule; change: { kind: AlertChangeKind } }>) =>
  changes.map((c) => `${c.rule.name}:${c.change.kind}`);

const HIGH_LAT = { name: 'HIGH_P95_LATENCY', expr: 'lat > 1500', for: '1m', severity: 'warning' } as const;

describe('RuleEngine > state machine', () => {
  it('goes pending, then firing once `for` has elapsed', () => {
    const e = engine([HIGH_LAT]);
    const sig = new FakeSignals().set('lat', 1800);
    expect(kinds(e.evaluate(sig, T0))).toEqual(['HIGH_P95_LATENCY:pending']);
    expect(e.alerts()).toMatchObject([{ state: 'pending', activeAt: T0, value: 1800, labels: [] }]);
    expect(kinds(e.evaluate(sig.set('lat', 1900), T0 + 59 * S))).toEqual([]);
    expect(e.alerts()[0]).toMatchObject({ state: 'pending', value: 1900 });
    const changes = e.evaluate(sig.set('lat', 2000), T0 + M);
    expect(kinds(changes)).toEqual(['HIGH_P95_LATENCY:firing']);
    expect(changes[0]!.rule.severity).toBe('warning');
    expect(e.alerts()).toMatchObject([{ state: 'firing', activeAt: T0, firedAt: T0 + M, value: 2000 }]);
    expect(e.alerts()[0]!.fingerprint).toBe(fingerprint('HIGH_P95_LATENCY', []));
  });

  it('fires at once with for: 0, and drops a pending alert whose condition goes away', () => {
    const e = engine([
      { name: 'NOW', expr: 'lat > 1500' },
      { name: 'LATER', expr: 'lat > 1500', for: '5m' },
    ]);
    const sig = new FakeSignals().set('lat', 1800);
    expect(kinds(e.evaluate(sig, T0))).toEqual(['NOW:pending', 'NOW:firing', 'LATER:pending']);
    expect(kinds(e.evaluate(sig.set('lat', 100), T0 + S))).toEqual(['NOW:resolved', 'LATER:dropped']);
    expect(e.alerts().map((a) => [a.rule.name, a.state])).toEqual([['NOW', 'inactive']]);
  });

  it('treats an absent signal as false, and absent() as true', () => {
    const e = engine([
      { name: 'HIGH', expr: 'lat > 1500' },
      { name: 'NO_DATA', expr: 'absent(lat)' },
    ]);
    const sig = new FakeSignals();
    expect(kinds(e.evaluate(sig, T0))).toEqual(['NO_DATA:pending', 'NO_DATA:firing']);
    expect(kinds(e.evaluate(sig.set('lat', 5), T0 + S))).toEqual(['NO_DATA:resolved']);
  });

  it('keeps firing for keep_firing_for after the condition is gone, then resolves', () => {
    const e = engine([{ ...HIGH_LAT, for: 0, keep_firing_for: '2m' }]);
    const sig = new FakeSignals().set('lat', 1800);
    e.evaluate(sig, T0);
    expect(kinds(e.evaluate(sig.set('lat', 10), T0 + 10 * S))).toEqual([]);
    expect(e.alerts()[0]).toMatchObject({ state: 'firing', keepFiringSince: T0 + 10 * S, value: 1800 });
    expect(kinds(e.evaluate(sig, T0 + 10 * S + 2 * M - 1))).toEqual([]);
    expect(e.alerts()[0]!.state).toBe('firing');
    expect(kinds(e.evaluate(sig, T0 + 10 * S + 2 * M))).toEqual(['HIGH_P95_LATENCY:resolved']);
    expect(e.alerts()[0]).toMatchObject({ state: 'inactive', resolvedAt: T0 + 10 * S + 2 * M });
    // Resolved alerts are kept 15 minutes, then forgotten.
    expect(kinds(e.evaluate(sig, T0 + 10 * S + 17 * M + 1))).toEqual(['HIGH_P95_LATENCY:forgotten']);
    expect(e.alerts()).toEqual([]);
  });

  it('makes one alert per group, labelled with the group', () => {
    const e = engine([{ name: 'SLOW', expr: 'lat_by > 1000', for: '30s', severity: 'critical' }]);
    const sig = new FakeSignals().set('lat_by', { a: 1200, b: 900, c: 5000 });
    expect(kinds(e.evaluate(sig, T0))).toEqual(['SLOW:pending', 'SLOW:pending']);
    sig.set('lat_by', { a: 1200, b: 1100, c: 5000 });
    expect(kinds(e.evaluate(sig, T0 + 30 * S))).toEqual(['SLOW:pending', 'SLOW:firing', 'SLOW:firing']);
    const alerts = e.alerts();
    expect(alerts.map((a) => [a.labels, a.state, a.value])).toEqual([
      [['service.name', 'a'], 'firing', 1200],
      [['service.name', 'c'], 'firing', 5000],
      [['service.name', 'b'], 'pending', 1100],
    ]);
    expect(new Set(alerts.map((a) => a.fingerprint)).size).toBe(3);
    expect(alerts[0]!.fingerprint).toBe(fingerprint('SLOW', ['service.name', 'a']));
    // One group recovering resolves only its own alert.
    sig.set('lat_by', { a: 10, b: 1100, c: 5000 });
    expect(kinds(e.evaluate(sig, T0 + 40 * S))).toEqual(['SLOW:resolved']);
    expect(e.list()[0]!.state.ruleState(['service.name', 'a'])).toBe(0);
    expect(e.list()[0]!.state.ruleState(['service.name', 'c'])).toBe(2);
  });

  it('compares groups with an ungrouped baseline', () => {
    const e = engine([{ name: 'SLOWER', expr: 'lat_by > 4 * baseline(lat)' }]);
    const sig = new FakeSignals().set('lat_by', { a: 500, b: 300 });
    sig.baselines.set('lat', [{ labels: [], value: 100 }]);
    e.evaluate(sig, T0);
    expect(e.alerts().map((a) => a.labels)).toEqual([['service.name', 'a']]);
  });

  it('remembers the groups a rule has seen, even where its condition is false', () => {
    const e = engine([{ name: 'SLOW', expr: 'lat_by > 1000' }]);
    e.evaluate(new FakeSignals().set('lat_by', { a: 1200, b: 10 }), T0);
    expect([...e.list()[0]!.groups.values()]).toEqual([
      ['service.name', 'a'],
      ['service.name', 'b'],
    ]);
  });
});

describe('RuleEngine > traces', () => {
  it('holds what each evaluation read, its result and its time', () => {
    const e = engine([
      { name: 'SLOWER', expr: 'lat > 2 * baseline(lat) and cpu > 50' },
      { name: 'NEVER', expr: 'cpu > 1000' },
    ]);
    const sig = new FakeSignals().set('lat', 300).set('cpu', 80);
    sig.baselines.set('lat', [{ labels: [], value: 100 }]);
    e.evaluate(sig, T0 + 1234);
    const [slower, never] = e.list();
    expect(slower!.trace).toMatchObject({
      rule: 'SLOWER',
      expr: 'lat > 2 * baseline(lat) and cpu > 50',
      reads: [
        { name: 'lat', source: 'signal', samples: [{ labels: [], value: 300 }] },
        { name: 'lat', source: 'baseline', samples: [{ labels: [], value: 100 }] },
        { name: 'cpu', source: 'signal', samples: [{ labels: [], value: 80 }] },
      ],
      result: [{ labels: [], value: 300 }],
      evaluated_at: new Date(T0 + 1234).toISOString(),
    });
    expect(slower!.trace!.duration_ms).toBeGreaterThanOrEqual(0);
    expect(slower!.trace!.error).toBeUndefined();
    expect(never!.trace).toMatchObject({ reads: [{ name: 'cpu', samples: [{ value: 80 }] }], result: [] });
    expect(e.lastEvalDurationMs).toBeGreaterThanOrEqual(0);
  });

  it('has no trace before the first evaluation', () => {
    expect(engine([HIGH_LAT]).list()[0]!.trace).toBeUndefined();
  });
});

describe('RuleEngine > a failing rule', () => {
  it('does not stop the others, keeps its own state and records the error', () => {
    const e = engine([
      { name: 'FIRST', expr: 'cpu > 50' },
      { name: 'BROKEN', expr: 'boom > 1 or cpu > 50' },
      { name: 'LAST', expr: 'cpu > 60' },
    ]);
    const sig = new FakeSignals().set('cpu', 90);
    expect(kinds(e.evaluate(sig, T0))).toEqual([
      'FIRST:pending',
      'FIRST:firing',
      'LAST:pending',
      'LAST:firing',
    ]);
    const broken = e.list()[1]!;
    expect(broken.trace).toMatchObject({ rule: 'BROKEN', result: [], error: 'signal store exploded' });
    expect(broken.state.alerts()).toEqual([]);
    expect(e.alerts().map((a) => a.rule.name)).toEqual(['FIRST', 'LAST']);
  });

  it('leaves the alerts of a rule that throws as they were (neither resolved nor dropped)', () => {
    const e = engine([{ name: 'R', expr: 'cpu > 50' }]);
    const sig = new FakeSignals().set('cpu', 90);
    e.evaluate(sig, T0);
    const throwing: SignalLookup = {
      signal: () => {
        throw new Error('nope');
      },
      baseline: () => [],
    };
    expect(e.evaluate(throwing, T0 + S)).toEqual([]);
    expect(e.alerts()).toMatchObject([{ state: 'firing' }]);
    expect(e.list()[0]!.trace!.error).toBe('nope');
  });
});

describe('RuleEngine > reconfigure', () => {
  it('keeps the alerts of unchanged rules (severity and texts may change) and resets changed ones', () => {
    const e = new RuleEngine();
    e.configure(
      parseRules([
        { name: 'KEEP', expr: 'cpu > 50', for: '1m', summary: 'old' },
        { name: 'NEW_EXPR', expr: 'cpu > 50' },
        { name: 'NEW_FOR', expr: 'cpu > 50', for: '1m' },
        { name: 'NEW_KEEP', expr: 'cpu > 50', keep_firing_for: '1m' },
        { name: 'GONE', expr: 'cpu > 50' },
      ]),
    );
    const sig = new FakeSignals().set('cpu', 90);
    e.evaluate(sig, T0);
    e.evaluate(sig, T0 + M);
    expect(e.alerts().map((a) => `${a.rule.name}:${a.state}`)).toEqual([
      'KEEP:firing',
      'NEW_EXPR:firing',
      'NEW_FOR:firing',
      'NEW_KEEP:firing',
      'GONE:firing',
    ]);
    e.configure(
      parseRules([
        { name: 'KEEP', expr: 'cpu > 50', for: '1m', summary: 'new', severity: 'critical' },
        { name: 'NEW_EXPR', expr: 'cpu > 40' },
        { name: 'NEW_FOR', expr: 'cpu > 50', for: '2m' },
        { name: 'NEW_KEEP', expr: 'cpu > 50', keep_firing_for: '2m' },
        { name: 'ADDED', expr: 'cpu > 50' },
      ]),
    );
    expect(e.list().map((r) => r.name)).toEqual(['KEEP', 'NEW_EXPR', 'NEW_FOR', 'NEW_KEEP', 'ADDED']);
    const keep = e.alerts().find((a) => a.rule.name === 'KEEP')!;
    expect(keep).toMatchObject({ state: 'firing', activeAt: T0, firedAt: T0 + M });
    expect(keep.rule.severity).toBe('critical');
    expect(keep.rule.config.summary).toBe('new');
    expect(e.alerts().map((a) => a.rule.name)).toEqual(['KEEP']);
    expect(e.list().find((r) => r.name === 'NEW_EXPR')!.trace).toBeUndefined();
    // Changed rules start over: pending again with a new activeAt.
    expect(kinds(e.evaluate(sig, T0 + 2 * M))).toEqual([
      'NEW_EXPR:pending',
      'NEW_EXPR:firing',
      'NEW_FOR:pending',
      'NEW_KEEP:pending',
      'NEW_KEEP:firing',
      'ADDED:pending',
      'ADDED:firing',
    ]);
  });
});

describe('RuleEngine > snapshot and restore', () => {
  const rules: RulesInput = [
    { name: 'SLOW', expr: 'lat_by > 1000', for: '1m', severity: 'critical' },
    { name: 'CPU', expr: 'cpu > 50', for: '5m' },
  ];

  function running() {
    const e = engine(rules);
    const sig = new FakeSignals().set('lat_by', { a: 2000 }).set('cpu', 90);
    e.evaluate(sig, T0);
    e.evaluate(sig, T0 + M);
    return { e, sig };
  }

  it('brings alerts back with their state and times (through JSON)', () => {
    const { e } = running();
    const snap = JSON.parse(JSON.stringify(e.snapshot())) as Record<string, unknown>;
    expect(Object.keys(snap)).toEqual(['SLOW', 'CPU']);
    const e2 = engine(rules);
    expect(e2.restore(snap, T0 + 2 * M)).toBe(2);
    expect(e2.alerts().map((a) => [a.rule.name, a.state, a.activeAt, a.firedAt, a.labels])).toEqual([
      ['SLOW', 'firing', T0, T0 + M, ['service.name', 'a']],
      ['CPU', 'pending', T0, undefined, []],
    ]);
    // The `for` clock kept running: CPU fires 5 minutes after its first activation.
    const sig = new FakeSignals().set('lat_by', { a: 2000 }).set('cpu', 90);
    expect(kinds(e2.evaluate(sig, T0 + 4 * M))).toEqual([]);
    expect(kinds(e2.evaluate(sig, T0 + 5 * M))).toEqual(['CPU:firing']);
  });

  it('resolves a restored firing alert at the first evaluation without its condition (no grace)', () => {
    const { e } = running();
    const e2 = engine(rules);
    e2.restore(e.snapshot(), T0 + 2 * M);
    expect(kinds(e2.evaluate(new FakeSignals(), T0 + 2 * M))).toEqual(['SLOW:resolved', 'CPU:dropped']);
  });

  it('holds restored alerts during the grace until their data is back', () => {
    const { e } = running();
    const e2 = engine(rules);
    e2.restore(e.snapshot(), T0 + 2 * M, 60 * S);
    const empty = new FakeSignals();
    expect(kinds(e2.evaluate(empty, T0 + 2 * M))).toEqual([]);
    expect(kinds(e2.evaluate(empty, T0 + 2 * M + 59 * S))).toEqual([]);
    expect(e2.alerts().map((a) => a.state)).toEqual(['firing', 'pending']);
    // Grace over: the sources have not come back, so the alerts go.
    expect(kinds(e2.evaluate(empty, T0 + 3 * M))).toEqual(['SLOW:resolved', 'CPU:dropped']);
  });

  it('stops holding a label set as soon as it shows up in a result', () => {
    const { e } = running();
    const e2 = engine(rules);
    e2.restore(e.snapshot(), T0 + 2 * M, 60 * S);
    const sig = new FakeSignals().set('lat_by', { a: 2000 }).set('cpu', 90);
    e2.evaluate(sig, T0 + 2 * M);
    expect(kinds(e2.evaluate(sig.set('cpu', 1).set('lat_by', { a: 1 }), T0 + 2 * M + S))).toEqual([
      'SLOW:resolved',
      'CPU:dropped',
    ]);
  });

  it('keeps holding restored alerts of unchanged rules across a reload during the grace', () => {
    const { e } = running();
    const e2 = engine(rules);
    e2.restore(e.snapshot(), T0 + 2 * M, 60 * S);
    e2.configure(parseRules(rules)); // e.g. SIGHUP right after the restart
    expect(kinds(e2.evaluate(new FakeSignals(), T0 + 2 * M + S))).toEqual([]);
    expect(e2.alerts().map((a) => a.state)).toEqual(['firing', 'pending']);
  });

  it('ignores rules it does not know, unknown snapshots and stale snapshots', () => {
    const { e } = running();
    const other = engine([{ name: 'OTHER', expr: 'cpu > 1' }]);
    expect(other.restore(e.snapshot(), T0 + 2 * M)).toBe(0);
    expect(other.restore(null, T0)).toBe(0);
    expect(other.restore('x', T0)).toBe(0);
    const e2 = engine(rules);
    expect(e2.restore(e.snapshot(), T0 + M + 61 * M)).toBe(0); // older than the 1h outage tolerance
    expect(e2.alerts()).toEqual([]);
  });

  it('throws on a malformed rule snapshot (the caller logs it and starts without)', () => {
    const e = engine(rules);
    expect(() => e.restore({ SLOW: { version: 2 } }, T0)).toThrow(TypeError);
  });
});
