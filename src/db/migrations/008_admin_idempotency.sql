-- Admin writes made with an Idempotency-Key: the first request's answer, replayed to retries for 24 hours.
CREATE TABLE admin_idempotency (
  key text PRIMARY KEY,
  -- sha256 of method, path and body: a key reused for a different write is refused, not replayed.
  request_hash text NOT NULL,
  -- NULL while the first request runs.
  status integer,
  response jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX admin_idempotency_created_at ON admin_idempotency (created_at);
