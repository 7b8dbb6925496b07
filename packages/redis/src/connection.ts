import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/**
 * A command connection: one server (`redis://…`) or a Redis Cluster
 * (`redis+cluster://h:p,h:p,…`). Code that takes a connection takes this type;
 * what differs on a Cluster (a pipeline within one node, SCAN on every master)
 * goes through cluster.ts.
 */
export type RedisClient = Redis | Cluster;

export interface ClusterUrl {
  nodes: { host: string; port: number }[];
  username?: string;
  password?: string;
  tls: boolean;
}

const CLUSTER_SCHEME = /^(rediss?)\+cluster:\/\//i;

export const isClusterUrl = (url: string) => CLUSTER_SCHEME.test(url);

/**
 * `redis+cluster://[user:password@]host:port,host:port,…` (or `rediss+cluster://` for TLS): the seed
 * nodes; the client discovers the rest. A database number is refused (a Cluster has only db 0).
 * Returns null for any other scheme.
 */
export function parseClusterUrl(url: string): ClusterUrl | null {
  const scheme = CLUSTER_SCHEME.exec(url);
  if (!scheme) return null;
  let rest = url.slice(scheme[0].length);
  const q = rest.search(/[?#]/);
  if (q >= 0) rest = rest.slice(0, q);
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const db = rest.slice(slash + 1);
    if (db !== '' && db !== '0') throw new Error(`redis cluster URL: a Cluster has only database 0, got /${db}`);
    rest = rest.slice(0, slash);
  }
  const at = rest.lastIndexOf('@');
  const auth = at >= 0 ? rest.slice(0, at) : '';
  const hosts = at >= 0 ? rest.slice(at + 1) : rest;
  const out: ClusterUrl = { nodes: [], tls: scheme[1]!.toLowerCase() === 'rediss' };
  if (auth) {
    const colon = auth.indexOf(':');
    const user = decodeURIComponent(colon >= 0 ? auth.slice(0, colon) : auth);
    if (colon >= 0) out.password = decodeURIComponent(auth.slice(colon + 1));
    if (user) out.username = user;
  }
  for (const part of hosts.split(',')) {
    const node = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d+))?$/.exec(part.trim());
    if (!node) throw new Error(`redis cluster URL: "${part}" is not host:port`);
    const port = Number(node[2] ?? 6379);
    if (!(port > 0 && port < 65536)) throw new Error(`redis cluster URL: bad port in "${part}"`);
    out.nodes.push({ host: node[1]!.replace(/^\[|\]$/g, ''), port });
  }
  if (out.nodes.length === 0 || out.nodes[0]!.host === '') throw new Error('redis cluster URL: no node given');
  return out;
}

const FAIL_FAST: RedisOptions = {
  maxRetriesPerRequest: 1,
  enableOfflineQueue: false,
  connectTimeout: 2000,
  retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  lazyConnect: false,
};

/**
 * RedisOptions for a Cluster: the queueing and reconnecting options are the Cluster's own (ioredis
 * gives node connections an offline queue and no reconnect of their own: a lost node is found
 * again through the slot map); everything else applies to each node connection.
 */
function clusterOptions(c: ClusterUrl, options: RedisOptions): ClusterOptions {
  const { enableOfflineQueue, lazyConnect, retryStrategy, ...node } = options;
  return {
    enableOfflineQueue,
    lazyConnect,
    ...(retryStrategy ? { clusterRetryStrategy: (times: number) => retryStrategy(times) } : {}),
    slotsRefreshTimeout: options.connectTimeout ?? 2000,
    redisOptions: {
      ...node,
      ...(c.username ? { username: c.username } : {}),
      ...(c.password ? { password: c.password } : {}),
      ...(c.tls ? { tls: {} } : {}),
    },
  };
}

/**
 * A Redis connection that fails fast instead of queueing commands while the
 * server is down, so the API can answer 503 at once rather than hang.
 * On a `redis+cluster://` URL, a Cluster with the same settings.
 * BullMQ wants its own connections with `maxRetriesPerRequest: null`: use bullOptions.
 */
export function createRedis(url: string, options: RedisOptions = {}): RedisClient {
  const o = { ...FAIL_FAST, ...options };
  const cluster = parseClusterUrl(url);
  return cluster ? new Cluster(cluster.nodes, clusterOptions(cluster, o)) : new Redis(url, o);
}

/** Options for BullMQ on one server (blocking commands must not time out); BullMQ opens and closes the connection. */
export function bullConnection(url: string): RedisOptions & { url: string } {
  if (isClusterUrl(url)) throw new Error('bullConnection: a cluster URL needs a Cluster instance; use bullOptions');
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

/**
 * The BullMQ key prefix. BullMQ's scripts touch several keys of a queue at once, so on a Cluster the
 * prefix is a hash tag and every queue lives in its slot (on one master). The default profile keeps
 * BullMQ's own 'bull', so queues already in a Redis are not orphaned.
 */
export const bullPrefix = (url: string) => (isClusterUrl(url) ? '{tally}' : 'bull');

/**
 * Connection and prefix for a BullMQ Queue, Worker or QueueEvents: `new Queue(name, bullOptions(url))`.
 * On a Cluster the connection is a Cluster instance, which BullMQ treats as the caller's and never
 * closes: create the owner through ownBull so its close() closes it.
 */
export function bullOptions(url: string): { connection: RedisOptions | Cluster; prefix: string } {
  const cluster = parseClusterUrl(url);
  const prefix = bullPrefix(url);
  if (!cluster) return { connection: bullConnection(url), prefix };
  const connection = new Cluster(
    cluster.nodes,
    clusterOptions(cluster, { enableOfflineQueue: true, maxRetriesPerRequest: null, connectTimeout: FAIL_FAST.connectTimeout, retryStrategy: FAIL_FAST.retryStrategy }),
  );
  return { connection, prefix };
}

/**
 * Builds a BullMQ owner (Queue, Worker, QueueEvents) with bullOptions(url) and makes its close()
 * also close a Cluster connection made for it (on one server BullMQ closes its own).
 */
export function ownBull<T extends { close(...args: never[]): Promise<void> }>(url: string, create: (options: ReturnType<typeof bullOptions>) => T): T {
  const options = bullOptions(url);
  const owner = create(options);
  const { connection } = options;
  if (connection instanceof Cluster) {
    const close = owner.close.bind(owner) as (...args: unknown[]) => Promise<void>;
    (owner as unknown as { close: (...args: unknown[]) => Promise<void> }).close = async (...args: unknown[]) => {
      try {
        await close(...args);
      } finally {
        connection.disconnect();
      }
    };
  }
  return owner;
}

export const redisProbe = (redis: RedisClient) => ({
  name: 'redis',
  check: async () => {
    if (redis.status !== 'ready') throw new Error(`connection ${redis.status}`);
    await redis.ping();
  },
});
