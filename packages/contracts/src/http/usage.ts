import { z } from 'zod';

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

/**
 * GET /v1/usage query. Lists are comma-separated (or repeated). Property
 * filters are `property.<name>=<value>` (string equality).
 */
export const usageQuerySchema = z
  .object({
    customers: list(z.string().min(1).max(256)).optional(),
    features: list(z.string().min(1).max(256)).optional(),
    creditSystems: list(z.string().min(1).max(256)).optional(),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    groupBy: list(groupKey).optional(),
    window: z.enum(USAGE_WINDOWS).optional(),
    timezone: z.string().min(1).max(64).default('UTC'),
    aggregations: list(z.enum(USAGE_AGGREGATIONS)).optional(),
    orderBy: z.enum(USAGE_AGGREGATIONS).optional(),
    limit: z.coerce.number().int().min(1).max(10_000).default(1000),
  })
  .catchall(z.union([z.string().max(1024), z.array(z.string())]));
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
});
export type UsageResponse = z.infer<typeof usageResponseSchema>;
