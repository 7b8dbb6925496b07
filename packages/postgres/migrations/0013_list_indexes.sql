-- Keyset pages of the operator lists, newest first on (created_at, id):
-- GET /v1/purchases (the customer index does not serve the tenant-wide list),
-- GET /v1/imports and an endpoint's delivery log (id breaks created_at ties).
CREATE INDEX IF NOT EXISTS purchases_tenant_newest ON purchases (tenant_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS imports_tenant_newest ON imports (tenant_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS webhook_deliveries_endpoint_newest ON webhook_deliveries (tenant_id, endpoint_id, created_at DESC, id DESC);
-- The two new indexes start with the columns of the ones they replace.
DROP INDEX IF EXISTS imports_tenant;
DROP INDEX IF EXISTS webhook_deliveries_endpoint;
