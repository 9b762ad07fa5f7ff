-- End-user top-ups through Stripe: the markup on the ledger row, each top-up's state (refunds so far), and the margin ledger.

-- The markup (basis points) a top-up credit was made at, as its PaymentIntent recorded it; NULL on other rows.
ALTER TABLE ledger ADD COLUMN markup_bps integer CHECK (markup_bps IS NULL OR markup_bps BETWEEN 0 AND 100000);

-- One row per PaymentIntent that credited a wallet: its insert is the "once per PaymentIntent" gate, and refunds
-- are counted against it (refunded_nano only grows, so a replayed or older charge.refunded reverses nothing).
CREATE TABLE top_ups (
  payment_intent_id text PRIMARY KEY,
  wallet_id         text NOT NULL REFERENCES end_user_wallets (id),
  project_id        text NOT NULL REFERENCES projects (id),
  mode              text NOT NULL CHECK (mode IN ('live', 'test')),
  amount_nano       bigint NOT NULL CHECK (amount_nano > 0),
  net_nano          bigint NOT NULL CHECK (net_nano >= 0),
  margin_nano       bigint NOT NULL CHECK (margin_nano >= 0),
  markup_bps        integer NOT NULL,
  refunded_nano     bigint NOT NULL DEFAULT 0 CHECK (refunded_nano >= 0 AND refunded_nano <= amount_nano),
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX top_ups_wallet ON top_ups (wallet_id);

-- Insert-only: the margin each project's account earned on live top-ups (positive) and gave back on refunds
-- (negative). Its sum per project is what a payout (issue 11, Stripe Connect) may transfer. Test mode adds nothing.
CREATE TABLE margin_ledger (
  id                bigserial PRIMARY KEY,
  project_id        text NOT NULL REFERENCES projects (id),
  account_id        text NOT NULL REFERENCES accounts (id),
  kind              text NOT NULL CHECK (kind IN ('top_up', 'refund')),
  amount_nano       bigint NOT NULL,
  markup_bps        integer NOT NULL,
  payment_intent_id text NOT NULL REFERENCES top_ups (payment_intent_id),
  reference         text NOT NULL UNIQUE,
  created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX margin_ledger_project ON margin_ledger (project_id, id);
