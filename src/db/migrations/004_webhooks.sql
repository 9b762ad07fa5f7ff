-- Webhooks: the endpoints accounts register, every event stored once, and one delivery log row per attempt.

CREATE TABLE webhook_endpoints (
  id              text PRIMARY KEY,
  account_id      text NOT NULL REFERENCES accounts (id),
  url             text NOT NULL,
  enabled_events  text[] NOT NULL,
  -- Kept in clear, unlike API keys: we must compute HMACs with it on every delivery, and a hash cannot sign.
  -- It is never returned except when created or rotated, and never logged.
  secret          text NOT NULL,
  status          text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
  disabled_reason text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  -- Soft delete: jobs already queued see the endpoint is gone, and its delivery log stays readable for audits.
  deleted_at      timestamptz
);
CREATE INDEX webhook_endpoints_account ON webhook_endpoints (account_id) WHERE deleted_at IS NULL;

-- One row per event, whatever the number of endpoints; a caller-chosen id makes a replayed emit a no-op.
CREATE TABLE webhook_events (
  id          text PRIMARY KEY,
  account_id  text NOT NULL REFERENCES accounts (id),
  type        text NOT NULL,
  payload     jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_events_account ON webhook_events (account_id, created_at);

CREATE TABLE webhook_deliveries (
  id               bigserial PRIMARY KEY,
  event_id         text NOT NULL REFERENCES webhook_events (id),
  endpoint_id      text NOT NULL REFERENCES webhook_endpoints (id),
  -- BullMQ's count of started attempts: a worker killed mid-send leaves its row, and the rerun gets the next number.
  attempt          integer NOT NULL CHECK (attempt >= 1),
  status_code      integer,
  error            text,
  latency_ms       integer NOT NULL,
  response_excerpt text NOT NULL DEFAULT '',
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (event_id, endpoint_id, attempt)
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id DESC);
