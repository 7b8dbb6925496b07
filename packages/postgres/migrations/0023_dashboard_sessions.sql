-- Dashboard sessions (docs/dashboard.md "Sessions and security"): a secret API key is exchanged for a
-- random 32-byte token held in an httpOnly cookie; only its SHA-256 is stored. A session acts as the key
-- that opened it and ends at expires_at, at sign-out (revoked_at), or when that key is revoked or expires.
CREATE TABLE IF NOT EXISTS dashboard_sessions (
  id          uuid PRIMARY KEY,
  token_hash  bytea NOT NULL UNIQUE,
  tenant_id   uuid NOT NULL REFERENCES tenants(id),
  api_key_id  uuid NOT NULL REFERENCES api_keys(id),
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  revoked_at  timestamptz
);
-- The lazy sweep deletes ended sessions oldest first.
CREATE INDEX IF NOT EXISTS dashboard_sessions_expiry ON dashboard_sessions (expires_at);
CREATE INDEX IF NOT EXISTS dashboard_sessions_key ON dashboard_sessions (api_key_id) WHERE revoked_at IS NULL;
