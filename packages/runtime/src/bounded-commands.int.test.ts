import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { boundCommands } from './bounded-commands.ts';
import { parseConfig, sharedEnv } from './config.ts';
import { dependencies, newBudget, runWithBudget } from './deadline.ts';
import { DependencyUnavailableError } from './errors.ts';

const { REDIS_URL } = parseConfig(sharedEnv);
const redis = boundCommands(new Redis(REDIS_URL, { maxRetriesPerRequest: 1 }));
afterAll(() => redis.disconnect());

// A blocking read on a key nobody writes is a command Redis does not answer for its timeout:
// a real wait on the real server, without stalling it for anyone else.
const key = `tally:test:bounded-commands:${process.pid}:${Date.now()}`;

describe('boundCommands: plain Redis commands bounded by the request budget', () => {
  it('a command not answered within the budget is a redis 503 near the budget', async () => {
    const started = Date.now();
    const err = await runWithBudget(newBudget(500), () => redis.blpop(key, 3)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DependencyUnavailableError);
    expect((err as DependencyUnavailableError).dependency).toBe('redis');
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('outside a request a command waits as long as it takes', async () => {
    const started = Date.now();
    expect(await redis.blpop(key, 1)).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('commands answered in time are unchanged, and the connection goes on answering after a timeout', async () => {
    await runWithBudget(newBudget(2000), async () => {
      await redis.set(key, 'v', 'EX', 60);
      expect(await redis.get(key)).toBe('v');
      await redis.del(key);
    });
  });

  it('marked down by readiness: a command in a request is refused at once, outside one (the probes) it is sent', async () => {
    try {
      dependencies.watch([{ name: 'redis', check: async () => { throw new Error('probe says down'); } }]);
      dependencies.suspect('redis');
      await new Promise((r) => setTimeout(r, 100));
      expect(dependencies.isDown('redis')).toBe(true);
      const started = Date.now();
      const err = await runWithBudget(newBudget(5000), () => redis.ping()).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(DependencyUnavailableError);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(await redis.ping()).toBe('PONG');
    } finally {
      dependencies.stop();
    }
  });
});
