import type { Payments } from '@tally/payments';
import type { Pool } from '@tally/postgres';
import type { Logger } from '@tally/runtime';
import { AutoTopupService } from './auto-topup/auto-topup-service.ts';
import { CheckoutQueue } from './checkout/checkout.queue.ts';
import { CheckoutService } from './checkout/checkout-service.ts';
import { Fulfilment, purchaseEventData } from './checkout/fulfilment.ts';
import type { BalanceChange, BalancePort, CatalogPort, CustomerPort } from './ports.ts';
import { ProviderWebhooks } from './provider-webhooks.ts';
import { ProviderPlanCheckout } from './plan-checkout.ts';
import { AddonService } from './purchases/addon-service.ts';
import { PurchaseRepo, type Purchase } from './purchases/purchase-repo.ts';
import { RefundService } from './refunds/refund-service.ts';
import { TenantProviders } from './tenant-providers.ts';
import { PaymentMethods } from './wallet/payment-methods.ts';
import { WalletService } from './wallet/wallet-service.ts';
import { BalanceAlerts } from './webhooks/balance-alerts.ts';
import { WebhookDeliveries } from './webhooks/deliveries.ts';
import { ProviderCredentials } from './credentials/provider-credentials.ts';
import { WebhookEndpoints } from './webhooks/endpoints.ts';
import { WebhookEmitter } from './webhooks/webhook-emitter.ts';
import { WebhookQueue } from './webhooks/webhook-delivery.queue.ts';
import type { WebhookTargetPolicy } from './webhooks/target-policy.ts';
import { RenewalService } from './renewals/renewal-service.ts';
import { RenewingPlanCheckout } from './renewals/renewing-plan-checkout.ts';
import type { RenewalsConfig } from './renewals/config.ts';
import type { RedisClient } from '@tally/redis';
import { AutoTopupRepo, RedisAutoTopupLocks } from './auto-topup/auto-topup-repo.ts';
import { ProviderCredentialsRepo } from './credentials/provider-credentials-repo.ts';
import { ProviderWebhookRepo } from './provider-webhook-repo.ts';
import { GrantRepo } from './purchases/grant-repo.ts';
import { purchaseView } from './purchases/purchase-view.ts';
import { RefundRepo } from './refunds/refund-repo.ts';
import { purchasesPage, renewalPurchase } from './renewals/renewal-purchases.ts';
import { RenewalRepo } from './renewals/renewal-repo.ts';
import { pgTransactor } from './store.ts';
import { TenantEnvironmentRepo } from './tenant-environment-repo.ts';
import { PaymentMethodRepo } from './wallet/payment-method-repo.ts';
import { WalletSetupRepo } from './wallet/wallet-setup-repo.ts';
import { AlertThresholdRepo, RedisAlertFlags } from './webhooks/balance-alert-repo.ts';
import { DeliveryRepo } from './webhooks/delivery-repo.ts';
import { EndpointRepo } from './webhooks/endpoint-repo.ts';

export interface BillingDeps {
  pool: Pool;
  redis: RedisClient;
  redisUrl: string;
  logger: Logger;
  payments: Payments;
  balances: BalancePort;
  catalog: CatalogPort;
  customers: CustomerPort;
  /** Tally's public URL (return pages after a hosted checkout). */
  publicUrl: string;
  /** Where outbound webhooks may go; strict (https, public addresses) when absent. */
  webhookTargets?: WebhookTargetPolicy;
  /** CREDENTIALS_KEY: seals tenants' own provider keys; without it tenants can only use the deployment's. */
  credentialsKey?: string;
  /** PURCHASE_EXPIRY_SECONDS: a purchase awaiting payment longer than this expires (default a day). */
  purchaseExpirySeconds?: number;
  /** RENEWAL_RETRY_SCHEDULE and RENEWAL_CLAIM_SECONDS (defaults: 1d,3d,5d and 60). */
  renewals?: Partial<Pick<RenewalsConfig, 'RENEWAL_RETRY_SCHEDULE' | 'RENEWAL_CLAIM_SECONDS'>>;
}

export type Billing = ReturnType<typeof createBilling>;

/** Every billing service, wired once per process (API and workers alike). */
export function createBilling(deps: BillingDeps) {
  const { pool, logger } = deps;
  const base = deps.publicUrl.replace(/\/$/, '');
  // the repositories: every SQL statement (and Redis key) of billing is behind one of these
  const tx = pgTransactor(pool);
  const refundRecords = new RefundRepo(pool);
  const renewalRecords = new RenewalRepo(pool);
  const deliveryRecords = new DeliveryRepo(pool);
  const credentials = deps.credentialsKey ? new ProviderCredentials(new ProviderCredentialsRepo(pool), deps.credentialsKey) : null;
  const providers = new TenantProviders(new TenantEnvironmentRepo(pool), deps.payments.providers, credentials ? { credentials, stripeFor: deps.payments.stripeFor } : null);
  const purchases = new PurchaseRepo(pool, deps.purchaseExpirySeconds);
  const methods = new PaymentMethods(new PaymentMethodRepo(pool));
  const checkoutQueue = new CheckoutQueue(deps.redisUrl);
  const webhookQueue = new WebhookQueue(deps.redisUrl);
  const emitter = new WebhookEmitter(tx, deliveryRecords, webhookQueue, logger);
  purchases.onExpired = (p) =>
    void emitter.emitSafely(p.tenantId, 'purchase.expired', `purchase.expired:${p.id}`, purchaseEventData(p));
  const fulfilment = new Fulfilment(tx, purchases, new GrantRepo(pool), deps.balances, emitter, logger);
  const addon = new AddonService(deps.catalog, deps.customers, providers, purchases, checkoutQueue);
  const checkout = new CheckoutService(purchases, methods, providers, deps.customers, fulfilment, {
    defaultReturnUrl: (id) => `${base}/v1/sandbox/return?reference=${id}`,
  }, logger);
  // `for=card`: the return page of a card set-up speaks of the card, not of a payment.
  const wallet = new WalletService(tx, new WalletSetupRepo(pool), methods, providers, deps.catalog, deps.customers, (ref) => `${base}/v1/sandbox/return?reference=${ref}&for=card`);
  const refunds = new RefundService(tx, purchases, refundRecords, providers, deps.balances, emitter);
  const providerWebhooks = new ProviderWebhooks(new ProviderWebhookRepo(pool), providers, purchases, fulfilment, methods, wallet, refunds, logger);
  const planCheckout = new ProviderPlanCheckout(providers, methods, deps.catalog, deps.customers, (ref) => `${base}/v1/sandbox/return?reference=${ref}`);
  const endpoints = new WebhookEndpoints(new EndpointRepo(pool), deps.webhookTargets);
  const deliveries = new WebhookDeliveries(deliveryRecords, webhookQueue, deps.webhookTargets);
  const alerts = new BalanceAlerts(new AlertThresholdRepo(pool), new RedisAlertFlags(deps.redis), emitter, deps.balances);
  const autoTopup = new AutoTopupService(new AutoTopupRepo(pool), new RedisAutoTopupLocks(deps.redis), deps.catalog, deps.customers, addon, deps.balances, logger);
  checkout.onDecline((p, code) => autoTopup.disableAfterDecline(p, code));
  checkout.onFinished((p) => autoTopup.release(p));
  wallet.onCardSaved((t, c) => autoTopup.onCardSaved(t, c));
  const renewals = new RenewalService(tx, renewalRecords, providers, methods, deps.catalog, deps.customers, emitter, logger, {
    RENEWAL_RETRY_SCHEDULE: deps.renewals?.RENEWAL_RETRY_SCHEDULE ?? '1d,3d,5d',
    RENEWAL_CLAIM_SECONDS: deps.renewals?.RENEWAL_CLAIM_SECONDS ?? 60,
  });
  // a new card retries a declined renewal at once
  wallet.onCardSaved((t, c) => renewals.onCardSaved(t, c).catch((err) => logger.warn({ err }, 'renewal retry after a new card failed')));
  refunds.onBalanceChanged(async (change) => {
    await alerts.onBalanceChanged(change).catch((err) => logger.warn({ err }, 'balance alert after refund failed'));
    await autoTopup.onBalanceChanged(change).catch((err) => logger.warn({ err }, 'auto top-up after refund failed'));
  });

  return {
    providers,
    purchases,
    methods,
    checkoutQueue,
    webhookQueue,
    emitter,
    fulfilment,
    addon,
    checkout,
    wallet,
    providerWebhooks,
    credentials,
    // the first period through a hosted checkout, upgrades charged prorated by renewals
    planCheckout: new RenewingPlanCheckout(planCheckout, renewals, deps.catalog),
    refunds,
    endpoints,
    deliveries,
    alerts,
    autoTopup,
    renewals,
    /** Reads of GET /v1/purchases and /v1/subscriptions: pack purchases with their refunds, plan charges. */
    views: {
      purchase: (p: Purchase) => purchaseView(refundRecords, p),
      purchasesPage: (tenantId: string, q: Parameters<typeof purchasesPage>[2]) =>
        purchasesPage({ purchases, renewals: renewalRecords, refunds: refundRecords }, tenantId, q),
      renewalPurchase: (tenantId: string, reference: string) => renewalPurchase(renewalRecords, tenantId, reference),
      renewals: (tenantId: string, customerId: string) => renewalRecords.list(tenantId, customerId),
    },
    balances: deps.balances,
    /** The metering hook: balance alerts and auto top-up after every deduction. Never throws. */
    async onBalanceChanged(change: BalanceChange): Promise<void> {
      await alerts.onBalanceChanged(change).catch((err) => logger.warn({ err }, 'balance alert failed'));
      await autoTopup.onBalanceChanged(change).catch((err) => logger.warn({ err }, 'auto top-up failed'));
    },
    async close(): Promise<void> {
      await checkoutQueue.close();
      await webhookQueue.close();
    },
  };
}
