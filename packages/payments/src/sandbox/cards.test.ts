import { describe, expect, it } from 'vitest';
import { cardForSetup, cardOutcome, luhnValid } from './cards.ts';

describe('sandbox test cards', () => {
  it('succeeds with 4242…, declines 4000…0002, refuses non-cards', () => {
    expect(cardOutcome('4242 4242 4242 4242')).toEqual({ ok: true, brand: 'visa', last4: '4242' });
    expect(cardOutcome('4000000000000002')).toMatchObject({ ok: false, code: 'card_declined' });
    expect(cardOutcome('4000000000009995')).toMatchObject({ ok: false, code: 'insufficient_funds' });
    expect(cardOutcome('4242424242424241')).toMatchObject({ ok: false, code: 'invalid_number' });
    expect(cardOutcome('4111111111111111')).toMatchObject({ ok: false, code: 'unknown_test_card' });
  });

  it('checks the Luhn digit', () => {
    expect(luhnValid('4242424242424242')).toBe(true);
    expect(luhnValid('4242424242424243')).toBe(false);
    expect(luhnValid('42')).toBe(false);
  });

  it('lets a card that declines charges be saved, and still refuses invalid numbers', () => {
    expect(cardForSetup('4000000000000002')).toEqual({ ok: true, brand: 'visa', last4: '0002' });
    expect(cardForSetup('4242424242424242')).toMatchObject({ ok: true, last4: '4242' });
    expect(cardForSetup('1234')).toMatchObject({ ok: false, code: 'invalid_number' });
  });
});
