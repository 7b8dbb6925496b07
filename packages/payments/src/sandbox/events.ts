import { z } from 'zod';

/** What the sandbox sends to `POST /v1/providers/sandbox/webhook`, signed in `Sandbox-Signature`. */
export const SANDBOX_SIGNATURE_HEADER = 'sandbox-signature';

const card = z.object({
  id: z.string(),
  customerRef: z.string(),
  brand: z.string(),
  last4: z.string(),
  expMonth: z.number().int(),
  expYear: z.number().int(),
});

export const sandboxEventSchema = z.object({
  id: z.string().min(1),
  type: z.string(),
  created: z.number().int(),
  data: z.object({
    tenantId: z.string(),
    sessionId: z.string(),
    reference: z.string(),
    chargeId: z.string().optional(),
    card: card.optional(),
  }),
});
export type SandboxEvent = z.infer<typeof sandboxEventSchema>;
