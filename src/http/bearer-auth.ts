import { createHash, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { TokenSource } from '../config/tokens.js';

/**
 * `Authorization: Bearer <token>` checks in constant time. Both sides are hashed first, so the
 * comparison takes the same time whatever the length of what was sent (timingSafeEqual alone
 * needs equal lengths, and an early length check would tell the token's length).
 */
export class BearerCheck {
  private readonly expected: Buffer;

  constructor(token: string) {
    this.expected = digest(`Bearer ${token}`);
  }

  matches(header: string | undefined): boolean {
    if (header === undefined) return false;
    return timingSafeEqual(digest(header), this.expected);
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** The `WWW-Authenticate` challenge of a 401 (RFC 6750). */
export const BEARER_CHALLENGE = 'Bearer realm="vigil"';

/**
 * Whether a listen host is loopback-only: 127.0.0.0/8, ::1, localhost. Such a listener is only
 * reachable from the same network namespace (the pod), which is what makes it safe without a token.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/**
 * Write endpoints of the api listener (SPEC §8): `Authorization: Bearer <token>` with the token
 * from `api.token_file` or VIGIL_API_TOKEN; with no token configured they are allowed only on a
 * loopback api listener. A token file that cannot be read refuses every write.
 */
export function writeAuthorizer(
  source: TokenSource,
  apiHost: string,
  log: Logger,
): (authorization: string | undefined) => boolean {
  if (source.kind === 'error') {
    log.error({ reason: source.message }, 'api token unavailable: write endpoints refused');
    return () => false;
  }
  if (source.kind === 'none') {
    const loopback = isLoopbackHost(apiHost);
    return () => loopback;
  }
  const check = new BearerCheck(source.token);
  return (header) => check.matches(header);
}

/**
 * Ingest: open without a token, as the collector's otlpreceiver without an auth extension, and
 * on loopback by default; with `ingest.token_file` or VIGIL_INGEST_TOKEN every request needs
 * `Authorization: Bearer <token>` (undefined: open). A token file that cannot be read refuses
 * all ingest rather than opening it.
 */
export function ingestAuthorizer(
  source: TokenSource,
  ingestHost: string,
  log: Logger,
): ((authorization: string | undefined) => boolean) | undefined {
  if (source.kind === 'error') {
    log.error({ reason: source.message }, 'ingest token unavailable: every ingest request refused (401)');
    return () => false;
  }
  if (source.kind === 'none') {
    if (!isLoopbackHost(ingestHost))
      log.warn(
        { listener: 'ingest', host: ingestHost },
        'ingest listener is not on loopback and needs no token: anyone who reaches it can push',
      );
    return undefined;
  }
  const check = new BearerCheck(source.token);
  return (header) => check.matches(header);
}
