import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One Prometheus registry per process, served at GET /metrics. */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });

export function counter(name: string, help: string, labelNames: string[] = []) {
  return (metricsRegistry.getSingleMetric(name) as Counter<string> | undefined) ??
    new Counter({ name, help, labelNames, registers: [metricsRegistry] });
}

export function gauge(name: string, help: string, labelNames: string[] = []) {
  return (metricsRegistry.getSingleMetric(name) as Gauge<string> | undefined) ??
    new Gauge({ name, help, labelNames, registers: [metricsRegistry] });
}

export function histogram(name: string, help: string, labelNames: string[] = [], buckets?: number[]) {
  return (metricsRegistry.getSingleMetric(name) as Histogram<string> | undefined) ??
    new Histogram({ name, help, labelNames, registers: [metricsRegistry], ...(buckets ? { buckets } : {}) });
}
