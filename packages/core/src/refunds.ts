import type { RefundPolicy } from './catalog.ts';

/**
 * The money a refund gives back, in minor units. 'full': the whole price.
 * 'unspent': the share of the price the credits taken back represent,
 * rounded down to the minor unit — never more than the unspent credits were
 * worth, so the spent ones stay paid for (the prepaid-credit rule of Lago and Orb).
 */
export function refundAmountMinor(policy: RefundPolicy, amountMinor: bigint, creditsMicro: bigint, revokedMicro: bigint): bigint {
  if (amountMinor < 0n || creditsMicro <= 0n || revokedMicro < 0n || revokedMicro > creditsMicro) {
    throw new RangeError(`refund of ${revokedMicro} of ${creditsMicro} micro-credits bought for ${amountMinor} is out of range`);
  }
  if (policy === 'full') return amountMinor;
  return (amountMinor * revokedMicro) / creditsMicro;
}
