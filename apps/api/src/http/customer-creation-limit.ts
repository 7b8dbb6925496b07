import type { CustomerData } from '@tally/metering';
import { CUSTOMER_RATE_LIMITED } from '@tally/metering';
import { AppError, DependencyUnavailableError } from '@tally/runtime';
import type { WindowLimiter } from './rate-limit.ts';

interface Customers {
  context(tenantId: string, customerId: string): Promise<unknown>;
  ensure(tenantId: string, customerId: string, data?: CustomerData | null): Promise<unknown>;
}

/**
 * `ensure` for the calls that create a customer on first use (track, batch, check, addon) with a cap on
 * the customers one tenant creates per minute, counted in Redis across API
 * processes: a batch naming 10,000 unknown ids creates the first ones up to
 * the cap, and the events of the others are `rejected` with
 * `customer_rate_limited` (a single track/check: 429 with Retry-After).
 * Customers that exist cost nothing against the cap. POST /v1/customers
 * (explicit creation, one per request) is not counted.
 */
export function limitCustomerCreation(customers: Customers, limiter: WindowLimiter) {
  return async (tenantId: string, customerId: string, data?: CustomerData | null): Promise<unknown> => {
    if (limiter.enabled && !(await customers.context(tenantId, customerId))) {
      const wait = await limiter.hit(tenantId).catch((err: unknown) => {
        throw new DependencyUnavailableError('redis', err);
      });
      if (wait !== null) {
        throw new AppError(
          CUSTOMER_RATE_LIMITED,
          `customer ${customerId} is new and this tenant created ${limiter.limit} customers in the last minute; retry in ${wait} s`,
          { status: 429, retryAfterSeconds: wait },
        );
      }
    }
    return customers.ensure(tenantId, customerId, data);
  };
}
