import type { ApiContext } from '../context.ts';
import type { RouteTable } from '../http/route.ts';
import { registerTrackRoutes } from './track.ts';
import { registerCheckRoutes } from './check.ts';
import { registerAddonRoutes } from './addon.ts';
import { registerPurchaseRoutes } from './purchases.ts';
import { registerProviderCredentialRoutes } from './provider-credentials.ts';
import { registerWalletRoutes } from './wallet.ts';
import { registerWebhookRoutes } from './webhooks.ts';
import { registerSandboxRoutes } from './sandbox.ts';
import { registerImportRoutes } from './imports.ts';
import { registerUsageRoutes } from './usage.ts';
import { registerAdminRoutes } from './admin.ts';
import { registerAttachRoutes } from './attach.ts';
import { registerCatalogRoutes } from './catalog.ts';
import { registerCatalogReadRoutes } from './catalog-read.ts';
import { registerCustomerRoutes } from './customers.ts';
import { registerDeadLetterRoutes } from './dead-letters.ts';
import { registerApiKeyRoutes } from './api-keys.ts';
import { registerRollupRoutes } from './rollups.ts';
import { registerSubscriptionRoutes } from './subscriptions.ts';
import { registerBalanceStreamRoute } from '../dashboard/balance-stream.ts';

/**
 * Every /v1 route, one module per area. Each module declares its routes with
 * their zod schemas on the table (validation and OpenAPI come from there).
 */
export function registerRoutes(routes: RouteTable, ctx: ApiContext): void {
  registerCatalogRoutes(routes, ctx);
  registerCatalogReadRoutes(routes, ctx);
  registerCustomerRoutes(routes, ctx);
  registerBalanceStreamRoute(routes, ctx);
  registerAttachRoutes(routes, ctx);
  registerSubscriptionRoutes(routes, ctx);
  registerAdminRoutes(routes, ctx);
  registerApiKeyRoutes(routes, ctx);
  registerTrackRoutes(routes, ctx);
  registerCheckRoutes(routes, ctx);
  registerImportRoutes(routes, ctx);
  registerUsageRoutes(routes, ctx);
  registerRollupRoutes(routes, ctx);
  registerDeadLetterRoutes(routes, ctx);
  registerAddonRoutes(routes, ctx);
  registerPurchaseRoutes(routes, ctx);
  registerWalletRoutes(routes, ctx);
  registerWebhookRoutes(routes, ctx);
  registerSandboxRoutes(routes, ctx);
  registerProviderCredentialRoutes(routes, ctx);
}
