-- A rotated key keeps working until expires_at (the overlap window), then is
-- refused like a revoked one. NULL: no expiry.
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS expires_at timestamptz;
