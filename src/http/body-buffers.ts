/**
 * Reusable memory for request bodies of a declared length. Collecting a body's socket chunks
 * into a fresh buffer (Buffer.concat) cost a 100 KiB+ allocation per request, its first-touch
 * page faults and external memory that V8 counts towards its next GC: 6% of vigil's CPU under
 * B1's load. A body read into a buffer from here is copied chunk by chunk as it arrives, into
 * memory that is already mapped.
 *
 * Only for a reader that keeps nothing of the body past its request (the OTLP decoders copy what
 * they keep): the handler gives the buffer back when it is done with it. At most `maxKeptBytes`
 * are kept between requests, in buffers of at most `maxBufferBytes` each, and none once no body
 * has been given back for `releaseAfterMs` (a sidecar pushed to once a minute keeps nothing).
 */
export class BodyBuffers {
  private readonly free: ArrayBuffer[] = [];
  /** Memory handed out and not given back: only it is taken back (never a foreign buffer). */
  private readonly lent = new WeakSet<ArrayBuffer>();
  private keptBytes = 0;
  private releaseTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly limits: { maxBufferBytes: number; maxKeptBytes: number; releaseAfterMs: number },
  ) {}

  /** Bytes kept for the next bodies. */
  get kept(): number {
    return this.keptBytes;
  }

  /** A buffer of `length` bytes (contents undefined), or undefined when it is too large to keep. */
  take(length: number): Buffer | undefined {
    const { maxBufferBytes } = this.limits;
    if (length > maxBufferBytes) return undefined;
    const free = this.free;
    for (let i = free.length - 1; i >= 0; i--) {
      const memory = free[i]!;
      if (memory.byteLength < length) continue;
      free.splice(i, 1);
      this.keptBytes -= memory.byteLength;
      return this.lend(memory, length);
    }
    // Sized to a power of two, so bodies that vary a little reuse the same memory.
    const size = Math.min(maxBufferBytes, 2 ** Math.ceil(Math.log2(Math.max(length, 1))));
    return this.lend(new ArrayBuffer(size), length);
  }

  /** Gives back a buffer from {@link take}; nothing may read or write it afterwards. */
  give(body: Buffer): void {
    const memory = body.buffer as ArrayBuffer;
    if (!this.lent.delete(memory) || this.keptBytes + memory.byteLength > this.limits.maxKeptBytes) return;
    this.free.push(memory);
    this.keptBytes += memory.byteLength;
    if (this.releaseTimer !== undefined) this.releaseTimer.refresh();
    else this.releaseTimer = setTimeout(() => this.release(), this.limits.releaseAfterMs).unref();
  }

  /** Drops the memory kept for the next bodies (memory lent out is still taken back). */
  release(): void {
    clearTimeout(this.releaseTimer);
    this.releaseTimer = undefined;
    this.free.length = 0;
    this.keptBytes = 0;
  }

  private lend(memory: ArrayBuffer, length: number): Buffer {
    this.lent.add(memory);
    return Buffer.from(memory, 0, length);
  }
}
