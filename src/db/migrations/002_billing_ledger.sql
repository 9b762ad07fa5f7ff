-- Prepaid wallets: each account's billing mode and an insert-only ledger of money movements.

ALTER TABLE accounts
  ADD COLUMN billing_mode text NOT NULL DEFAULT 'postpaid' CHECK (billing_mode IN ('postpaid', 'prepaid'));

-- Insert-only. Credits are positive, usage debits negative; the balance is the sum. Every row has a unique reference
-- (an Idempotency-Key, a request id), so replaying a credit or a usage batch adds nothing.
CREATE TABLE ledger (
  id          bigserial PRIMARY KEY,
  account_id  text NOT NULL REFERENCES accounts (id),
  kind        text NOT NULL CHECK (kind IN ('credit', 'usage', 'adjustment')),
  amount_nano bigint NOT NULL,
  reference   text NOT NULL UNIQUE,
  reason      text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_account_id ON ledger (account_id, id);

-- How each request was paid (none: postpaid without a cap; prepaid: from the wallet, so the ledger has its debit; cap).
ALTER TABLE usage_events ADD COLUMN money_mode text NOT NULL DEFAULT 'none' CHECK (money_mode IN ('none', 'prepaid', 'cap'));
