/** A dependency the process needs; `check` throws when it is down. */
export interface Probe {
  name: string;
  check(): Promise<void>;
}

export interface ProbeResult {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

export interface Readiness {
  ok: boolean;
  checks: Record<string, ProbeResult>;
}

/** Runs every probe in parallel, each bounded by `timeoutMs`, and reports each one with its latency. */
export async function checkReadiness(probes: Probe[], timeoutMs = 2000): Promise<Readiness> {
  const entries = await Promise.all(
    probes.map(async (probe): Promise<[string, ProbeResult]> => {
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          probe.check(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return [probe.name, { ok: true, latencyMs: round(performance.now() - started) }];
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        return [probe.name, { ok: false, latencyMs: round(performance.now() - started), error }];
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const checks = Object.fromEntries(entries);
  return { ok: entries.every(([, r]) => r.ok), checks };
}

const round = (ms: number) => Math.round(ms * 100) / 100;
