/**
 * The catalog of Owostack's "Addon Packs" guide, as code. Push it with
 *   TALLY_API_KEY=sk_test_… npx tally sync ./examples/billing.config.ts
 * and preview changes with `npx tally diff ./examples/billing.config.ts`.
 */
import { creditPack, creditSystem, metered, plan } from '@tally/sdk';

export const aiTokens = metered('ai-tokens', { name: 'AI Tokens' });
export const gpt4 = metered('gpt-4');
export const dallE = metered('dall-e');

export const aiCredits = creditSystem('ai-credits', {
  name: 'AI Credits',
  features: [aiTokens(1), gpt4(20), dallE(50)],
});

export const free = plan('free', {
  name: 'Free',
  price: 0,
  currency: 'USD',
  interval: 'monthly',
  autoEnable: true,
  features: [aiCredits.credits(100, { reset: 'monthly' })],
});

export const pro = plan('pro', {
  name: 'Pro',
  price: 2000,
  currency: 'USD',
  interval: 'monthly',
  features: [aiTokens.limit(5000, { creditCost: 1 }), aiCredits.credits(5000, { reset: 'monthly' })],
});

export const credits500 = creditPack('500-ai-credits', {
  name: '500 AI Credits',
  credits: 500,
  price: 1000,
  currency: 'USD',
  creditSystem: 'ai-credits',
  provider: 'sandbox',
});
