import type { ApiContext } from '../context.ts';
import type { RouteTable } from '../http/route.ts';
import { registerImportRoutes } from './imports.ts';
import { registerUsageRoutes } from './usage.ts';
import { registerAdminRoutes } from './admin.ts';
import { registerAttachRoutes } from './attach.ts';
import { registerCatalogRoutes } from './catalog.ts';
import { registerCustomerRoutes } from './customers.ts';

/**
 * Every /v1 route, one module per area. Each module declares its routes with
 * their zod schemas on the table (validation and OpenAPI come from there).
 */
export function registerRoutes(routes: RouteTable, ctx: ApiContext): void {
  registerCatalogRoutes(routes, ctx);
  registerCustomerRoutes(routes, ctx);
  registerAttachRoutes(routes, ctx);
  registerAdminRoutes(routes, ctx);
  registerImportRoutes(routes, ctx);
  registerUsageRoutes(routes, ctx);
}
