import { afterEach, describe, expect, it } from 'vitest';
import { bounded, budgetLeftMs, dependencies, newBudget, runWithBudget, waitingOn } from './deadline.ts';
import { DependencyUnavailableError } from './errors.ts';

const never = () => new Promise<never>(() => {});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterEach(() => dependencies.stop());

describe('request budgets', () => {
  it('outside a request, bounded() waits as long as the work takes', async () => {
    expect(budgetLeftMs(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
    await expect(bounded('kafka', async () => 'done')).resolves.toBe('done');
  });

  it('inside one, a hung call fails with the dependency named, and the budget knows what it waits on', async () => {
    const budget = newBudget(300);
    const call = runWithBudget(budget, () => bounded('kafka', never));
    expect(waitingOn(budget)).toEqual(['kafka']);
    const err = await call.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DependencyUnavailableError);
    expect((err as DependencyUnavailableError).dependency).toBe('kafka');
    expect(waitingOn(budget)).toEqual([]);
  });

  it('a spent budget still gives a call its floor (the clean-up after a failure runs)', async () => {
    const budget = newBudget(0);
    await expect(runWithBudget(budget, () => bounded('redis', async () => { await sleep(20); return 'undone'; }))).resolves.toBe('undone');
  });
});

describe('dependency health', () => {
  it('a wait that ran out probes; a failing probe marks the dependency down (not waited on) until it answers again', async () => {
    let up = false;
    dependencies.watch([{ name: 'kafka', check: async () => { if (!up) throw new Error('paused'); } }]);
    await runWithBudget(newBudget(300), () => bounded('kafka', never)).catch(() => {});
    await sleep(50);
    expect(dependencies.isDown('kafka')).toBe(true);
    let ran = false;
    await expect(runWithBudget(newBudget(5_000), () => bounded('kafka', async () => { ran = true; }))).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(ran).toBe(false);
    up = true;
    for (let i = 0; i < 40 && dependencies.isDown('kafka'); i++) await sleep(50); // re-probed every 500 ms
    expect(dependencies.isDown('kafka')).toBe(false);
  });

  it('without probes (a workers process) nothing is ever marked down', async () => {
    await runWithBudget(newBudget(300), () => bounded('redis', never)).catch(() => {});
    await sleep(50);
    expect(dependencies.downList()).toEqual([]);
  });
});
