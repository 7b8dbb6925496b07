import type { Router } from 'express';
import { checkReadiness, metricsRefusal, metricsRegistry, opsAccess, readinessView, type Probe } from '@tally/runtime';
import { clusteredMetrics } from '../cluster.ts';

/**
 * /healthz: the process is alive. /readyz: every dependency answers (503 when
 * one does not; which one and the latencies only with the metrics token).
 * /metrics: Prometheus, with the metrics token only (packages/runtime ops-access.ts); summed over
 * every API process when several share the port.
 */
export function mountHealth(router: Router, probes: Probe[], metricsToken: string | undefined): void {
  // one process of several (API_PROCESSES): the primary sums every process's metrics
  const collect = clusteredMetrics() ?? (() => metricsRegistry.metrics());
  router.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  router.get('/readyz', async (req, res) => {
    const readiness = await checkReadiness(probes);
    res.status(readiness.ok ? 200 : 503).json(readinessView(readiness, opsAccess(req.headers.authorization, metricsToken)));
  });
  router.get('/metrics', async (req, res) => {
    const access = opsAccess(req.headers.authorization, metricsToken);
    if (access !== 'granted') {
      const refusal = metricsRefusal(access);
      res.status(refusal.status).json(refusal.body);
      return;
    }
    res.setHeader('Content-Type', metricsRegistry.contentType);
    res.send(await collect());
  });
}
