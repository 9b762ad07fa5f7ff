-- Platform mode on usage rows: the project, end customer, session and mode of a request paid from an end user's wallet
-- (NULL for agents' requests). account_id is then the wallet's ledger holder ("wallet:<id>"). Numbered 012: 011 is the
-- top-ups' migration on its own branch.
ALTER TABLE usage_events
  ADD COLUMN project_id      text,
  ADD COLUMN end_customer_id text,
  ADD COLUMN session_id      text,
  ADD COLUMN platform_mode   text CHECK (platform_mode IS NULL OR platform_mode IN ('live', 'test'));
CREATE INDEX usage_events_project_started ON usage_events (project_id, started_at) WHERE project_id IS NOT NULL;
