-- Backfill imports (packages/analytics). The upload is spooled to disk in
-- chunk files; one row per import, one per finished chunk. A chunk's counts
-- and rejected rows are written in the same transaction that marks it done,
-- so a chunk re-run after a crash never counts twice.
CREATE TABLE imports (
  id            uuid PRIMARY KEY,
  tenant_id     uuid NOT NULL REFERENCES tenants(id),
  mode          text NOT NULL CHECK (mode IN ('report', 'apply')),
  format        text NOT NULL CHECK (format IN ('ndjson', 'csv')),
  state         text NOT NULL CHECK (state IN ('uploading', 'queued', 'running', 'completed', 'failed', 'cancelled', 'reverting', 'reverted')),
  bytes         bigint NOT NULL DEFAULT 0,
  chunks_total  integer,
  error         text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  started_at    timestamptz,
  finished_at   timestamptz,
  reverted_at   timestamptz
);
CREATE INDEX imports_tenant ON imports (tenant_id, created_at DESC);

CREATE TABLE import_chunks (
  import_id    uuid NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
  chunk        integer NOT NULL,
  rows_read    integer NOT NULL,
  accepted     integer NOT NULL,
  duplicates   integer NOT NULL,
  rejected     integer NOT NULL,
  flagged      integer NOT NULL,
  finished_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (import_id, chunk)
);

-- Rejected rows (and, in report mode, kept-but-flagged rows) with their line number.
CREATE TABLE import_rejections (
  import_id  uuid NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
  line       bigint NOT NULL,
  kind       text NOT NULL CHECK (kind IN ('rejected', 'flagged')),
  reason     text NOT NULL,
  content    text NOT NULL,
  PRIMARY KEY (import_id, line, kind)
);
