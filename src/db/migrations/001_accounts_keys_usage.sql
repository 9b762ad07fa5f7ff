-- Accounts (agents), their API keys (hashed), usage events (one row per request id) and Stripe events applied.

CREATE TABLE accounts (
  id                     text PRIMARY KEY,
  name                   text NOT NULL,
  description            text NOT NULL DEFAULT '',
  capabilities           jsonb NOT NULL DEFAULT '[]'::jsonb,
  subscription_status    text NOT NULL DEFAULT 'none'
                         CHECK (subscription_status IN ('none', 'active', 'trialing', 'past_due', 'canceled', 'incomplete', 'incomplete_expired', 'unpaid', 'paused')),
  stripe_customer_id     text UNIQUE,
  stripe_subscription_id text,
  -- Monthly spending cap in nano-USD; NULL means no cap.
  spend_cap_nano         bigint CHECK (spend_cap_nano IS NULL OR spend_cap_nano >= 0),
  -- Per-account overrides of the default limits; NULL means the default.
  rpm_limit              integer CHECK (rpm_limit IS NULL OR rpm_limit > 0),
  tpm_limit              integer CHECK (tpm_limit IS NULL OR tpm_limit > 0),
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id           text PRIMARY KEY,
  account_id   text NOT NULL REFERENCES accounts (id),
  -- SHA-256 (hex) of the whole key: the key itself is never stored.
  key_hash     text NOT NULL UNIQUE,
  -- The first characters, so a person can tell keys apart.
  display      text NOT NULL,
  mode         text NOT NULL DEFAULT 'live' CHECK (mode IN ('live', 'test')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz
);
CREATE INDEX api_keys_account ON api_keys (account_id);

-- One row per request id: ON CONFLICT (request_id) DO NOTHING makes every replay harmless.
CREATE TABLE usage_events (
  request_id            text PRIMARY KEY,
  account_id            text NOT NULL,
  key_id                text NOT NULL,
  model                 text NOT NULL,
  provider              text NOT NULL,
  upstream_model        text NOT NULL,
  stream                boolean NOT NULL,
  status                text NOT NULL,
  http_status           integer NOT NULL,
  input_tokens          integer NOT NULL,
  output_tokens         integer NOT NULL,
  cached_input_tokens   integer NOT NULL DEFAULT 0,
  cache_write_tokens    integer NOT NULL DEFAULT 0,
  reasoning_tokens      integer NOT NULL DEFAULT 0,
  source                text NOT NULL,
  counted_input_tokens  integer,
  counted_output_tokens integer,
  cost_nano             bigint NOT NULL CHECK (cost_nano >= 0),
  catalog_version       text NOT NULL,
  ttfb_ms               real,
  total_ms              real NOT NULL,
  error_code            text,
  started_at            timestamptz NOT NULL,
  recorded_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_events_account_started ON usage_events (account_id, started_at);

-- Each Stripe event id is applied at most once.
CREATE TABLE stripe_events (
  id          text PRIMARY KEY,
  type        text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);
