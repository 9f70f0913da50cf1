// The README's dashboard screenshots: `npm run screenshots` (builds, then runs this).
//
//   node scripts/dashboard-screenshots.mjs [--speed N] [--out DIR]
//
// Runs `vigil demo` (the shipped config.yaml on free loopback ports) and Debian's Chromium
// (/usr/bin/chromium, or VIGIL_TEST_CHROMIUM) through playwright-core, and writes
// docs/dashboard-healthy.png (before the first staged incident) and docs/dashboard-incident.png
// (several rules firing, one acknowledged through the page's own dialog).
//
// A freshly started vigil has one 10-minute trend bucket per signal, which makes flat
// sparklines. So that the pictures show what a pod that has been up for a day looks like, a
// first short demo run samples each signal's healthy value, and the second run starts from a
// state snapshot (SPEC §9) holding 24 hours of trend buckets made from those values with a daily
// cycle and some noise. Everything else on the pictures is live from the demo.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import process from 'node:process';
import { createInterface } from 'node:readline';
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, URL } from 'node:url';
import { chromium } from 'playwright-core';
import { parse, stringify } from 'yaml';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(REPO, 'dist/cli.js');
const CHROMIUM = process.env['VIGIL_TEST_CHROMIUM'] ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const SPEED = Number(option('--speed', '2'));
const OUT = resolve(REPO, option('--out', 'docs'));
const VIEWPORT = { width: 1366, height: 900 };
const say = (line) => process.stdout.write(`${line}\n`);

const { Trend } = await import(join(REPO, 'dist/signals/trend.js'));

const work = mkdtempSync(join(tmpdir(), 'vigil-screenshots-'));
const stateDir = join(work, 'state');
const doc = parse(readFileSync(join(REPO, 'config.yaml'), 'utf8'));
doc.listeners = { ingest: '127.0.0.1:0', api: '127.0.0.1:0', metrics: '127.0.0.1:0' };
doc.state = { ...(doc.state ?? {}), dir: stateDir };
const configFile = join(work, 'config.yaml');
writeFileSync(configFile, stringify(doc));

/** `vigil demo` on the config above; resolves once it has started, with the api's URL. */
async function startDemo() {
  const proc = spawn(process.execPath, [CLI, 'demo', '--config', configFile, '--speed', String(SPEED)], {
    env: { ...process.env, VIGIL_LOG_LEVEL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr = [];
  createInterface({ input: proc.stderr }).on('line', (l) => stderr.push(l));
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  let api;
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start:\n${stderr.join('\n')}`)), 20_000);
    exited.then((code) => reject(new Error(`demo exited with ${code}:\n${stderr.join('\n')}`)));
    // Keep reading: a full stdout pipe would block the demo's logger.
    createInterface({ input: proc.stdout }).on('line', (line) => {
      let rec;
      try {
        rec = JSON.parse(line);
      } catch {
        return;
      }
      if (rec.msg === 'listening' && rec.listener === 'api') api = `http://127.0.0.1:${rec.port}`;
      if (String(rec.msg).startsWith('demo started')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return {
    api,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

async function report(api) {
  return (await globalThis.fetch(`${api}/api/v2/diagnostics/reliability`)).json();
}

/** Polls the report until `ok(report)`; returns it. */
async function until(api, what, ok, timeoutMs = 240_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await report(api);
    if (ok(r)) return r;
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const healthy = (r) =>
  r.overall_status === 'ok' &&
  r.anomalies.length === 0 &&
  r.sources.length > 0 &&
  r.sources.every((s) => s.requests > 0) &&
  r.uptime_seconds >= 4;

/** A day of history around each signal's healthy value: a daily cycle (busier afternoons) and noise. */
function history(values, nowMs) {
  const trends = {};
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5;
  for (const [name, value] of Object.entries(values)) {
    const trend = new Trend();
    const ratio = value >= 0 && value <= 1;
    for (let t = nowMs - 24 * 3_600_000 + 600_000; t < nowMs - 60_000; t += 60_000) {
      const hour = new Date(t).getHours() + new Date(t).getMinutes() / 60;
      const daily = 1 + 0.18 * Math.sin(((hour - 9) / 24) * 2 * Math.PI);
      let v = value * daily * (1 + 0.08 * random());
      if (ratio) v = Math.min(1, v);
      trend.add(v, t);
    }
    trends[name] = [{ labels: [], trend: trend.toJSON() }];
  }
  return trends;
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
let demo;
try {
  // 1. Each signal's healthy value, for the history.
  demo = await startDemo();
  const sample = await until(demo.api, 'healthy traffic', healthy, 60_000);
  await demo.stop();
  const values = {};
  for (const [name, sig] of Object.entries(sample.signals)) if (sig.value !== null) values[name] = sig.value;
  rmSync(stateDir, { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(
    join(stateDir, 'vigil-state.json'),
    JSON.stringify({ version: 1, savedAt: new Date().toISOString(), trends: history(values, Date.now()) }),
  );
  say(`history for ${Object.keys(values).length} signals`);

  // 2. The demo again, from that state: healthy first, then an incident.
  demo = await startDemo();
  const page = await browser.newPage({ viewport: VIEWPORT, deviceScaleFactor: 1 });
  page.on('pageerror', (err) => say(`page error: ${err.message}`));
  await page.goto(`${demo.api}/`);
  await until(demo.api, 'healthy traffic', healthy, 60_000);
  await page.waitForFunction("document.querySelector('#overall-badge')?.textContent === 'OK'");
  await sleep(1500);
  mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: join(OUT, 'dashboard-healthy.png'), fullPage: true });
  say(`wrote ${join(OUT, 'dashboard-healthy.png')}`);

  const incident = await until(
    demo.api,
    'an incident with several rules firing',
    (r) =>
      r.anomalies.filter((a) => a.state === 'firing').length >= 3 &&
      r.anomalies.some((a) => a.severity === 'critical' && a.state === 'firing'),
  );
  const first = incident.anomalies.find((a) => a.severity !== 'critical' && a.state === 'firing');
  if (first !== undefined) {
    const item = page.locator(`#anomalies > li[data-key="${first.fingerprint}"]`);
    await item.getByRole('button', { name: /^Acknowledge / }).click();
    await page.locator('#action-by').fill('alice');
    await page.locator('#action-comment').fill('looking into it');
    await page.locator('#action-submit').click();
    await item.locator('.anomaly-handling:not([hidden])').waitFor();
  }
  await sleep(1500);
  await page.screenshot({ path: join(OUT, 'dashboard-incident.png'), fullPage: true });
  say(`wrote ${join(OUT, 'dashboard-incident.png')}`);
} finally {
  await demo?.stop();
  await browser.close();
  rmSync(work, { recursive: true, force: true });
}
