import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/chromium.js';
import { openSse, type SseEvent, type SseStream } from '../helpers/sse-client.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { eventually, startVigil, testConfig, type VigilProcess } from '../helpers/vigil-process.js';

/**
 * The dashboard at `/` against the real process, in headless Chromium: an incident pushed over
 * the ingest listener appears without a reload, is acknowledged and resolved through the page's
 * buttons (the API token asked for on the 401), and clears when traffic is healthy again; the
 * page says so when its stream drops (a TCP proxy stands in for kubectl port-forward) and
 * recovers by itself. Plus the page's headers and the report stream seen by a plain client.
 */

const TOKEN = 'dashboard-test-token';
const CONFIG = testConfig(`evaluation_interval: 250ms
signals:
  backlog: {metric: queue.backlog, stat: last, window: 3s, by: [service.name]}
rules:
  - name: BACKLOG_HIGH
    severity: critical
    expr: backlog > 100
    summary: "backlog {{value}} is above 100"
    recommendation: "Scale the consumers."
`);
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/** A service name that is markup: the page must show it as text. */
const HOSTILE = '<img src=x onerror="window.__xss=1">';

let vigil: VigilProcess;

async function backlog(service: string, value: number): Promise<void> {
  const res = await fetch(`${vigil.ingest}/api/v1/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      resource: { 'service.name': service },
      metrics: [
        { name: 'queue.backlog', type: 'gauge', value },
        { name: 'http.server.request.duration', type: 'histogram', unit: 'ms', values: [20, 45, 80, 120] },
      ],
    }),
  });
  expect(res.status).toBe(200);
}

interface ReportAnomaly {
  code: string;
  state: string;
  labels: Record<string, string>;
}
const anomaliesOf = (e: SseEvent): ReportAnomaly[] =>
  (JSON.parse(e.data) as { anomalies: ReportAnomaly[] }).anomalies;
const firingFor = (service: string) => (e: SseEvent) =>
  e.event === 'report' &&
  anomaliesOf(e).some((a) => a.labels['service.name'] === service && a.state === 'firing');

beforeAll(async () => {
  vigil = await startVigil(CONFIG, { VIGIL_API_TOKEN: TOKEN });
});
afterAll(async () => {
  expect(await vigil.stop()).toBe(0);
});

describe('GET / and its assets', () => {
  it('are served with a strict CSP, nosniff, no-cache for the page and immutable assets', async () => {
    const page = await fetch(`${vigil.api}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBe(CSP);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const etag = page.headers.get('etag');
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
    const html = await page.text();
    // Nothing inline for the CSP to refuse: no inline script or style, no handlers.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    expect(html).not.toContain('%ASSETS%');

    const revalidated = await fetch(`${vigil.api}/`, { headers: { 'if-none-match': etag! } });
    expect(revalidated.status).toBe(304);

    const app = /<script type="module" src="(assets\/[0-9a-f]{16}\/app\.js)"/.exec(html)?.[1];
    const css = /href="(assets\/[0-9a-f]{16}\/dashboard\.css)"/.exec(html)?.[1];
    expect(app).toBeDefined();
    for (const [path, type] of [
      [app!, 'text/javascript; charset=utf-8'],
      [css!, 'text/css; charset=utf-8'],
    ] as const) {
      const res = await fetch(`${vigil.api}/${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toBe(type);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      const again = await fetch(`${vigil.api}/${path}`, {
        headers: { 'if-none-match': res.headers.get('etag')! },
      });
      expect(again.status).toBe(304);
    }
    // Another build's asset URL is not answered with this build's file.
    const stale = await fetch(
      `${vigil.api}/${app!.replace(/assets\/[0-9a-f]{16}/, 'assets/0000000000000000')}`,
    );
    expect(stale.status).toBe(404);
    expect((await fetch(`${vigil.api}/assets/x/../../package.json`)).status).toBe(404);
  });
});

describe('GET /api/v2/diagnostics/reliability/stream', () => {
  it('sends the report at once, then an event within a second of a state change', async () => {
    const sse = await openSse(`${vigil.api}/api/v2/diagnostics/reliability/stream`);
    try {
      expect(sse.response.status).toBe(200);
      expect(sse.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect(sse.response.headers.get('cache-control')).toBe('no-store, no-transform');
      const first = await sse.waitFor((e) => e.event === 'report');
      expect(sse.retryMs).toBe(2000);
      expect(JSON.parse(first.data)).toMatchObject({ report_version: 'v1', overall_status: 'ok' });
      await sse.waitFor((e) => e.event === 'alerts');
      // Between changes the stream still says it is alive, once per evaluation.
      await sse.waitFor((e) => e.event === 'tick' || e.event === 'report', 5_000, sse.events.length);

      const from = sse.events.length;
      const pushedMs = Date.now();
      await backlog('sse-check', 500);
      const firing = await sse.waitFor(firingFor('sse-check'), 5_000, from);
      // One evaluation (250 ms here) plus delivery; the margin is for a loaded CI machine.
      expect(firing.receivedMs - pushedMs).toBeLessThan(2_000);
      const report = JSON.parse(firing.data) as { overall_status: string };
      expect(report.overall_status).toBe('down');
      const alerts = await sse.waitFor(
        (e) => e.event === 'alerts' && e.data.includes('"service_name":"sse-check"'),
        5_000,
        from,
      );
      expect(JSON.parse(alerts.data)).toMatchObject({ status: 'success' });

      await backlog('sse-check', 5);
      const cleared = await sse.waitFor(
        (e) => e.event === 'report' && !anomaliesOf(e).some((a) => a.labels['service.name'] === 'sse-check'),
        5_000,
        sse.events.indexOf(firing) + 1,
      );
      expect(JSON.parse(cleared.data)).toMatchObject({ overall_status: 'ok' });
    } finally {
      sse.close();
    }
  });

  it('allows 32 streams at once, answers 503 beyond, and frees a slot when a client leaves', async () => {
    const url = `${vigil.api}/api/v2/diagnostics/reliability/stream`;
    const streams: SseStream[] = [];
    try {
      // Earlier tests' streams may take a moment to be noticed as closed.
      await eventually(
        async () => {
          const s = await openSse(url);
          if (s.response.status === 200) {
            streams.push(s);
            return false;
          }
          expect(s.response.status).toBe(503);
          expect(s.response.headers.get('retry-after')).toBe('10');
          return true;
        },
        15_000,
        0,
      );
      expect(streams).toHaveLength(32);
      streams.pop()!.close();
      const again = await eventually(async () => {
        const s = await openSse(url);
        if (s.response.status === 200) return s;
        s.close();
        return undefined;
      }, 5_000);
      streams.push(again);
    } finally {
      for (const s of streams) s.close();
    }
  });
});

describe('the dashboard in Chromium', () => {
  let browser: Browser;
  let proxy: TcpProxy;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    proxy = await startTcpProxy(vigil.api);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      // A refused inline script or style would show up here.
      if (/Content Security Policy|Refused to/i.test(msg.text())) problems.push(msg.text());
    });
  });
  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
  });

  const anomaly = (service: string) =>
    page.locator('#anomalies > li', { hasText: `service.name=${service}` });

  it('shows an incident live, acknowledges and resolves it through the page, and clears it', async () => {
    await backlog('checkout', 20);
    await page.goto(`${proxy.url}/`);
    await expect.poll(() => page.locator('#overall-badge').textContent(), { timeout: 10_000 }).toBe('OK');
    await expect.poll(() => page.locator('#connection').textContent()).toBe('Live');
    expect(await page.locator('#anomalies-empty').isVisible()).toBe(true);
    await page.evaluate('window.__sameDocument = true'); // gone if anything reloads the page

    for (const service of ['checkout', 'payments', HOSTILE]) await backlog(service, 500);
    await expect.poll(() => page.locator('#anomalies > li').count(), { timeout: 10_000 }).toBe(3);
    await expect.poll(() => page.locator('#overall-badge').textContent()).toBe('DOWN');
    expect(await page.title()).toBe('DOWN · vigil');
    await expect.poll(() => page.locator('#announcer').textContent()).toMatch(/DOWN|Firing: BACKLOG_HIGH/);
    const checkout = anomaly('checkout');
    await expect.poll(() => checkout.locator('.anomaly-desc').textContent()).toBe('backlog 500 is above 100');
    expect(await checkout.locator('.anomaly-rec').textContent()).toBe('Do: Scale the consumers.');
    expect(await checkout.locator('.badge').first().textContent()).toBe('Critical');
    // Label values are text: the hostile name is shown as typed, and nothing ran.
    await expect.poll(() => page.locator('#anomalies').textContent()).toContain(HOSTILE);
    expect(await page.locator('#anomalies img, #sources img').count()).toBe(0);
    // (Expressions as strings: the browser's globals are not in the tests' type library.)
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    await expect
      .poll(() => page.locator('#sources th').allTextContents())
      .toEqual(expect.arrayContaining(['checkout', 'payments', HOSTILE]));

    // Acknowledge with the mouse: the first write is refused (401) and the dialog asks for the token.
    await checkout.getByRole('button', { name: /^Acknowledge BACKLOG_HIGH/ }).click();
    const dialog = page.locator('#action-dialog');
    expect(await dialog.isVisible()).toBe(true);
    expect(await page.locator('#action-token-row').isVisible()).toBe(false);
    await page.locator('#action-by').fill('alice');
    await page.locator('#action-comment').fill('rolling back the deploy');
    await page.locator('#action-submit').click();
    await expect.poll(() => page.locator('#action-error').textContent()).toContain('needs its API token');
    expect(await page.locator('#action-token').isVisible()).toBe(true);
    await page.locator('#action-token').fill(TOKEN);
    await page.locator('#action-submit').click();
    await expect.poll(() => dialog.isVisible()).toBe(false);
    await expect
      .poll(() => checkout.locator('.anomaly-handling').textContent())
      .toMatch(/^Acknowledged by alice at .* — “rolling back the deploy”$/);
    expect(
      await checkout.getByRole('button', { name: /^Withdraw acknowledgement of BACKLOG_HIGH/ }).isVisible(),
    ).toBe(true);
    // The API holds it, so it came through the alerts API, not only the page's state.
    const listed = (await (await fetch(`${vigil.api}/api/v1/alerts`)).json()) as {
      data: { alerts: Array<{ labels: Record<string, string>; acknowledgement: { by: string } | null }> };
    };
    expect(listed.data.alerts.find((a) => a.labels['service_name'] === 'checkout')?.acknowledgement?.by).toBe(
      'alice',
    );
    // The token is kept for the tab only.
    expect(await page.evaluate("[sessionStorage.getItem('vigil.apiToken'), localStorage.length]")).toEqual([
      TOKEN,
      0,
    ]);

    // Resolve by hand with the keyboard only: the saved token is used, no prompt.
    const payments = anomaly('payments');
    await payments.getByRole('button', { name: /^Resolve BACKLOG_HIGH/ }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => dialog.isVisible()).toBe(true);
    expect(await page.locator('#action-by').inputValue()).toBe('alice'); // remembered for the tab
    expect(await page.evaluate('document.activeElement.id')).toBe('action-comment'); // the name is known
    await page.keyboard.type('known issue');
    await page.keyboard.press('Shift+Tab'); // back to the name field, where Enter submits
    await page.keyboard.press('Enter');
    await expect.poll(() => dialog.isVisible()).toBe(false);
    await expect
      .poll(() => payments.locator('.anomaly-handling').textContent())
      .toMatch(/^Resolved by hand by alice at .* — “known issue”\. Notifications are closed/);
    // Focus went back to where it was (the button is gone once the alert is closed: the heading).
    expect(await page.evaluate('document.activeElement.id')).toBe('anomalies-title');

    // Healthy traffic: every anomaly clears on the page, without a reload.
    for (const service of ['checkout', 'payments', HOSTILE]) await backlog(service, 5);
    await expect.poll(() => page.locator('#anomalies > li').count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => page.locator('#overall-badge').textContent()).toBe('OK');
    expect(await page.locator('#anomalies-empty').isVisible()).toBe(true);
    // Recently resolved (the stream test's alert too): by their rule, or by hand.
    const resolved = page.locator('#resolved > li');
    await expect
      .poll(() => resolved.filter({ hasText: 'service_name=checkout' }).textContent())
      .toMatch(/resolved at/);
    expect(await resolved.filter({ hasText: 'service_name=payments' }).textContent()).toMatch(
      /resolved by hand by alice at/,
    );
    expect(await resolved.filter({ hasText: HOSTILE }).count()).toBe(1);
    expect(await page.evaluate('window.__sameDocument')).toBe(true);
    expect(problems).toEqual([]);
  });

  it('says the stream dropped, with the time of the last update, and reconnects by itself', async () => {
    await expect.poll(() => page.locator('#connection').textContent(), { timeout: 10_000 }).toBe('Live');
    expect(await page.locator('#banner').isVisible()).toBe(false);
    const lastUpdate = await page.locator('#last-update').textContent();
    expect(lastUpdate).toMatch(/^\d\d:\d\d:\d\d$/);

    proxy.refusing = true;
    expect(proxy.cut()).toBeGreaterThan(0);
    await expect.poll(() => page.locator('#banner').isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await page.locator('#banner').textContent()).toMatch(
      /Connection lost — reconnecting…\s+What you see is from \d\d:\d\d:\d\d \(\d+s ago\)/,
    );
    expect(await page.locator('#connection').textContent()).toBe('Reconnecting…');
    await expect.poll(() => page.locator('#announcer').textContent()).toContain('lost');

    // Something happens while the page is cut off; it shows once the stream is back.
    await backlog('late', 900);
    proxy.refusing = false;
    await expect.poll(() => page.locator('#banner').isVisible(), { timeout: 15_000 }).toBe(false);
    expect(await page.locator('#connection').textContent()).toBe('Live');
    await expect.poll(() => anomaly('late').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.evaluate('window.__sameDocument')).toBe(true); // the stream came back, not a reload
    expect(problems).toEqual([]);
  });
});
