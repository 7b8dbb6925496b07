/**
 * The sandbox's test cards, like a real provider's test mode: the number
 * alone decides the outcome, at checkout and for later off-session charges.
 */
export type CardOutcome =
  | { ok: true; brand: string; last4: string }
  | { ok: false; code: string; message: string };

const DECLINES: Record<string, { code: string; message: string }> = {
  '4000000000000002': { code: 'card_declined', message: 'Your card was declined.' },
  '4000000000009995': { code: 'insufficient_funds', message: 'Your card has insufficient funds.' },
  '4000000000000069': { code: 'expired_card', message: 'Your card has expired.' },
  // like Stripe's 4000 0027 6000 3184: the bank asks for 3-D Secure on every charge, so off-session charges fail
  '4000002760003184': { code: 'authentication_required', message: 'The bank asks the customer to authenticate this payment.' },
};

export const SUCCESS_CARDS: Record<string, string> = {
  '4242424242424242': 'visa',
  '5555555555554444': 'mastercard',
};

export const normalizeCardNumber = (input: string): string => input.replace(/[\s-]/g, '');

export function luhnValid(number: string): boolean {
  if (!/^\d{12,19}$/.test(number)) return false;
  let sum = 0;
  for (let i = 0; i < number.length; i++) {
    let digit = Number(number[number.length - 1 - i]);
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

export function cardOutcome(input: string): CardOutcome {
  const number = normalizeCardNumber(input);
  if (!luhnValid(number)) return { ok: false, code: 'invalid_number', message: 'The card number is not valid.' };
  const decline = DECLINES[number];
  if (decline) return { ok: false, ...decline };
  const brand = SUCCESS_CARDS[number];
  if (!brand) return { ok: false, code: 'unknown_test_card', message: 'Use a sandbox test card, e.g. 4242 4242 4242 4242.' };
  return { ok: true, brand, last4: number.slice(-4) };
}

/**
 * Saving a card (set-up mode) charges nothing, so a card that will later be
 * declined, such as 4000 0000 0000 0002, can be saved; its off-session
 * charges then decline by the same rule.
 */
export function cardForSetup(input: string): CardOutcome {
  const number = normalizeCardNumber(input);
  const outcome = cardOutcome(number);
  if (outcome.ok || !DECLINES[number]) return outcome;
  return { ok: true, brand: 'visa', last4: number.slice(-4) };
}
