-- A prepaid wallet's low-balance threshold (nano-USD); NULL means the gateway's default (LOW_BALANCE_THRESHOLD_USD).
ALTER TABLE accounts
  ADD COLUMN low_balance_threshold_nano bigint CHECK (low_balance_threshold_nano IS NULL OR low_balance_threshold_nano >= 0);
