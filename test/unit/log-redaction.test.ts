import { describe, expect, it } from 'vitest';
import { createLogger, loggableUrl } from '../../src/log.js';

describe('log redaction', () => {
  it('censors credentials wherever vigil logs requests, headers or settings', () => {
    const lines: string[] = [];
    const log = createLogger('info', {}, { write: (l: string) => void lines.push(l) });
    log.info({ req: { headers: { authorization: 'Bearer t1', cookie: 'c1', host: 'h' } } }, 'request');
    log.info({ headers: { authorization: 'Bearer t2', Authorization: 'Bearer t3' } }, 'headers');
    log.info(
      { exporter: { token: 't4', password: 't5', headers: { authorization: 'Bearer t6' } } },
      'nested',
    );
    log.info({ authorization: 'Bearer t7', token: 't8' }, 'top level');
    const text = lines.join('');
    for (const secret of ['t1', 'c1', 't2', 't3', 't4', 't5', 't6', 't7', 't8'])
      expect(text).not.toMatch(new RegExp(`"${secret}"|Bearer ${secret}`));
    expect(text.match(/\[redacted\]/g)).toHaveLength(9);
    expect(text).toContain('"host":"h"');
  });

  it('logs URLs without credentials or query', () => {
    expect(loggableUrl('https://user:pw@otel.example:4318/v1/metrics?api-key=k')).toBe(
      'https://otel.example:4318/v1/metrics?[redacted]',
    );
    expect(loggableUrl('http://c:4318/v1/metrics')).toBe('http://c:4318/v1/metrics');
    expect(loggableUrl('not a url')).toBe('[not a URL]');
  });
});
