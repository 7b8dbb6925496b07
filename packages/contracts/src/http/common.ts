import { z } from 'zod';
import { RESET_INTERVALS, isExactAmount } from '@tally/core';

/** A catalog slug as Owostack writes them: "ai-tokens", "gpt-4", "500-ai-credits". */
export const slugSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, 'a slug is 1-128 letters, digits, "-", "_", "." or ":", starting with a letter or digit');

export const resetIntervalSchema = z.enum(RESET_INTERVALS);

/**
 * The largest amount (credits, feature units) an input may carry, fractions above it included, so the
 * message states the real limit. (The micro-unit ceiling, 9007199254.740991, has no exact double: a
 * client sending that number was refused by a message saying it was allowed.)
 */
export const MAX_AMOUNT = 9_007_199_254;
export const AMOUNT_RULE = `must have at most 6 decimal places and be at most ${MAX_AMOUNT}`;

/** A non-negative decimal with at most 6 decimal places (credits, feature units): stored exactly as micro-units. */
export const amountSchema = z
  .number()
  .nonnegative()
  .refine((n) => n <= MAX_AMOUNT && isExactAmount(n), AMOUNT_RULE);

/** Money in minor currency units (cents): a non-negative integer. */
export const minorUnitsSchema = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const currencySchema = z
  .string()
  .regex(/^[A-Za-z]{3}$/, 'an ISO 4217 code such as USD')
  .transform((c) => c.toUpperCase());

export const metadataSchema = z.record(z.string(), z.unknown());

/** Owostack's `customerData`: what an app knows about a customer when it first names it. */
export const customerDataSchema = z.object({
  email: z.email().optional(),
  name: z.string().max(256).optional(),
  metadata: metadataSchema.optional(),
});
export type CustomerDataInput = z.infer<typeof customerDataSchema>;

/** The error envelope of every non-2xx answer (API.md "Errors"). */
export const errorBodySchema = z.object({
  success: z.literal(false),
  error: z.looseObject({
    code: z.string(),
    message: z.string(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;
