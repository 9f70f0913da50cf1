// @ts-check
/**
 * The shapes the dashboard reads: the reliability report (SPEC §6, README "Reliability report")
 * and the alerts API's alerts (README "Acknowledging and resolving"). Types only: nothing here
 * runs, and the browser never loads this file.
 */

/**
 * @typedef {{ start: string, avg: number, min: number, max: number, count: number }} TrendBucket
 * @typedef {{ direction: 'rising' | 'falling' | 'flat', buckets: TrendBucket[] }} Trend
 * @typedef {{ labels: Record<string, string>, value: number | null, trend: Trend }} SignalGroup
 * @typedef {{ value: number | null, unit: string, groups: SignalGroup[], trend: Trend }} Signal
 * @typedef {{ p50: number | null, p90: number | null, p95: number | null, p99: number | null }} Latency
 * @typedef {{
 *   name: string, status: 'HEALTHY' | 'DEGRADED' | 'FAILED', requests: number,
 *   success_rate: number | null, latency_ms: Latency, consecutive_failures: number,
 *   last_seen: string | null
 * }} Source
 * @typedef {{
 *   code: string, severity: 'info' | 'warning' | 'critical', state: 'pending' | 'firing',
 *   active_since: string, value: number | null, labels: Record<string, string>,
 *   fingerprint: string, description: string, recommendation?: string
 * }} Anomaly
 * @typedef {{
 *   state: string, last_success?: string | null, last_error?: string | null,
 *   queued_batches?: number
 * }} ExporterHealth
 * @typedef {{
 *   state: string, name?: string, target?: string, url?: string, last_error?: string | null
 * }} Delivery
 * @typedef {{
 *   alertmanager?: Delivery, webhooks?: Delivery[],
 *   alerts?: { firing: number, acknowledged: number, escalated: number, resolved_by_hand: number }
 * }} AlertingStatus
 * @typedef {{
 *   timestamp: string, overall_status: 'ok' | 'degraded' | 'down', uptime_seconds: number,
 *   window_seconds: number, sources: Source[], signals: Record<string, Signal>,
 *   anomalies: Anomaly[], notes: string[],
 *   ingest: { accepted_points: number, rejected_points: number, series: number },
 *   exporters: { otlp: ExporterHealth }, alerting?: AlertingStatus
 * }} Report
 * @typedef {{ by: string, comment: string, at: string, expiresAt: string }} Acknowledgement
 * @typedef {{ by: string, comment: string, at: string }} HandResolution
 * @typedef {{
 *   fingerprint: string, rule: string, state: 'pending' | 'firing' | 'resolved',
 *   severity: string, escalated: boolean, labels: Record<string, string>,
 *   annotations: Record<string, string>,
 *   activeAt: string, resolvedAt: string | null, value: number | null,
 *   acknowledgement: Acknowledgement | null, resolvedByHand: HandResolution | null
 * }} AlertView
 */

export {};
