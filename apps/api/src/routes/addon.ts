import { fromMicro } from '@tally/core';
import { addonBodySchema, addonDeclinedSchema, addonResultSchema, errorBodySchema, type AddonResult } from '@tally/contracts';
import type { Billing, Purchase } from '@tally/billing';
import type { ApiContext } from '../context.ts';
import type { RouteTable } from '../http/route.ts';
import { requireSafeCallbackUrl } from './callback-url.ts';

/** How long POST /v1/addon waits for an off-session charge before answering 202. */
const ADDON_WAIT_MS = 5000;

export function registerAddonRoutes(routes: RouteTable, ctx: ApiContext): void {
  routes.add({
    method: 'post',
    path: '/addon',
    summary: 'Buy credit packs: charges a card on file at once, otherwise returns a checkout URL',
    tags: ['billing'],
    body: addonBodySchema,
    responses: { 200: addonResultSchema, 202: addonResultSchema, 400: errorBodySchema, 402: addonDeclinedSchema, 404: errorBodySchema },
    handler: async ({ body, tenant, req }) => {
      requireSafeCallbackUrl(body.callbackUrl, ctx.config.NODE_ENV);
      const { purchase, creditSystemId } = await ctx.billing.addon.start({
        tenantId: tenant.tenantId,
        customer: body.customer,
        pack: body.pack,
        quantity: body.quantity,
        currency: body.currency,
        callbackUrl: body.callbackUrl,
        metadata: body.metadata,
        customerData: body.customerData,
        idempotencyKey: req.get('idempotency-key') ?? undefined,
      });
      let current = purchase;
      if (inFlight(current)) {
        await ctx.billing.checkoutQueue.waitFor(current.id, ADDON_WAIT_MS);
        current = (await ctx.billing.purchases.get(tenant.tenantId, current.id)) ?? current;
      }
      return addonAnswer(ctx.billing, current, creditSystemId);
    },
  });
}

const inFlight = (p: Purchase) => p.status === 'pending' || p.status === 'charging' || p.status === 'paid';

async function addonAnswer(billing: Billing, p: Purchase, creditSystemId: string | null) {
  const common = { reference: p.id, status: p.status, ...(creditSystemId ? { creditSystemId } : {}) };
  if (p.status === 'failed') {
    const message = p.failureMessage ?? 'The payment failed.';
    return {
      status: 402,
      body: { success: false, requiresCheckout: false, ...common, message, error: { code: p.failureCode ?? 'payment_failed', message } },
    };
  }
  if (p.status === 'awaiting_payment') {
    const body: AddonResult = { success: true, requiresCheckout: true, checkoutUrl: p.checkoutUrl ?? undefined, ...common, message: 'Complete the payment at checkoutUrl.' };
    return { status: 200, body };
  }
  if (p.status === 'expired') {
    // The same Idempotency-Key keeps answering the expired purchase; a new purchase needs a new key.
    const body: AddonResult = {
      success: false,
      requiresCheckout: false,
      ...common,
      message: 'This purchase expired before it was paid; nothing was charged. Start a new one (with a new Idempotency-Key).',
    };
    return { status: 200, body };
  }
  if (p.status === 'completed' || p.status === 'refunded') {
    const balance = await billing.balances.balance({ tenantId: p.tenantId, customerId: p.customerId, creditSystem: p.creditSystem });
    const body: AddonResult = {
      success: true,
      requiresCheckout: false,
      ...common,
      credits: fromMicro(p.creditsMicro),
      balance: fromMicro(balance.totalMicro),
      message: `Added ${fromMicro(p.creditsMicro)} credits.`,
    };
    return { status: 200, body };
  }
  const body: AddonResult = {
    success: true,
    requiresCheckout: false,
    ...common,
    message: `The payment is still processing; poll GET /v1/purchases/${p.id}.`,
  };
  return { status: 202, body, headers: { Location: `/v1/purchases/${p.id}` } };
}
