import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DASHBOARD_DIR, loadDashboardFiles, mountDashboard } from '../../src/http/dashboard.js';
import { tempDir } from '../helpers/vigil-process.js';

/**
 * The dashboard's static files: versioned asset URLs, what is served and how it is validated,
 * and checks on the shipped files themselves (every module and asset the page names exists;
 * no code path that turns data into markup).
 */

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

async function serve(dir: string, log = pino({ level: 'silent' })): Promise<string> {
  const app = express();
  mountDashboard(app, { log, dir });
  const server = createServer(app);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function fixture(): string {
  const dir = tempDir('vigil-dashboard-');
  writeFileSync(
    join(dir, 'index.html'),
    '<link rel="stylesheet" href="%ASSETS%/style.css"><script type="module" src="%ASSETS%/app.js"></script>',
  );
  writeFileSync(join(dir, 'app.js'), 'export const a = 1;\n');
  writeFileSync(join(dir, 'style.css'), 'body { margin: 0 }\n');
  writeFileSync(join(dir, 'notes.txt'), 'not an asset\n');
  return dir;
}

describe('loadDashboardFiles', () => {
  it('versions the asset folder by content and fills it into the page', () => {
    const dir = fixture();
    const files = loadDashboardFiles(dir);
    expect(files.version).toMatch(/^[0-9a-f]{16}$/);
    expect(files.page.body.toString()).toBe(
      `<link rel="stylesheet" href="assets/${files.version}/style.css"><script type="module" src="assets/${files.version}/app.js"></script>`,
    );
    expect([...files.assets.keys()]).toEqual(['app.js', 'style.css']);
    expect(loadDashboardFiles(dir).version).toBe(files.version);

    writeFileSync(join(dir, 'app.js'), 'export const a = 2;\n');
    const next = loadDashboardFiles(dir);
    expect(next.version).not.toBe(files.version);
    expect(next.page.etag).not.toBe(files.page.etag);
    expect(next.assets.get('style.css')!.etag).toBe(files.assets.get('style.css')!.etag);
  });
});

describe('mountDashboard', () => {
  it('answers 304 to a matching If-None-Match (weak, in a list, or *) and 404 to other versions', async () => {
    const dir = fixture();
    const { version, assets } = loadDashboardFiles(dir);
    const base = await serve(dir);
    const page = await fetch(`${base}/`);
    const etag = page.headers.get('etag')!;
    for (const header of [etag, `W/${etag}`, `"nope", ${etag}`, '*'])
      expect((await fetch(`${base}/`, { headers: { 'if-none-match': header } })).status, header).toBe(304);
    expect((await fetch(`${base}/`, { headers: { 'if-none-match': '"nope"' } })).status).toBe(200);

    const css = await fetch(`${base}/assets/${version}/style.css`);
    expect(css.headers.get('etag')).toBe(assets.get('style.css')!.etag);
    expect(await css.text()).toBe('body { margin: 0 }\n');
    for (const path of [`assets/${version}/notes.txt`, `assets/${version}/index.html`, 'assets/0/app.js']) {
      const res = await fetch(`${base}/${path}`);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
  });

  it('leaves / unserved, with a warning, when the files are missing', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
    const base = await serve(join(tempDir('vigil-dashboard-'), 'missing'), log);
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect(lines.join('')).toContain('dashboard files not found');
  });
});

describe('the shipped dashboard files', () => {
  const files = loadDashboardFiles(DASHBOARD_DIR);
  const html = readFileSync(join(DASHBOARD_DIR, 'index.html'), 'utf8');
  const scripts = [...files.assets.entries()].filter(([name]) => name.endsWith('.js'));

  it('name only files that are served: the page its assets, each module its imports', () => {
    const named = [...html.matchAll(/%ASSETS%\/([\w.-]+)/g)].map((m) => m[1]!);
    expect(named).toContain('app.js');
    expect(named).toContain('dashboard.css');
    for (const name of named) expect(files.assets.has(name), name).toBe(true);
    for (const [name, file] of scripts)
      for (const m of file.body.toString().matchAll(/^import .* from '\.\/([\w.-]+)';$/gm))
        expect(files.assets.has(m[1]!), `${name} imports ${m[1]}`).toBe(true);
  });

  it('never turn data into markup', () => {
    for (const [name, file] of scripts)
      expect(file.body.toString(), name).not.toMatch(
        /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/,
      );
  });
});
