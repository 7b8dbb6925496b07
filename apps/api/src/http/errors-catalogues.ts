import { analyticsErrors } from '@tally/analytics';
import { billingErrors } from '@tally/billing';
import { catalogErrors } from '@tally/catalog';
import { meteringErrors } from '@tally/metering';
import { paymentErrors } from '@tally/payments';
import { ERROR_CODES, type ErrorCodeInfo } from '@tally/runtime';

/** Each domain package's declared codes (its errors.ts, defineErrors). */
export const ERROR_CATALOGUES: Readonly<Record<string, readonly ErrorCodeInfo[]>> = {
  catalog: catalogErrors.codes,
  metering: meteringErrors.codes,
  billing: billingErrors.codes,
  payments: paymentErrors.codes,
  analytics: analyticsErrors.codes,
};

export interface ErrorCodeRow extends ErrorCodeInfo {
  /** The packages declaring the code (none: a cross-cutting code of the HTTP edge or runtime). */
  declaredBy: string[];
}

/**
 * The table docs/errors.md and the OpenAPI document show: every code an answer
 * can carry, in the registry's order, each with the packages declaring it.
 * A declaration that differs from the registry (status, retryable, meaning) or
 * a declared code the registry lacks throws, so the two cannot drift
 * (errors-catalogues.test.ts runs it).
 */
export function errorCodeTable(): ErrorCodeRow[] {
  const registry = new Map(ERROR_CODES.map((e) => [e.code, e]));
  const declaredBy = new Map<string, string[]>();
  for (const [pkg, codes] of Object.entries(ERROR_CATALOGUES)) {
    for (const c of codes) {
      const known = registry.get(c.code);
      if (!known) throw new Error(`${pkg} declares ${c.code}, which docs/errors.md's registry lacks`);
      if (known.status !== c.status || known.retryable !== c.retryable || known.meaning !== c.meaning) {
        throw new Error(`${pkg} declares ${c.code} as ${JSON.stringify(c)}; the registry has ${JSON.stringify(known)}`);
      }
      declaredBy.set(c.code, [...(declaredBy.get(c.code) ?? []), pkg]);
    }
  }
  return ERROR_CODES.map((e) => ({ ...e, declaredBy: declaredBy.get(e.code) ?? [] }));
}
