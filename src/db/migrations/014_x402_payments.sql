-- x402 payments: one row per paid request (request_id), whatever its outcome, written by the x402-payments worker with
-- ON CONFLICT DO NOTHING so a record queued twice is stored once. Amounts are USDC atomic units (6 decimals) and the
-- same in nano-USD (× 1000, exact). Listed by month of started_at (GET /admin/payments).
CREATE TABLE x402_payments (
  request_id    text        PRIMARY KEY,
  route         text        NOT NULL,
  payer         text        NOT NULL,
  network       text        NOT NULL,
  asset         text        NOT NULL,
  pay_to        text        NOT NULL,
  amount_atomic numeric(78, 0) NOT NULL CHECK (amount_atomic >= 0),
  amount_nano   numeric(81, 0) NOT NULL CHECK (amount_nano = amount_atomic * 1000),
  scheme        text        NOT NULL CHECK (scheme IN ('exact', 'upto')),
  transaction   text,
  status        text        NOT NULL CHECK (status IN ('settled', 'refused', 'settle_failed', 'upstream_failed')),
  started_at    timestamptz NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
-- Period listing in order (started_at, request_id) with keyset paging, and per payer within a period.
CREATE INDEX x402_payments_started ON x402_payments (started_at, request_id);
CREATE INDEX x402_payments_payer_started ON x402_payments (payer, started_at);
