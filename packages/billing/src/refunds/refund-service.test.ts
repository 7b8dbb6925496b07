import { describe, expect, it } from 'vitest';
import type { BalancePort } from '../ports.ts';
import type { Purchase, PurchaseRepo } from '../purchases/purchase-repo.ts';
import type { Transactor, Tx } from '../store.ts';
import type { TenantProviders } from '../tenant-providers.ts';
import type { WebhookEmitter } from '../webhooks/webhook-emitter.ts';
import type { NewRefund, RefundRecord, RefundStore } from './refund-repo.ts';
import { RefundService } from './refund-service.ts';

/**
 * The refund's ordering over in-memory repositories: revoke, then the provider,
 * then the ledger, refund row and status in the transaction that holds the
 * purchase; the webhook only after the commit. Every step is logged in order.
 */
function setup(opts: { providerFails?: boolean } = {}) {
  const log: string[] = [];
  const TX = { tx: true } as unknown as Tx;
  let purchase: Purchase = {
    id: 'p1', tenantId: 't1', customerId: 'c1', packId: 'k1', packSlug: 'pack', packName: 'Pack', creditSystem: 'credits', quantity: 1,
    creditsMicro: 100_000_000n, amountMinor: 1000n, currency: 'USD', provider: 'sandbox', source: 'purchase', status: 'completed',
    idempotencyKey: null, paymentMethodId: null, checkoutId: null, checkoutUrl: null, chargeId: 'ch1', failureCode: null, failureMessage: null,
    callbackUrl: null, metadata: {}, refundPolicy: 'unspent', createdAt: new Date(), completedAt: new Date(),
  };
  const rows: RefundRecord[] = [];
  const tx: Transactor = {
    async transaction(fn) {
      log.push('begin');
      const before = { purchase, n: rows.length };
      try {
        const out = await fn(TX);
        log.push('commit');
        return out;
      } catch (err) {
        purchase = before.purchase;
        rows.length = before.n;
        log.push('rollback');
        throw err;
      }
    },
  };
  const purchases = {
    async get(_t: string, _id: string, db: Tx, forUpdate: boolean) {
      log.push(`get${db === TX && forUpdate ? ' for update' : ''}`);
      return purchase;
    },
    async markRefunded(db: Tx) {
      log.push(`mark refunded${db === TX ? ' (tx)' : ''}`);
      purchase = { ...purchase, status: 'refunded' };
    },
  } as unknown as PurchaseRepo;
  const records: RefundStore = {
    async ofPurchase() {
      return rows[0] ?? null;
    },
    async ofPurchases() {
      return rows;
    },
    async insert(db, r: NewRefund) {
      log.push(`insert refund ${r.amountMinor}${db === TX ? ' (tx)' : ''}`);
      rows.push({ purchaseId: r.purchaseId, amountMinor: r.amountMinor, revokedMicro: r.revokedMicro, spentMicro: r.spentMicro, createdAt: new Date() });
    },
    async recordRevoked(db, _t, _g, revoked) {
      log.push(`ledger revoked ${revoked}${db === TX ? ' (tx)' : ''}`);
    },
  };
  const provider = {
    async refund(input: { amountMinor: bigint; idempotencyKey: string }) {
      log.push(`provider refund ${input.amountMinor} ${input.idempotencyKey}`);
      if (opts.providerFails) throw new Error('provider down');
      return { refundId: 're1' };
    },
  };
  const providers = { forTenant: async () => provider } as unknown as TenantProviders;
  const balances: BalancePort = {
    applyGrant: async () => ({ balanceMicro: 0n }),
    revokeGrant: async () => {
      log.push('revoke');
      return { revokedMicro: 40_000_000n }; // 40 of 100 credits unspent
    },
    balance: async () => ({ planMicro: 0n, purchasedMicro: 0n, totalMicro: 0n }),
  };
  const webhooks = { emitSafely: async (_t: string, type: string) => void log.push(`emit ${type}`) } as unknown as WebhookEmitter;
  return { log, service: new RefundService(tx, purchases, records, providers, balances, webhooks) };
}

describe('RefundService', () => {
  it('revokes, pays back the unspent share, records in the locked transaction, then emits', async () => {
    const { log, service } = setup();
    const out = await service.refund('t1', 'p1');
    expect(out).toMatchObject({ reference: 'p1', amountMinor: 400n, revokedMicro: 40_000_000n, spentMicro: 60_000_000n });
    expect(log).toEqual([
      'begin',
      'get for update',
      'revoke',
      'provider refund 400 tally_refund_p1',
      'ledger revoked 40000000 (tx)',
      'insert refund 400 (tx)',
      'mark refunded (tx)',
      'commit',
      'emit refund.completed',
    ]);
  });

  it('a second refund answers the recorded one, without revoking or calling the provider again', async () => {
    const { log, service } = setup();
    const first = await service.refund('t1', 'p1');
    log.length = 0;
    expect(await service.refund('t1', 'p1')).toEqual(first);
    expect(log).toEqual(['begin', 'get for update', 'commit']);
  });

  it('a provider failure records nothing and emits nothing', async () => {
    const { log, service } = setup({ providerFails: true });
    await expect(service.refund('t1', 'p1')).rejects.toThrow('provider down');
    expect(log).toEqual(['begin', 'get for update', 'revoke', 'provider refund 400 tally_refund_p1', 'rollback']);
  });
});
