-- Per-tenant rate limits set through the admin API (docs/operations.md). A NULL column keeps the
-- deployment default of that route class (RATE_LIMIT_* config); 0 turns that class's limit off.
CREATE TABLE IF NOT EXISTS tenant_rate_limits (
  tenant_id                  uuid PRIMARY KEY REFERENCES tenants(id),
  ingest_events_per_second   integer CHECK (ingest_events_per_second >= 0),
  check_per_second           integer CHECK (check_per_second >= 0),
  other_per_second           integer CHECK (other_per_second >= 0),
  updated_at                 timestamptz NOT NULL DEFAULT now()
);
