import { fromMicro, toMicro } from '@tally/core';
import type { Logger } from '@tally/runtime';
import { LruCache } from '../lru-cache.ts';
import type { AutoTopupLocks, AutoTopupStore } from './auto-topup-repo.ts';
import type { BalanceChange, BalancePort, CatalogPort, CustomerPort } from '../ports.ts';
import type { AddonService } from '../purchases/addon-service.ts';
import { findPack } from '../purchases/pack-pricing.ts';
import type { Purchase } from '../purchases/purchase-repo.ts';
import { UNIQUE_VIOLATION } from '../purchases/purchase-repo.ts';
import { catalogErrors } from '@tally/catalog';

export interface AutoTopupSettings {
  customerId: string;
  creditSystem: string;
  thresholdMicro: bigint;
  packId: string;
  packSlug: string;
  quantity: number;
  enabled: boolean;
  disabledReason: string | null;
}

const CACHE_MS = 2000;
/** Settings held in memory at most (customer × credit system); the least recently used go first. */
export const AUTO_TOPUP_CACHE_ENTRIES = 10_000;
/** Upper bound of the lock; it is released as soon as the top-up purchase is completed or failed. */
const LOCK_MS = 60_000;

/**
 * Auto top-up: when a customer's balance in a credit system falls below their
 * threshold, buy the configured pack with the card on file, once.
 *
 * Storm control, three layers: a Redis SET NX lock per customer and system
 * (cheap, stops a burst of deductions at the door); a partial unique index on
 * purchases (at most one auto top-up in flight, even if the lock expired);
 * and after a decline the setting is switched off until the customer saves a
 * new card, so a declined card is not retried on every deduction.
 */
export class AutoTopupService {
  // Every customer whose balance changes passes through here: bounded, or a long-running worker grows without end.
  private readonly cache: LruCache<string, { value: AutoTopupSettings | null; until: number }>;

  constructor(
    private readonly store: AutoTopupStore,
    private readonly locks: AutoTopupLocks,
    private readonly catalog: CatalogPort,
    private readonly customers: CustomerPort,
    private readonly addon: AddonService,
    private readonly balances: BalancePort,
    private readonly logger: Logger,
    cacheEntries = AUTO_TOPUP_CACHE_ENTRIES,
  ) {
    this.cache = new LruCache(cacheEntries);
  }

  /** Settings held in memory now (at most the cap given at construction). */
  get cachedSettings(): number {
    return this.cache.size;
  }

  async configure(
    tenantId: string,
    input: { customer: string; creditSystem: string; threshold: number; pack: string; quantity: number; enabled: boolean },
  ): Promise<AutoTopupSettings> {
    if (!(await this.customers.context(tenantId, input.customer))) throw catalogErrors.customer_not_found(`customer "${input.customer}" does not exist`);
    const snapshot = await this.catalog.snapshot(tenantId);
    if (!snapshot.creditSystems.has(input.creditSystem)) {
      throw catalogErrors.credit_system_not_found(`credit system "${input.creditSystem}" does not exist`);
    }
    const pack = findPack(snapshot, input.pack);
    if (pack.creditSystem !== input.creditSystem) {
      throw catalogErrors.pack_not_found(`pack "${pack.slug}" does not top up "${input.creditSystem}"`);
    }
    await this.store.upsert(
      { tenantId, customerId: input.customer, creditSystem: input.creditSystem },
      { thresholdMicro: toMicro(input.threshold), packId: pack.id, quantity: input.quantity, enabled: input.enabled },
    );
    this.cache.delete(cacheKey(tenantId, input.customer, input.creditSystem));
    return (await this.settings(tenantId, input.customer, input.creditSystem))!;
  }

  /** Removes a customer's auto top-up for a credit system; false when there was none. */
  async remove(tenantId: string, customerId: string, creditSystem: string): Promise<boolean> {
    const removed = await this.store.remove({ tenantId, customerId, creditSystem });
    this.cache.delete(cacheKey(tenantId, customerId, creditSystem));
    return removed;
  }

  async settings(tenantId: string, customerId: string, creditSystem: string): Promise<AutoTopupSettings | null> {
    const k = cacheKey(tenantId, customerId, creditSystem);
    const hit = this.cache.get(k);
    if (hit && hit.until > Date.now()) return hit.value;
    const value = await this.store.get({ tenantId, customerId, creditSystem });
    this.cache.set(k, { value, until: Date.now() + CACHE_MS });
    return value;
  }

  /** The balance-changed hook: buys the pack once when the balance is below the threshold. */
  async onBalanceChanged(change: BalanceChange): Promise<Purchase | null> {
    const s = await this.settings(change.tenantId, change.customerId, change.creditSystem);
    if (!s || !s.enabled || change.totalMicro >= s.thresholdMicro) return null;
    const lock = { tenantId: change.tenantId, customerId: change.customerId, creditSystem: change.creditSystem };
    if (!(await this.locks.acquire(lock, LOCK_MS))) return null;
    try {
      // The event may be older than a top-up that just landed: decide on the balance as it is now.
      const now = await this.balances.balance(change);
      if (now.totalMicro >= s.thresholdMicro) {
        await this.locks.release(lock);
        return null;
      }
      const { purchase } = await this.addon.start({
        tenantId: change.tenantId,
        customer: change.customerId,
        pack: s.packId,
        quantity: s.quantity,
        source: 'auto_topup',
        metadata: { autoTopup: true, balanceAtTrigger: fromMicro(change.totalMicro) },
      });
      await this.store.recordPurchase(lock, purchase.id);
      this.logger.info({ tenantId: change.tenantId, customerId: change.customerId, purchaseId: purchase.id }, 'auto top-up started');
      return purchase;
    } catch (err) {
      if ((err as { code?: string }).code === UNIQUE_VIOLATION) return null; // one already in flight
      await this.locks.release(lock);
      throw err;
    }
  }

  /** The top-up purchase reached a final state: the next crossing may buy again. */
  async release(p: Purchase): Promise<void> {
    if (p.source === 'auto_topup') await this.locks.release({ tenantId: p.tenantId, customerId: p.customerId, creditSystem: p.creditSystem });
  }

  /** After a decline: off until the card changes. */
  async disableAfterDecline(p: Purchase, code: string): Promise<void> {
    if (p.source !== 'auto_topup') return;
    await this.store.disable({ tenantId: p.tenantId, customerId: p.customerId, creditSystem: p.creditSystem }, code);
    this.cache.delete(cacheKey(p.tenantId, p.customerId, p.creditSystem));
    this.logger.warn({ tenantId: p.tenantId, customerId: p.customerId, code }, 'auto top-up disabled after a decline');
  }

  /** A new card: switch back on what a decline switched off. */
  async onCardSaved(tenantId: string, customerId: string): Promise<void> {
    await this.store.reenableAfterDecline(tenantId, customerId);
    this.cache.deleteWhere((k) => k.startsWith(`${tenantId}\u0000${customerId}\u0000`));
  }
}

const cacheKey = (tenantId: string, customerId: string, system: string) => `${tenantId}\u0000${customerId}\u0000${system}`;
