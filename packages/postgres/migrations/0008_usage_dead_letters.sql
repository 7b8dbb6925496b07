-- Rows ClickHouse refused for their content (a parse or type error), kept so
-- they are never lost and never retried forever: the batching writer isolates
-- them and stores them here; POST /v1/dead-letters/:id/replay inserts one
-- again (optionally repaired). `row_text` is the row as JSON.stringify wrote
-- it: lone surrogates and NUL are escaped, so it fits a text column (jsonb
-- would refuse \u0000). The same row stored twice (a job retried after its
-- rows were dead-lettered) is kept once: unique by its SHA-256.
CREATE TABLE IF NOT EXISTS usage_dead_letters (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- insertion order, for newest-first pages and their cursors
  seq          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  tenant_id    uuid NOT NULL REFERENCES tenants(id),
  table_name   text NOT NULL,
  row_text     text NOT NULL,
  row_sha256   bytea NOT NULL,
  reason       text NOT NULL,
  -- replay attempts, and the reason of the last one that failed
  attempts     integer NOT NULL DEFAULT 0,
  last_error   text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  replayed_at  timestamptz,
  UNIQUE (tenant_id, table_name, row_sha256)
);
CREATE INDEX IF NOT EXISTS usage_dead_letters_tenant_seq ON usage_dead_letters (tenant_id, seq DESC);
