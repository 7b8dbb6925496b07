import { z } from 'zod';
import { cursorSchema } from '../pagination.ts';

export const USAGE_WINDOWS = ['minute', 'hour', 'day', 'month'] as const;
export const USAGE_AGGREGATIONS = ['sum_value', 'sum_credits', 'count', 'distinct_customers', 'max_value'] as const;
export type UsageWindow = (typeof USAGE_WINDOWS)[number];
export type UsageAggregation = (typeof USAGE_AGGREGATIONS)[number];

const list = <T extends z.ZodType<string, string>>(item: T) =>
  z
    .union([z.string(), z.array(z.string())])
    .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(item).max(1000));

const groupKey = z.string().regex(/^(customer|feature|creditSystem|property:[A-Za-z0-9_.-]{1,64})$/, 'customer, feature, creditSystem or property:<name>');

/** A property filter's query key: `property.<name>`, the name as in `groupBy=property:<name>`. */
export const PROPERTY_FILTER_KEY = /^property\.([A-Za-z0-9_.-]{1,64})$/;

/** ClickHouse 18.16's DateTime ends with 2105 (a later literal silently wraps to 1970): `from` and `to` must be before it. */
export const USAGE_TIME_LIMIT = '2106-01-01T00:00:00.000Z';
const beforeLimit = (v: string) => Date.parse(v) < Date.parse(USAGE_TIME_LIMIT);
const time = () =>
  z.iso
    .datetime({ offset: true })
    .refine((v) => Date.parse(v) >= 0, 'must not be before 1970-01-01T00:00:00Z')
    .refine(beforeLimit, `must be before ${USAGE_TIME_LIMIT} (the end of ClickHouse's DateTime range)`);

const KNOWN_KEYS = new Set(['customers', 'features', 'creditSystems', 'from', 'to', 'groupBy', 'window', 'timezone', 'aggregations', 'orderBy', 'limit', 'cursor']);

/**
 * Every other key must be a well-formed property filter, given once: a typo
 * (`customer=`, `properties.x=`) is a 400, never an answer without the filter.
 */
function onlyKnownKeys(query: Record<string, unknown>, ctx: z.RefinementCtx): void {
  for (const [key, value] of Object.entries(query)) {
    if (KNOWN_KEYS.has(key)) continue;
    if (!key.startsWith('property.')) {
      ctx.addIssue({ code: 'custom', path: [key], message: `unknown query parameter; filters are ${[...KNOWN_KEYS].join(', ')} and property.<name>` });
    } else if (!PROPERTY_FILTER_KEY.test(key)) {
      ctx.addIssue({ code: 'custom', path: [key], message: 'a property filter is property.<name>=<value>, the name 1-64 letters, digits, "_", "." or "-"' });
    } else if (typeof value !== 'string') {
      ctx.addIssue({ code: 'custom', path: [key], message: 'a property filter must be given once' });
    }
  }
}

/**
 * GET /v1/usage query. Lists are comma-separated (or repeated). Property
 * filters are `property.<name>=<value>` (string equality).
 */
export const usageQuerySchema = z
  .object({
    customers: list(z.string().min(1).max(256)).optional(),
    features: list(z.string().min(1).max(256)).optional(),
    creditSystems: list(z.string().min(1).max(256)).optional(),
    from: time().optional(),
    to: time().optional(),
    groupBy: list(groupKey).optional(),
    window: z.enum(USAGE_WINDOWS).optional(),
    timezone: z.string().min(1).max(64).default('UTC'),
    aggregations: list(z.enum(USAGE_AGGREGATIONS)).optional(),
    orderBy: z.enum(USAGE_AGGREGATIONS).optional(),
    limit: z.coerce.number().int().min(1).max(10_000).default(1000),
    /**
     * nextCursor of the previous page: the group key (bucket, then groupBy values) of its last row, and the
     * window [from, to) the walk answers (epoch ms), so a default window does not move with "now" between pages.
     */
    cursor: cursorSchema(z.strictObject({
      k: z.array(z.union([z.number(), z.string().max(1024)])).min(1).max(12),
      from: z.number().int().nonnegative(),
      to: z.number().int().positive(),
    })).optional(),
  })
  .catchall(z.union([z.string().max(1024), z.array(z.string())]))
  .superRefine(onlyKnownKeys);
export type UsageQueryInput = z.infer<typeof usageQuerySchema>;

export const usageRowSchema = z.object({
  bucket: z.string().optional(),
  customer: z.string().optional(),
  feature: z.string().optional(),
  creditSystem: z.string().optional(),
  properties: z.record(z.string(), z.string()).optional(),
  sumValue: z.number().optional(),
  sumCredits: z.number().optional(),
  count: z.number().optional(),
  distinctCustomers: z.number().optional(),
  maxValue: z.number().optional(),
});
export type UsageRow = z.infer<typeof usageRowSchema>;

export const usageResponseSchema = z.object({
  success: z.literal(true),
  from: z.string(),
  to: z.string(),
  window: z.enum(USAGE_WINDOWS).nullable(),
  timezone: z.string(),
  /** Which table answered: an hourly or daily rollup, or the raw events. */
  source: z.enum(['usage_per_hour_v1', 'usage_per_day_v1', 'raw_usage_events_v1']),
  data: z.array(usageRowSchema),
  /** More rows after these (keyset on the group key); pass nextCursor as `cursor` with the same question. */
  hasMore: z.boolean(),
  nextCursor: z.string().nullable(),
});
export type UsageResponse = z.infer<typeof usageResponseSchema>;
