import { fromMicro, toMicro } from '@tally/core';
import { LruCache } from '@tally/runtime';
import type { BalanceChange, BalancePort } from '../ports.ts';
import type { AlertFlags, AlertThresholds } from './balance-alert-repo.ts';
import { WebhookEmitter } from './webhook-emitter.ts';

const CACHE_MS = 2000;
/** Tenant × credit system thresholds held per process (least recently used dropped first). */
export const BALANCE_ALERT_CACHE_ENTRIES = 100_000;

/**
 * balance.low and balance.exhausted, fired once per crossing: a Redis flag per
 * customer, system and kind is set (NX) when the balance goes under and
 * cleared when it is back above, so a stream of deductions below the line
 * sends one event, and a top-up re-arms it. Listeners run asynchronously, so
 * an older event can arrive after a newer one: the flag is only cleared after
 * reading the balance as it is now.
 */
export class BalanceAlerts {
  private readonly thresholds = new LruCache<string, { value: bigint | null; until: number }>(BALANCE_ALERT_CACHE_ENTRIES);

  constructor(
    private readonly store: AlertThresholds,
    private readonly flags: AlertFlags,
    private readonly webhooks: WebhookEmitter,
    private readonly balances: BalancePort,
  ) {}

  async setThreshold(tenantId: string, creditSystem: string, lowBalance: number): Promise<void> {
    await this.store.set(tenantId, creditSystem, toMicro(lowBalance));
    this.thresholds.delete(`${tenantId}\u0000${creditSystem}`);
  }

  /** The balance.low threshold (micro-credits) of a credit system, or null when none is set. */
  getThreshold(tenantId: string, creditSystem: string): Promise<bigint | null> {
    return this.store.get(tenantId, creditSystem);
  }

  /** Removes the threshold; false when there was none. Other processes see it within their 2 s cache. */
  async removeThreshold(tenantId: string, creditSystem: string): Promise<boolean> {
    const removed = await this.store.remove(tenantId, creditSystem);
    this.thresholds.delete(`${tenantId}\u0000${creditSystem}`);
    return removed;
  }

  async onBalanceChanged(change: BalanceChange): Promise<void> {
    const low = await this.threshold(change.tenantId, change.creditSystem);
    if (low !== null) await this.crossing(change, 'balance.low', (micro) => micro < low, { threshold: fromMicro(low) });
    await this.crossing(change, 'balance.exhausted', (micro) => micro <= 0n, {});
  }

  private async crossing(
    change: BalanceChange,
    type: 'balance.low' | 'balance.exhausted',
    isUnder: (micro: bigint) => boolean,
    extra: Record<string, unknown>,
  ) {
    const flag = { tenantId: change.tenantId, customerId: change.customerId, creditSystem: change.creditSystem, type };
    if (!isUnder(change.totalMicro)) {
      if (await this.flags.isSet(flag)) {
        const now = await this.balances.balance(change);
        if (!isUnder(now.totalMicro)) await this.flags.clear(flag);
      }
      return;
    }
    if (!(await this.flags.setOnce(flag))) return;
    await this.webhooks.emitSafely(change.tenantId, type, WebhookEmitter.newEventId(), {
      customer: change.customerId,
      creditSystem: change.creditSystem,
      balance: fromMicro(change.totalMicro),
      ...extra,
    });
  }

  private async threshold(tenantId: string, creditSystem: string): Promise<bigint | null> {
    const k = `${tenantId}\u0000${creditSystem}`;
    const hit = this.thresholds.get(k);
    if (hit && hit.until > Date.now()) return hit.value;
    const value = await this.store.get(tenantId, creditSystem);
    this.thresholds.set(k, { value, until: Date.now() + CACHE_MS });
    return value;
  }
}
