import { Redis, type RedisOptions } from 'ioredis';

/**
 * A Redis connection that fails fast instead of queueing commands while the
 * server is down, so the API can answer 503 at once rather than hang.
 * BullMQ wants its own connections with `maxRetriesPerRequest: null`: use bullConnection.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    lazyConnect: false,
    ...options,
  });
}

/** Options for BullMQ queues and workers (blocking commands must not time out). */
export function bullConnection(url: string): RedisOptions & { url: string } {
  const u = new URL(url);
  return {
    url,
    host: u.hostname,
    port: Number(u.port || 6379),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    maxRetriesPerRequest: null,
  };
}

export const redisProbe = (redis: Redis) => ({
  name: 'redis',
  check: async () => {
    if (redis.status !== 'ready') throw new Error(`connection ${redis.status}`);
    await redis.ping();
  },
});
