-- Stripe Connect: each account's Express connected account, and the payouts of its margin as an insert-only ledger.

-- One connected account per Meterway account (all its projects' margin goes there), created once.
CREATE TABLE connect_accounts (
  account_id        text PRIMARY KEY REFERENCES accounts (id),
  stripe_account_id text NOT NULL UNIQUE,
  created_at        timestamptz NOT NULL DEFAULT now()
);

-- Insert-only. A payout first reserves its amount ('reserve', taken under the account's advisory lock, so two payouts
-- never reserve the same margin), then ends once: 'paid' (the Stripe transfer went through; transfer_id is set) or
-- 'release' (Stripe refused it; the amount is available again). What an account can still pay out:
--   Σ margin_ledger − Σ reserve + Σ release.
-- A reservation without an outcome is a payout whose transfer is in flight or whose answer was lost.
CREATE TABLE payout_ledger (
  id                bigserial PRIMARY KEY,
  payout_id         text NOT NULL,
  account_id        text NOT NULL REFERENCES accounts (id),
  kind              text NOT NULL CHECK (kind IN ('reserve', 'paid', 'release')),
  amount_nano       bigint NOT NULL CHECK (amount_nano > 0),
  stripe_account_id text NOT NULL,
  transfer_id       text,
  reason            text NOT NULL DEFAULT '',
  created_at        timestamptz NOT NULL DEFAULT now(),
  CHECK ((kind = 'paid') = (transfer_id IS NOT NULL))
);
CREATE UNIQUE INDEX payout_ledger_reserve_once ON payout_ledger (payout_id) WHERE kind = 'reserve';
CREATE UNIQUE INDEX payout_ledger_outcome_once ON payout_ledger (payout_id) WHERE kind IN ('paid', 'release');
CREATE INDEX payout_ledger_account ON payout_ledger (account_id, id);
CREATE INDEX margin_ledger_account ON margin_ledger (account_id);
