CREATE TABLE customers (
  tenant_id    uuid NOT NULL REFERENCES tenants(id),
  id           text NOT NULL,          -- the tenant's own customer id
  email        text,
  name         text,
  metadata     jsonb NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX customers_email ON customers (tenant_id, lower(email)) WHERE email IS NOT NULL;

-- A customer's plan. anchor_at is the instant periods are computed from
-- (monthly on the anchor's day, clamped to the month's last day).
CREATE TABLE subscriptions (
  id           uuid PRIMARY KEY,
  tenant_id    uuid NOT NULL REFERENCES tenants(id),
  customer_id  text NOT NULL,
  plan_id      uuid NOT NULL REFERENCES plans(id),
  status       text NOT NULL CHECK (status IN ('active', 'trialing', 'pending', 'canceled')),
  anchor_at    timestamptz NOT NULL,
  trial_ends_at timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  canceled_at  timestamptz,
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers(tenant_id, id)
);
-- At most one live subscription per customer and plan group is enforced by the service.
CREATE INDEX subscriptions_customer ON subscriptions (tenant_id, customer_id) WHERE status IN ('active', 'trialing');
