import type { Router } from 'express';
import { checkReadiness, metricsRegistry, type Probe } from '@tally/runtime';

/** /healthz: the process is alive. /readyz: every dependency answers (503 naming those that do not). */
export function mountHealth(router: Router, probes: Probe[]): void {
  router.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  router.get('/readyz', async (_req, res) => {
    const readiness = await checkReadiness(probes);
    res.status(readiness.ok ? 200 : 503).json(readiness);
  });
  router.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', metricsRegistry.contentType);
    res.send(await metricsRegistry.metrics());
  });
}
