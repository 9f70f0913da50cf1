import { DeliveryError, parseTarget, sendJson, type Target } from './http-delivery.js';
import type { PostableAlert } from './types.js';

/**
 * Alertmanager's API v2 (api/v2/openapi.yaml): post alerts, create and expire silences. Transport
 * only; what to send and when is the notifier's business (alertmanager-notifier.ts).
 */

export interface SilenceRequest {
  /** Exact-match matchers, one per label. */
  matchers: Record<string, string>;
  startsAtMs: number;
  endsAtMs: number;
  createdBy: string;
  comment: string;
}

export class AlertmanagerClient {
  private readonly target: Target;

  constructor(
    url: string,
    private readonly timeoutMs: number,
    private readonly clock: () => number,
  ) {
    this.target = parseTarget(url);
  }

  /** Scheme, host and port, for logs and the report. */
  get display(): string {
    return this.target.display;
  }

  async postAlerts(alerts: readonly PostableAlert[]): Promise<void> {
    await this.send('/api/v2/alerts', 'POST', alerts);
  }

  /** Returns the silence ID. */
  async createSilence(s: SilenceRequest): Promise<string> {
    const body = {
      matchers: Object.entries(s.matchers).map(([name, value]) => ({
        name,
        value,
        isRegex: false,
        isEqual: true,
      })),
      startsAt: new Date(s.startsAtMs).toISOString(),
      endsAt: new Date(s.endsAtMs).toISOString(),
      createdBy: s.createdBy,
      comment: s.comment,
    };
    const text = await this.send('/api/v2/silences', 'POST', body);
    let id: unknown;
    try {
      id = (JSON.parse(text) as { silenceID?: unknown }).silenceID;
    } catch {
      id = undefined;
    }
    if (typeof id !== 'string' || id === '')
      throw new DeliveryError(`unexpected silence response ${text.slice(0, 100)}`, false, 200);
    return id;
  }

  /**
   * Expire a silence. Alertmanager answers 200 for an already expired one and 404 (0.27+) or
   * 500 "silence not found" (0.25) for an unknown one; both mean there is nothing left to expire.
   */
  async expireSilence(id: string): Promise<void> {
    try {
      await this.send(`/api/v2/silence/${encodeURIComponent(id)}`, 'DELETE', undefined);
    } catch (err) {
      if (err instanceof DeliveryError && (err.status === 404 || /silence not found/i.test(err.message)))
        return;
      throw err;
    }
  }

  private send(path: string, method: 'POST' | 'DELETE', body: unknown): Promise<string> {
    return sendJson(this.target.base + path, {
      method,
      body,
      timeoutMs: this.timeoutMs,
      headers: this.target.headers,
      clock: this.clock,
    });
  }
}
