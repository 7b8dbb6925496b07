-- Catalog. Amounts: money in minor currency units (bigint); credits in
-- micro-credits (bigint, 1 credit = 1,000,000) so value x creditCost is exact.
CREATE TABLE features (
  id          uuid PRIMARY KEY,
  tenant_id   uuid NOT NULL REFERENCES tenants(id),
  slug        text NOT NULL,
  name        text NOT NULL,
  type        text NOT NULL CHECK (type IN ('metered', 'boolean')),
  meter_type  text NOT NULL DEFAULT 'consumable' CHECK (meter_type IN ('consumable', 'non_consumable')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, slug)
);

CREATE TABLE credit_systems (
  id           uuid PRIMARY KEY,
  tenant_id    uuid NOT NULL REFERENCES tenants(id),
  slug         text NOT NULL,
  name         text NOT NULL,
  description  text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, slug)
);

-- A member feature of a credit system and what one unit of it costs (micro-credits per unit).
CREATE TABLE credit_system_features (
  credit_system_id  uuid NOT NULL REFERENCES credit_systems(id) ON DELETE CASCADE,
  feature_id        uuid NOT NULL REFERENCES features(id),
  tenant_id         uuid NOT NULL REFERENCES tenants(id),
  credit_cost_micro bigint NOT NULL CHECK (credit_cost_micro >= 0),
  PRIMARY KEY (credit_system_id, feature_id),
  UNIQUE (tenant_id, feature_id)  -- a feature belongs to at most one credit system
);

CREATE TABLE plans (
  id            uuid PRIMARY KEY,
  tenant_id     uuid NOT NULL REFERENCES tenants(id),
  slug          text NOT NULL,
  name          text NOT NULL,
  description   text,
  price_minor   bigint NOT NULL CHECK (price_minor >= 0),
  currency      text NOT NULL,
  interval      text NOT NULL,
  billing_type  text,
  plan_group    text,
  trial_days    integer NOT NULL DEFAULT 0,
  provider      text,
  auto_enable   boolean NOT NULL DEFAULT false,
  is_addon      boolean NOT NULL DEFAULT false,
  metadata      jsonb NOT NULL DEFAULT '{}',
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, slug)
);

-- One entitlement of a plan: either a feature (limit in micro-units of the feature)
-- or a credit system (limit = micro-credits granted each period).
CREATE TABLE plan_entitlements (
  plan_id            uuid NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
  tenant_id          uuid NOT NULL REFERENCES tenants(id),
  feature_id         uuid REFERENCES features(id),
  credit_system_id   uuid REFERENCES credit_systems(id),
  slug               text NOT NULL,
  enabled            boolean NOT NULL DEFAULT true,
  limit_micro        bigint,            -- NULL = unlimited
  trial_limit_micro  bigint,
  reset              text NOT NULL DEFAULT 'monthly',
  overage            text NOT NULL DEFAULT 'block' CHECK (overage IN ('block', 'charge')),
  credit_cost_micro  bigint,            -- per-plan override of the member's credit cost
  PRIMARY KEY (plan_id, slug),
  CHECK ((feature_id IS NULL) <> (credit_system_id IS NULL))
);

CREATE TABLE credit_packs (
  id                uuid PRIMARY KEY,
  tenant_id         uuid NOT NULL REFERENCES tenants(id),
  slug              text NOT NULL,
  name              text NOT NULL,
  description       text,
  credits_micro     bigint NOT NULL CHECK (credits_micro > 0),
  price_minor       bigint NOT NULL CHECK (price_minor >= 0),
  currency          text NOT NULL,
  credit_system_id  uuid NOT NULL REFERENCES credit_systems(id),
  provider          text,
  metadata          jsonb NOT NULL DEFAULT '{}',
  archived_at       timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, slug)
);

-- Bumped on every catalog change; processes cache the catalog per (tenant, version).
CREATE TABLE catalog_versions (
  tenant_id  uuid PRIMARY KEY REFERENCES tenants(id),
  version    bigint NOT NULL DEFAULT 0
);
