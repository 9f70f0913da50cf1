import type { ManualResolution } from './types.js';

/**
 * Alerts closed by hand (`POST /api/v1/alerts/<fingerprint>/resolve`). A closure belongs to one
 * alert instance (its activeAt): notifications treat that instance as resolved from then on,
 * while the rule keeps evaluating; when the rule drops the instance and later fires anew (a new
 * activeAt), the new alert is notified as usual. Saved in the state snapshot, so a restart does
 * not reopen a closed alert.
 */
export class ManualResolutions {
  private readonly closed = new Map<string, ManualResolution>();

  get size(): number {
    return this.closed.size;
  }

  /** The closure of this alert instance, if it was closed by hand. */
  get(fingerprint: string, activeAtMs: number): ManualResolution | undefined {
    const c = this.closed.get(fingerprint);
    return c !== undefined && c.activeAtMs === activeAtMs ? c : undefined;
  }

  close(c: ManualResolution): void {
    this.closed.set(c.fingerprint, c);
  }

  /** Forget closures whose instance the rule no longer holds. */
  prune(held: (fingerprint: string, activeAtMs: number) => boolean): void {
    for (const [fp, c] of this.closed) if (!held(fp, c.activeAtMs)) this.closed.delete(fp);
  }

  toJSON(): ManualResolution[] {
    return [...this.closed.values()];
  }

  restore(json: unknown): number {
    if (!Array.isArray(json)) return 0;
    let n = 0;
    for (const raw of json) {
      if (typeof raw !== 'object' || raw === null) continue;
      const r = raw as Record<string, unknown>;
      const { fingerprint, by, comment, activeAtMs, atMs } = r;
      if (
        typeof fingerprint !== 'string' ||
        typeof by !== 'string' ||
        typeof comment !== 'string' ||
        typeof activeAtMs !== 'number' ||
        typeof atMs !== 'number'
      )
        continue;
      this.closed.set(fingerprint, { fingerprint, by, comment, activeAtMs, atMs });
      n++;
    }
    return n;
  }
}
