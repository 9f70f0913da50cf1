import { retryAfterMs } from './backoff.js';

/**
 * One JSON request to an alert receiver (Alertmanager, a webhook), with a timeout and the
 * retry classification Alertmanager's own notifiers use: network errors, timeouts, 408, 429 and
 * 5xx are worth retrying; any other 4xx will fail the same way again.
 */

export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status: number | undefined,
    /** From a `Retry-After` header, ms. */
    readonly retryAfterMs: number | undefined = undefined,
  ) {
    super(message);
  }
}

/** A target URL split into what `fetch` may see and the basic-auth header its user:password become. */
export interface Target {
  /** Without credentials and without a trailing slash. */
  readonly base: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Safe to log and report: scheme, host and port only (webhook paths are often secrets). */
  readonly display: string;
}

/** `fetch` refuses URLs with credentials; they become an Authorization header instead. */
export function parseTarget(url: string): Target {
  const u = new URL(url);
  const headers: Record<string, string> = {};
  if (u.username !== '' || u.password !== '') {
    const user = decodeURIComponent(u.username);
    const pass = decodeURIComponent(u.password);
    headers['authorization'] = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    u.username = '';
    u.password = '';
  }
  return { base: u.toString().replace(/\/+$/, ''), headers, display: `${u.protocol}//${u.host}` };
}

export interface SendOptions {
  method?: 'POST' | 'DELETE';
  body?: unknown;
  timeoutMs: number;
  headers?: Readonly<Record<string, string>>;
  clock: () => number;
}

/** Send one request; resolves with the response text on 2xx, throws {@link DeliveryError} otherwise. */
export async function sendJson(url: string, opts: SendOptions): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: opts.method ?? 'POST',
      headers: {
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
        'user-agent': 'vigil',
        ...opts.headers,
      },
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why =
      e.name === 'TimeoutError'
        ? `timed out after ${opts.timeoutMs} ms`
        : (e.cause?.code ?? e.cause?.message ?? e.message);
    throw new DeliveryError(why, true, undefined);
  }
  const text = await res.text().catch(() => '');
  if (res.ok) return text;
  const status = res.status;
  const retryable = status === 408 || status === 429 || status >= 500;
  const detail = text.trim().slice(0, 200);
  throw new DeliveryError(
    `HTTP ${status}${detail !== '' ? `: ${detail}` : ''}`,
    retryable,
    status,
    retryAfterMs(res.headers.get('retry-after'), opts.clock()),
  );
}
