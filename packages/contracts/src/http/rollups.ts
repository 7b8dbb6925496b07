import { z } from 'zod';

const DAY_MS = 86_400_000;
/** The longest range one repair may cover: it reads every raw event of it. */
export const REPAIR_MAX_DAYS = 366;

const utcDay = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a UTC day as YYYY-MM-DD')
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), 'not a calendar day');

/** POST /v1/usage/repair: the whole UTC days [from, to) whose rollups are recomputed from the raw events. */
export const repairRollupsBodySchema = z
  .object({ from: utcDay, to: utcDay })
  .strict()
  .superRefine((b, ctx) => {
    const span = (Date.parse(`${b.to}T00:00:00Z`) - Date.parse(`${b.from}T00:00:00Z`)) / DAY_MS;
    if (!(span >= 1)) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be a later day than from' });
    else if (span > REPAIR_MAX_DAYS) ctx.addIssue({ code: 'custom', path: ['to'], message: `at most ${REPAIR_MAX_DAYS} days after from` });
  });
export type RepairRollupsBody = z.infer<typeof repairRollupsBodySchema>;

export const repairRollupsResultSchema = z.object({
  success: z.literal(true),
  from: z.string(),
  to: z.string(),
  /** Rollup keys (customer × feature × credit system × hour or day) that held a wrong total and were corrected. */
  corrected: z.number().int().nonnegative(),
});
export type RepairRollupsResult = z.infer<typeof repairRollupsResultSchema>;
