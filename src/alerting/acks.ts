import type { Acknowledgement } from './types.js';

/**
 * Acknowledgements by alert fingerprint. An ack belongs to one alert instance (its activeAt): it
 * ends when that instance resolves (by its rule or by hand) or when its duration runs out,
 * whichever is first; the rule firing anew needs a new ack. Saved in the state snapshot.
 */
export class AckBook {
  private readonly acks = new Map<string, Acknowledgement>();

  get size(): number {
    return this.acks.size;
  }

  /** The ack of this alert instance, if it has one that has not expired. */
  active(fingerprint: string, activeAtMs: number, nowMs: number): Acknowledgement | undefined {
    const a = this.acks.get(fingerprint);
    return a !== undefined && a.activeAtMs === activeAtMs && a.expiresAtMs > nowMs ? a : undefined;
  }

  get(fingerprint: string): Acknowledgement | undefined {
    return this.acks.get(fingerprint);
  }

  /** Replaces any earlier ack of the fingerprint (returned, so its silence can be expired). */
  set(ack: Acknowledgement): Acknowledgement | undefined {
    const prev = this.acks.get(ack.fingerprint);
    this.acks.set(ack.fingerprint, ack);
    return prev;
  }

  delete(fingerprint: string): Acknowledgement | undefined {
    const prev = this.acks.get(fingerprint);
    this.acks.delete(fingerprint);
    return prev;
  }

  /** Remove acks that expired or whose instance is no longer open; returns the removed ones. */
  prune(stillOpen: (fingerprint: string, activeAtMs: number) => boolean, nowMs: number): Acknowledgement[] {
    const removed: Acknowledgement[] = [];
    for (const [fp, a] of this.acks) {
      if (a.expiresAtMs <= nowMs || !stillOpen(fp, a.activeAtMs)) {
        this.acks.delete(fp);
        removed.push(a);
      }
    }
    return removed;
  }

  values(): IterableIterator<Acknowledgement> {
    return this.acks.values();
  }

  toJSON(): Acknowledgement[] {
    return [...this.acks.values()];
  }

  /** Entries that are not well-formed acks are skipped; returns how many were restored. */
  restore(json: unknown): number {
    if (!Array.isArray(json)) return 0;
    let n = 0;
    for (const raw of json) {
      const ack = parseAck(raw);
      if (ack === undefined) continue;
      this.acks.set(ack.fingerprint, ack);
      n++;
    }
    return n;
  }
}

function parseAck(raw: unknown): Acknowledgement | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const str = (k: string): string | undefined => (typeof r[k] === 'string' ? r[k] : undefined);
  const num = (k: string): number | undefined =>
    typeof r[k] === 'number' && Number.isFinite(r[k]) ? r[k] : undefined;
  const fingerprint = str('fingerprint');
  const by = str('by');
  const comment = str('comment');
  const activeAtMs = num('activeAtMs');
  const atMs = num('atMs');
  const expiresAtMs = num('expiresAtMs');
  if (
    fingerprint === undefined ||
    by === undefined ||
    comment === undefined ||
    activeAtMs === undefined ||
    atMs === undefined ||
    expiresAtMs === undefined
  )
    return undefined;
  let silence: Acknowledgement['silence'];
  const s = r['silence'];
  if (typeof s === 'object' && s !== null) {
    const so = s as Record<string, unknown>;
    const matchers = so['matchers'];
    if (typeof matchers !== 'object' || matchers === null || Array.isArray(matchers)) return undefined;
    const m: Record<string, string> = {};
    for (const [k, v] of Object.entries(matchers)) if (typeof v === 'string') m[k] = v;
    silence = {
      id: typeof so['id'] === 'string' ? so['id'] : null,
      matchers: m,
      lastError: typeof so['lastError'] === 'string' ? so['lastError'] : null,
    };
  }
  return { fingerprint, activeAtMs, by, comment, atMs, expiresAtMs, silence };
}
