/**
 * The prorated charge of an upgrade made at `now` inside the paid period
 * [periodStart, periodEnd): the price difference for the time left,
 * (newPrice − oldPrice) × remaining ÷ period length, in minor units, rounded
 * down (the customer never pays more than the exact share). Milliseconds.
 */
export function proratedUpgrade(oldPriceMinor: bigint, newPriceMinor: bigint, periodStart: Date, periodEnd: Date, now: Date): bigint {
  const length = BigInt(periodEnd.getTime() - periodStart.getTime());
  const remaining = BigInt(Math.max(0, periodEnd.getTime() - now.getTime()));
  const diff = newPriceMinor - oldPriceMinor;
  if (length <= 0n || diff <= 0n) return 0n;
  return (diff * (remaining > length ? length : remaining)) / length;
}
