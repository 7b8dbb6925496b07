import { stat } from 'node:fs/promises';
import path from 'node:path';
import express, { Router, type RequestHandler } from 'express';

/** The dashboard's Content-Security-Policy (docs/dashboard.md "Sessions and security"): same origin only, no framing. */
export const DASHBOARD_CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** On every /dashboard answer: the app, its assets, the session routes and the 503. */
export const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('Content-Security-Policy', DASHBOARD_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  next();
};

const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * The built app (apps/dashboard/dist): files as they are, `assets/` (Vite's content-hashed names)
 * cached for a year, index.html never cached and answered for any other path so the app's own
 * router takes it. The build is looked for at each request, so building after start-up works;
 * without it, 503 naming the command.
 */
export function staticApp(distDir: string): Router {
  const router = Router();
  const index = path.join(distDir, 'index.html');
  router.use(async (_req, res, next) => {
    const built = await stat(index).then((s) => s.isFile(), () => false);
    if (built) return next();
    res.status(503).type('text/plain').send('The dashboard is not built: run `npm run build -w apps/dashboard` (npm start builds it).\n');
  });
  router.use(
    express.static(distDir, {
      index: false,
      fallthrough: true,
      redirect: false,
      dotfiles: 'ignore',
      setHeaders: (res, file) => {
        const rel = path.relative(distDir, file);
        res.setHeader('Cache-Control', rel.startsWith(`assets${path.sep}`) ? IMMUTABLE : 'no-cache');
      },
    }),
  );
  router.use((req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    // a missing hashed asset is a 404, not the app: a stale index.html must not get HTML for its script
    if (req.path.startsWith('/assets/')) {
      res.status(404).type('text/plain').send('not found\n');
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index);
  });
  return router;
}
