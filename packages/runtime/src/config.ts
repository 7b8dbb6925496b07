import { z } from 'zod';

/** Raised at start-up when an environment variable is missing or malformed; names each bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Variables whose values are secrets: a config error names them but never prints them. */
const SECRET_NAME = /SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|PRIVATE|_KEY$|_KEY_/;
/** Values that are secrets wherever they were put (Stripe keys, webhook secrets, Tally keys, PEM blocks). */
const SECRET_VALUE = /\b(sk|rk)_(test|live)_|\bwhsec_|-----BEGIN/;
/** Query parameters that carry credentials, e.g. ?password=… in a connection string. */
const SECRET_PARAM = /([?&;][^=&;#]*(pass|secret|token|key|auth)[^=&;#]*=)[^&;#]*/gi;
const MAX_SHOWN = 120;

/**
 * The value as an error may show it: a secret (by its variable's name or its
 * look) never, only that it was hidden; otherwise with everything before the
 * last `@` masked (user:password of URLs and broker lists, passwords holding
 * `@` or `/` included), credential query parameters masked, and cut short.
 */
export function shownValue(name: string, value: string | undefined): string {
  if (value === undefined) return 'null';
  if (SECRET_NAME.test(name) || SECRET_VALUE.test(value)) return '(hidden)';
  let masked = value.replace(/^([A-Za-z][\w+.-]*:\/\/)?\S*@/, '$1***@').replace(SECRET_PARAM, '$1***');
  if (masked.length > MAX_SHOWN) masked = `${masked.slice(0, MAX_SHOWN)}…`;
  return JSON.stringify(masked);
}

/**
 * Parses the environment once, at start-up, with the app's own zod schema.
 * Nothing else in Tally reads process.env.
 */
export function parseConfig<S extends z.ZodObject>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) {
    const refused = productionRefusals(result.data as Record<string, unknown>);
    if (refused.length) throw new ConfigError(refused);
    return result.data;
  }
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(root)';
    return `${name}: ${issue.message} (got ${shownValue(String(issue.path[0]), env[String(issue.path[0])])})`;
  });
  throw new ConfigError(problems);
}

/**
 * Shared variables whose default is fine for a laptop and never for a
 * deployment: with NODE_ENV=production every app (and CLI) built on
 * `sharedEnv` refuses to start with them, naming the variable. The apps'
 * own defaults (CREDENTIALS_KEY, SANDBOX_WEBHOOK_SECRET, …) have the same
 * rule in their packages' `…EnvRules`.
 */
function productionRefusals(env: Record<string, unknown>): string[] {
  if (env.NODE_ENV !== 'production') return [];
  const problems: string[] = [];
  // The local ClickHouse user "default" has no password; a deployment's must have one.
  if ('CLICKHOUSE_PASSWORD' in env && env.CLICKHOUSE_PASSWORD === '') {
    problems.push('CLICKHOUSE_PASSWORD: is unset or empty; set the ClickHouse password when NODE_ENV=production');
  }
  return problems;
}

const url = (protocols: string[]) =>
  z.url().refine((v) => protocols.some((p) => v.startsWith(`${p}:`)), {
    message: `must be a ${protocols.join(' or ')} URL`,
  });

/** Environment variables shared by every app; each app extends this with its own. */
export const sharedEnv = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** One server, or a Redis Cluster by its seed nodes: redis+cluster://host:port,host:port,… (packages/redis connection.ts). */
  REDIS_URL: z
    .string()
    .refine((v) => (/^rediss?:/.test(v) && z.url().safeParse(v).success) || /^rediss?\+cluster:\/\/([^@/\s]*@)?[^,/@\s]+:\d+(,[^,/@\s]+:\d+)*\/?$/.test(v), {
      message: 'must be a redis or rediss URL, or redis+cluster://host:port,host:port,…',
    })
    .default('redis://127.0.0.1:6379'),
  DATABASE_URL: url(['postgres', 'postgresql']).default('postgres://postgres@127.0.0.1:5432/tally'),
  CLICKHOUSE_URL: url(['http', 'https']).default('http://127.0.0.1:8123'),
  CLICKHOUSE_DATABASE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain identifier').default('tally'),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:9092')
    .transform((v) => v.split(',').map((b) => b.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[^:\s]+:\d+$/, 'each broker must be host:port')).min(1)),
  KAFKA_CLIENT_ID: z.string().default('tally'),
  KAFKA_TOPIC_EVENTS: z.string().default('tally.usage-events.v1'),
  KAFKA_PARTITIONS: z.coerce.number().int().min(1).default(6),
  KAFKA_REPLICATION_FACTOR: z.coerce.number().int().min(1).default(1),
  /** Customers one process holds in each per-customer cache (least recently used dropped first; docs/operations.md "Memory bounds"). */
  CACHE_MAX_CUSTOMERS: z.coerce.number().int().min(1).default(100_000),
  /** Tenants one process holds in each per-tenant cache (catalog snapshots, API keys). */
  CACHE_MAX_TENANTS: z.coerce.number().int().min(1).default(10_000),
});
export type SharedEnv = z.infer<typeof sharedEnv>;
