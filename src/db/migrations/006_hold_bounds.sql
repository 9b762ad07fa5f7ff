-- Usage billed at most what it held: the part of a provider's usage above the hold is recorded, not billed.
ALTER TABLE usage_events ADD COLUMN over_hold_nano bigint NOT NULL DEFAULT 0 CHECK (over_hold_nano >= 0);
