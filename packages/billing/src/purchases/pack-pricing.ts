import type { CatalogSnapshot, CreditPackDef } from '@tally/core';
import { badRequest } from '@tally/runtime';
import { billingErrors } from '../errors.ts';
import { catalogErrors } from '@tally/catalog';

/** A pack by slug, or by id (Owostack accepts both); archived packs are not for sale. */
export function findPack(snapshot: CatalogSnapshot, packRef: string): CreditPackDef {
  const bySlug = snapshot.creditPacks.get(packRef);
  const pack = bySlug ?? [...snapshot.creditPacks.values()].find((p) => p.id === packRef);
  if (!pack || pack.archived) throw catalogErrors.pack_not_found(`credit pack "${packRef}" does not exist`);
  return pack;
}

export interface PackOrder {
  creditsMicro: bigint;
  amountMinor: bigint;
  currency: string;
  provider: string;
}

/** Exact totals of `quantity` packs: credits in micro-units, price in minor units, and which provider sells it. */
export function priceOrder(snapshot: CatalogSnapshot, pack: CreditPackDef, quantity: number, currency?: string): PackOrder {
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > 100) {
    throw badRequest('validation_error', 'quantity is a whole number from 1 to 100');
  }
  if (currency && currency.toUpperCase() !== pack.currency.toUpperCase()) {
    throw billingErrors.currency_mismatch(`pack "${pack.slug}" is sold in ${pack.currency}, not ${currency}`);
  }
  const q = BigInt(quantity);
  return {
    creditsMicro: pack.creditsMicro * q,
    amountMinor: pack.priceMinor * q,
    currency: pack.currency.toUpperCase(),
    provider: pack.provider ?? snapshot.defaultProvider ?? 'sandbox',
  };
}
