import type { UsageAggregation, UsageResponse, UsageWindow } from '@tally/contracts';

export type { UsageResponse, UsageRow } from '@tally/contracts';

/** What `tally.usage()` asks GET /v1/usage. Dates may be Date objects or ISO strings. */
export interface UsageParams {
  customers?: string[];
  features?: string[];
  creditSystems?: string[];
  from?: Date | string;
  to?: Date | string;
  /** Property equality filters, e.g. { region: 'eu' }. */
  properties?: Record<string, string>;
  groupBy?: ('customer' | 'feature' | 'creditSystem' | `property:${string}`)[];
  window?: UsageWindow;
  timezone?: string;
  aggregations?: UsageAggregation[];
  orderBy?: UsageAggregation;
  limit?: number;
  /** The previous answer's nextCursor (same question otherwise). */
  cursor?: string;
}

const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : d);

/** The query string of GET /v1/usage for `params` ('' when empty). */
export function usageQueryString(params: UsageParams): string {
  const q = new URLSearchParams();
  const list = (name: string, values?: readonly string[]) => {
    if (values?.length) q.set(name, values.join(','));
  };
  list('customers', params.customers);
  list('features', params.features);
  list('creditSystems', params.creditSystems);
  if (params.from) q.set('from', iso(params.from));
  if (params.to) q.set('to', iso(params.to));
  for (const [name, value] of Object.entries(params.properties ?? {})) q.set(`property.${name}`, value);
  list('groupBy', params.groupBy);
  if (params.window) q.set('window', params.window);
  if (params.timezone) q.set('timezone', params.timezone);
  list('aggregations', params.aggregations);
  if (params.orderBy) q.set('orderBy', params.orderBy);
  if (params.cursor) q.set('cursor', params.cursor);
  if (params.limit !== undefined) q.set('limit', String(params.limit));
  const text = q.toString();
  return text ? `?${text}` : '';
}

export type UsageAnswer = UsageResponse;
