import { z } from 'zod';

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * RENEWAL_RETRY_SCHEDULE: when a declined renewal is tried again, each offset
 * counted from its first decline (`1d,3d,5d`: one day, three days and five days
 * after it). The last offset is the grace period: if that retry fails too, the
 * subscription is past_due. Units s, m, h, d.
 */
export function parseRetrySchedule(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim()).filter(Boolean);
  const out = parts.map((p) => {
    const m = /^(\d+)([smhd])$/.exec(p);
    if (!m) throw new Error(`"${p}" is not a duration like 1d, 12h, 30m or 10s`);
    return Number(m[1]) * UNIT_MS[m[2]!]!;
  });
  for (let i = 1; i < out.length; i++) if (out[i]! <= out[i - 1]!) throw new Error('offsets must increase');
  return out;
}

export const renewalsEnv = z.object({
  RENEWAL_RETRY_SCHEDULE: z
    .string()
    .default('1d,3d,5d')
    .superRefine((v, ctx) => {
      try {
        parseRetrySchedule(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
  /** How often the workers look for subscriptions at their period end and renewals due for a retry. */
  RENEWAL_SWEEP_EVERY_MS: z.coerce.number().int().min(50).default(60_000),
  /** A renewal claimed by a process that then died is taken over after this long (the same charge, same key). */
  RENEWAL_CLAIM_SECONDS: z.coerce.number().int().min(1).default(60),
});

export type RenewalsConfig = z.infer<typeof renewalsEnv>;
