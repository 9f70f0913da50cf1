/**
 * Contracts of the alerting pipeline: the rule engine's alerts become {@link NotifiableAlert}s
 * (labels as Alertmanager wants them, acknowledgement, manual resolution, escalation applied),
 * which the Alertmanager and webhook notifiers turn into deliveries.
 */

export type Severity = 'info' | 'warning' | 'critical';

export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { info: 0, warning: 1, critical: 2 };

/** How an alert looks to notifications: `resolved` covers manual resolution too. */
export type NotifiableStatus = 'pending' | 'firing' | 'resolved';

export interface Acknowledgement {
  readonly fingerprint: string;
  /** The alert instance acknowledged (its activeAt); a new firing is a new instance. */
  readonly activeAtMs: number;
  readonly by: string;
  readonly comment: string;
  readonly atMs: number;
  readonly expiresAtMs: number;
  /** The Alertmanager silence: undefined without Alertmanager; id null while not yet created. */
  silence: { id: string | null; matchers: Record<string, string>; lastError: string | null } | undefined;
}

export interface ManualResolution {
  readonly fingerprint: string;
  /** The alert instance closed; the rule firing anew (new activeAt) opens a new one. */
  readonly activeAtMs: number;
  readonly by: string;
  readonly comment: string;
  readonly atMs: number;
}

/** One alert instance as the notifiers and the alerts API see it. Times are epoch ms. */
export interface NotifiableAlert {
  readonly fingerprint: string;
  readonly rule: string;
  readonly status: NotifiableStatus;
  /** After escalation: `critical` for an escalated warning. */
  readonly severity: Severity;
  readonly ruleSeverity: Severity;
  readonly escalated: boolean;
  /** Labels as sent: alertname, severity, rule labels, group labels (Prometheus names), external labels. */
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly activeAtMs: number;
  readonly firedAtMs: number | undefined;
  /** When the rule resolved it, or when it was resolved by hand. */
  readonly resolvedAtMs: number | undefined;
  readonly value: number;
  readonly generatorUrl: string;
  readonly ack: Acknowledgement | undefined;
  readonly manual: ManualResolution | undefined;
}

/** One alert in Alertmanager's API v2 `POST /api/v2/alerts` body. */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
}

/** Delivery health of one integration, for the report and self-metrics. */
export interface DeliveryStatus {
  /** `ok`: last attempt delivered (or none yet); `retrying`: last failed, will retry; `failed`: last failed for good. */
  state: 'ok' | 'retrying' | 'failed';
  last_success: string | null;
  last_failure: string | null;
  last_error: string | null;
  consecutive_failures: number;
  /** Requests that delivered / failed. */
  requests_succeeded: number;
  requests_failed: number;
  /** Alerts delivered, and alerts given up on (queue overflow, permanent errors). */
  alerts_sent: number;
  alerts_dropped: number;
}
