import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Express, Request, Response } from 'express';
import type { Logger } from '../log.js';

/**
 * The in-pod dashboard (SPEC §2: `/` on the api listener): static files from `web/dashboard/`,
 * read once at start. Assets live under `assets/<version>/`, where the version is a hash of every
 * asset, so they can be cached for a year (a new build is a new URL, and relative module imports
 * stay inside the same version) while the page itself is revalidated on every load. The page is
 * served with a Content-Security-Policy that allows no inline script or style: everything it
 * shows comes from the api listener's own JSON, and label values in it are attacker-controlled.
 */

/** Where the build puts nothing: the assets ship as they are (package `files`, the image's COPY). */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../web/dashboard/', import.meta.url));

export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The page's placeholder for the versioned asset folder (relative, so a path prefix in front works). */
const ASSETS_PLACEHOLDER = /%ASSETS%/g;
const PAGE = 'index.html';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

interface StaticFile {
  readonly body: Buffer;
  readonly contentType: string;
  /** Strong validator: a hash of the body. */
  readonly etag: string;
}

export interface DashboardFiles {
  /** Hash of every asset's name and content: the `assets/<version>/` segment. */
  readonly version: string;
  readonly page: StaticFile;
  /** By file name; only the types in CONTENT_TYPES are served. */
  readonly assets: ReadonlyMap<string, StaticFile>;
}

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** Reads the page and its assets; throws when the folder or the page is missing. */
export function loadDashboardFiles(dir: string = DASHBOARD_DIR): DashboardFiles {
  const names = readdirSync(dir)
    .filter((name) => CONTENT_TYPES[extname(name)] !== undefined)
    .sort();
  const versionHash = createHash('sha256');
  const assets = new Map<string, StaticFile>();
  for (const name of names) {
    const body = readFileSync(join(dir, name));
    versionHash.update(name).update('\0').update(body).update('\0');
    assets.set(name, { body, contentType: CONTENT_TYPES[extname(name)]!, etag: `"${sha256(body)}"` });
  }
  const version = versionHash.digest('hex').slice(0, 16);
  const html = Buffer.from(
    readFileSync(join(dir, PAGE), 'utf8').replace(ASSETS_PLACEHOLDER, `assets/${version}`),
  );
  return {
    version,
    page: { body: html, contentType: 'text/html; charset=utf-8', etag: `"${sha256(html)}"` },
    assets,
  };
}

/** Headers every dashboard response carries, whatever its type. */
function securityHeaders(res: Response): void {
  res.set({
    'Content-Security-Policy': DASHBOARD_CSP,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
  });
}

/** If-None-Match holds this ETag (weak comparison, as RFC 9110 asks for GET). */
function notModified(req: Request, etag: string): boolean {
  const header = req.headers['if-none-match'];
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

function send(req: Request, res: Response, file: StaticFile, cacheControl: string): void {
  securityHeaders(res);
  res.set({ 'Cache-Control': cacheControl, ETag: file.etag });
  if (notModified(req, file.etag)) {
    res.status(304).end();
    return;
  }
  res.status(200).set('Content-Type', file.contentType).end(file.body);
}

export interface DashboardOptions {
  log: Logger;
  /** The page and assets (default {@link DASHBOARD_DIR}). */
  dir?: string;
}

/**
 * `GET /` (the page: `no-cache`, revalidated by ETag) and `GET /assets/<version>/<file>`
 * (immutable for a year; another version is 404, never today's file under yesterday's URL).
 * Without its files (a package that lost them) vigil runs on, without a dashboard.
 */
export function mountDashboard(app: Express, opts: DashboardOptions): void {
  let files: DashboardFiles;
  try {
    files = loadDashboardFiles(opts.dir);
  } catch (err) {
    opts.log.warn({ err }, 'dashboard files not found: / is not served');
    return;
  }
  app.get('/', (req, res) => send(req, res, files.page, 'no-cache'));
  app.get('/assets/:version/:file', (req, res) => {
    const file =
      req.params['version'] === files.version ? files.assets.get(String(req.params['file'])) : undefined;
    if (file === undefined) {
      securityHeaders(res);
      res.status(404).set('Cache-Control', 'no-store').type('text/plain').send('not found\n');
      return;
    }
    send(req, res, file, 'public, max-age=31536000, immutable');
  });
}
