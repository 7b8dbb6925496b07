/**
 * Exact amounts. Credits and feature units are fixed-point integers of
 * micro-units (1 credit = 1,000,000 micro-credits); money is integer minor
 * currency units. Nothing that is stored ever passes through a float.
 */
export const MICRO = 1_000_000n;
export const MICRO_DIGITS = 6;

/** Largest micro amount Redis' Lua (IEEE doubles) adds exactly: 2^53 - 1. */
export const MAX_SAFE_MICRO = BigInt(Number.MAX_SAFE_INTEGER);

const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/**
 * Parses a non-negative decimal (number or string, e.g. 20, "0.0015") into
 * micro-units. Numbers are read through their shortest decimal rendering, so
 * 0.1 is exactly 100000. Throws on negatives, NaN, Infinity, exponents that
 * do not expand to a plain decimal, and on more than 6 decimal places.
 */
export function toMicro(input: number | string): bigint {
  const text = typeof input === 'number' ? numberToPlainDecimal(input) : input.trim();
  const match = DECIMAL.exec(text);
  if (!match) throw new RangeError(`not a non-negative decimal: ${JSON.stringify(input)}`);
  const [, whole = '0', fraction = ''] = match;
  const trimmed = fraction.replace(/0+$/, '');
  if (trimmed.length > MICRO_DIGITS) throw new RangeError(`more than ${MICRO_DIGITS} decimal places: ${text}`);
  const micro = BigInt(whole) * MICRO + BigInt(trimmed.padEnd(MICRO_DIGITS, '0') || '0');
  if (micro > MAX_SAFE_MICRO) throw new RangeError(`amount too large: ${text}`);
  return micro;
}

/** True when `input` parses with toMicro. */
export function isExactAmount(input: number | string): boolean {
  try {
    toMicro(input);
    return true;
  } catch {
    return false;
  }
}

/** Micro-units back to a JSON number for API answers (display only; exact up to 2^53 micro). */
export function fromMicro(micro: bigint): number {
  return Number(micro) / 1e6;
}

/** Micro-units as a plain decimal string, e.g. 1500000n -> "1.5". */
export function formatMicro(micro: bigint): string {
  const negative = micro < 0n;
  const abs = negative ? -micro : micro;
  const whole = abs / MICRO;
  const fraction = (abs % MICRO).toString().padStart(MICRO_DIGITS, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/**
 * Credits for `valueMicro` units at `costMicro` credits per unit. The exact
 * product has 12 decimals; it is rounded half-up to micro-credits, the one
 * rounding rule in Tally, applied per event.
 */
export function creditsFor(valueMicro: bigint, costMicro: bigint): bigint {
  const product = valueMicro * costMicro;
  return (product + MICRO / 2n) / MICRO;
}

function numberToPlainDecimal(n: number): string {
  if (!Number.isFinite(n) || n < 0) throw new RangeError(`not a finite non-negative number: ${n}`);
  const text = String(n);
  if (!/e/i.test(text)) return text;
  // 1e-7 and 1e21 style renderings: expand, then let the digit check decide.
  return n >= 1 ? BigInt(Math.round(n)).toString() : n.toFixed(20).replace(/0+$/, '');
}
