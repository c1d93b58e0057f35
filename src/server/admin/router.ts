/**
 * The admin console page at `/admin`: one HTML shell, its own scripts and styles, and Chart.js'
 * UMD build served straight from node_modules (not copied into the repo). Everything the page shows
 * comes from the admin JSON API under `/api` (no second backend). No inline script or style: the
 * page runs under helmet's default CSP (`script-src 'self'`).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';

/** The page's static files: next to this module in the source tree; from `dist/` fall back to src. */
export function adminAssetsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, 'public');
  if (existsSync(join(beside, 'index.html'))) return beside;
  return join(here, '..', '..', '..', '..', 'src', 'server', 'admin', 'public');
}

/**
 * Chart.js' self-contained UMD build (defines `window.Chart`). Its package exports no
 * `package.json` subpath, so resolve the CommonJS entry (`dist/chart.cjs`) and look beside it.
 */
export function chartJsPath(): string | null {
  try {
    const entry = createRequire(import.meta.url).resolve('chart.js');
    const umd = join(dirname(entry), 'chart.umd.min.js');
    return existsSync(umd) ? umd : null;
  } catch {
    return null;
  }
}

export function adminPage(): Router {
  const router = Router();
  const dir = adminAssetsDir();
  const chart = chartJsPath();
  const shell = (_req: express.Request, res: express.Response) => {
    // The shell holds no data, but never cache a page that reads a session.
    res.set('Cache-Control', 'no-store');
    res.sendFile(join(dir, 'index.html'));
  };
  router.get('/', shell);
  router.get('/vendor/chart.umd.min.js', (_req, res, next) => {
    // Without the package the page still works, minus the charts (it says so).
    if (chart === null) return next();
    res.set('Cache-Control', 'public, max-age=86400');
    res.type('application/javascript').sendFile(chart);
  });
  router.use('/assets', express.static(dir, { index: false, fallthrough: false, maxAge: 0 }));
  return router;
}
