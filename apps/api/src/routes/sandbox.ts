import { z } from 'zod';
import { errorBodySchema } from '@tally/contracts';
import { PAGE_SECURITY_HEADERS, renderResultPage, type PageAnswer } from '@tally/payments';
import { badRequest } from '@tally/runtime';
import type { Response } from 'express';
import type { ApiContext } from '../context.ts';
import { rawBodyOf } from '../http/raw-body.ts';
import type { RouteTable } from '../http/route.ts';

const sessionParams = z.object({ id: z.string().regex(/^[a-z_]+_[0-9a-f]{24}$/, 'not a sandbox session id') });
const payForm = z.object({
  cardNumber: z.string().min(1).max(40),
  expiry: z.string().max(10).optional(),
  cvc: z.string().max(8).optional(),
  saveCard: z.string().max(8).optional(),
});

/** The default return pages: a card set-up (wallet) comes back with `for=card`, a purchase or plan checkout without. */
const RETURN_PAGES = {
  payment: renderResultPage('Thank you', 'Your payment is being confirmed. You can close this page.'),
  card: renderResultPage('Thank you', 'Your card is being saved for future purchases. You can close this page.'),
} as const;

/** Every answer of the hosted pages, HTML or redirect, carries the page security headers. */
function sendPage(res: Response, answer: PageAnswer): undefined {
  res.set(PAGE_SECURITY_HEADERS);
  if ('redirect' in answer) {
    res.redirect(303, answer.redirect);
    return undefined;
  }
  res.status(answer.status).type('html').send(answer.html);
  return undefined;
}

/**
 * Public routes: the sandbox provider's hosted checkout (plain HTML forms
 * served by Tally), its default return page, and the receiver of every
 * provider's webhooks (verified by signature, not by API key).
 */
export function registerSandboxRoutes(routes: RouteTable, ctx: ApiContext): void {
  const hosted = ctx.payments.hostedCheckout;

  routes.add({
    method: 'get',
    path: '/sandbox/checkout/:id',
    summary: 'Sandbox hosted checkout page (HTML)',
    tags: ['sandbox'],
    auth: false,
    params: sessionParams,
    responses: { 200: null, 403: null, 404: null, 410: null },
    handler: async ({ params, res }) => sendPage(res, await hosted.page(params.id)),
  });

  routes.add({
    method: 'post',
    path: '/sandbox/checkout/:id',
    summary: 'Pay (or save a card) on the sandbox hosted page; test card 4242… succeeds, 4000…0002 is declined',
    tags: ['sandbox'],
    auth: false,
    params: sessionParams,
    body: payForm,
    extraContentTypes: ['application/x-www-form-urlencoded'],
    responses: { 200: null, 303: null, 402: null, 403: null, 404: null, 409: null, 410: null },
    handler: async ({ params, body, res }) =>
      sendPage(res, await hosted.submit(params.id, { cardNumber: body.cardNumber, expiry: body.expiry, saveCard: body.saveCard === 'true' || body.saveCard === 'on' })),
  });

  routes.add({
    method: 'get',
    path: '/sandbox/return',
    summary: 'Where the sandbox checkout returns when the app gave no callbackUrl (HTML)',
    tags: ['sandbox'],
    auth: false,
    query: z.object({ reference: z.string().max(64).optional(), for: z.enum(['payment', 'card']).default('payment') }),
    responses: { 200: null },
    handler: async ({ query, res }) => sendPage(res, { status: 200, html: RETURN_PAGES[query.for] }),
  });

  routes.add({
    method: 'post',
    path: '/providers/:provider/webhook',
    summary: "A payment provider's webhook (signature-verified; forged or older than 5 minutes: 400)",
    tags: ['billing'],
    auth: false,
    params: z.object({ provider: z.string().regex(/^[a-z0-9_-]{1,32}$/) }),
    responses: { 200: z.object({ received: z.literal(true), duplicate: z.boolean() }), 400: errorBodySchema },
    handler: async ({ params, req }) => {
      const raw = rawBodyOf(req) ?? (typeof req.body === 'string' ? req.body : undefined);
      if (raw === undefined) throw badRequest('invalid_signature', 'webhook body must be JSON');
      return { body: await ctx.billing.providerWebhooks.receive(params.provider, raw, req.headers) };
    },
  });
}
