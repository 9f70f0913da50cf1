import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { BatchQueue, restoreQueue, snapshotQueue, type QueuedBatch } from '../../src/export/otlp-queue.js';
import { StateFile } from '../../src/store/state-file.js';

function batch(id: number, bytes = 10, points = 1): QueuedBatch {
  const body = Buffer.alloc(bytes, id);
  return {
    createdMs: 1000 + id,
    points,
    contentType: 'application/x-protobuf',
    contentEncoding: undefined,
    body,
  };
}
const ids = (q: BatchQueue): number[] => q.toArray().map((b) => b.createdMs - 1000);

describe('BatchQueue', () => {
  it('is FIFO', () => {
    const q = new BatchQueue({ maxBatches: 10, maxBytes: 1000 });
    for (let i = 0; i < 5; i++) q.push(batch(i));
    expect(q.shift()?.createdMs).toBe(1000);
    expect(q.peek()?.createdMs).toBe(1001);
    expect(q.size).toBe(4);
    expect(q.bytes).toBe(40);
  });

  it('drops the oldest batches when the count bound is reached, and reports them', () => {
    const q = new BatchQueue({ maxBatches: 3, maxBytes: 1000 });
    for (let i = 0; i < 3; i++) expect(q.push(batch(i))).toEqual({ ok: true, evicted: [] });
    const r = q.push(batch(3, 10, 7));
    expect(r.ok && r.evicted.map((b) => b.createdMs)).toEqual([1000]);
    expect(ids(q)).toEqual([1, 2, 3]);
    expect(q.points).toBe(9);
  });

  it('drops as many old batches as the byte bound needs', () => {
    const q = new BatchQueue({ maxBatches: 100, maxBytes: 100 });
    for (let i = 0; i < 4; i++) q.push(batch(i, 25));
    const r = q.push(batch(4, 60));
    expect(r.ok && r.evicted.length).toBe(3);
    expect(ids(q)).toEqual([3, 4]);
    expect(q.bytes).toBe(85);
  });

  it('refuses a batch larger than the whole byte budget', () => {
    const q = new BatchQueue({ maxBatches: 10, maxBytes: 50 });
    q.push(batch(0, 10));
    expect(q.push(batch(1, 51))).toEqual({ ok: false, reason: 'too_large' });
    expect(ids(q)).toEqual([0]);
  });

  it('never drops the batch being sent; drops the next oldest instead', () => {
    const q = new BatchQueue({ maxBatches: 3, maxBytes: 1000 });
    for (let i = 0; i < 3; i++) q.push(batch(i));
    const sending = q.peek();
    const r = q.push(batch(3), sending);
    expect(r.ok && r.evicted.map((b) => b.createdMs)).toEqual([1001]);
    expect(ids(q)).toEqual([0, 2, 3]);
    expect(q.bytes).toBe(30);
    // Alone in a one-slot queue it stays, and the queue overflows by that one batch.
    const one = new BatchQueue({ maxBatches: 1, maxBytes: 1000 });
    one.push(batch(0));
    expect(one.push(batch(1), one.peek()).ok).toBe(true);
    expect(ids(one)).toEqual([0, 1]);
  });

  it('stays correct across many pushes and shifts (compaction)', () => {
    const q = new BatchQueue({ maxBatches: 1000, maxBytes: 1e6 });
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 500; round++) {
      q.push(batch(next++, 1));
      if (round % 3 !== 0) expect(q.shift()?.createdMs).toBe(1000 + expected++);
    }
    expect(q.size).toBe(next - expected);
    expect(q.bytes).toBe(q.size);
    expect(ids(q)[0]).toBe(expected);
  });
});

describe('queue snapshots', () => {
  it('round-trip through the real state file, bodies intact', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-queue-'));
    const file = new StateFile(dir, pino({ level: 'silent' }), () => 5, 'vigil-otlp-queue.json');
    const q = new BatchQueue({ maxBatches: 10, maxBytes: 1e6 });
    q.push(batch(0, 3));
    q.push({ ...batch(1, 300, 42), contentType: 'application/json', contentEncoding: 'gzip' });
    file.write({ ...snapshotQueue(q) });
    const { batches, skipped } = restoreQueue(file.read());
    expect(skipped).toBe(0);
    expect(batches).toEqual(q.toArray());
    expect(JSON.parse(readFileSync(file.path, 'utf8')).version).toBe(1);
  });

  it('skips malformed entries and ignores unknown versions', () => {
    const empty = snapshotQueue(new BatchQueue({ maxBatches: 5, maxBytes: 100 }));
    expect(restoreQueue(empty)).toEqual({ batches: [], skipped: 0 });
    const raw = {
      version: 1,
      batches: [
        { createdMs: 1, points: 1, contentType: 'application/x-protobuf', body: 'AAE=' },
        { createdMs: 'x', points: 1, contentType: 'application/x-protobuf', body: '' },
        { createdMs: 1, points: 1, contentType: 'text/html', body: '' },
        null,
      ],
    };
    const r = restoreQueue(raw);
    expect(r.skipped).toBe(3);
    expect(r.batches[0]?.body).toEqual(Buffer.from([0, 1]));
    expect(restoreQueue({ version: 2, batches: raw.batches }).batches).toEqual([]);
    expect(restoreQueue('garbage').batches).toEqual([]);
  });

  it('a corrupt file is set aside by the state file, never fatal', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-queue-'));
    writeFileSync(join(dir, 'vigil-otlp-queue.json'), '{"version":1,"batches":[');
    const file = new StateFile(dir, pino({ level: 'silent' }), () => 7, 'vigil-otlp-queue.json');
    expect(restoreQueue(file.read()).batches).toEqual([]);
  });
});
