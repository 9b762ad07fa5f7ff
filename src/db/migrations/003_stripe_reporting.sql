-- Stripe usage reporting: one row per meter event we owe Stripe, and the link from each usage row to the claim that reported it.

-- A claim groups the usage rows of one (customer, meter group, hour window) taken in one transaction; its id is a hash
-- of that content, so it is stable across retries. Spend mode makes one batch per claim, tokens mode two (input, output).
-- A batch's identifier is sent to Stripe as the meter event identifier (and Idempotency-Key): a re-send after any
-- crash carries the same identifier, and Stripe counts it once.
CREATE TABLE stripe_report_batches (
  id              text PRIMARY KEY,
  claim_id        text NOT NULL,
  customer        text NOT NULL,
  account_id      text NOT NULL,
  event_name      text NOT NULL,
  -- What Stripe is told: micro-USD (spend) or tokens. Σ value per customer equals floor(Σ cost_nano / 1000) (spend).
  value           bigint NOT NULL CHECK (value >= 0),
  -- Spend mode: Σ cost_nano of the claim's rows, and the sub-micro remainder carried in and out (see stripe_report_carry).
  cost_nano       bigint NOT NULL DEFAULT 0,
  carry_in_nano   bigint NOT NULL DEFAULT 0,
  carry_out_nano  bigint NOT NULL DEFAULT 0,
  window_start    timestamptz NOT NULL,
  window_end      timestamptz NOT NULL,
  -- Unix seconds sent as the meter event timestamp, fixed at claim time so every re-send has the same parameters.
  event_timestamp bigint NOT NULL,
  identifier      text NOT NULL UNIQUE,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'refused')),
  attempts        integer NOT NULL DEFAULT 0,
  last_error      text,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  created_at      timestamptz NOT NULL DEFAULT now(),
  sent_at         timestamptz
);
CREATE INDEX stripe_report_batches_due ON stripe_report_batches (next_attempt_at) WHERE status = 'pending';
CREATE INDEX stripe_report_batches_claim ON stripe_report_batches (claim_id);
CREATE INDEX stripe_report_batches_customer_window ON stripe_report_batches (customer, window_start);
CREATE INDEX stripe_report_batches_refused ON stripe_report_batches (created_at) WHERE status = 'refused';

-- Spend mode bills whole micro-USD; the nano-USD below one micro-USD is carried to the customer's next batch instead of
-- being rounded, so Σ reported = floor(Σ cost_nano / 1000) exactly and the remainder (< 1000 nano) is visible here.
CREATE TABLE stripe_report_carry (
  customer       text NOT NULL,
  event_name     text NOT NULL,
  remainder_nano bigint NOT NULL CHECK (remainder_nano >= 0 AND remainder_nano < 1000),
  PRIMARY KEY (customer, event_name)
);

-- The claim (stripe_report_batches.claim_id) that took this row; NULL: not reported yet.
ALTER TABLE usage_events ADD COLUMN report_batch_id text;
-- Prepaid rows are paid from the wallet and never reported, so they stay out of the index of work to do.
CREATE INDEX usage_events_unreported ON usage_events (started_at) WHERE report_batch_id IS NULL AND money_mode <> 'prepaid';
CREATE INDEX usage_events_report_batch ON usage_events (report_batch_id) WHERE report_batch_id IS NOT NULL;
