-- Tenancy: an organisation has environments (test, live); a tenant is one
-- environment, and every later table carries tenant_id.
CREATE TABLE organizations (
  id          uuid PRIMARY KEY,
  name        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tenants (
  id               uuid PRIMARY KEY,
  organization_id  uuid NOT NULL REFERENCES organizations(id),
  environment      text NOT NULL CHECK (environment IN ('test', 'live')),
  default_provider text NOT NULL DEFAULT 'sandbox',
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (organization_id, environment)
);

-- Secret keys are stored only as a SHA-256 digest of the whole secret (keys are
-- 192-bit random, so a fast digest is enough); the prefix is what a human sees.
CREATE TABLE api_keys (
  id           uuid PRIMARY KEY,
  tenant_id    uuid NOT NULL REFERENCES tenants(id),
  name         text NOT NULL,
  prefix       text NOT NULL,
  key_hash     bytea NOT NULL UNIQUE,
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);
