/**
 * Escalation (SPEC §8, seed 004's escalation policy reduced to the one step that matters): a
 * `warning` alert that has been firing for `escalate_after` without an acknowledgement is sent
 * as `critical`, so a route on `severity="critical"` pages someone. It stays escalated for the
 * rest of that alert instance, even once acknowledged: flipping back would change its label set
 * again and make Alertmanager see yet another alert. Saved in the state snapshot.
 */

export interface EscalationCandidate {
  fingerprint: string;
  activeAtMs: number;
  firedAtMs: number | undefined;
  ruleSeverity: string;
  /** Firing, not resolved by hand. */
  firing: boolean;
  acknowledged: boolean;
}

export class Escalations {
  /** fingerprint → activeAt of the escalated instance. */
  private readonly escalated = new Map<string, number>();

  get size(): number {
    return this.escalated.size;
  }

  has(fingerprint: string, activeAtMs: number): boolean {
    return this.escalated.get(fingerprint) === activeAtMs;
  }

  /**
   * Escalate what is due; forget instances that are gone. Returns the fingerprints escalated by
   * this call (for the log). `afterMs` undefined disables escalation.
   */
  update(candidates: readonly EscalationCandidate[], afterMs: number | undefined, nowMs: number): string[] {
    const present = new Map(candidates.map((c) => [c.fingerprint, c.activeAtMs]));
    for (const [fp, at] of this.escalated) if (present.get(fp) !== at) this.escalated.delete(fp);
    if (afterMs === undefined) return [];
    const now: string[] = [];
    for (const c of candidates) {
      if (c.ruleSeverity !== 'warning' || !c.firing || c.acknowledged || c.firedAtMs === undefined) continue;
      if (this.escalated.get(c.fingerprint) === c.activeAtMs) continue;
      if (nowMs - c.firedAtMs >= afterMs) {
        this.escalated.set(c.fingerprint, c.activeAtMs);
        now.push(c.fingerprint);
      }
    }
    return now;
  }

  toJSON(): Array<[string, number]> {
    return [...this.escalated];
  }

  restore(json: unknown): number {
    if (!Array.isArray(json)) return 0;
    let n = 0;
    for (const e of json) {
      if (Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'number') {
        this.escalated.set(e[0], e[1]);
        n++;
      }
    }
    return n;
  }
}
