import type { MemoryGuard } from './memory-guard.js';

/** Why an ingest request was shed: the `reason` of `vigil_receiver_refused_requests_total`. */
export type RefusalReason =
  'shutting_down' | 'memory_soft_limit' | 'memory_hard_limit' | 'concurrency_limit' | 'inflight_bytes_limit';

/**
 * A shed request. 503 for states of the whole process (draining, memory), as the collector's
 * memory_limiter answers; 429 for "too many at once", which clears as soon as a request ends.
 * Both are retryable for every OTLP exporter and both carry `Retry-After`.
 */
export interface Refusal {
  status: 429 | 503;
  /** google.rpc.Code for OTLP bodies: UNAVAILABLE (14) with 503, RESOURCE_EXHAUSTED (8) with 429. */
  rpcCode: 8 | 14;
  reason: RefusalReason;
  message: string;
  retryAfterSeconds: number;
}

export interface IngestAdmissionOptions {
  /** `limits.max_concurrent_requests`. */
  maxConcurrent: number;
  /** `limits.max_inflight_bytes`: decompressed body bytes held by all requests at once. */
  maxInflightBytes: number;
  memory: MemoryGuard;
  /** False while shutting down. */
  accepting: () => boolean;
}

/** One admitted request: holds its slot and its body bytes until released. */
export interface AdmissionTicket {
  /** Account `bytes` more of body; a refusal when that passes the in-flight budget or memory is above the hard limit. */
  take(bytes: number): Refusal | undefined;
  /**
   * Whether the body, once read, may be decoded: not above the hard memory limit, where decoding
   * (an OTLP/JSON body becomes several times its size in objects) would only add to it.
   */
  proceed(): Refusal | undefined;
  /** Give the slot and the bytes back (idempotent). */
  release(): void;
}

const RETRY_AFTER_BUSY_S = 1;
const RETRY_AFTER_MEMORY_S = 5;

/**
 * Admission control for the ingest listener: shutdown and memory first (503), then the number
 * of requests being served (429), then, while bodies stream in, the bytes they hold (429) and the
 * hard memory limit (503). Together they bound what a burst can make vigil hold:
 * about `max_inflight_bytes` of bodies plus what decoding them costs, whatever the clients do.
 */
export class IngestAdmission {
  private active = 0;
  private admittedCount = 0;
  private inflightBytes = 0;
  /** Requests that currently hold body bytes (a lone request may pass the byte budget). */
  private holders = 0;

  constructor(private readonly opts: IngestAdmissionOptions) {}

  /** Requests being served now. */
  get concurrent(): number {
    return this.active;
  }

  /** Body bytes held now. */
  get bytesInFlight(): number {
    return this.inflightBytes;
  }

  /** Why vigil would refuse a request now, before its slot is taken; undefined if it would not. */
  overloaded(): Refusal | undefined {
    if (!this.opts.accepting())
      return refusal(503, 'shutting_down', 'vigil is shutting down', RETRY_AFTER_MEMORY_S);
    const memory = this.opts.memory.state();
    if (memory !== 'ok') return memoryRefusal(memory);
    return undefined;
  }

  /** Requests admitted so far: a count that moves while ingest is busy. */
  get admitted(): number {
    return this.admittedCount;
  }

  /** Admit a request (its slot is held until `release`), or say why not. */
  enter(): AdmissionTicket | Refusal {
    const over = this.overloaded();
    if (over !== undefined) return over;
    if (this.active >= this.opts.maxConcurrent)
      return refusal(
        429,
        'concurrency_limit',
        `more than limits.max_concurrent_requests (${this.opts.maxConcurrent}) requests at once; retry later`,
        RETRY_AFTER_BUSY_S,
      );
    this.active++;
    this.admittedCount++;
    let held = 0;
    let released = false;
    return {
      take: (bytes) => {
        if (released) return undefined;
        if (this.opts.memory.state() === 'hard') return memoryRefusal('hard');
        const alone = held === 0 ? this.holders === 0 : this.holders === 1;
        if (this.inflightBytes + bytes > this.opts.maxInflightBytes && !alone)
          return refusal(
            429,
            'inflight_bytes_limit',
            `request bodies in flight exceed limits.max_inflight_bytes (${this.opts.maxInflightBytes} bytes); retry later`,
            RETRY_AFTER_BUSY_S,
          );
        if (held === 0 && bytes > 0) this.holders++;
        held += bytes;
        this.inflightBytes += bytes;
        return undefined;
      },
      proceed: () => (this.opts.memory.state() === 'hard' ? memoryRefusal('hard') : undefined),
      release: () => {
        if (released) return;
        released = true;
        this.active--;
        this.inflightBytes -= held;
        if (held > 0) this.holders--;
      },
    };
  }
}

function refusal(
  status: 429 | 503,
  reason: RefusalReason,
  message: string,
  retryAfterSeconds: number,
): Refusal {
  return { status, rpcCode: status === 429 ? 8 : 14, reason, message, retryAfterSeconds };
}

function memoryRefusal(state: 'soft' | 'hard'): Refusal {
  return state === 'hard'
    ? refusal(
        503,
        'memory_hard_limit',
        'memory above limits.memory_limit_mib; retry later',
        RETRY_AFTER_MEMORY_S,
      )
    : refusal(
        503,
        'memory_soft_limit',
        'memory above the soft limit (limits.memory_soft_mib, or memory_limit_mib - memory_spike_limit_mib); retry later',
        RETRY_AFTER_MEMORY_S,
      );
}

/** Type guard: `enter` gave a refusal. */
export function isRefusal(x: AdmissionTicket | Refusal): x is Refusal {
  return 'status' in x;
}
