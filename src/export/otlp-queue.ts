/**
 * The sending queue: serialised export requests waiting for the backend, oldest first.
 *
 * Bounded by a number of requests (the collector's `sending_queue.queue_size`) and by bytes, since
 * a sidecar's memory limit is in bytes. When full the OLDEST batch is dropped rather than the new
 * one: for cumulative data the newest point supersedes older ones, and for a long outage the
 * recent past is what on-call wants to see. Dropped batches are reported to the caller to count.
 *
 * The queue is plain data (no timers, no I/O): `snapshot` / `restoreQueue` turn it into JSON for
 * the state file so a restart during an outage loses nothing that was queued.
 */

export interface QueuedBatch {
  /** When the batch was collected (ms since the epoch). */
  readonly createdMs: number;
  /** Data points it carries: what the sent / failed counters count. */
  readonly points: number;
  readonly contentType: string;
  /** `gzip` when the body is already compressed (compressed once at enqueue, not per attempt). */
  readonly contentEncoding: 'gzip' | undefined;
  readonly body: Buffer;
}

export interface QueueLimits {
  maxBatches: number;
  maxBytes: number;
}

export type EnqueueResult =
  | { ok: true; evicted: QueuedBatch[] }
  /** The batch alone is larger than the whole byte budget: never queued. */
  | { ok: false; reason: 'too_large' };

export class BatchQueue {
  private items: QueuedBatch[] = [];
  private head = 0;
  private byteCount = 0;

  constructor(readonly limits: QueueLimits) {
    if (!(limits.maxBatches >= 1)) throw new RangeError('maxBatches must be at least 1');
    if (!(limits.maxBytes >= 1)) throw new RangeError('maxBytes must be at least 1');
  }

  get size(): number {
    return this.items.length - this.head;
  }

  get bytes(): number {
    return this.byteCount;
  }

  get points(): number {
    let n = 0;
    for (let i = this.head; i < this.items.length; i++) n += this.items[i]!.points;
    return n;
  }

  /**
   * Append a batch, dropping the oldest ones to make room. `pinned` (the batch being sent right
   * now) is never dropped, so a batch is never both counted as dropped and delivered; the queue
   * may then exceed its bounds by that one batch until the send ends.
   */
  push(batch: QueuedBatch, pinned?: QueuedBatch): EnqueueResult {
    if (batch.body.length > this.limits.maxBytes) return { ok: false, reason: 'too_large' };
    const evicted: QueuedBatch[] = [];
    const over = (): boolean =>
      this.size >= this.limits.maxBatches || this.byteCount + batch.body.length > this.limits.maxBytes;
    while (this.size > 0 && over()) {
      if (this.peek() !== pinned || pinned === undefined) {
        evicted.push(this.shift()!);
      } else if (this.size > 1) {
        const [second] = this.items.splice(this.head + 1, 1);
        this.byteCount -= second!.body.length;
        evicted.push(second!);
      } else {
        break;
      }
    }
    this.items.push(batch);
    this.byteCount += batch.body.length;
    return { ok: true, evicted };
  }

  peek(): QueuedBatch | undefined {
    return this.items[this.head];
  }

  shift(): QueuedBatch | undefined {
    const b = this.items[this.head];
    if (b === undefined) return undefined;
    this.items[this.head] = undefined as unknown as QueuedBatch;
    this.head++;
    this.byteCount -= b.body.length;
    // Compact now and then instead of Array#shift on every send (O(n) each).
    if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return b;
  }

  /** Everything queued, oldest first (for persistence and tests). */
  toArray(): QueuedBatch[] {
    return this.items.slice(this.head);
  }

  /** Remove and return everything. */
  drain(): QueuedBatch[] {
    const all = this.toArray();
    this.items = [];
    this.head = 0;
    this.byteCount = 0;
    return all;
  }
}

/** The queue as it goes into the state file: bodies as base64. */
export interface QueueSnapshot {
  version: 1;
  batches: Array<{
    createdMs: number;
    points: number;
    contentType: string;
    contentEncoding?: 'gzip';
    body: string;
  }>;
}

export function snapshotQueue(queue: BatchQueue): QueueSnapshot {
  return {
    version: 1,
    batches: queue.toArray().map((b) => ({
      createdMs: b.createdMs,
      points: b.points,
      contentType: b.contentType,
      ...(b.contentEncoding !== undefined ? { contentEncoding: b.contentEncoding } : {}),
      body: b.body.toString('base64'),
    })),
  };
}

const CONTENT_TYPES = new Set(['application/x-protobuf', 'application/json']);

/**
 * Batches from a snapshot, skipping entries that are not well formed (a hand-edited or truncated
 * file must not stop the exporter). `skipped` counts them.
 */
export function restoreQueue(raw: unknown): { batches: QueuedBatch[]; skipped: number } {
  const batches: QueuedBatch[] = [];
  let skipped = 0;
  if (typeof raw !== 'object' || raw === null || (raw as { version?: unknown }).version !== 1)
    return { batches, skipped };
  const list = (raw as { batches?: unknown }).batches;
  if (!Array.isArray(list)) return { batches, skipped };
  for (const item of list as unknown[]) {
    const b = item as Record<string, unknown> | null;
    if (
      typeof b !== 'object' ||
      b === null ||
      typeof b['createdMs'] !== 'number' ||
      typeof b['points'] !== 'number' ||
      typeof b['contentType'] !== 'string' ||
      !CONTENT_TYPES.has(b['contentType']) ||
      (b['contentEncoding'] !== undefined && b['contentEncoding'] !== 'gzip') ||
      typeof b['body'] !== 'string'
    ) {
      skipped++;
      continue;
    }
    batches.push({
      createdMs: b['createdMs'],
      points: b['points'],
      contentType: b['contentType'],
      contentEncoding: b['contentEncoding'] === 'gzip' ? 'gzip' : undefined,
      body: Buffer.from(b['body'], 'base64'),
    });
  }
  return { batches, skipped };
}
