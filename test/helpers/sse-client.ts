/**
 * A Server-Sent Events reader over fetch, parsing the stream as the WHATWG EventSource does
 * (fields `event`, `data`, `retry`; comment lines kept apart so tests can see heartbeats).
 */

export interface SseEvent {
  event: string;
  data: string;
  /** When the event's blank line arrived (ms, Date.now()). */
  receivedMs: number;
}

export interface SseStream {
  readonly response: Response;
  readonly events: SseEvent[];
  readonly comments: string[];
  /** The last `retry:` value, ms. */
  retryMs: number | undefined;
  /** Resolves when the server ends the stream (or the connection drops, or close() aborts it). */
  readonly ended: Promise<void>;
  /** Resolves with the first event from index `from` on that matches, or rejects after `timeoutMs`. */
  waitFor(match: (e: SseEvent) => boolean, timeoutMs?: number, from?: number): Promise<SseEvent>;
  close(): void;
}

export async function openSse(url: string): Promise<SseStream> {
  const abort = new AbortController();
  const response = await fetch(url, { signal: abort.signal, headers: { accept: 'text/event-stream' } });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const waiters = new Set<() => void>();
  let markEnded = (): void => undefined;
  const ended = new Promise<void>((resolve) => (markEnded = resolve));
  const stream: SseStream = {
    response,
    events,
    comments,
    retryMs: undefined,
    ended,
    waitFor(match, timeoutMs = 10_000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = events.slice(from).find(match);
          if (found === undefined) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching event within ${timeoutMs} ms (${events.length} events seen)`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
    close: () => abort.abort(),
  };
  if (response.body === null || !response.ok) {
    markEnded();
    return stream;
  }
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    let event = '';
    let data: string[] = [];
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + (buffer.startsWith('\r\n', nl) ? 2 : 1));
          if (line === '') {
            if (data.length > 0)
              events.push({ event: event || 'message', data: data.join('\n'), receivedMs: Date.now() });
            event = '';
            data = [];
            for (const w of [...waiters]) w();
            continue;
          }
          if (line.startsWith(':')) {
            comments.push(line.slice(1).trim());
            continue;
          }
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') event = value;
          else if (field === 'data') data.push(value);
          else if (field === 'retry' && /^\d+$/.test(value)) stream.retryMs = Number(value);
        }
      }
    } catch {
      // aborted or the connection dropped: the events so far stay readable
    }
    markEnded();
  })();
  return stream;
}
