import { describe, expect, it } from 'vitest';
import {
  IngestAdmission,
  isRefusal,
  type AdmissionTicket,
  type Refusal,
} from '../../src/http/ingest-admission.js';
import { MemoryGuard } from '../../src/http/memory-guard.js';

const MIB = 1024 * 1024;

function setup(opts: { maxConcurrent?: number; maxInflightBytes?: number } = {}) {
  let now = 0;
  let heap = 10 * MIB;
  let accepting = true;
  const memory = new MemoryGuard(
    { softBytes: 100 * MIB, hardBytes: 200 * MIB },
    { clock: () => now, sample: () => ({ rssBytes: heap, heapBytes: heap }), maxSampleAgeMs: 0 },
  );
  memory.check(); // overhead 0: the estimate is the heap
  const admission = new IngestAdmission({
    maxConcurrent: opts.maxConcurrent ?? 2,
    maxInflightBytes: opts.maxInflightBytes ?? 10,
    memory,
    accepting: () => accepting,
  });
  return {
    admission,
    heapMib(mib: number) {
      heap = mib * MIB;
      now += 1;
    },
    stopAccepting() {
      accepting = false;
    },
  };
}

function ticket(x: AdmissionTicket | Refusal): AdmissionTicket {
  if (isRefusal(x)) throw new Error(`refused: ${x.message}`);
  return x;
}

describe('IngestAdmission', () => {
  it('answers 429 + Retry-After beyond max_concurrent_requests, and admits again once one ends', () => {
    const { admission } = setup({ maxConcurrent: 2 });
    const a = ticket(admission.enter());
    ticket(admission.enter());
    const third = admission.enter();
    expect(isRefusal(third)).toBe(true);
    expect(third).toMatchObject({
      status: 429,
      rpcCode: 8,
      reason: 'concurrency_limit',
      retryAfterSeconds: 1,
    });
    expect((third as Refusal).message).toMatch(/limits\.max_concurrent_requests \(2\)/);
    expect(admission.concurrent).toBe(2);
    a.release();
    a.release(); // idempotent: one slot back, not two
    expect(admission.concurrent).toBe(1);
    ticket(admission.enter());
    expect(isRefusal(admission.enter())).toBe(true);
  });

  it('bounds body bytes in flight, but a request alone always gets through', () => {
    const { admission } = setup({ maxConcurrent: 10, maxInflightBytes: 10 });
    const a = ticket(admission.enter());
    expect(a.take(25)).toBeUndefined(); // alone: larger than the budget is fine
    expect(a.take(5)).toBeUndefined();
    const b = ticket(admission.enter());
    expect(b.take(1)).toMatchObject({ status: 429, reason: 'inflight_bytes_limit', retryAfterSeconds: 1 });
    expect(admission.bytesInFlight).toBe(30);
    a.release();
    expect(admission.bytesInFlight).toBe(0);
    expect(b.take(6)).toBeUndefined();
    const c = ticket(admission.enter());
    expect(c.take(4)).toBeUndefined(); // 10 in flight: at the budget, not past it
    expect(c.take(1)?.reason).toBe('inflight_bytes_limit');
    b.release();
    c.release();
    expect(admission.bytesInFlight).toBe(0);
    expect(admission.concurrent).toBe(0);
  });

  it('sheds with 503 above the soft limit, cuts bodies and decoding above the hard one', () => {
    const s = setup({ maxConcurrent: 10, maxInflightBytes: 1000 });
    const a = ticket(s.admission.enter());
    s.heapMib(150); // soft
    expect(s.admission.enter()).toMatchObject({
      status: 503,
      rpcCode: 14,
      reason: 'memory_soft_limit',
      retryAfterSeconds: 5,
    });
    expect(a.take(10)).toBeUndefined(); // an admitted body goes on reading above soft
    expect(a.proceed()).toBeUndefined();
    s.heapMib(250); // hard
    expect(s.admission.enter()).toMatchObject({ status: 503, reason: 'memory_hard_limit' });
    expect(a.take(10)).toMatchObject({ status: 503, reason: 'memory_hard_limit' });
    expect(a.proceed()).toMatchObject({ status: 503, reason: 'memory_hard_limit' });
    s.heapMib(50);
    expect(a.proceed()).toBeUndefined();
    expect(isRefusal(s.admission.enter())).toBe(false);
  });

  it('refuses everything with 503 while shutting down', () => {
    const s = setup();
    s.stopAccepting();
    expect(s.admission.enter()).toMatchObject({ status: 503, reason: 'shutting_down' });
    expect(s.admission.concurrent).toBe(0);
  });
});
