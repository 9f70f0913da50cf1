import type { Logger } from 'pino';
import type { AlertmanagerClient } from './alertmanager-client.js';
import { backoffDelayMs } from './backoff.js';
import type { Acknowledgement } from './types.js';

/**
 * Keeps Alertmanager's silences in step with acknowledgements: an ack gets a silence matching
 * its alert's labels exactly, ending when the ack ends; when the ack ends early (the alert
 * resolved, by its rule or by hand, or the ack was withdrawn) the silence is expired. Alertmanager
 * being down never fails an ack: the silence is created, or expired, when it is back (retried
 * with backoff after evaluations). Pending expirations are saved in the state snapshot.
 */

export interface SilenceSyncOptions {
  clock: () => number;
  log: Logger;
  /** Whether an ack is still the current one of its fingerprint (a late silence of a stale ack is expired). */
  isCurrent: (ack: Acknowledgement) => boolean;
  /** Called when silence IDs change, so the state snapshot is refreshed. */
  onChange: () => void;
}

export class SilenceSync {
  private client: AlertmanagerClient | undefined;
  private readonly toExpire = new Set<string>();
  private readonly creating = new Set<Acknowledgement>();
  private failures = 0;
  private nextAttemptMs = 0;
  private lastError: string | null = null;
  private inflight: Promise<void> | undefined;

  constructor(
    client: AlertmanagerClient | undefined,
    private readonly opts: SilenceSyncOptions,
  ) {
    this.client = client;
  }

  setClient(client: AlertmanagerClient | undefined): void {
    this.client = client;
  }

  get enabled(): boolean {
    return this.client !== undefined;
  }

  /** Create the ack's silence now; on failure it stays pending (`id` null) and is retried. Never rejects. */
  async create(ack: Acknowledgement): Promise<void> {
    const client = this.client;
    if (client === undefined || ack.silence === undefined || ack.silence.id !== null) return;
    if (this.creating.has(ack)) return;
    this.creating.add(ack);
    try {
      const id = await client.createSilence({
        matchers: ack.silence.matchers,
        startsAtMs: this.opts.clock(),
        endsAtMs: ack.expiresAtMs,
        createdBy: ack.by,
        comment: ack.comment !== '' ? ack.comment : `acknowledged in vigil (alert ${ack.fingerprint})`,
      });
      ack.silence.id = id;
      ack.silence.lastError = null;
      this.succeeded();
      this.opts.log.info(
        { fingerprint: ack.fingerprint, silenceId: id, by: ack.by },
        'alertmanager silence created',
      );
      if (!this.opts.isCurrent(ack)) this.expire(id); // the ack ended while the request was out
      this.opts.onChange();
    } catch (err) {
      ack.silence.lastError = (err as Error).message;
      this.failed((err as Error).message);
      this.opts.log.warn(
        { fingerprint: ack.fingerprint, err: (err as Error).message },
        'cannot create alertmanager silence; will retry',
      );
    } finally {
      this.creating.delete(ack);
    }
  }

  /** Expire a silence (now if possible, else later). */
  expire(id: string): void {
    this.toExpire.add(id);
    this.opts.onChange();
    void this.flush([], true);
  }

  /** Retry pending creations and expirations, unless backing off. Never rejects. */
  flush(acks: Iterable<Acknowledgement>, force = false): Promise<void> {
    if (this.client === undefined) return Promise.resolve();
    if (this.inflight !== undefined) return this.inflight;
    if (!force && this.opts.clock() < this.nextAttemptMs) return Promise.resolve();
    const pending = [...acks].filter((a) => a.silence !== undefined && a.silence.id === null);
    if (pending.length === 0 && this.toExpire.size === 0) return Promise.resolve();
    this.inflight = this.run(pending).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async run(pending: Acknowledgement[]): Promise<void> {
    for (const id of [...this.toExpire]) {
      const client = this.client;
      if (client === undefined) return;
      try {
        await client.expireSilence(id);
        this.toExpire.delete(id);
        this.succeeded();
        this.opts.log.info({ silenceId: id }, 'alertmanager silence expired');
        this.opts.onChange();
      } catch (err) {
        this.failed((err as Error).message);
        this.opts.log.warn(
          { silenceId: id, err: (err as Error).message },
          'cannot expire alertmanager silence; will retry',
        );
        return;
      }
    }
    for (const ack of pending) {
      if (!this.opts.isCurrent(ack)) continue;
      await this.create(ack);
      if (ack.silence?.id === null) return;
    }
  }

  private succeeded(): void {
    this.failures = 0;
    this.nextAttemptMs = 0;
  }

  private failed(error: string): void {
    this.failures++;
    this.lastError = error;
    this.nextAttemptMs =
      this.opts.clock() + backoffDelayMs(this.failures, { initialMs: 1000, maxMs: 30_000 });
  }

  status(acks: Iterable<Acknowledgement>): {
    active: number;
    pending_create: number;
    pending_expire: number;
    last_error: string | null;
  } {
    let active = 0;
    let pending = 0;
    for (const a of acks) {
      if (a.silence === undefined) continue;
      if (a.silence.id === null) pending++;
      else active++;
    }
    return {
      active,
      pending_create: pending,
      pending_expire: this.toExpire.size,
      last_error: this.lastError,
    };
  }

  /** Resolves when nothing is in flight. */
  idle(): Promise<void> {
    return this.inflight ?? Promise.resolve();
  }

  toJSON(): string[] {
    return [...this.toExpire];
  }

  restore(json: unknown): void {
    if (Array.isArray(json)) for (const id of json) if (typeof id === 'string') this.toExpire.add(id);
  }
}
