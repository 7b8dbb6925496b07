import type { RunningWorkers, WorkersDeps } from './area.ts';
import { startAnalytics } from './analytics.ts';
import { startMetering } from './metering.ts';
import { startBilling } from './billing.ts';
import { startPurchaseMirror } from './purchase-mirror.ts';
import { declareSchedules, startSchedules } from './schedules.ts';

/**
 * Starts every consumer and BullMQ processor of the workers app. Each area
 * (metering, billing, analytics) adds its own start function here; the
 * services they share come built in `deps` (main.ts).
 */
export async function startWorkers(deps: WorkersDeps): Promise<RunningWorkers> {
  const metering = await startMetering(deps);
  const analytics = await startAnalytics(deps);
  const billing = await startBilling(deps);
  const mirror = await startPurchaseMirror(deps);
  // Every periodic job, once per tick across all workers processes (schedules.ts). Their workers close
  // with the registry's; their queues after it (so before the areas' own connections in afterWorkersClose).
  const jobs = declareSchedules(deps.config, { ...metering.periodic, ...billing.periodic, ...mirror.periodic });
  const schedules = await startSchedules({ redisUrl: deps.config.REDIS_URL, registry: deps.registry, jobs });
  const periodic: RunningWorkers = { beforeWorkersClose: [], afterWorkersClose: [{ name: 'close the periodic queues', run: schedules.close }] };
  const areas: RunningWorkers[] = [metering, analytics, billing, mirror, periodic];
  return {
    beforeWorkersClose: areas.flatMap((a) => a.beforeWorkersClose),
    afterWorkersClose: areas.flatMap((a) => a.afterWorkersClose),
  };
}
