-- Billing: credit pack purchases, the credit grants ledger, saved payment
-- methods, refunds, outbound webhooks, auto top-up, and the state of the
-- built-in sandbox payment provider. Money in minor units, credits in micro.

-- A purchase moves pending -> (charging | awaiting_payment) -> paid -> completed,
-- or -> failed; completed -> refunded. The worker and the provider webhook both
-- move it forward with guarded UPDATEs, so a retry never repeats a step.
CREATE TABLE purchases (
  id               uuid PRIMARY KEY,
  tenant_id        uuid NOT NULL REFERENCES tenants(id),
  customer_id      text NOT NULL,
  pack_id          uuid NOT NULL,
  pack_slug        text NOT NULL,
  credit_system    text NOT NULL,
  quantity         integer NOT NULL CHECK (quantity BETWEEN 1 AND 100),
  credits_micro    bigint NOT NULL CHECK (credits_micro > 0),
  amount_minor     bigint NOT NULL CHECK (amount_minor >= 0),
  currency         text NOT NULL,
  provider         text NOT NULL,
  source           text NOT NULL DEFAULT 'purchase' CHECK (source IN ('purchase', 'auto_topup')),
  status           text NOT NULL CHECK (status IN ('pending', 'charging', 'awaiting_payment', 'paid', 'completed', 'failed', 'refunded')),
  idempotency_key  text,
  payment_method_id uuid,
  checkout_id      text,
  checkout_url     text,
  charge_id        text,
  failure_code     text,
  failure_message  text,
  callback_url     text,
  metadata         jsonb NOT NULL DEFAULT '{}',
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  completed_at     timestamptz
);
CREATE UNIQUE INDEX purchases_idempotency ON purchases (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX purchases_customer ON purchases (tenant_id, customer_id, created_at DESC);
-- Auto top-up: at most one purchase in flight per customer and credit system.
CREATE UNIQUE INDEX purchases_one_auto_topup_in_flight ON purchases (tenant_id, customer_id, credit_system)
  WHERE source = 'auto_topup' AND status IN ('pending', 'charging', 'awaiting_payment', 'paid');

-- The ledger of purchased credits; the metering rebuild reads it. One grant per purchase.
CREATE TABLE credit_grants (
  id             uuid PRIMARY KEY,
  tenant_id      uuid NOT NULL REFERENCES tenants(id),
  customer_id    text NOT NULL,
  credit_system  text NOT NULL,
  purchase_id    uuid UNIQUE REFERENCES purchases(id),
  source         text NOT NULL CHECK (source IN ('purchase', 'manual', 'auto_topup')),
  credits_micro  bigint NOT NULL CHECK (credits_micro > 0),
  revoked_micro  bigint NOT NULL DEFAULT 0 CHECK (revoked_micro >= 0 AND revoked_micro <= credits_micro),
  granted_at     timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz
);
CREATE INDEX credit_grants_customer ON credit_grants (tenant_id, customer_id, credit_system, granted_at);

CREATE TABLE refunds (
  id                 uuid PRIMARY KEY,
  tenant_id          uuid NOT NULL REFERENCES tenants(id),
  purchase_id        uuid NOT NULL UNIQUE REFERENCES purchases(id),
  amount_minor       bigint NOT NULL CHECK (amount_minor >= 0),
  revoked_micro      bigint NOT NULL,
  spent_micro        bigint NOT NULL,
  provider_refund_id text NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now()
);

-- The provider-side customer object of a Tally customer (Stripe needs one to save cards).
CREATE TABLE provider_customers (
  tenant_id            uuid NOT NULL REFERENCES tenants(id),
  customer_id          text NOT NULL,
  provider             text NOT NULL,
  provider_customer_id text NOT NULL,
  created_at           timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, customer_id, provider)
);

CREATE TABLE payment_methods (
  id                   uuid PRIMARY KEY,
  tenant_id            uuid NOT NULL REFERENCES tenants(id),
  customer_id          text NOT NULL,
  provider             text NOT NULL,
  provider_method_id   text NOT NULL,
  provider_customer_id text NOT NULL,
  brand                text,
  last4                text,
  exp_month            integer,
  exp_year             integer,
  created_at           timestamptz NOT NULL DEFAULT now(),
  removed_at           timestamptz,
  UNIQUE (tenant_id, provider, provider_method_id)
);
CREATE INDEX payment_methods_customer ON payment_methods (tenant_id, customer_id, provider) WHERE removed_at IS NULL;

-- Card set-up sessions started by POST /v1/wallet/setup.
CREATE TABLE wallet_setups (
  id           uuid PRIMARY KEY,
  tenant_id    uuid NOT NULL REFERENCES tenants(id),
  customer_id  text NOT NULL,
  provider     text NOT NULL,
  checkout_id  text,
  url          text,
  status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'completed')),
  callback_url text,
  created_at   timestamptz NOT NULL DEFAULT now()
);

-- Provider webhook event ids already handled: a re-delivery is acknowledged and ignored.
CREATE TABLE provider_events (
  provider     text NOT NULL,
  event_id     text NOT NULL,
  tenant_id    uuid,
  type         text NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, event_id)
);

CREATE TABLE webhook_endpoints (
  id          uuid PRIMARY KEY,
  tenant_id   uuid NOT NULL REFERENCES tenants(id),
  url         text NOT NULL,
  secret      text NOT NULL,
  events      text[] NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at  timestamptz
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id) WHERE deleted_at IS NULL;

-- One outbound event; its id is what receivers deduplicate on.
CREATE TABLE webhook_events (
  id          text NOT NULL,
  tenant_id   uuid NOT NULL REFERENCES tenants(id),
  type        text NOT NULL,
  payload     jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);

CREATE TABLE webhook_deliveries (
  id              uuid PRIMARY KEY,
  tenant_id       uuid NOT NULL REFERENCES tenants(id),
  endpoint_id     uuid NOT NULL REFERENCES webhook_endpoints(id),
  event_id        text NOT NULL,
  event_type      text NOT NULL,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
  attempts        integer NOT NULL DEFAULT 0,
  response_status integer,
  last_error      text,
  redelivery_of   uuid REFERENCES webhook_deliveries(id),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  delivered_at    timestamptz
);
-- The first delivery of an event to an endpoint is created once, however often the event is emitted.
CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (endpoint_id, event_id) WHERE redelivery_of IS NULL;
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (tenant_id, endpoint_id, created_at DESC);

-- balance.low threshold per credit system (micro-credits).
CREATE TABLE balance_alerts (
  tenant_id            uuid NOT NULL REFERENCES tenants(id),
  credit_system        text NOT NULL,
  low_threshold_micro  bigint NOT NULL CHECK (low_threshold_micro >= 0),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, credit_system)
);

CREATE TABLE auto_topups (
  tenant_id        uuid NOT NULL REFERENCES tenants(id),
  customer_id      text NOT NULL,
  credit_system    text NOT NULL,
  threshold_micro  bigint NOT NULL CHECK (threshold_micro >= 0),
  pack_id          uuid NOT NULL,
  quantity         integer NOT NULL CHECK (quantity BETWEEN 1 AND 100),
  enabled          boolean NOT NULL DEFAULT true,
  -- Set after a decline: auto top-up stays off until the customer's card changes.
  disabled_reason  text,
  last_purchase_id uuid,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, customer_id, credit_system)
);

-- The built-in sandbox provider's own state (what a real provider keeps on its side).
CREATE TABLE sandbox_sessions (
  id           text PRIMARY KEY,
  tenant_id    uuid NOT NULL REFERENCES tenants(id),
  mode         text NOT NULL CHECK (mode IN ('payment', 'setup')),
  reference    text NOT NULL,
  customer_ref text NOT NULL,
  description  text NOT NULL,
  quantity     integer NOT NULL DEFAULT 1,
  amount_minor bigint NOT NULL DEFAULT 0,
  currency     text NOT NULL DEFAULT 'USD',
  success_url  text,
  cancel_url   text,
  status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'paid', 'declined', 'completed')),
  metadata     jsonb NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sandbox_cards (
  id           text PRIMARY KEY,
  tenant_id    uuid NOT NULL REFERENCES tenants(id),
  customer_ref text NOT NULL,
  number       text NOT NULL,
  brand        text NOT NULL,
  last4        text NOT NULL,
  exp_month    integer NOT NULL,
  exp_year     integer NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);

-- A charge is keyed by the caller's idempotency key: the same key is the same charge.
CREATE TABLE sandbox_charges (
  id               text PRIMARY KEY,
  tenant_id        uuid NOT NULL REFERENCES tenants(id),
  idempotency_key  text NOT NULL,
  amount_minor     bigint NOT NULL,
  currency         text NOT NULL,
  card_id          text,
  status           text NOT NULL CHECK (status IN ('succeeded', 'declined')),
  decline_code     text,
  refunded_minor   bigint NOT NULL DEFAULT 0,
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, idempotency_key)
);

CREATE TABLE sandbox_refunds (
  id               text PRIMARY KEY,
  tenant_id        uuid NOT NULL REFERENCES tenants(id),
  idempotency_key  text NOT NULL,
  charge_id        text NOT NULL REFERENCES sandbox_charges(id),
  amount_minor     bigint NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, idempotency_key)
);

-- Events the sandbox sent to Tally's webhook receiver (kept so they can be re-sent).
CREATE TABLE sandbox_events (
  id          text PRIMARY KEY,
  tenant_id   uuid NOT NULL REFERENCES tenants(id),
  type        text NOT NULL,
  payload     jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
