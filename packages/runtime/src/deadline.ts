import { AsyncLocalStorage } from 'node:async_hooks';
import { DependencyUnavailableError } from './errors.ts';
import { checkReadiness, type Probe } from './health.ts';

/**
 * The budget of the request being answered (docs/operations.md "Budgets"),
 * carried through every await of its handler, so a dependency call deep in a
 * package bounds its wait by what is left of the request's budget instead of
 * a timeout of its own.
 */
export interface RequestBudget {
  deadline: number;
  /** Dependencies this request is waiting on now (for the 503's `dependency`). */
  waiting: Map<string, number>;
}

export const newBudget = (budgetMs: number): RequestBudget => ({ deadline: Date.now() + budgetMs, waiting: new Map() });

const current = new AsyncLocalStorage<RequestBudget>();
/** Kept back from the budget so a dependency's own 503 is answered before the request's budget runs out. */
const MARGIN_MS = 50;
/**
 * The least a call started in a request may wait, even past its budget: the
 * clean-up after a failure (giving a debit back) must get its chance; the
 * client was answered at the budget anyway.
 */
const FLOOR_MS = 250;

export function runWithBudget<T>(budget: RequestBudget, fn: () => T): T {
  return current.run(budget, fn);
}

/** Milliseconds a dependency call may still wait in this request; `fallbackMs` outside a request (Infinity = no bound). */
export function budgetLeftMs(fallbackMs: number): number {
  const budget = current.getStore();
  return budget ? Math.max(FLOOR_MS, budget.deadline - Date.now() - MARGIN_MS) : fallbackMs;
}

/** The dependencies a request is waiting on now (most recent first). */
export function waitingOn(budget: RequestBudget): string[] {
  return [...budget.waiting.keys()].reverse();
}

/**
 * `work` bounded by what is left of the request's budget (`fallbackMs`
 * outside a request): past it, DependencyUnavailableError(dependency) — the
 * work itself goes on and its late result is dropped, so callers must only
 * report done what finished in time. A dependency marked down is not waited
 * on at all (`dependencies`).
 */
export async function bounded<T>(dependency: string, work: () => Promise<T>, fallbackMs = Number.POSITIVE_INFINITY): Promise<T> {
  if (dependencies.isDown(dependency)) throw new DependencyUnavailableError(dependency, new Error(`${dependency} is down (readiness); not waited on`));
  const ms = budgetLeftMs(fallbackMs);
  if (!Number.isFinite(ms)) return work();
  const done = waitOn(dependency);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          dependencies.suspect(dependency);
          reject(new DependencyUnavailableError(dependency, new Error(`no answer within ${ms} ms`)));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    done();
  }
}

/** Records that the current request waits on `dependency` (named by its 503); call the result when the wait ends. */
export function waitOn(dependency: string): () => void {
  const budget = current.getStore();
  if (!budget) return () => {};
  budget.waiting.set(dependency, (budget.waiting.get(dependency) ?? 0) + 1);
  return () => {
    const n = (budget.waiting.get(dependency) ?? 1) - 1;
    if (n > 0) budget.waiting.set(dependency, n);
    else budget.waiting.delete(dependency);
  };
}

/** True inside a request that has a budget. */
export const inBudget = (): boolean => current.getStore() !== undefined;

/**
 * Which dependencies are down, as the readiness probes see them: a wait that
 * ran out makes a dependency suspect, the probes (the /readyz ones) run at
 * once, and one that fails is down — nothing waits on it — until a probe
 * answers again (probed every PROBE_EVERY_MS meanwhile). Without probes
 * (`watch` never called, e.g. the workers) nothing is ever marked down.
 */
export class DependencyHealth {
  private readonly down = new Set<string>();
  private probes: Probe[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly probeEveryMs = 500, private readonly probeTimeoutMs = 1000) {}

  watch(probes: Probe[]): void {
    this.probes = probes;
  }

  isDown(dependency: string): boolean {
    return this.down.has(dependency);
  }

  downList(): string[] {
    return [...this.down];
  }

  /** A wait on `dependency` ran out: probe now. */
  suspect(dependency: string): void {
    // outside the request's context: the probes must not inherit a budget that is already spent
    if (this.probes.some((p) => p.name === dependency)) current.exit(() => void this.probe());
  }

  private async probe(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const { checks } = await checkReadiness(this.probes, this.probeTimeoutMs);
      for (const [name, result] of Object.entries(checks)) {
        if (result.ok) this.down.delete(name);
        else this.down.add(name);
      }
    } finally {
      this.running = false;
    }
    clearTimeout(this.timer);
    if (this.down.size > 0) {
      this.timer = setTimeout(() => void this.probe(), this.probeEveryMs);
      this.timer.unref();
    }
  }

  stop(): void {
    clearTimeout(this.timer);
    this.probes = [];
    this.down.clear();
  }
}

/** This process's view (one per process: the API's composition root calls `watch`). */
export const dependencies = new DependencyHealth();
