import type { ApiContext } from '../context.ts';
import type { RouteTable } from '../http/route.ts';

/**
 * Every /v1 route, one module per area. Each module declares its routes with
 * their zod schemas on the table (validation and OpenAPI come from there).
 */
export function registerRoutes(routes: RouteTable, ctx: ApiContext): void {
  void routes;
  void ctx;
}
