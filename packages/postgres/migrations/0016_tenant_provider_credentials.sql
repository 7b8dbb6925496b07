-- A tenant's own payment provider keys (its Stripe account), sealed with CREDENTIALS_KEY
-- (AES-256-GCM, packages/billing/src/credentials): Postgres never holds a readable secret.
CREATE TABLE IF NOT EXISTS tenant_provider_credentials (
  tenant_id          uuid NOT NULL REFERENCES tenants(id),
  provider           text NOT NULL,
  secret_key_sealed  text NOT NULL,
  webhook_sealed     text NOT NULL,
  key_hint           text NOT NULL,
  updated_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, provider)
);
