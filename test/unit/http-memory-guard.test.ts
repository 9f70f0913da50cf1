import { describe, expect, it } from 'vitest';
import { memoryLimitsBytes } from '../../src/config/limits-schema.js';
import { parseConfigText } from '../../src/config/load.js';
import { MemoryGuard, type MemorySample } from '../../src/http/memory-guard.js';

const MIB = 1024 * 1024;

/** A guard on a scripted process: `set` what the next readings show, `advance` the clock. */
function scripted(
  limits: { softMib: number; hardMib?: number },
  start: MemorySample = { rssBytes: 60 * MIB, heapBytes: 20 * MIB },
  opts: { gcFrees?: number; maxSampleAgeMs?: number } = {},
) {
  let now = 1_000_000;
  let reading = { ...start };
  let samples = 0;
  let gcs = 0;
  const guard = new MemoryGuard(
    {
      softBytes: limits.softMib * MIB,
      hardBytes: limits.hardMib === undefined ? undefined : limits.hardMib * MIB,
    },
    {
      clock: () => now,
      sample: () => {
        samples++;
        return { ...reading };
      },
      gc:
        opts.gcFrees === undefined
          ? undefined
          : () => {
              gcs++;
              reading = { ...reading, heapBytes: Math.max(0, reading.heapBytes - opts.gcFrees! * MIB) };
            },
      maxSampleAgeMs: opts.maxSampleAgeMs ?? 20,
    },
  );
  guard.check(); // the start-up reading: overhead = rss - heap = 40 MiB by default
  return {
    guard,
    set(rssMib: number, heapMib: number) {
      reading = { rssBytes: rssMib * MIB, heapBytes: heapMib * MIB };
    },
    advance(ms: number) {
      now += ms;
    },
    samples: () => samples,
    gcs: () => gcs,
  };
}

describe('MemoryGuard', () => {
  it('is off without limits: always ok, never samples', () => {
    let samples = 0;
    const guard = new MemoryGuard(undefined, {
      sample: () => {
        samples++;
        return { rssBytes: 1e12, heapBytes: 1e12 };
      },
    });
    expect(guard.enabled).toBe(false);
    expect(guard.state()).toBe('ok');
    expect(guard.check()).toBe('ok');
    expect(samples).toBe(0);
  });

  it('compares heap + external + the overhead taken at start with soft and hard limits', () => {
    const p = scripted({ softMib: 100, hardMib: 150 });
    expect(p.guard.state()).toBe('ok');
    // estimate = heap + 40 MiB overhead
    p.set(95, 55);
    p.advance(20);
    expect(p.guard.state()).toBe('ok'); // 95 MiB estimate
    p.set(110, 70);
    p.advance(20);
    expect(p.guard.state()).toBe('soft'); // 110
    expect(p.guard.overloaded).toBe(true);
    p.set(160, 115);
    p.advance(20);
    expect(p.guard.state()).toBe('hard'); // 155
    p.set(90, 50);
    p.advance(20);
    expect(p.guard.state()).toBe('ok'); // recovers by itself
    expect(p.guard.estimateBytes).toBe(90 * MIB);
  });

  it('goes hard at once when RSS passes the hard limit while the estimate is above soft', () => {
    const p = scripted({ softMib: 100, hardMib: 150 });
    p.set(151, 65); // estimate 105: soft by the estimate, but the kubelet sees 151
    p.advance(20);
    expect(p.guard.state()).toBe('hard');
  });

  it('does not refuse for memory the allocator keeps after a burst (RSS high, little held)', () => {
    const p = scripted({ softMib: 100, hardMib: 150 });
    p.set(170, 30); // estimate 70: RSS is retained free memory, reused by the next requests
    p.advance(20);
    expect(p.guard.state()).toBe('ok');
  });

  it('samples lazily: a reading younger than maxSampleAgeMs is reused', () => {
    const p = scripted({ softMib: 100 }, undefined, { maxSampleAgeMs: 50 });
    const before = p.samples();
    p.set(200, 180);
    p.advance(49);
    expect(p.guard.state()).toBe('ok');
    expect(p.guard.state()).toBe('ok');
    expect(p.samples()).toBe(before);
    p.advance(1);
    expect(p.guard.state()).toBe('soft');
    expect(p.samples()).toBe(before + 1);
  });

  it('forces a GC above the limits, at most once a second, backing off to 10 s while soft-limit GCs free nothing', () => {
    const p = scripted({ softMib: 100, hardMib: 150 }, undefined, { gcFrees: 0 });
    p.set(200, 130); // estimate 170: hard
    p.advance(20);
    expect(p.guard.state()).toBe('hard');
    expect(p.gcs()).toBe(1);
    p.advance(500);
    p.guard.state();
    expect(p.gcs()).toBe(1); // throttled
    p.advance(500);
    p.guard.state();
    expect(p.gcs()).toBe(2);
    p.set(120, 70); // estimate 110: soft, and no GC brings it down (live data)
    const gcAt: number[] = [];
    for (let ms = 100; ms <= 35_000; ms += 100) {
      p.advance(100);
      const before = p.gcs();
      expect(p.guard.state()).toBe('soft');
      if (p.gcs() > before) gcAt.push(ms);
    }
    // 1 s after the last (hard) GC, then 2, 4, 8 s apart, then every 10 s.
    expect(gcAt).toEqual([1000, 3000, 7000, 15_000, 25_000, 35_000]);
    // The last GC was at 35 s, the next would be due at 45 s; memory drops below the limit at
    // 35.5 s and passes it again at 36 s: its GC is due a second after the last, not ten.
    p.advance(500);
    p.set(80, 30);
    expect(p.guard.state()).toBe('ok');
    const gcs = p.gcs();
    p.set(120, 70);
    p.advance(400);
    p.guard.state();
    expect(p.gcs()).toBe(gcs); // 35.9 s
    p.advance(100);
    expect(p.guard.state()).toBe('soft');
    expect(p.gcs()).toBe(gcs + 1); // 36 s
    p.set(80, 30);
    p.advance(20_000);
    expect(p.guard.state()).toBe('ok');
    expect(p.gcs()).toBe(gcs + 1); // none below the soft limit
    expect(p.guard.forcedGcs).toBe(gcs + 1);
  });

  it('ends a refusal held by garbage within a second, each time it comes back', () => {
    // Regression: soft-limit GCs were 10 s apart, as the collector's, but V8 does not collect its
    // old generation by itself while vigil refuses (it allocates little), so the garbage of the
    // last accepted requests held vigil above the soft limit for seconds after a flood.
    let heapMib = 30;
    let gcs = 0;
    let now = 0;
    const guard = new MemoryGuard(
      { softBytes: 100 * MIB, hardBytes: 150 * MIB },
      {
        clock: () => now,
        sample: () => ({ rssBytes: (heapMib + 40) * MIB, heapBytes: heapMib * MIB }),
        gc: () => {
          gcs++;
          heapMib = 30; // everything above the live 30 MiB was garbage
        },
      },
    );
    guard.check(); // overhead 40 MiB
    for (let round = 1; round <= 5; round++) {
      now += 1000;
      heapMib = 90; // estimate 130: soft, all of it garbage
      expect(guard.check()).toBe('ok'); // the GC it forced ended the refusal at once
      expect(gcs).toBe(round);
    }
  });

  it('reads again after a GC, so a GC that frees enough ends the refusal at once', () => {
    const p = scripted({ softMib: 100, hardMib: 150 }, undefined, { gcFrees: 60 });
    p.set(180, 120); // estimate 160: hard; the GC frees 60 MiB of garbage
    p.advance(20);
    expect(p.guard.state()).toBe('ok');
    expect(p.gcs()).toBe(1);
    expect(p.guard.lastSample.heapBytes).toBe(60 * MIB);
  });

  it('refuses a hard limit not above the soft one', () => {
    expect(() => new MemoryGuard({ softBytes: 10, hardBytes: 10 })).toThrow(RangeError);
  });
});

describe('memory limits from the config', () => {
  const limits = (yaml: string) => {
    const r = parseConfigText(`limits:\n${yaml}`, 'c.yaml');
    if (!r.ok) throw new Error(r.errors.join('\n'));
    return memoryLimitsBytes(r.config.limits);
  };
  const errors = (yaml: string): string[] => {
    const r = parseConfigText(`limits:\n${yaml}`, 'c.yaml');
    return r.ok ? [] : r.errors;
  };

  it('derives soft = limit - spike, spike 20% by default, as the collector', () => {
    expect(limits('  max_series: 10\n')).toBeUndefined();
    expect(limits('  memory_limit_mib: 200\n')).toEqual({ softBytes: 160 * MIB, hardBytes: 200 * MIB });
    expect(limits('  memory_limit_mib: 200\n  memory_spike_limit_mib: 50\n')).toEqual({
      softBytes: 150 * MIB,
      hardBytes: 200 * MIB,
    });
    expect(limits('  memory_limit_mib: 200\n  memory_soft_mib: 120\n')).toEqual({
      softBytes: 120 * MIB,
      hardBytes: 200 * MIB,
    });
    // memory_soft_mib alone keeps working (SPEC §3): a soft limit, no hard one.
    expect(limits('  memory_soft_mib: 160\n')).toEqual({ softBytes: 160 * MIB });
  });

  it('rejects inconsistent memory and timeout settings with the key at fault', () => {
    expect(errors('  memory_spike_limit_mib: 10\n')[0]).toMatch(
      /limits\.memory_spike_limit_mib: memory_spike_limit_mib needs memory_limit_mib/,
    );
    expect(errors('  memory_limit_mib: 100\n  memory_spike_limit_mib: 100\n')[0]).toMatch(
      /must be below memory_limit_mib/,
    );
    expect(errors('  memory_limit_mib: 100\n  memory_soft_mib: 120\n')[0]).toMatch(
      /limits\.memory_soft_mib: memory_soft_mib must be below memory_limit_mib/,
    );
    expect(
      errors('  memory_limit_mib: 100\n  memory_soft_mib: 50\n  memory_spike_limit_mib: 10\n')[0],
    ).toMatch(/not both/);
    expect(errors('  headers_timeout: 40s\n')[0]).toMatch(
      /limits\.headers_timeout: headers_timeout must not exceed request_timeout/,
    );
    expect(errors('  max_concurrent_requests: 0\n')).toHaveLength(1);
    expect(errors('  max_header_bytes: lots\n')[0]).toMatch(/invalid size/);
  });
});
